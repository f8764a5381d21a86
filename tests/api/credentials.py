"""Credentials as Supabase and the operators issue them, for the API tests: the API's
secret keys, legacy HS256 tokens, asymmetric signing keys and a JWKS served over real
HTTP on this machine."""

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from uuid import uuid4

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from mentor_notify.api import ApiKeys, Authenticator

API_KEY = "mn-test-key-0123456789abcdefghijklmnopqrstuv"
SERVICE = {"apikey": API_KEY}
# The project's legacy JWT secret.
SECRET = "test-jwt-secret-that-is-long-enough-for-hs256"


# What `mentor-notify serve` is started with in the tests: a legacy project with one API key.
SERVE_ENV = {
    "MENTOR_NOTIFY_JWT_SECRET": SECRET,
    "MENTOR_NOTIFY_API_KEYS": API_KEY,
    "MENTOR_NOTIFY_LOG_FORMAT": "json",
}


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def token(role: str, secret: str = SECRET, **claims: Any) -> str:
    """An HS256 token as a project on the legacy JWT secret issues it: a user's access
    token for role authenticated, else an API key of that role."""
    now = int(time.time())
    body: dict[str, Any] = {"role": role, "iat": now, "exp": now + 3600}
    if role == "authenticated":
        body |= {"aud": "authenticated", "sub": str(uuid4())}
    return jwt.encode(body | claims, secret, algorithm="HS256")


def legacy_authenticator(**overrides: Any) -> Authenticator:
    """A project still on its legacy JWT secret, with one API key for the jobs."""
    settings: dict[str, Any] = {
        "signing_keys": None,
        "issuer": None,
        "legacy_secret": SECRET,
        "api_keys": ApiKeys([API_KEY]),
    }
    return Authenticator(**(settings | overrides))


@dataclass
class SigningKey:
    """A private signing key as Supabase Auth holds it, with its published half."""

    algorithm: str
    private: Any
    kid: str = field(default_factory=lambda: str(uuid4()))

    @classmethod
    def es256(cls) -> "SigningKey":
        return cls("ES256", ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def rs256(cls) -> "SigningKey":
        return cls("RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def jwk(self) -> dict[str, Any]:
        """The public key as the JWKS document lists it."""
        encoder = ECAlgorithm if self.algorithm == "ES256" else RSAAlgorithm
        public: dict[str, Any] = encoder.to_jwk(self.private.public_key(), as_dict=True)
        return public | {"kid": self.kid, "alg": self.algorithm, "use": "sig"}

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        return jwt.encode(
            claims, self.private, algorithm=self.algorithm, headers={"kid": self.kid} | header
        )


class JwksServer:
    """`<url>/auth/v1/.well-known/jwks.json` on 127.0.0.1, serving `keys` as they are
    at each request, and counting the requests."""

    def __init__(self) -> None:
        self.keys: list[SigningKey] = []
        self.fetches = 0
        self.down = False
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.fetches += 1
                if owner.down or self.path != "/auth/v1/.well-known/jwks.json":
                    self.send_error(503 if owner.down else 404)
                    return
                body = json.dumps({"keys": [k.jwk() for k in owner.keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.issuer = self.url + "/auth/v1"

    @contextmanager
    def running(self) -> Iterator["JwksServer"]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()

    def user_claims(self, **claims: Any) -> dict[str, Any]:
        """What Supabase Auth puts in a signed-in user's access token."""
        now = int(time.time())
        return {
            "iss": self.issuer,
            "aud": "authenticated",
            "role": "authenticated",
            "sub": str(uuid4()),
            "iat": now,
            "exp": now + 3600,
        } | claims


class SteppingClock:
    """A real-time clock the test moves by hand (the JWKS cache's age and rate limit)."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, by: timedelta) -> None:
        self._now += by
