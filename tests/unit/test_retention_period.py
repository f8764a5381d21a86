"""Reading retention periods for `maintenance prune --older-than`."""

from datetime import timedelta

import pytest
from typer.testing import CliRunner

from mentor_notify.cli import app
from mentor_notify.maintenance import (
    MAXIMUM_RETENTION,
    MINIMUM_RETENTION,
    RetentionError,
    parse_retention,
)


@pytest.mark.parametrize(
    ("text", "days"),
    [("1y", 365), ("2y", 730), ("18mo", 540), ("13w", 91), ("400d", 400), (" 90d ", 90)],
)
def test_periods_in_every_unit(text: str, days: int) -> None:
    assert parse_retention(text) == timedelta(days=days)


@pytest.mark.parametrize("text", ["", "y", "1", "1m", "1 year", "-1y", "1.5y", "1Y"])
def test_unreadable_periods_say_how_to_write_one(text: str) -> None:
    with pytest.raises(RetentionError, match="write a whole number and a unit"):
        parse_retention(text)


def test_a_period_shorter_than_a_live_expiry_cycle_is_refused() -> None:
    with pytest.raises(RetentionError, match="at least 90 days"):
        parse_retention("89d")
    assert parse_retention(f"{MINIMUM_RETENTION.days}d") == MINIMUM_RETENTION


@pytest.mark.parametrize("text", ["36501d", "101y", "99999y", "1000000000d", "9" * 30 + "y"])
def test_a_period_beyond_a_century_is_refused_not_overflowed(text: str) -> None:
    # 99999y once reached the cutoff's arithmetic and ended in an OverflowError trace.
    with pytest.raises(RetentionError, match=r"too long: use at most 36500 days \(100 years\)"):
        parse_retention(text)
    assert (
        parse_retention(f"{MAXIMUM_RETENTION.days}d")
        == MAXIMUM_RETENTION
        == timedelta(days=100 * 365)
    )


def test_the_cli_explains_a_period_beyond_a_century_without_a_trace() -> None:
    # Refused while the option is read, before any database is reached.
    result = CliRunner().invoke(
        app,
        [
            "--database-url",
            "postgresql://postgres@127.0.0.1:1/x",
            "maintenance",
            "prune",
            "--older-than",
            "99999y",
        ],
    )

    # A usage error like every other unreadable --older-than (exit status 2).
    assert result.exit_code == 2, result.output
    assert not isinstance(result.exception, OverflowError)
    assert "Traceback" not in result.output
    # typer boxes and wraps the message; compare its words
    assert "too long: use at most 36500 days" in " ".join(result.output.replace("│", " ").split())
