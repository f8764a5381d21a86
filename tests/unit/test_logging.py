"""Logs are JSON lines on stderr for machines, never on stdout; other libraries' log
records and Python's warnings come out the same way."""

import json
import logging
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
