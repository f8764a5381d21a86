"""A small HTTP/2 client: a few long-lived connections per service, many requests
in flight on each, never more than the server allows.

FCM and APNs both want long-lived HTTP/2 connections carrying many concurrent
streams; a request per connection (or a connection per request) is what makes
naive senders slow. This module owns the sockets, the framing of the few
frames a push client needs (`push/http2_frames.py`: our requests' HEADERS and
DATA out; HEADERS, CONTINUATION, DATA, SETTINGS, PING, GOAWAY, RST_STREAM and
WINDOW_UPDATE in, the answers' header blocks decoded by hpack) and the rules of
living with a server:

- it opens no more streams on a connection than the server's
  `SETTINGS_MAX_CONCURRENT_STREAMS` (as it stands when each stream opens, so
  a server lowering it mid-connection is obeyed), and opens another
  connection, up to `max_connections`, only when every open one is full;
- a request body waits, in the connection, for the flow-control windows of the
  connection and its stream (RFC 9113 section 5.2) and goes on as WINDOW_UPDATEs
  open them; the answers' DATA is given back to the server in WINDOW_UPDATEs;
- a connection from which nothing has arrived for `ping_after` seconds gets a
  PING; without its ACK within `ping_timeout` the connection is taken for
  dead, closed, and its requests fail with the retryable `Http2Error`;
- after a GOAWAY no new stream opens on that connection; the streams the
  server says it never processed (above its last stream id, or reset with
  REFUSED_STREAM) are sent again on another connection, the others finish,
  and then the connection closes;
- a server breaking the protocol ends its connection with a GOAWAY carrying the
  error (RFC 9113 section 5.4.1); the requests on it fail as retryable.

Frames written while the event loop runs one turn leave in one system call.
`https` URLs negotiate HTTP/2 with ALPN; `http` URLs (the local emulator)
speak HTTP/2 with prior knowledge.
"""

import asyncio
import contextlib
import os
import ssl
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Protocol, cast
from urllib.parse import urlsplit

import hpack

from mentor_notify.config import check_base_url
from mentor_notify.push.http2_frames import (
    ACK,
    CANCEL,
    COMPRESSION_ERROR,
    CONTINUATION,
    DATA,
    DEFAULT_MAX_FRAME_SIZE,
    DEFAULT_WINDOW,
    ENABLE_PUSH,
    END_HEADERS,
    END_STREAM,
    FLOW_CONTROL_ERROR,
    FRAME_HEADER,
    FRAME_SIZE_ERROR,
    GOAWAY,
    HEADER_TABLE_SIZE,
    HEADERS,
    INITIAL_WINDOW_SIZE,
    MAX_CONCURRENT_STREAMS,
    MAX_FRAME_SIZE,
    MAX_STREAM_ID,
    MAX_WINDOW,
    NO_ERROR,
    PING,
    PREFACE,
    PRIORITY_FLAG,
    PROTOCOL_ERROR,
    PUSH_PROMISE,
    REFUSED_STREAM,
    RST_STREAM,
    SETTINGS,
    WINDOW_UPDATE,
    HeaderEncoder,
    ProtocolError,
    error_code,
    frame,
    goaway,
    header_frames,
    read_settings,
    rst_stream,
    settings,
    unpad,
    window_update,
    word,
)


def retry_after(value: str | None) -> timedelta | None:
    """A `Retry-After` header (seconds or an HTTP date) as a wait; None when absent or bad."""
    if not value:
        return None
    if value.strip().isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when - datetime.now(UTC), timedelta(0))


class Http2Error(Exception):
    """The connection failed or the server reset the stream; the request may be retried."""


class _NotProcessed(Exception):
    """The server said it never processed the stream, so sending it again is safe
    (RFC 9113 section 8.7)."""


@dataclass(frozen=True)
class Response:
    """A complete HTTP/2 response."""

    status: int
    headers: dict[str, str]
    body: bytes


class Transport(Protocol):
    """What the senders need of an HTTP client: whole requests to one origin."""

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> Response:
        """Send one request and wait for its whole response; `Http2Error` when it may be
        retried."""
        ...

    async def close(self) -> None:
        """Close the connections."""
        ...


# The stream window we offer the server (SETTINGS_INITIAL_WINDOW_SIZE) and what the
# connection's window is raised by at the start: answers never wait for us.
_STREAM_WINDOW = 1 << 20
_CONNECTION_WINDOW = 1 << 24
# Received DATA is given back (WINDOW_UPDATE) once this much has arrived: on a
# stream, half the window a server assumes before our SETTINGS reach it.
_GIVE_BACK_CONNECTION = 1 << 20
_GIVE_BACK_STREAM = DEFAULT_WINDOW // 2
# The most an answer's header block may take, compressed (CONTINUATION frames
# without end would otherwise grow it without bound): hpack's own limit on the
# decoded list.
_MAX_HEADER_BLOCK = 1 << 16


# The bytes of an indexed field with a one-byte index, 1 to 126 (RFC 7541 section 6.1).
_INDEXED_FIELDS = bytes(range(0x81, 0xFF))
# How many distinct answer heads a connection remembers.
_HEADS_KEPT = 64


def _head(fields: Iterable[tuple[bytes, bytes]]) -> tuple[int, dict[str, str]]:
    """The status (0 when absent or not a number) and the other fields of a response."""
    status, headers = 0, {}
    for name, value in fields:
        if name == b":status":
            status = int(value) if value.isdigit() else 0
        else:
            headers[name.decode("latin-1")] = value.decode("latin-1")
    return status, headers


class _Stream:
    """One request on a connection: what has come back, and what of the body waits
    for flow-control window."""

    __slots__ = ("body", "done", "finished", "headers", "pending", "received", "status", "window")

    def __init__(self, done: asyncio.Future[Response], window: int) -> None:
        self.done = done
        # The server ended or refused the stream (else it must be reset to close it).
        self.finished = False
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = b""
        # What may still be sent on it (RFC 9113 section 6.9), and the body's rest
        # waiting for window.
        self.window = window
        self.pending: memoryview | None = None
        # DATA received and not yet given back.
        self.received = 0


class _Link(asyncio.Protocol):
    """One open connection: the frames in and out, and the streams it carries."""

    def __init__(self, client: "Http2Client", loop: asyncio.AbstractEventLoop) -> None:
        self._client = client
        self._loop = loop
        self.transport: asyncio.Transport | None = None
        # Set by the server's first SETTINGS: until then its stream limit is unknown.
        self.ready: asyncio.Future[None] = loop.create_future()
        self.last_frame = loop.time()
        self.streams: dict[int, _Stream] = {}
        # Streams taken on this connection, counted from before their HEADERS leave.
        self.active = 0
        self.next_stream_id = 1
        # The server's settings (RFC 9113 section 6.5.2: no stream limit until it
        # says one).
        self.max_streams = MAX_STREAM_ID
        self.stream_window = DEFAULT_WINDOW
        self.max_frame = DEFAULT_MAX_FRAME_SIZE
        # What may still be sent on the connection as a whole.
        self.window = DEFAULT_WINDOW
        # Streams whose body waits for window, oldest first.
        self.blocked: deque[int] = deque()
        self.encoder = HeaderEncoder()
        self.decoder = hpack.Decoder()
        self.ping: asyncio.Future[None] | None = None
        self.watchdog: asyncio.Task[None] | None = None
        self.going_away = False
        self.closed = False
        self.close_reason = "connection closed by the server"
        self._out = bytearray()
        self._flush_pending = False
        self._buffer = b""
        # A header block arriving in CONTINUATION frames: stream, block, END_STREAM.
        self._continuing: tuple[int, bytearray, bool] | None = None
        self._received = 0
        # Answer heads by their header block, while the decoder's table stands still.
        self._heads: dict[bytes, tuple[int, dict[str, str]]] = {}

    def has_room(self) -> bool:
        """Whether one more stream may open here now."""
        return self.active < self.max_streams

    # What goes out.

    def write(self, data: bytes) -> None:
        """Queue `data` to leave at the end of this turn of the event loop, with the
        frames of every other request started in it, in one system call."""
        self._out += data
        if not self._flush_pending:
            self._flush_pending = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_pending = False
        if self._out and not self.closed and self.transport is not None:
            self.transport.write(self._out)
            self._out = bytearray()

    def send_request(
        self, stream_id: int, stream: _Stream, fields: list[tuple[str, str]], body: bytes
    ) -> None:
        """Queue a request's HEADERS and as much of its body as the windows allow; the
        rest goes as WINDOW_UPDATEs arrive."""
        block = self.encoder.encode(fields)
        size = len(body)
        if size and size <= self.window and size <= stream.window and size <= self.max_frame:
            # The common case: the whole body in one DATA frame ending the stream.
            self.write(
                header_frames(stream_id, block, False, self.max_frame)
                + FRAME_HEADER.pack(size << 8 | DATA, END_STREAM, stream_id)
                + body
            )
            self.window -= size
            stream.window -= size
            return
        self.write(header_frames(stream_id, block, not size, self.max_frame))
        if size:
            stream.pending = memoryview(body)
            self._send_body(stream_id, stream)

    def _send_body(self, stream_id: int, stream: _Stream) -> None:
        """Send what the windows allow of the stream's waiting body (RFC 9113 section
        6.9.1); the last frame carries END_STREAM."""
        rest = stream.pending
        while rest:
            size = min(len(rest), self.window, stream.window, self.max_frame)
            if size <= 0:
                stream.pending = rest
                self.blocked.append(stream_id)
                return
            last = size == len(rest)
            self.write(frame(DATA, END_STREAM if last else 0, stream_id, bytes(rest[:size])))
            self.window -= size
            stream.window -= size
            rest = rest[size:]
        stream.pending = None

    def _unblock(self) -> None:
        """The windows may have opened: the waiting bodies go on, oldest first."""
        for _ in range(len(self.blocked)):
            if self.window <= 0:
                return
            stream_id = self.blocked.popleft()
            stream = self.streams.get(stream_id)
            if stream is not None and stream.pending is not None:
                self._send_body(stream_id, stream)

    # What comes in.

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Send the preface, our settings and the connection's window at once: the
        server may send its SETTINGS first, and our ACK must follow the preface."""
        # A stream transport (uvloop's is not a subclass of asyncio's, so no isinstance).
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(
            PREFACE
            # Section 8.4: a client that takes no pushes says so.
            + settings({ENABLE_PUSH: 0, INITIAL_WINDOW_SIZE: _STREAM_WINDOW})
            + window_update(0, _CONNECTION_WINDOW)
        )

    def connection_lost(self, exc: Exception | None) -> None:
        """The socket closed: what it still carries fails as retryable."""
        reason = self.close_reason if exc is None else f"{type(exc).__name__}: {exc}"
        self._client._shut(self, reason)

    def data_received(self, data: bytes) -> None:
        """Handle every whole frame that has arrived; keep the rest for later."""
        self.last_frame = self._loop.time()
        if self._buffer:
            data = self._buffer + data
        try:
            used = self._frames(data)
        except ProtocolError as exc:
            self._client._shut(self, f"protocol error from the server: {exc}", exc.code)
            return
        except hpack.HPACKError as exc:
            reason = f"undecodable header block from the server: {exc}"
            self._client._shut(self, reason, COMPRESSION_ERROR)
            return
        self._buffer = data[used:] if used < len(data) else b""

    def _frames(self, data: bytes) -> int:
        """Handle the whole frames at the start of `data`; how many bytes they took."""
        at, end = 0, len(data)
        unpack = FRAME_HEADER.unpack_from
        while end - at >= 9 and not self.closed:
            head, flags, stream_id = unpack(data, at)
            length = head >> 8
            if length > DEFAULT_MAX_FRAME_SIZE:  # the most we allow (section 4.2)
                raise ProtocolError(FRAME_SIZE_ERROR, f"a frame of {length} bytes")
            start = at + 9
            if end - start < length:
                break
            at = start + length
            payload = data[start:at]
            kind = head & 0xFF
            stream_id &= MAX_STREAM_ID
            if self._continuing is not None and kind != CONTINUATION:
                raise ProtocolError(PROTOCOL_ERROR, "a frame inside a header block")
            if kind == DATA:
                self._data(stream_id, flags, payload)
            elif kind == HEADERS:
                self._headers(stream_id, flags, payload)
            elif kind == WINDOW_UPDATE:
                self._window_update(stream_id, payload)
            elif kind == SETTINGS:
                self._settings(stream_id, flags, payload)
            elif kind == RST_STREAM:
                self._rst_stream(stream_id, payload)
            elif kind == PING:
                self._ping(stream_id, flags, payload)
            elif kind == GOAWAY:
                if stream_id or len(payload) < 8:
                    raise ProtocolError(PROTOCOL_ERROR, "a malformed GOAWAY")
                self._client._going_away(self, word(payload))
            elif kind == CONTINUATION:
                self._continuation(stream_id, flags, payload)
            elif kind == PUSH_PROMISE:
                raise ProtocolError(PROTOCOL_ERROR, "PUSH_PROMISE with push disabled")
            # PRIORITY and unknown types are ignored (sections 5.3.2, 5.5).
        return at

    def _known(self, stream_id: int, what: str) -> _Stream | None:
        """The stream a frame is for; None when it is one this client is done with. A
        stream never opened is a connection error (section 5.1)."""
        stream = self.streams.get(stream_id)
        if stream is None and (not stream_id % 2 or stream_id >= self.next_stream_id):
            raise ProtocolError(PROTOCOL_ERROR, f"{what} on stream {stream_id}, never opened")
        return stream

    def _data(self, stream_id: int, flags: int, payload: bytes) -> None:
        # All of a DATA frame counts against the windows, padding too (section 6.1).
        self._received += len(payload)
        if self._received >= _GIVE_BACK_CONNECTION:
            self.write(window_update(0, self._received))
            self._received = 0
        stream = self._known(stream_id, "DATA")
        if stream is None:
            return
        if not stream.status:
            self._stream_error(stream_id, stream, PROTOCOL_ERROR, "DATA before the response")
            return
        stream.body += unpad(flags, payload)
        if flags & END_STREAM:
            self._ended(stream_id, stream)
            return
        stream.received += len(payload)
        if stream.received >= _GIVE_BACK_STREAM:
            self.write(window_update(stream_id, stream.received))
            stream.received = 0

    def _headers(self, stream_id: int, flags: int, payload: bytes) -> None:
        if not stream_id:
            raise ProtocolError(PROTOCOL_ERROR, "HEADERS on stream 0")
        block = unpad(flags, payload)
        if flags & PRIORITY_FLAG:  # a priority before the block (section 6.2)
            block = block[5:]
        if flags & END_HEADERS:
            self._header_block(stream_id, block, bool(flags & END_STREAM))
        else:
            self._continuing = (stream_id, bytearray(block), bool(flags & END_STREAM))

    def _continuation(self, stream_id: int, flags: int, payload: bytes) -> None:
        """Section 6.10: the rest of a header block, on the same stream, nothing between."""
        if self._continuing is None or self._continuing[0] != stream_id:
            raise ProtocolError(PROTOCOL_ERROR, "CONTINUATION without its HEADERS")
        block = self._continuing[1]
        block += payload
        if len(block) > _MAX_HEADER_BLOCK:
            raise ProtocolError(PROTOCOL_ERROR, "a header block over 64 KiB")
        if flags & END_HEADERS:
            end_stream = self._continuing[2]
            self._continuing = None
            self._header_block(stream_id, bytes(block), end_stream)

    def _header_block(self, stream_id: int, block: bytes, end_stream: bool) -> None:
        head = self._read_head(block)
        stream = self._known(stream_id, "HEADERS")
        if stream is None:
            return
        if not stream.status:
            status, headers = head
            if not status:
                self._stream_error(stream_id, stream, PROTOCOL_ERROR, "a response without status")
                return
            if status < 200:
                return  # informational (section 8.1): the response follows
            stream.status, stream.headers = status, dict(headers)
        # Else trailers (section 8.1): nothing in them is read.
        if end_stream:
            self._ended(stream_id, stream)

    def _read_head(self, block: bytes) -> tuple[int, dict[str, str]]:
        """A header block's status (0: none) and other fields. Decoded whatever the
        stream: the decoder's table must follow the server's (RFC 9113 section 4.3),
        also for a stream this client reset.

        A block of indexed fields only (one byte each, RFC 7541 section 6.1) leaves
        the table as it is, so until a block changes the table the same bytes mean
        the same fields: the answers of a busy connection (the same status and
        headers each time, all in the table) are read once, not once each.
        Measured 2026-12-07: hpack decodes such a 3-byte block in 6.1 us."""
        if block and not block.translate(None, _INDEXED_FIELDS):
            if (head := self._heads.get(block)) is None:
                if len(self._heads) >= _HEADS_KEPT:
                    self._heads.clear()
                head = self._heads[block] = _head(self.decoder.decode(block, raw=True))
            return head
        self._heads.clear()
        return _head(self.decoder.decode(block, raw=True))

    def _ended(self, stream_id: int, stream: _Stream) -> None:
        """The server ended the stream: the whole response is in."""
        if not stream.status:
            self._stream_error(stream_id, stream, PROTOCOL_ERROR, "a stream ended without answer")
            return
        if stream.pending is None:
            # The request was all sent: the stream is closed on both sides. Else it is
            # reset when the request is done with it (an answer before the whole body).
            stream.finished = True
        if not stream.done.done():
            stream.done.set_result(Response(stream.status, stream.headers, stream.body))

    def _stream_error(self, stream_id: int, stream: _Stream, code: int, message: str) -> None:
        """Section 5.4.2: end one stream with RST_STREAM, the connection goes on."""
        self.write(rst_stream(stream_id, code))
        stream.finished = True
        stream.pending = None
        if not stream.done.done():
            stream.done.set_exception(Http2Error(f"the server broke the protocol: {message}"))

    def _rst_stream(self, stream_id: int, payload: bytes) -> None:
        if len(payload) != 4:
            raise ProtocolError(FRAME_SIZE_ERROR, "RST_STREAM not of 4 bytes")
        stream = self._known(stream_id, "RST_STREAM")
        if stream is None:
            return
        stream.finished = True
        stream.pending = None
        if not stream.done.done():
            code = error_code(payload)
            stream.done.set_exception(
                _NotProcessed()
                if code == REFUSED_STREAM
                else Http2Error(f"stream reset by the server (code {code})")
            )

    def _window_update(self, stream_id: int, payload: bytes) -> None:
        if len(payload) != 4:
            raise ProtocolError(FRAME_SIZE_ERROR, "WINDOW_UPDATE not of 4 bytes")
        increment = word(payload)
        if not stream_id:
            self.window += increment
            if not increment or self.window > MAX_WINDOW:  # section 6.9, 6.9.1
                raise ProtocolError(FLOW_CONTROL_ERROR, "a bad connection WINDOW_UPDATE")
        elif (stream := self.streams.get(stream_id)) is not None:
            stream.window += increment
            if not increment or stream.window > MAX_WINDOW:
                self._stream_error(stream_id, stream, FLOW_CONTROL_ERROR, "bad WINDOW_UPDATE")
                return
        if self.blocked:
            self._unblock()

    def _settings(self, stream_id: int, flags: int, payload: bytes) -> None:
        if stream_id:
            raise ProtocolError(PROTOCOL_ERROR, "SETTINGS on a stream")
        if flags & ACK:
            if payload:
                raise ProtocolError(FRAME_SIZE_ERROR, "a SETTINGS ACK with a payload")
            return
        for key, value in read_settings(payload).items():
            if key == MAX_CONCURRENT_STREAMS:
                self.max_streams = value
            elif key == INITIAL_WINDOW_SIZE:
                # Section 6.9.2: every stream's window moves by the difference.
                delta, self.stream_window = value - self.stream_window, value
                for stream in self.streams.values():
                    stream.window += delta
                    if stream.window > MAX_WINDOW:
                        raise ProtocolError(FLOW_CONTROL_ERROR, "a stream window over 2^31-1")
            elif key == MAX_FRAME_SIZE:
                self.max_frame = value
            elif key == HEADER_TABLE_SIZE:
                self.encoder.resize(value)
        self.write(frame(SETTINGS, ACK, 0))
        if not self.ready.done():
            self.ready.set_result(None)
        if self.blocked:
            self._unblock()
        # The limit may have risen: those waiting may find room.
        self._client._wake(all_of_them=True)

    def _ping(self, stream_id: int, flags: int, payload: bytes) -> None:
        if stream_id or len(payload) != 8:
            raise ProtocolError(FRAME_SIZE_ERROR, "a malformed PING")
        if not flags & ACK:
            self.write(frame(PING, ACK, 0, payload))  # section 6.7
        elif self.ping is not None and not self.ping.done():
            self.ping.set_result(None)

    def close(self, code: int) -> None:
        """Say goodbye (a GOAWAY with `code`) after what is queued, and close the socket."""
        if self.transport is None or self.transport.is_closing():
            return
        # Section 6.8: the last stream the server started that we processed: none.
        self.transport.write(bytes(self._out) + goaway(0, code))
        self._out = bytearray()
        self.transport.close()


class Http2Client:
    """HTTP/2 to one origin over at most `max_connections` connections, opened as needed.

    `timeout` bounds connecting and each request; `ping_after` seconds without a
    frame from the server makes the client PING, and `ping_timeout` is how long
    the ACK may take before the connection counts as dead.
    """

    def __init__(
        self,
        base_url: str,
        *,
        max_connections: int = 4,
        timeout: float = 30.0,
        ping_after: float = 30.0,
        ping_timeout: float = 10.0,
    ) -> None:
        """`base_url` is scheme, host and optional port, e.g. `https://fcm.googleapis.com`."""
        parts = urlsplit(check_base_url(base_url))
        assert parts.hostname is not None  # check_base_url refuses a URL without a host
        self._tls = parts.scheme == "https"
        self._scheme = "https" if self._tls else "http"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._tls else 80)
        self._authority = parts.netloc
        self._max_connections = max_connections
        self._timeout = timeout
        self._ping_after = ping_after
        self._ping_timeout = ping_timeout
        # Connections new streams may open on; one going away or closed leaves it.
        self._links: list[_Link] = []
        self._draining: set[_Link] = set()
        self._opening = False
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> Response:
        """Send one request and wait for its whole response."""
        fields = [
            (":method", method),
            (":scheme", self._scheme),
            (":authority", self._authority),
            (":path", path),
            *[(name.lower(), value) for name, value in headers.items()],
            ("content-length", str(len(body))),
        ]
        loop = asyncio.get_running_loop()
        # A request the server did not process is sent again at once, for as long
        # as the request's own timeout lasts.
        deadline = loop.time() + self._timeout
        while True:
            link = await self._stream_slot()
            try:
                return await self._exchange(link, fields, body, deadline)
            except _NotProcessed:
                if loop.time() >= deadline:
                    raise Http2Error(
                        f"{self._authority} did not process the request within "
                        f"{self._timeout:g} s (GOAWAY or REFUSED_STREAM each time)"
                    ) from None
            finally:
                self._release(link)

    async def close(self) -> None:
        """Say goodbye to the server and close the sockets."""
        links = [*self._links, *self._draining]
        for link in links:
            self._shut(link, "the client closed")
        for link in links:
            if link.watchdog is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await link.watchdog

    async def _exchange(
        self, link: _Link, fields: list[tuple[str, str]], body: bytes, deadline: float
    ) -> Response:
        stream_id = link.next_stream_id
        if stream_id > MAX_STREAM_ID:
            # A connection's 2^31 stream ids are spent (days at full speed): retire
            # it as if the server had gone away, and use another.
            self._going_away(link, MAX_STREAM_ID)
            raise _NotProcessed()
        link.next_stream_id = stream_id + 2
        loop = asyncio.get_running_loop()
        stream = _Stream(loop.create_future(), link.stream_window)
        link.streams[stream_id] = stream
        # A timer rather than asyncio.wait_for, which costs a good deal more per request.
        timer = loop.call_at(deadline, self._expire, stream)
        try:
            link.send_request(stream_id, stream, fields, body)
            return await stream.done
        finally:
            timer.cancel()
            del link.streams[stream_id]
            if not stream.finished and not link.closed:
                # Timed out, cancelled, or answered before its body was all sent: the
                # stream must close on the server too, or it would go on counting
                # against the server's limit.
                link.write(rst_stream(stream_id, CANCEL))

    def _expire(self, stream: _Stream) -> None:
        if not stream.done.done():
            stream.done.set_exception(Http2Error(f"no answer within {self._timeout:g} s"))

    async def _stream_slot(self) -> _Link:
        """A connection with room for one more stream, which is counted taken."""
        while True:
            for link in self._links:
                if link.has_room():
                    link.active += 1
                    return link
            if not self._opening and len(self._links) < self._max_connections:
                self._opening = True
                try:
                    link = await self._open()
                    if not link.closed:
                        self._links.append(link)
                finally:
                    self._opening = False
                    # Those waiting take the new connection's room, or open the next.
                    self._wake(all_of_them=True)
                continue
            await self._room()

    def _release(self, link: _Link) -> None:
        link.active -= 1
        if link.going_away:
            if not link.active:
                self._shut(link, "the server went away")
        elif not link.closed:
            self._wake()

    async def _room(self) -> None:
        """Wait until a stream closes or the connections change."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._wake()  # the room this waiter was woken for is someone else's
            raise

    def _wake(self, *, all_of_them: bool = False) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                if not all_of_them:
                    return

    async def _open(self) -> _Link:
        context: ssl.SSLContext | None = None
        if self._tls:
            context = ssl.create_default_context()
            context.set_alpn_protocols(["h2"])
        loop = asyncio.get_running_loop()
        link = _Link(self, loop)
        try:
            await asyncio.wait_for(
                loop.create_connection(lambda: link, self._host, self._port, ssl=context),
                self._timeout,
            )
        except (OSError, TimeoutError) as exc:
            raise Http2Error(f"cannot connect to {self._authority}: {exc}") from exc
        link.watchdog = asyncio.create_task(self._watch(link))
        if context is not None and not self._speaks_h2(link):
            self._shut(link, "no HTTP/2 in ALPN")
            raise Http2Error(f"{self._authority} did not agree to HTTP/2 (ALPN)")
        try:
            # The server's preface is its SETTINGS; streams wait for its limit.
            await asyncio.wait_for(asyncio.shield(link.ready), self._timeout)
        except (TimeoutError, Http2Error) as exc:
            self._shut(link, "no SETTINGS from the server")
            raise Http2Error(f"{self._authority} sent no HTTP/2 settings: {exc}") from None
        return link

    @staticmethod
    def _speaks_h2(link: _Link) -> bool:
        """Whether TLS negotiated HTTP/2 (RFC 9113 section 3.2)."""
        tls = link.transport.get_extra_info("ssl_object") if link.transport else None
        return tls is not None and tls.selected_alpn_protocol() == "h2"

    async def _watch(self, link: _Link) -> None:
        """PING when the server has been quiet for `ping_after`; no ACK in time: dead."""
        loop = asyncio.get_running_loop()
        while not link.closed:
            quiet = loop.time() - link.last_frame
            if quiet < self._ping_after:
                await asyncio.sleep(self._ping_after - quiet)
                continue
            link.ping = loop.create_future()
            link.write(frame(PING, 0, 0, os.urandom(8)))
            try:
                await asyncio.wait_for(link.ping, self._ping_timeout)
            except TimeoutError:
                self._shut(link, f"no answer to a PING within {self._ping_timeout:g} s")
                return

    def _shut(self, link: _Link, reason: str, code: int = NO_ERROR) -> None:
        """Close `link` now (a GOAWAY with `code` first); what it still carries fails as
        retryable."""
        if link.closed:
            return
        link.close(code)
        link.closed = True
        if link in self._links:
            self._links.remove(link)
        self._draining.discard(link)
        for stream in link.streams.values():
            if not stream.done.done():
                stream.done.set_exception(Http2Error(reason))
        if not link.ready.done():
            link.ready.set_exception(Http2Error(reason))
            link.ready.exception()  # marked seen: `_open` may have stopped waiting for it
        if link.watchdog is not None and link.watchdog is not asyncio.current_task():
            link.watchdog.cancel()
        self._wake(all_of_them=True)

    def _going_away(self, link: _Link, last_stream_id: int) -> None:
        """GOAWAY: no new streams here; those above `last_stream_id` are sent again
        elsewhere, the others finish, then the connection closes."""
        link.going_away = True
        if link in self._links:
            self._links.remove(link)
            self._draining.add(link)
        for stream_id, stream in link.streams.items():
            if stream_id > last_stream_id and not stream.done.done():
                stream.finished = True  # the connection closes soon; no reset needed
                stream.pending = None
                stream.done.set_exception(_NotProcessed())
        if not link.active:
            self._shut(link, "the server went away")
        self._wake(all_of_them=True)
