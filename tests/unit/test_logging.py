"""Logs are JSON lines on stderr for machines, never on stdout; other libraries' log
records and Python's warnings come out the same way."""

import json
import logging
import re
import warnings

import pytest
import structlog
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from mentor_notify.config import LogFormat
from mentor_notify.logging import configure_logging


def test_json_logs_go_to_stderr_and_respect_the_level(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", "json")
    log = structlog.get_logger("test")

    log.debug("hidden")
    log.info("migration applied", version="20260101000000")

    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.splitlines()
    event = json.loads(line)
    assert event["event"] == "migration applied"
    assert event["version"] == "20260101000000"
    assert event["level"] == "info"


def entries(err: str) -> list[dict[str, object]]:
    """Every stderr line as a JSON object (fails on any line that is not one)."""
    return [json.loads(line) for line in err.splitlines()]


async def test_the_driver_pools_own_warnings_are_json_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # psycopg's pool logs each failed connection attempt on the stdlib logger
    # `psycopg.pool`; those lines once reached stderr as plain text.
    configure_logging("info", "json")
    pool = AsyncConnectionPool(
        "postgresql://postgres@127.0.0.1:1/nowhere", min_size=1, open=False, name="probe"
    )
    with pytest.raises(PoolTimeout):
        await pool.open(wait=True, timeout=0.5)
    await pool.close()

    logged = entries(capsys.readouterr().err)
    assert logged, "the pool logged nothing"
    for entry in logged:
        assert entry["logger"] == "psycopg.pool"
        assert entry["level"] == "warning"
        assert "error connecting in 'probe'" in str(entry["event"])
        assert "timestamp" in entry


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_stdlib_records_are_rendered_like_our_own(
    capsys: pytest.CaptureFixture[str], fmt: LogFormat
) -> None:
    configure_logging("info", fmt)

    logging.getLogger("psycopg").warning("unknown PostgreSQL timezone: %r; will use UTC", "X")
    logging.getLogger("httpx").info("HTTP Request: GET https://example.test")  # chatter

    [line] = capsys.readouterr().err.splitlines()
    if fmt == "json":
        entry = json.loads(line)
        assert entry["event"] == "unknown PostgreSQL timezone: 'X'; will use UTC"
        assert (entry["logger"], entry["level"]) == ("psycopg", "warning")
    else:
        assert "unknown PostgreSQL timezone" in line
        assert not line.startswith("WARNING:")  # not the stdlib's own plain format


def test_python_warnings_are_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", "json")

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        configure_logging("info", "json")  # inside, where the warning is shown
        warnings.warn("this option is going away", DeprecationWarning, stacklevel=1)

    [entry] = entries(capsys.readouterr().err)
    assert entry["event"] == "this option is going away"
    assert entry["category"] == "DeprecationWarning"
    assert entry["level"] == "warning"


def test_configuring_again_replaces_the_handler(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", "json")
    configure_logging("warning", "json")

    logging.getLogger("psycopg").warning("once")

    assert [e["event"] for e in entries(capsys.readouterr().err)] == ["once"]


def test_on_a_console_a_terse_command_logs_warnings_and_errors_only() -> None:
    from io import StringIO

    from rich.console import Console

    screen = StringIO()
    configure_logging("info", "console", terse_console=True, console=Console(file=screen))
    log = structlog.get_logger("test")

    log.info("expiry sweep started")
    log.warning("missing_coordinator_assignment")
    logging.getLogger("psycopg.pool").info("chatter")
    logging.getLogger("psycopg.pool").error("error connecting")

    shown = screen.getvalue()
    assert "expiry sweep started" not in shown
    assert "missing_coordinator_assignment" in shown
    assert "error connecting" in shown
    assert "chatter" not in shown


def test_terse_is_for_people_only_json_stays_at_the_level(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("info", "json", terse_console=True)

    structlog.get_logger("test").info("expiry sweep started")

    [entry] = entries(capsys.readouterr().err)
    assert entry["event"] == "expiry sweep started"


def test_console_entries_print_above_a_live_progress_bar() -> None:
    from io import StringIO

    from rich.console import Console
    from rich.progress import Progress

    screen = StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    configure_logging("info", "console", console=console)
    with Progress(console=console, auto_refresh=False) as progress:
        progress.add_task("expiry", total=3)
        progress.refresh()
        structlog.get_logger("test").warning("missing_coordinator_assignment")

    lines = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue()).splitlines()
    [entry] = [line for line in lines if "missing_coordinator_assignment" in line]
    # A line of its own: not drawn into the bar's line, and the bar drawn again below it.
    assert "expiry" not in entry
    assert "expiry" in lines[-1]
