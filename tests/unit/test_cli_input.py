"""Bad command-line input is refused before any work, with one `error:` line and
exit status 1, never a stack trace: push emulator URLs and business dates far
from today. (No database: the input is refused before one is reached.)"""

from collections.abc import Callable
from datetime import timedelta

import pytest
from typer.testing import CliRunner, Result

from mentor_notify.cli import app
from mentor_notify.commands import common
from mentor_notify.domain import BUSINESS_DATE_MAX_YEARS, SystemClock

runner = CliRunner()
# Nothing listens there: a command that got past its input would fail differently.
NOWHERE = ["--database-url", "postgresql://postgres@127.0.0.1:1/postgres"]
FAR = timedelta(days=366 * BUSINESS_DATE_MAX_YEARS + 2)


def one_error_line(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    [line] = [ln for ln in result.stderr.splitlines() if not ln.startswith("{")]
    assert line.startswith("error: "), line
    return line


@pytest.mark.parametrize(
    "command",
    [["push", "dispatch", "--once"], ["daily"], ["worker"], ["serve"]],
    ids=["push dispatch", "daily", "worker", "serve"],
)
@pytest.mark.parametrize("url", ["not a url", "ftp://127.0.0.1:8787", "http://", "http://h:99999"])
def test_a_bad_emulator_url_is_one_line_in_every_command(command: list[str], url: str) -> None:
    result = runner.invoke(app, [*NOWHERE, *command, "--emulator", url])

    line = one_error_line(result)
    assert line.startswith(f"error: --emulator: {url!r} is not"), line


def far_date() -> str:
    return (SystemClock().now() + FAR).date().isoformat()


@pytest.mark.parametrize(
    ("command", "option", "value"),
    [
        (["expiry", "run"], "--today", lambda: "9999-12-31"),
        (["expiry", "run", "--dry-run"], "--today", far_date),
        (["daily"], "--today", lambda: "1900-01-01"),
        (["demo"], "--date", far_date),
        (["scenarios", "run"], "--now", lambda: "9999-12-31T23:00:00-05:00"),
        (["scenarios", "run"], "--now", lambda: far_date() + "T07:00:00+01:00"),
    ],
    ids=["expiry 9999", "expiry far", "daily 1900", "demo far", "scenarios 9999", "scenarios far"],
)
def test_a_business_date_far_from_today_is_refused(
    command: list[str], option: str, value: Callable[[], str]
) -> None:
    text = value()

    result = runner.invoke(app, [*NOWHERE, *command, option, text])

    line = one_error_line(result)
    assert line.startswith(f"error: {option} {text} is more than {BUSINESS_DATE_MAX_YEARS} years")
    assert line.endswith("or add --allow-far-date if you mean it")


def test_allow_far_date_lets_a_far_date_through() -> None:
    # The demo's first step is one connection: refused at once, after the date passed.
    result = runner.invoke(app, [*NOWHERE, "demo", "--date", far_date(), "--allow-far-date"])

    assert "cannot reach the database" in one_error_line(result)


def test_the_parsers_accept_near_and_allowed_far_moments() -> None:
    near = SystemClock().now().date() + timedelta(days=30)

    assert common.parse_date(near.isoformat()) == near
    assert common.parse_date("9999-12-31", allow_far_date=True) is not None
    assert common.parse_instant(f"{near.isoformat()}T07:00:00+01:00") is not None
    assert common.parse_instant("9999-12-31T23:00:00-05:00", allow_far_date=True) is not None
    assert common.parse_date(None) is None
    assert common.parse_instant(None) is None
