"""Request bodies the API refuses with a 422 and a message naming the field: business
dates far from today, instants without a UTC offset, device tokens not in their
service's format. Dates are read relative to the real clock, never fixed."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import httpx
import pytest
from fastapi.testclient import TestClient

from mentor_notify.api import create_app
from mentor_notify.domain import BUSINESS_DATE_MAX_YEARS, SystemClock
from mentor_notify.push import DeviceTokenRegistration
from tests.api.credentials import SERVICE, bearer, legacy_authenticator, token
from tests.api.fake_runner import RecordingRunner

FAR = timedelta(days=366 * BUSINESS_DATE_MAX_YEARS + 2)
NEAR = timedelta(days=365 * BUSINESS_DATE_MAX_YEARS - 2)


@pytest.fixture
def runner() -> RecordingRunner:
    return RecordingRunner()


@pytest.fixture
def client(runner: RecordingRunner) -> TestClient:
    return TestClient(create_app(runner, legacy_authenticator()), raise_server_exceptions=False)


def refused(response: httpx.Response, field: str) -> str:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["message"].startswith(f"{field}:"), error["message"]
    return str(error["message"])


def today() -> datetime:
    return SystemClock().now()


@pytest.mark.parametrize(
    "day",
    [
        lambda: "9999-12-31",
        lambda: "0001-01-01",
        lambda: (today() + FAR).date().isoformat(),
        lambda: (today() - FAR).date().isoformat(),
    ],
    ids=["9999-12-31", "0001-01-01", "years-ahead", "years-ago"],
)
def test_a_far_business_date_is_a_422(
    client: TestClient, runner: RecordingRunner, day: Callable[[], str]
) -> None:
    response = client.post(
        "/functions/v1/certificate-expiry", headers=SERVICE, json={"today": day()}
    )

    message = refused(response, "today")
    assert f"more than {BUSINESS_DATE_MAX_YEARS} years from today" in message
    assert runner.calls == []


@pytest.mark.parametrize("offset", [-NEAR, timedelta(0), NEAR], ids=["ago", "today", "ahead"])
def test_a_business_date_within_the_years_runs(
    client: TestClient, runner: RecordingRunner, offset: timedelta
) -> None:
    day = (today() + offset).date().isoformat()

    expiry = client.post("/functions/v1/certificate-expiry", headers=SERVICE, json={"today": day})
    scenarios = client.post(
        "/functions/v1/scenario-evaluation",
        headers=SERVICE,
        json={"now": f"{day}T07:00:00+01:00"},
    )

    assert expiry.status_code == 200, expiry.text
    assert scenarios.status_code == 200, scenarios.text
    assert [name for name, _ in runner.calls] == ["certificate_expiry", "scenario_evaluation"]


def test_a_far_instant_is_a_422(client: TestClient, runner: RecordingRunner) -> None:
    response = client.post(
        "/functions/v1/scenario-evaluation",
        headers=SERVICE,
        json={"now": "9999-12-31T23:00:00-05:00"},
    )

    assert f"more than {BUSINESS_DATE_MAX_YEARS} years" in refused(response, "now")
    assert runner.calls == []


def test_an_instant_without_a_utc_offset_is_a_422_not_a_500(
    client: TestClient, runner: RecordingRunner
) -> None:
    naive = today().astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat()

    response = client.post(
        "/functions/v1/scenario-evaluation", headers=SERVICE, json={"now": naive}
    )

    # pydantic's AwareDatetime says so before any other check runs
    assert refused(response, "now") == "now: Input should have timezone info"
    assert runner.calls == []


APNS_OK = "a9d0ed10e9cfd022a61cb08753f49c5a0b0dfb383697bf9f9d750a1003da19c7"


@pytest.mark.parametrize(
    "bad",
    [
        "fcm-token-123456",  # printable, but not hex
        "apns-" + APNS_OK,
        APNS_OK[:62],  # too short
        APNS_OK.replace("a", "g"),
        APNS_OK + "\n",
    ],
)
def test_an_apns_token_that_is_not_hex_is_a_422_naming_the_field(
    client: TestClient, runner: RecordingRunner, bad: str
) -> None:
    as_user = bearer(token("authenticated", sub=str(uuid4())))

    response = client.post(
        "/v1/device-tokens",
        headers=as_user,
        json={"token": bad, "platform": "ios", "provider": "apns"},
    )

    assert "hexadecimal" in refused(response, "token")
    assert bad not in response.text  # the token reaches a device: never echoed
    assert runner.tokens == {}


@pytest.mark.parametrize(
    ("token_text", "provider"),
    [
        (APNS_OK, "apns"),
        (APNS_OK.upper() + "00" * 48, "apns"),  # longer tokens, as Apple warns may come
        ("dXk3:APA91bH-registration_token", "fcm"),
        ("fcm/token+with=printable~ASCII", "fcm"),  # FCM: printable ASCII, as before
    ],
)
def test_tokens_in_their_services_format_are_registered(
    client: TestClient, runner: RecordingRunner, token_text: str, provider: str
) -> None:
    as_user = bearer(token("authenticated", sub=str(uuid4())))

    response = client.post(
        "/v1/device-tokens",
        headers=as_user,
        json={"token": token_text, "platform": "ios", "provider": provider},
    )

    assert response.status_code == 201, response.text
    [(_, registration)] = runner.tokens.values()
    assert registration == DeviceTokenRegistration(
        token=token_text,
        platform="ios",
        provider=provider,  # type: ignore[arg-type]
    )
