"""A local stand-in for FCM HTTP v1, APNs and Google's OAuth2 token endpoint.

It checks requests the way the real services do (bearer credentials, payload
shape, token format, header values) and answers with their real error bodies,
so the senders are tested against the protocol rather than against mocks.
Failures can be injected per token (`script`) or at random rates: unregistered
tokens, 429 with Retry-After, 500, 503, slow answers and dropped connections.

It speaks HTTP/2 with prior knowledge (what our senders use, as the real
services speak HTTP/2) and HTTP/1.1 on the same port (what the official
firebase-admin SDK uses without TLS). Control endpoints under `/emulator/`
let tests and the demo read what was delivered and script failures.

Its HTTP/2 side can also be told to misbehave at the connection level, as
servers do: advertise (or lower, mid-connection) a `SETTINGS_MAX_CONCURRENT_STREAMS`,
send GOAWAY after a number of streams, or go silent (no answers, no PING ACKs,
the socket left open), and it counts what the clients did: connections, the
most streams open at once on one connection, PINGs.
"""

import asyncio
import contextlib
import json
import random
import re
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
import h11
import jwt
import structlog
from hyperframe.frame import GoAwayFrame

from mentor_notify.push.kinds import token_format_problem

log = structlog.get_logger(__name__)

Answer = Literal["unregistered", "rate_limited", "unavailable", "internal", "slow", "drop"]
ANSWERS: tuple[Answer, ...] = (
    "unregistered",
    "rate_limited",
    "unavailable",
    "internal",
    "slow",
    "drop",
)
_FCM_PATH = re.compile(r"^/v1/projects/(?P<project>[^/]+)/messages:send$")
_APNS_PATH = re.compile(r"^/3/device/(?P<token>[^/?]*)$")
_H2_PREFACE = b"PRI * HTTP/2.0"
# Scopes FCM accepts an access token for.
_FCM_SCOPES = {
    "https://www.googleapis.com/auth/firebase.messaging",
    "https://www.googleapis.com/auth/cloud-platform",
}
_FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
# How long APNs accepts a provider token after its issue time.
PROVIDER_TOKEN_LIFETIME_SECONDS = 3600


@dataclass(frozen=True)
class Request:
    """One request as the emulator saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Reply:
    """One answer; `drop` closes the connection instead of answering."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    drop: bool = False


@dataclass
class FailureRates:
    """Chance (0-1) that any send gets each injected failure."""

    rate_limited: float = 0.0
    unavailable: float = 0.0
    internal: float = 0.0
    slow: float = 0.0
    drop: float = 0.0


class _Refusal(Exception):
    def __init__(self, reply: Reply) -> None:
        self.reply = reply


def _json_reply(status: int, document: object, *headers: tuple[str, str]) -> Reply:
    return Reply(
        status,
        json.dumps(document).encode(),
        (("content-type", "application/json"), *headers),
    )


def _fcm_error(code: int, status: str, message: str, fcm_code: str | None = None) -> Reply:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if fcm_code is not None:
        error["details"] = [{"@type": _FCM_ERROR_TYPE, "errorCode": fcm_code}]
    return _json_reply(code, {"error": error})


def _fcm_invalid(field_path: str, description: str) -> _Refusal:
    reply = _json_reply(
        400,
        {
            "error": {
                "code": 400,
                "message": f"Invalid value at '{field_path}': {description}",
                "status": "INVALID_ARGUMENT",
                "details": [
                    {"@type": _FCM_ERROR_TYPE, "errorCode": "INVALID_ARGUMENT"},
                    {
                        "@type": "type.googleapis.com/google.rpc.BadRequest",
                        "fieldViolations": [{"field": field_path, "description": description}],
                    },
                ],
            }
        },
    )
    return _Refusal(reply)


def _apns_error(status: int, reason: str, *headers: tuple[str, str]) -> Reply:
    document: dict[str, Any] = {"reason": reason}
    if reason == "Unregistered":
        document["timestamp"] = int(time.time() * 1000)
    return _json_reply(status, document, *headers)


def _shows_something(aps: object) -> bool:
    """Whether an aps dictionary makes the device show or play something."""
    return isinstance(aps, dict) and any(key in aps for key in ("alert", "sound", "badge"))


def _background_problem(aps: object) -> str | None:
    """Why an aps dictionary is not a background notification's, or None when it is:
    content-available 1 and nothing that shows or plays (Apple, "Pushing background
    updates to your App", checked 2026-12-06)."""
    if not isinstance(aps, dict) or aps.get("content-available") != 1:
        return "A background notification needs aps content-available 1."
    if _shows_something(aps):
        return "A background notification must not carry alert, sound or badge."
    return None


@dataclass
class Emulator:
    """The emulated services' state: credentials issued, scripts, what was delivered."""

    project_id: str = "mentor-notify-emulator"
    apns_team_id: str | None = None
    apns_public_key: str | None = None
    rates: FailureRates = field(default_factory=FailureRates)
    retry_after_seconds: int = 1
    slow_seconds: float = 2.0
    keep: int = 10_000
    rng: random.Random = field(default_factory=random.Random)
    delivered: deque[dict[str, Any]] = field(init=False)
    counts: Counter[str] = field(default_factory=Counter)
    keys_seen: Counter[str] = field(default_factory=Counter)
    access_tokens: set[str] = field(default_factory=set)
    # How clients use the connection: connections opened by protocol (h2, http/1.1),
    # and the most requests being answered at once.
    connections: Counter[str] = field(default_factory=Counter)
    in_flight: int = 0
    max_in_flight: int = 0
    scripts: dict[str, deque[Answer]] = field(default_factory=dict)
    # Connection-level behaviour of the HTTP/2 side. `max_concurrent_streams` is
    # advertised to each new connection (None: h2's default, 100);
    # `goaway_after` sends a graceful GOAWAY once a connection has carried that
    # many requests (the later ones are not processed); `silent` stops all
    # writing, PING ACKs included, as a peer that vanished without closing.
    max_concurrent_streams: int | None = None
    goaway_after: int | None = None
    silent: bool = False
    # The most streams one connection had open at once (request in, answer not yet
    # out), PINGs received and GOAWAYs sent.
    max_streams_per_connection: int = 0
    pings: int = 0
    goaways: int = 0

    def __post_init__(self) -> None:
        self.delivered = deque(maxlen=self.keep)

    def script(self, token: str, answer: Answer, times: int = 1) -> None:
        """Answer the next `times` sends to `token` with `answer` (unregistered: for good)."""
        self.scripts.setdefault(token, deque()).extend([answer] * times)

    def reset(self) -> None:
        """Forget deliveries, counts and scripts (issued credentials stay valid)."""
        self.delivered.clear()
        self.counts.clear()
        self.keys_seen.clear()
        self.scripts.clear()
        self.max_streams_per_connection = 0
        self.pings = 0
        self.goaways = 0

    def duplicates(self) -> int:
        """How many deliveries repeated an idempotency key already delivered."""
        return sum(n - 1 for n in self.keys_seen.values() if n > 1)

    async def handle(self, request: Request) -> Reply:
        """Answer one request as the real service would."""
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._answer(request)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: Request) -> Reply:
        try:
            if request.path == "/token" and request.method == "POST":
                return self._token(request)
            if request.path.startswith("/emulator/"):
                return self._control(request)
            if (match := _FCM_PATH.match(request.path)) is not None:
                return await self._fcm(request, match["project"])
            if (match := _APNS_PATH.match(request.path)) is not None:
                return await self._apns(request, match["token"])
        except _Refusal as refusal:
            return refusal.reply
        return _json_reply(404, {"error": {"code": 404, "status": "NOT_FOUND"}})

    # Google OAuth2: the service-account JWT-bearer grant google-auth performs.
    def _token(self, request: Request) -> Reply:
        form = parse_qs(request.body.decode("utf-8", "replace"))
        grant = form.get("grant_type", [""])[0]
        assertion = form.get("assertion", [""])[0]
        if grant != "urn:ietf:params:oauth:grant-type:jwt-bearer" or not assertion:
            return _json_reply(400, {"error": "unsupported_grant_type"})
        try:
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            return _json_reply(400, {"error": "invalid_grant", "error_description": "bad JWT"})
        scopes = str(claims.get("scope", "")).split()
        if not any(scope in _FCM_SCOPES for scope in scopes) or not claims.get("iss"):
            return _json_reply(400, {"error": "invalid_scope"})
        token = "emu." + uuid.uuid4().hex
        self.access_tokens.add(token)
        return _json_reply(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    def _control(self, request: Request) -> Reply:
        if request.path == "/emulator/deliveries":
            return _json_reply(
                200,
                {
                    "counts": dict(self.counts),
                    "connections": dict(self.connections),
                    "max_in_flight": self.max_in_flight,
                    "max_streams_per_connection": self.max_streams_per_connection,
                    "duplicates": self.duplicates(),
                    "delivered": list(self.delivered),
                },
            )
        if request.path == "/emulator/reset" and request.method == "POST":
            self.reset()
            return _json_reply(200, {})
        if request.path == "/emulator/script" and request.method == "POST":
            document = json.loads(request.body or b"{}")
            if document.get("answer") not in ANSWERS:
                return _json_reply(400, {"error": f"answer must be one of {', '.join(ANSWERS)}"})
            self.script(str(document["token"]), document["answer"], int(document.get("times", 1)))
            return _json_reply(200, {})
        return _json_reply(404, {"error": "no such control endpoint"})

    def _injected(self, token: str) -> Answer | None:
        queue = self.scripts.get(token)
        if queue:
            answer = queue[0] if queue[0] == "unregistered" else queue.popleft()
            return answer
        roll = self.rng.random()
        for answer, rate in (
            ("rate_limited", self.rates.rate_limited),
            ("unavailable", self.rates.unavailable),
            ("internal", self.rates.internal),
            ("slow", self.rates.slow),
            ("drop", self.rates.drop),
        ):
            if roll < rate:
                return answer
            roll -= rate
        return None

    async def _fcm(self, request: Request, project: str) -> Reply:
        bearer = request.headers.get("authorization", "")
        if not bearer.startswith("Bearer ") or bearer[7:] not in self.access_tokens:
            return _fcm_error(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access token.",
            )
        if project != self.project_id:
            return _fcm_error(403, "PERMISSION_DENIED", "Permission denied.", "SENDER_ID_MISMATCH")
        message = self._fcm_message(request.body)
        token = message["token"]
        answer = self._injected(token)
        if answer == "unregistered":
            return _fcm_error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED")
        if answer == "rate_limited":
            reply = _fcm_error(
                429, "RESOURCE_EXHAUSTED", "Quota exceeded for the device.", "QUOTA_EXCEEDED"
            )
            return Reply(
                reply.status,
                reply.body,
                (*reply.headers, ("retry-after", str(self.retry_after_seconds))),
            )
        if answer == "unavailable":
            return _fcm_error(
                503, "UNAVAILABLE", "The service is currently unavailable.", "UNAVAILABLE"
            )
        if answer == "internal":
            return _fcm_error(500, "INTERNAL", "Internal error encountered.", "INTERNAL")
        if answer == "drop":
            return Reply(0, drop=True)
        if answer == "slow":
            await asyncio.sleep(self.slow_seconds)
        key = message.get("data", {}).get("idempotency_key", "")
        self._deliver("fcm", token, key, message, {})
        return _json_reply(200, {"name": f"projects/{project}/messages/{uuid.uuid4().hex[:16]}"})

    def _fcm_message(self, body: bytes) -> dict[str, Any]:
        if len(body) > 65536:
            raise _fcm_invalid("message", "Request payload size exceeds the limit.")
        try:
            document = json.loads(body)
        except ValueError:
            raise _fcm_invalid("", "Invalid JSON payload received.") from None
        message = document.get("message") if isinstance(document, dict) else None
        if not isinstance(message, dict):
            raise _fcm_invalid("message", "The message is missing.")
        targets = [key for key in ("token", "topic", "condition") if key in message]
        if targets != ["token"]:
            raise _fcm_invalid("message", "Exactly one of token, topic or condition is required.")
        # The token rule registration applies (one rule, so the two never disagree).
        if not isinstance(message["token"], str) or token_format_problem("fcm", message["token"]):
            raise _fcm_invalid("message.token", "The registration token is not a valid FCM token.")
        data = message.get("data", {})
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise _fcm_invalid("message.data", "data must map strings to strings.")
        if len(json.dumps(data).encode()) > 4096:
            raise _fcm_invalid("message", "Android message is too big.")
        android = message.get("android", {})
        if str(android.get("priority", "NORMAL")).upper() not in ("NORMAL", "HIGH"):
            raise _fcm_invalid("message.android.priority", "Invalid value.")
        headers = message.get("apns", {}).get("headers", {})
        if not all(isinstance(v, str) for v in headers.values()):
            raise _fcm_invalid("message.apns.headers", "header values must be strings.")
        aps = message.get("apns", {}).get("payload", {}).get("aps", {})
        # Google, "Set the priority of a message" (checked 2026-12-06): a data
        # message to Apple devices must have priority 5 (normal); high priority is
        # rejected with INVALID_ARGUMENT. The emulator cannot tell an Apple token
        # from an Android one, and Google documents no default for a message that
        # sets no APNs priority, so only an explicit 10 is refused.
        data_only = "notification" not in message and not _shows_something(aps)
        if data_only and headers.get("apns-priority") == "10":
            raise _fcm_invalid(
                "message.apns.headers", "Data messages to Apple devices need apns-priority 5."
            )
        if headers.get("apns-push-type") == "background" and (problem := _background_problem(aps)):
            raise _fcm_invalid("message.apns.payload", problem)
        return message

    async def _apns(self, request: Request, token: str) -> Reply:
        if request.method != "POST":
            return _apns_error(405, "MethodNotAllowed")
        if not token:
            return _apns_error(400, "MissingDeviceToken")
        self._check_provider_token(request.headers.get("authorization", ""))
        headers = request.headers
        if "apns-topic" not in headers:
            return _apns_error(400, "MissingTopic")
        if headers.get("apns-push-type", "alert") not in (
            "alert",
            "background",
            "voip",
            "complication",
            "fileprovider",
            "mdm",
            "liveactivity",
        ):
            return _apns_error(400, "InvalidPushType")
        if headers.get("apns-priority", "10") not in ("1", "5", "10"):
            return _apns_error(400, "BadPriority")
        if not headers.get("apns-expiration", "0").isdigit():
            return _apns_error(400, "BadExpirationDate")
        if len(headers.get("apns-collapse-id", "").encode()) > 64:
            return _apns_error(400, "BadCollapseId")
        if "apns-id" in headers:
            try:
                uuid.UUID(headers["apns-id"])
            except ValueError:
                return _apns_error(400, "BadMessageId")
        if token_format_problem("apns", token):
            return _apns_error(400, "BadDeviceToken")
        if len(request.body) > 4096:
            return _apns_error(413, "PayloadTooLarge")
        try:
            payload = json.loads(request.body)
        except ValueError:
            return _apns_error(400, "PayloadEmpty")
        if not isinstance(payload, dict) or not isinstance(payload.get("aps"), dict):
            return _apns_error(400, "PayloadEmpty")
        if headers.get("apns-push-type", "alert") == "background":
            # Apple, "Pushing background updates to your App" (checked 2026-12-06):
            # a background notification is sent with apns-priority 5 and an aps
            # dictionary holding only content-available. APNs itself may accept
            # other shapes and then not wake the app (or show an alert); the
            # emulator refuses them, so a test fails where a device would.
            if headers.get("apns-priority", "10") != "5":
                return _apns_error(400, "BadPriority")
            if _background_problem(payload["aps"]):
                return _apns_error(400, "InvalidPushType")
        answer = self._injected(token)
        if answer == "unregistered":
            return _apns_error(410, "Unregistered")
        if answer == "rate_limited":
            return _apns_error(
                429, "TooManyRequests", ("retry-after", str(self.retry_after_seconds))
            )
        if answer == "unavailable":
            return _apns_error(503, "ServiceUnavailable")
        if answer == "internal":
            return _apns_error(500, "InternalServerError")
        if answer == "drop":
            return Reply(0, drop=True)
        if answer == "slow":
            await asyncio.sleep(self.slow_seconds)
        apns_headers = {k: v for k, v in headers.items() if k.startswith("apns-")}
        self._deliver("apns", token, str(payload.get("idempotency_key", "")), payload, apns_headers)
        apns_id = headers.get("apns-id") or str(uuid.uuid4()).upper()
        return Reply(200, b"", (("apns-id", apns_id),))

    def _check_provider_token(self, authorization: str) -> None:
        if not authorization.lower().startswith("bearer "):
            raise _Refusal(_apns_error(403, "MissingProviderToken"))
        token = authorization[7:]
        try:
            header = jwt.get_unverified_header(token)
            if self.apns_public_key is not None:
                # The issue time is judged below, on APNs' own terms.
                claims = jwt.decode(
                    token,
                    self.apns_public_key,
                    algorithms=["ES256"],
                    options={"verify_iat": False},
                )
            else:
                claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise _Refusal(_apns_error(403, "InvalidProviderToken")) from None
        if header.get("alg") != "ES256" or not header.get("kid"):
            raise _Refusal(_apns_error(403, "InvalidProviderToken"))
        if self.apns_team_id is not None and claims.get("iss") != self.apns_team_id:
            raise _Refusal(_apns_error(403, "InvalidProviderToken"))
        # APNs accepts a provider token only while its issue time is within the
        # last hour of its own (real) clock: older is ExpiredProviderToken, and
        # an issue time in the future is not within the last hour either, which
        # APNs answers as a token it cannot accept (InvalidProviderToken).
        # Checked 2026-11-29 in Apple's "Establishing a token-based connection
        # to APNs" and "Handling notification responses from APNs".
        iat = claims.get("iat")
        if not isinstance(iat, int):
            raise _Refusal(_apns_error(403, "InvalidProviderToken"))
        now = time.time()
        if iat > now:
            raise _Refusal(_apns_error(403, "InvalidProviderToken"))
        if iat < now - PROVIDER_TOKEN_LIFETIME_SECONDS:
            raise _Refusal(_apns_error(403, "ExpiredProviderToken"))

    def _deliver(
        self,
        provider: str,
        token: str,
        key: str,
        message: dict[str, Any],
        headers: dict[str, str],
    ) -> None:
        self.counts[provider] += 1
        if key:
            self.keys_seen[key] += 1
        self.delivered.append(
            {"provider": provider, "token": token, "message": message, "headers": headers}
        )


@dataclass(eq=False)
class _H2Peer:
    """One HTTP/2 client connection and what the emulator knows of it."""

    conn: h2.connection.H2Connection
    writer: asyncio.StreamWriter
    emulator: Emulator
    settings_acked: asyncio.Event = field(default_factory=asyncio.Event)
    open_streams: int = 0
    requests: int = 0
    # Set once GOAWAY is sent: streams above it are not processed.
    last_stream_id: int | None = None

    def flush(self) -> None:
        """Write what h2 has queued, or throw it away while the emulator is silent."""
        data = self.conn.data_to_send()
        if data and not self.emulator.silent:
            self.writer.write(data)

    def opened(self, stream_id: int) -> bool:
        """Count a new request; False when it is above a GOAWAY and is not processed."""
        if self.last_stream_id is not None and stream_id > self.last_stream_id:
            return False
        self.requests += 1
        self.open_streams += 1
        emulator = self.emulator
        emulator.max_streams_per_connection = max(
            emulator.max_streams_per_connection, self.open_streams
        )
        if self.last_stream_id is None and self.requests == emulator.goaway_after:
            # A graceful shutdown: written by hand because h2 would refuse to
            # answer the streams it has promised to finish after its own GOAWAY.
            self.last_stream_id = stream_id
            self.flush()
            if not emulator.silent:
                self.writer.write(GoAwayFrame(0, last_stream_id=stream_id).serialize())
            emulator.goaways += 1
        return True

    def answered(self) -> None:
        """One stream is done; after a GOAWAY, the last one closes the connection."""
        self.open_streams -= 1
        if self.last_stream_id is not None and not self.open_streams:
            self.writer.close()


class EmulatorServer:
    """Serves an `Emulator` over HTTP/2 (prior knowledge) and HTTP/1.1 on one port."""

    def __init__(self, emulator: Emulator) -> None:
        """Serve `emulator`."""
        self.emulator = emulator
        self._server: asyncio.Server | None = None
        self._peers: set[_H2Peer] = set()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Start listening; returns the port (useful with port 0)."""
        self._server = await asyncio.start_server(self._connection, host, port, backlog=1024)
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        """Stop listening and close the connections."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1)

    async def serve_forever(self) -> None:
        """Serve until cancelled."""
        assert self._server is not None
        await self._server.serve_forever()

    async def advertise_stream_limit(self, limit: int) -> None:
        """Allow `limit` concurrent streams per connection from now on: to new
        connections, and in a SETTINGS frame to the open ones; returns once every
        open connection has acknowledged it (from then on it binds the client)."""
        self.emulator.max_concurrent_streams = limit
        acks = []
        for peer in self._peers:
            peer.settings_acked.clear()
            peer.conn.update_settings({h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: limit})
            peer.flush()
            acks.append(peer.settings_acked.wait())
        await asyncio.gather(*acks)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            first = await reader.read(65536)
            if first.startswith(_H2_PREFACE):
                self.emulator.connections["h2"] += 1
                await self._h2(first, reader, writer)
            elif first:
                self.emulator.connections["http/1.1"] += 1
                await self._h11(first, reader, writer)
        except (OSError, h2.exceptions.ProtocolError, h11.RemoteProtocolError):
            pass
        finally:
            writer.close()

    async def _h2(
        self, first: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        conn = h2.connection.H2Connection(
            h2.config.H2Configuration(
                client_side=False,
                header_encoding=None,
                validate_outbound_headers=False,
                normalize_outbound_headers=False,
            )
        )
        if self.emulator.max_concurrent_streams is not None:
            conn.local_settings = h2.settings.Settings(
                client=False,
                initial_values={
                    h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: (
                        self.emulator.max_concurrent_streams
                    )
                },
            )
        conn.initiate_connection()
        conn.increment_flow_control_window(1 << 24)
        peer = _H2Peer(conn, writer, self.emulator)
        pending: dict[int, tuple[dict[str, str], bytearray]] = {}
        tasks: set[asyncio.Task[None]] = set()

        async def answer(stream_id: int, headers: dict[str, str], body: bytearray) -> None:
            request = Request(
                headers.pop(":method", ""), headers.pop(":path", ""), headers, bytes(body)
            )
            reply = await self.emulator.handle(request)
            if reply.drop:
                writer.transport.abort()
                return
            with contextlib.suppress(h2.exceptions.ProtocolError):
                conn.send_headers(
                    stream_id,
                    [
                        (":status", str(reply.status)),
                        *reply.headers,
                        ("content-length", str(len(reply.body))),
                    ],
                    end_stream=not reply.body,
                )
                if reply.body:
                    conn.send_data(stream_id, reply.body, end_stream=True)
                peer.flush()
            peer.answered()

        self._peers.add(peer)
        try:
            data = first
            while data:
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.RequestReceived):
                        if peer.opened(event.stream_id or 0):
                            pending[event.stream_id or 0] = (
                                {
                                    name.decode("latin-1"): value.decode("latin-1")
                                    for name, value in event.headers or []
                                },
                                bytearray(),
                            )
                    elif isinstance(event, h2.events.DataReceived):
                        conn.acknowledge_received_data(
                            event.flow_controlled_length or 0, event.stream_id
                        )
                        if (entry := pending.get(event.stream_id or 0)) is not None:
                            entry[1].extend(event.data or b"")
                    elif isinstance(event, h2.events.StreamEnded):
                        if (entry := pending.pop(event.stream_id or 0, None)) is not None:
                            task = asyncio.create_task(answer(event.stream_id or 0, *entry))
                            tasks.add(task)
                            task.add_done_callback(tasks.discard)
                    elif isinstance(event, h2.events.PingReceived):
                        self.emulator.pings += 1
                    elif isinstance(event, h2.events.SettingsAcknowledged):
                        peer.settings_acked.set()
                    elif isinstance(event, h2.events.ConnectionTerminated):
                        peer.flush()
                        return
                peer.flush()
                data = await reader.read(65536)
        finally:
            self._peers.discard(peer)

    async def _h11(
        self, first: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        conn = h11.Connection(h11.SERVER)
        conn.receive_data(first)
        while True:
            head: h11.Request | None = None
            body = bytearray()
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    data = await reader.read(65536)
                    conn.receive_data(data)
                    if not data and conn.their_state is not h11.SEND_BODY and head is None:
                        return
                    continue
                if isinstance(event, h11.Request):
                    head = event
                elif isinstance(event, h11.Data):
                    body += event.data
                elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                    break
            if head is None:
                return
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in head.headers}
            reply = await self.emulator.handle(
                Request(head.method.decode(), head.target.decode(), headers, bytes(body))
            )
            if reply.drop:
                writer.transport.abort()
                return
            writer.write(
                conn.send(
                    h11.Response(
                        status_code=reply.status,
                        headers=[*reply.headers, ("content-length", str(len(reply.body)))],
                    )
                )
                or b""
            )
            writer.write(conn.send(h11.Data(data=reply.body)) or b"")
            writer.write(conn.send(h11.EndOfMessage()) or b"")
            await writer.drain()
            if conn.our_state is h11.MUST_CLOSE:
                return
            conn.start_next_cycle()
