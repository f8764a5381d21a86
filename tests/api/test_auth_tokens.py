"""Users' access tokens verified as Supabase issues them today (asymmetric signing keys
published as a JWKS, served here over real HTTP) and as legacy projects still do
(HS256 with the JWT secret); the job endpoints' own API keys and the legacy
service-role key."""

import base64
import hmac
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient

from mentor_notify.api import ApiKeys, Authenticator, SigningKeys, create_app
from mentor_notify.config import ConfigurationError
from tests.api.credentials import (
    API_KEY,
    SECRET,
    JwksServer,
    SigningKey,
    SteppingClock,
    bearer,
    legacy_authenticator,
    token,
)
from tests.api.fake_runner import RecordingRunner

DEVICE = {"token": "fcm-token-123456", "platform": "android"}


@pytest.fixture
def jwks() -> Iterator[JwksServer]:
    server = JwksServer()
    server.keys = [SigningKey.es256(), SigningKey.rs256()]
    with server.running():
        yield server


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock(datetime(2026, 1, 1, tzinfo=UTC))


def client_for(
    jwks: JwksServer, clock: SteppingClock, legacy_secret: str | None = None
) -> TestClient:
    auth = Authenticator(
        signing_keys=SigningKeys(jwks.url + "/auth/v1/.well-known/jwks.json", clock),
        issuer=jwks.issuer,
        legacy_secret=legacy_secret,
        api_keys=ApiKeys([API_KEY]),
    )
    return TestClient(create_app(RecordingRunner(), auth), raise_server_exceptions=False)


def register(client: TestClient, access_token: str) -> Any:
    return client.post("/v1/device-tokens", headers=bearer(access_token), json=DEVICE)


@pytest.mark.parametrize("index", [0, 1], ids=["ES256", "RS256"])
def test_a_user_token_signed_with_a_published_key_is_accepted(
    jwks: JwksServer, clock: SteppingClock, index: int
) -> None:
    key = jwks.keys[index]

    response = register(client_for(jwks, clock), key.sign(jwks.user_claims()))

    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("claims", "fragment"),
    [
        ({"exp": 1_600_000_000}, "expired"),
        ({"iss": "https://another-project.supabase.co/auth/v1"}, "not issued by this project"),
        ({"aud": "something-else"}, "not issued for signed-in users"),
        ({"role": "service_role"}, "signed-in user's access token"),
        ({"sub": "not-a-uuid"}, "not a user id"),
    ],
)
def test_a_token_with_the_wrong_claims_is_refused(
    jwks: JwksServer, clock: SteppingClock, claims: dict[str, Any], fragment: str
) -> None:
    response = register(client_for(jwks, clock), jwks.keys[0].sign(jwks.user_claims(**claims)))

    assert response.status_code in (401, 403)
    assert fragment in response.json()["error"]["message"]


@pytest.mark.parametrize("claim", ["iat", "nbf"])
@pytest.mark.parametrize("ahead", [1, 5])
def test_a_token_stamped_a_few_seconds_ahead_of_this_clock_is_accepted(
    jwks: JwksServer, clock: SteppingClock, claim: str, ahead: int
) -> None:
    # Supabase's clock a little ahead of this server's: a fresh token's iat (and
    # nbf) is then in this server's future.
    claims = jwks.user_claims()
    claims[claim] = int(time.time()) + ahead

    response = register(client_for(jwks, clock), jwks.keys[0].sign(claims))

    assert response.status_code == 201, response.text


@pytest.mark.parametrize("claim", ["iat", "nbf"])
def test_a_token_stamped_well_ahead_of_this_clock_is_refused(
    jwks: JwksServer, clock: SteppingClock, claim: str
) -> None:
    claims = jwks.user_claims()
    claims[claim] = int(time.time()) + 120

    response = register(client_for(jwks, clock), jwks.keys[0].sign(claims))

    assert response.status_code == 401
    assert "not valid yet" in response.json()["error"]["message"]


def test_the_clock_leeway_does_not_extend_expiry(jwks: JwksServer, clock: SteppingClock) -> None:
    now = int(time.time())
    claims = jwks.user_claims(iat=now - 3600, exp=now - 2)

    response = register(client_for(jwks, clock), jwks.keys[0].sign(claims))

    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


def test_an_anonymous_sign_in_is_refused_with_a_plain_403(
    jwks: JwksServer, clock: SteppingClock
) -> None:
    # What Supabase Auth issues after signInAnonymously(): role authenticated, a real
    # user id, and is_anonymous true.
    claims = jwks.user_claims(is_anonymous=True)

    response = register(client_for(jwks, clock), jwks.keys[0].sign(claims))

    assert response.status_code == 403
    assert "anonymous sign-ins" in response.json()["error"]["message"]


def test_a_permanent_user_whose_token_says_is_anonymous_false_is_accepted(
    jwks: JwksServer, clock: SteppingClock
) -> None:
    claims = jwks.user_claims(is_anonymous=False)

    response = register(client_for(jwks, clock), jwks.keys[0].sign(claims))

    assert response.status_code == 201, response.text


def test_a_token_without_an_expiry_is_refused(jwks: JwksServer, clock: SteppingClock) -> None:
    claims = jwks.user_claims()
    del claims["exp"]

    response = register(client_for(jwks, clock), jwks.keys[0].sign(claims))

    assert response.status_code == 401


def _unsigned(claims: dict[str, Any], alg: str = "none") -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': alg, 'typ': 'JWT'})}.{part(claims)}."


def test_an_unsigned_token_is_refused(jwks: JwksServer, clock: SteppingClock) -> None:
    response = register(client_for(jwks, clock, SECRET), _unsigned(jwks.user_claims()))

    assert response.status_code == 401


@pytest.mark.parametrize("legacy_secret", [None, SECRET], ids=["signing-keys", "also-legacy"])
def test_an_hs256_token_signed_with_the_public_key_is_refused(
    jwks: JwksServer, clock: SteppingClock, legacy_secret: str | None
) -> None:
    # Algorithm confusion: the public key (which anyone can fetch) used as an HMAC secret.
    key = jwks.keys[1]
    public_pem = key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = base64.urlsafe_b64encode(
        json.dumps({"alg": "HS256", "typ": "JWT", "kid": key.kid}).encode()
    ).rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps(jwks.user_claims()).encode()).rstrip(b"=")
    signing_input = header + b"." + body
    signature = base64.urlsafe_b64encode(
        hmac.new(public_pem, signing_input, "sha256").digest()
    ).rstrip(b"=")
    forged = (signing_input + b"." + signature).decode()

    response = register(client_for(jwks, clock, legacy_secret), forged)

    assert response.status_code == 401


def test_an_unknown_key_id_is_refused_and_refetches_at_most_once_a_minute(
    jwks: JwksServer, clock: SteppingClock
) -> None:
    client = client_for(jwks, clock)
    stranger = SigningKey.es256()  # never published

    answers = [register(client, stranger.sign(jwks.user_claims())) for _ in range(5)]
    fetches_within_a_minute = jwks.fetches
    clock.advance(timedelta(seconds=61))
    later = register(client, stranger.sign(jwks.user_claims()))

    assert {a.status_code for a in answers} == {401}
    assert "key this project does not use" in answers[0].json()["error"]["message"]
    # The first request fetched the set, the first unknown id may not refetch in
    # the same minute, and the next four none either.
    assert fetches_within_a_minute == 1
    assert later.status_code == 401
    assert jwks.fetches == 2


def test_a_rotated_key_is_trusted_once_published_and_a_removed_key_stops_being_trusted(
    jwks: JwksServer, clock: SteppingClock
) -> None:
    client = client_for(jwks, clock)
    old = jwks.keys[0]
    assert register(client, old.sign(jwks.user_claims())).status_code == 201

    # Supabase publishes the standby key, then rotates to it.
    new = SigningKey.es256()
    jwks.keys.append(new)
    clock.advance(timedelta(minutes=2))
    with_new = register(client, new.sign(jwks.user_claims()))
    # The old key is revoked: the cached set keeps it until it is ten minutes old.
    jwks.keys.remove(old)
    old_while_cached = register(client, old.sign(jwks.user_claims()))
    clock.advance(timedelta(minutes=10))
    old_after = register(client, old.sign(jwks.user_claims()))
    new_after = register(client, new.sign(jwks.user_claims()))

    assert with_new.status_code == 201, with_new.text
    assert old_while_cached.status_code == 201
    assert old_after.status_code == 401
    assert new_after.status_code == 201


def test_unreachable_signing_keys_are_a_503_to_retry(
    jwks: JwksServer, clock: SteppingClock
) -> None:
    jwks.down = True

    response = register(client_for(jwks, clock), jwks.keys[0].sign(jwks.user_claims()))

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    assert response.json()["error"]["code"] == "signing_keys_unavailable"


def test_legacy_hs256_user_tokens_are_accepted_only_with_the_legacy_secret(
    jwks: JwksServer, clock: SteppingClock
) -> None:
    legacy = token("authenticated", iss=jwks.issuer)

    with_secret = register(client_for(jwks, clock, SECRET), legacy)
    without = register(client_for(jwks, clock), legacy)

    assert with_secret.status_code == 201, with_secret.text
    assert without.status_code == 401


def test_several_api_keys_are_accepted_at_once_for_rotation() -> None:
    second = "mn-rotated-key-" + "z" * 32
    runner = RecordingRunner()
    client = TestClient(
        create_app(runner, legacy_authenticator(api_keys=ApiKeys([API_KEY, second]))),
        raise_server_exceptions=False,
    )

    first_ok = client.post("/functions/v1/dispatch", headers={"apikey": API_KEY})
    second_ok = client.post("/functions/v1/dispatch", headers={"apikey": second})
    neither = client.post("/functions/v1/dispatch", headers={"apikey": second + "x"})

    assert (first_ok.status_code, second_ok.status_code, neither.status_code) == (200, 200, 401)
    assert len(runner.calls) == 2


def test_the_legacy_service_role_key_works_only_while_allowed() -> None:
    legacy_key = token("service_role", iss="supabase")
    allowed = TestClient(
        create_app(RecordingRunner(), legacy_authenticator(accept_legacy_service_role=True))
    )
    refused = TestClient(create_app(RecordingRunner(), legacy_authenticator()))

    assert allowed.post("/functions/v1/dispatch", headers=bearer(legacy_key)).status_code == 200
    assert refused.post("/functions/v1/dispatch", headers=bearer(legacy_key)).status_code == 403


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"legacy_secret": None}, "nothing to verify users' access tokens with"),
        ({"api_keys": ApiKeys([])}, "no key for the job endpoints"),
        (
            {"legacy_secret": None, "accept_legacy_service_role": True, "signing_keys": object()},
            "needs MENTOR_NOTIFY_JWT_SECRET",
        ),
    ],
)
def test_an_incomplete_configuration_says_what_to_set(
    overrides: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ConfigurationError, match=fragment):
        legacy_authenticator(**overrides)


@pytest.mark.parametrize("bad", ["short", " " + "x" * 40, "x" * 20 + "é" * 20])
def test_a_weak_api_key_is_a_configuration_error(bad: str) -> None:
    with pytest.raises(ConfigurationError, match="at least 32"):
        ApiKeys([bad])


def test_keys_are_read_separated_by_commas_or_lines() -> None:
    keys = ApiKeys.parse(f" {API_KEY} ,\n{'k' * 40}\n")

    assert len(keys) == 2
    assert keys.accepts(API_KEY)
    assert keys.accepts("k" * 40)
    assert not keys.accepts("k" * 39)
    assert all(f.startswith("sha256:") and API_KEY not in f for f in keys.fingerprints())
