"""The HTTP layer: authentication, error bodies, metrics, health (jobs faked)."""

import time
from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from mentor_notify.api import ExpiryRequest, create_app
from mentor_notify.domain import SystemClock
from tests.api.credentials import API_KEY, SERVICE, bearer, legacy_authenticator, token
from tests.api.fake_runner import RecordingRunner


@pytest.fixture
def runner() -> RecordingRunner:
    return RecordingRunner()


@pytest.fixture
def client(runner: RecordingRunner) -> TestClient:
    return TestClient(create_app(runner, legacy_authenticator()), raise_server_exceptions=False)


@pytest.mark.parametrize(
    ("path", "call"),
    [
        ("/functions/v1/certificate-expiry", "certificate_expiry"),
        ("/functions/v1/scenario-evaluation", "scenario_evaluation"),
        ("/functions/v1/dispatch", "dispatch"),
    ],
)
def test_job_endpoints_run_the_job_for_the_service_role(
    client: TestClient, runner: RecordingRunner, path: str, call: str
) -> None:
    response = client.post(path, headers=SERVICE)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is True
    assert body["job"] == path.rsplit("/", 1)[1]
    assert body["run_id"] == response.headers["X-Run-Id"] == str(UUID(body["run_id"]))
    assert [name for name, _ in runner.calls] == [call]


def test_job_parameters_reach_the_job(client: TestClient, runner: RecordingRunner) -> None:
    org = str(uuid4())
    # A week ago on the real clock: business dates far from today are refused.
    day = (SystemClock().now() - timedelta(days=7)).date().isoformat()
    response = client.post(
        "/functions/v1/certificate-expiry",
        headers=SERVICE,
        json={"today": day, "organization_id": org, "dry_run": True},
    )

    assert response.status_code == 200, response.text
    request = runner.calls[0][1]
    assert isinstance(request, ExpiryRequest)
    assert str(request.today) == day
    assert str(request.organization_id) == org
    assert request.dry_run is True


@pytest.mark.parametrize(
    ("headers", "status", "fragment"),
    [
        ({}, 401, "send one of the API's secret keys"),
        ({"apikey": API_KEY[:-1] + "X"}, 401, "not a valid API key"),
        (bearer("not-a-jwt"), 401, "not a valid API key"),
        (
            bearer(token("service_role", secret="another-projects-secret-0123456789abcdef")),
            401,
            "not valid for this project",
        ),
        (bearer(token("service_role", exp=int(time.time()) - 60)), 401, "expired"),
        # The legacy service-role key, while the setting that allows it is off.
        (bearer(token("service_role")), 403, "no longer accepted"),
        (bearer(token("authenticated")), 403, "API's secret keys"),
        (bearer(token("anon")), 403, "API's secret keys"),
    ],
)
def test_job_endpoints_refuse_everyone_without_an_api_key(
    client: TestClient, runner: RecordingRunner, headers: dict[str, str], status: int, fragment: str
) -> None:
    response = client.post("/functions/v1/dispatch", headers=headers)

    assert response.status_code == status
    assert fragment in response.json()["error"]["message"]
    assert runner.calls == []


def test_a_bad_body_says_which_field_is_wrong(client: TestClient) -> None:
    response = client.post(
        "/functions/v1/certificate-expiry", headers=SERVICE, json={"today": "yesterday"}
    )
    unknown = client.post("/functions/v1/dispatch", headers=SERVICE, json={"limt": 5})

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
    assert "today" in response.json()["error"]["message"]
    assert unknown.status_code == 422
    assert "limt" in unknown.json()["error"]["message"]


def test_a_user_registers_and_deletes_only_their_own_token(
    client: TestClient, runner: RecordingRunner
) -> None:
    alice, bob = uuid4(), uuid4()
    as_alice = bearer(token("authenticated", sub=str(alice)))
    as_bob = bearer(token("authenticated", sub=str(bob)))

    created = client.post(
        "/v1/device-tokens",
        headers=as_alice,
        json={"token": "fcm-token-123456", "platform": "android"},
    )
    token_id = created.json()["id"]
    bobs_try = client.delete(f"/v1/device-tokens/{token_id}", headers=as_bob)
    service_try = client.post(
        "/v1/device-tokens",
        headers=bearer(token("service_role")),
        json={"token": "fcm-token-654321", "platform": "ios"},
    )
    key_try = client.post(
        "/v1/device-tokens", headers=SERVICE, json={"token": "fcm-token-654322", "platform": "ios"}
    )
    alices_delete = client.delete(f"/v1/device-tokens/{token_id}", headers=as_alice)

    assert created.status_code == 201, created.text
    assert "token" not in created.json()  # the secret token is not echoed
    assert bobs_try.status_code == 404
    assert service_try.status_code == 403
    assert key_try.status_code == 401  # an API key is nobody's device owner
    assert alices_delete.status_code == 204
    assert runner.tokens == {}


@pytest.mark.parametrize("bad", ["abc\x00defghij", "abcd efghij", "abcdéfghij", "short"])
def test_a_token_that_is_not_printable_ascii_is_refused_with_a_422(
    client: TestClient, runner: RecordingRunner, bad: str
) -> None:
    # A NUL byte once reached the database, which cannot store it: a 500.
    as_user = bearer(token("authenticated", sub=str(uuid4())))

    answer = client.post(
        "/v1/device-tokens", headers=as_user, json={"token": bad, "platform": "android"}
    )

    assert answer.status_code == 422
    assert answer.json()["error"]["message"].startswith("token:")
    assert runner.tokens == {}


def test_an_unexpected_failure_is_a_json_500_without_a_trace(
    client: TestClient, runner: RecordingRunner
) -> None:
    runner.fail_with = RuntimeError("secret internals: /srv/app.py line 3")

    response = client.post("/functions/v1/dispatch", headers=SERVICE)

    assert response.status_code == 500
    assert response.json() == {
        "error": {
            "code": "internal_error",
            "message": "internal error; the server log has the details",
        }
    }
    assert "Traceback" not in response.text
    assert "secret internals" not in response.text


def test_database_down_is_503_and_unhealthy(client: TestClient, runner: RecordingRunner) -> None:
    runner.database_up = False

    job = client.post("/functions/v1/dispatch", headers=SERVICE)
    health = client.get("/healthz")

    assert job.status_code == 503
    assert job.json()["error"]["code"] == "database_unavailable"
    assert health.status_code == 503
    assert health.json()["database"] is False


def test_metrics_count_runs_notifications_sends_and_queue_depth(client: TestClient) -> None:
    client.post("/functions/v1/certificate-expiry", headers=SERVICE)
    client.post("/functions/v1/dispatch", headers=SERVICE)
    client.post("/functions/v1/dispatch", headers=SERVICE)

    text = client.get("/metrics").text

    assert 'mentor_notify_runs_total{job="dispatch",outcome="ok"} 2.0' in text
    assert 'mentor_notify_notifications_created_total{job="certificate-expiry"} 3.0' in text
    assert 'mentor_notify_push_sends_total{outcome="sent"} 10.0' in text
    assert 'mentor_notify_push_sends_total{outcome="failed"} 2.0' in text
    assert "mentor_notify_queue_depth 42.0" in text
    assert 'mentor_notify_run_duration_seconds_count{job="dispatch"} 2.0' in text


def test_unknown_paths_and_methods_get_json_errors(client: TestClient) -> None:
    missing = client.get("/nowhere")
    wrong_method = client.get("/functions/v1/dispatch")

    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"


def test_the_job_key_may_come_as_the_bearer_token(
    client: TestClient, runner: RecordingRunner
) -> None:
    response = client.post("/functions/v1/dispatch", headers=bearer(API_KEY))

    assert response.status_code == 200, response.text
    assert [name for name, _ in runner.calls] == ["dispatch"]
