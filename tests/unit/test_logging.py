"""Logs are JSON lines on stderr for machines, never on stdout."""

import json

import pytest
import structlog

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
