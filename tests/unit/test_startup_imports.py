"""The command line starts without loading what only some commands need.

Each check runs a fresh interpreter (the test process has imported everything
already) and looks at `sys.modules`: a correctness check of what is imported,
not a timing (bench/bench_startup.py measures the time).
"""

import json
import subprocess
import sys

import pytest

# What only some commands need: the HTTP stack, the embedded server, the push
# providers' libraries, the metrics, the database driver, the settings, the
# logging, rich (tables and typer's rich help), and the test doubles.
HEAVY = (
    "fastapi",
    "starlette",
    "uvicorn",
    "pgserver",
    "google.auth",
    "cryptography",
    "jwt",
    "h2",
    "httpx",
    "prometheus_client",
    "psycopg",
    "pydantic_settings",
    "structlog",
    "rich",
    "typer.rich_utils",
    "mentor_notify_testing",
)

_LOADED = """
import json, sys
{prepare}
try:
    {action}
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.__stdout__)
"""


def modules_after(action: str, prepare: str = "") -> set[str]:
    """The modules a fresh interpreter has loaded after `action`."""
    code = _LOADED.format(prepare=prepare, action=action)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def heavy_in(modules: set[str]) -> list[str]:
    return [name for name in HEAVY if name in modules]


def test_importing_the_cli_loads_nothing_heavy() -> None:
    assert heavy_in(modules_after("import mentor_notify.cli")) == []


@pytest.mark.parametrize(
    "args",
    [["--help"], ["db", "--help"], ["serve", "--help"], ["push", "emulator", "--help"]],
)
def test_help_loads_nothing_heavy(args: list[str]) -> None:
    loaded = modules_after(
        f"app({args!r}, prog_name='mentor-notify')",
        prepare="from mentor_notify.cli import app",
    )
    assert heavy_in(loaded) == []


@pytest.mark.parametrize("command", [["push", "emulator", "--port", "0"], ["demo"]])
def test_without_the_testing_extra_the_emulator_commands_say_how_to_install_it(
    command: list[str],
) -> None:
    # None in sys.modules makes `import h11` fail, as if the extra were not installed.
    code = (
        "import sys; sys.modules['h11'] = None\n"
        "from mentor_notify.cli import app\n"
        f"app({command!r}, prog_name='mentor-notify')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "MENTOR_NOTIFY_LOG_FORMAT": "json"},
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    assert "--extra testing" in lines[0]
    assert "mentor-notify[testing]" in lines[0]
