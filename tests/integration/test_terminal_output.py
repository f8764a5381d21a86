"""What `mentor-notify demo` shows on a terminal and what it writes to a pipe: on a
terminal (a pseudo-terminal here) the story in order and log entries of warning level
and up only; piped, its log entries stay JSON lines at info."""

import json
import os
import pty
import re
import subprocess

from mentor_notify.db import SupabaseLayout
from tests.conftest import CreateDatabase
from tests.integration.test_demo import seeded_with_open_windows
from tests.integration.test_dispatch_processes import MENTOR_NOTIFY

# The console renderer's level column, e.g. "[info     ]" (colour codes removed).
LEVEL = re.compile(r"\[(debug|info|warning|error|critical)\s*\]")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
STORY = (
    "What the demo database holds",
    "Daily cycle for 2026-11-23",
    "What each person in",
    "The same cycle run again",
    "second run: 0 notifications, 0 pushes: nothing new was sent.",
)


def _environment() -> dict[str, str]:
    # As a person's shell has it: no log settings of the test run's own.
    plain = {k: v for k, v in os.environ.items() if not k.startswith("MENTOR_NOTIFY_LOG")}
    return plain | {"TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}


def _on_a_terminal(*args: str) -> tuple[int, str]:
    """Run the CLI with stdin, stdout and stderr on a pseudo-terminal; its exit status
    and everything it showed (colour and cursor codes removed)."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [str(MENTOR_NOTIFY), *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=_environment(),
        close_fds=True,
    )
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the last holder of the terminal has gone
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    return process.wait(timeout=60), ANSI.sub("", shown.decode(errors="replace"))


async def test_the_demo_on_a_terminal_tells_the_story_without_info_log_lines(
    create_database: CreateDatabase, supabase_layout: SupabaseLayout
) -> None:
    url = await seeded_with_open_windows(create_database, supabase_layout)

    status, shown = _on_a_terminal("--database-url", url, "demo", "--date", "2026-11-23")

    assert status == 0, shown[-3000:]
    levels = {match.group(1) for match in LEVEL.finditer(shown)}
    assert levels <= {"warning", "error", "critical"}, sorted(levels)
    assert '"level"' not in shown  # no JSON entry either
    positions = [shown.find(title) for title in STORY]
    assert -1 not in positions, list(zip(STORY, positions, strict=True))
    assert positions == sorted(positions)


async def test_the_demo_piped_keeps_json_log_entries_at_info(
    create_database: CreateDatabase, supabase_layout: SupabaseLayout
) -> None:
    url = await seeded_with_open_windows(create_database, supabase_layout)

    result = subprocess.run(  # noqa: ASYNC221 - the CLI as a script runs it
        [str(MENTOR_NOTIFY), "--database-url", url, "demo", "--date", "2026-11-23"],
        capture_output=True,
        text=True,
        timeout=120,
        env=_environment(),
    )

    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stderr.splitlines()
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    # The rest are the steps' progress, one plain line per change ("expiry: done").
    assert not [line for line in lines if not line.startswith("{") and LEVEL.search(line)]
    assert "info" in {entry["level"] for entry in entries}
    assert "expiry sweep started" in {entry["event"] for entry in entries}
    assert all(title in result.stdout for title in STORY)
