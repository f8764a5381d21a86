"""Test doubles for mentor-notify, kept out of the runtime package.

`mentor_notify_testing.emulator` is a local stand-in for FCM HTTP v1, APNs and
Google's OAuth2 token endpoint, used by the tests, the benchmarks, the demo and
`mentor-notify push emulator`. What it needs beyond the runtime is the
package's `testing` extra (`pip install 'mentor-notify[testing]'`, or
`uv sync --extra testing`).
"""
