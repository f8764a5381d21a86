"""Sender pieces that need no network: provider-token caching, error and header parsing."""

from datetime import UTC, datetime, timedelta

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mentor_notify.domain import FixedClock
from mentor_notify.push.apns import ProviderToken
from mentor_notify.push.fcm import fcm_error_code
from mentor_notify.push.http2 import retry_after

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def signing_key() -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def test_provider_token_is_signed_es256_cached_and_renewed_before_its_hour() -> None:
    private, public = signing_key()
    clock = FixedClock(START)
    token = ProviderToken(private, "KEY123", "TEAM456", clock)

    first = token.token()
    claims = jwt.decode(first, public, algorithms=["ES256"], options={"verify_iat": False})
    header = jwt.get_unverified_header(first)
    same = token.token()

    assert claims == {"iss": "TEAM456", "iat": int(START.timestamp())}
    assert (header["alg"], header["kid"]) == ("ES256", "KEY123")
    assert same == first


def test_provider_token_renews_after_fifty_minutes_and_when_refused() -> None:
    private, public = signing_key()
    now = [START]

    class Clock:
        def now(self) -> datetime:
            return now[0]

    token = ProviderToken(private, "KEY123", "TEAM456", Clock())  # type: ignore[arg-type]
    first = token.token()
    now[0] = START + timedelta(minutes=49)
    at_49 = token.token()
    now[0] = START + timedelta(minutes=50)
    at_50 = token.token()
    token.invalidate()
    after_refusal = token.token()

    assert at_49 == first
    assert jwt.decode(at_50, public, algorithms=["ES256"], options={"verify_iat": False})[
        "iat"
    ] == int(now[0].timestamp())
    assert at_50 != first
    assert (
        jwt.decode(after_refusal, public, algorithms=["ES256"], options={"verify_iat": False})[
            "iss"
        ]
        == "TEAM456"
    )
    assert token.token() == after_refusal  # cached again


def test_fcm_error_code_prefers_the_fcm_error_detail() -> None:
    body = (
        b'{"error": {"code": 404, "status": "NOT_FOUND", "details": ['
        b'{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",'
        b' "errorCode": "UNREGISTERED"}]}}'
    )
    assert fcm_error_code(body) == "UNREGISTERED"
    assert fcm_error_code(b'{"error": {"code": 400, "status": "INVALID_ARGUMENT"}}') == (
        "INVALID_ARGUMENT"
    )
    assert fcm_error_code(b"<html>bad gateway</html>") is None


def test_retry_after_reads_seconds_and_dates() -> None:
    assert retry_after("120") == timedelta(seconds=120)
    assert retry_after(None) is None
    assert retry_after("soon") is None
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == timedelta(0)  # in the past
    future = (datetime.now(UTC) + timedelta(hours=1)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    wait = retry_after(future)
    assert wait is not None
    assert timedelta(minutes=58) < wait <= timedelta(hours=1)
