"""A small HTTP/2 client: a few long-lived connections per service, many requests
in flight on each, never more than the server allows.

FCM and APNs both want long-lived HTTP/2 connections carrying many concurrent
streams; a request per connection (or a connection per request) is what makes
naive senders slow. The framing, HPACK and flow-control bookkeeping are the
`h2` library's; this module owns the sockets and the rules of living with a
server:

- it opens no more streams on a connection than the server's
  `SETTINGS_MAX_CONCURRENT_STREAMS` (as it stands when each stream opens, so
  a server lowering it mid-connection is obeyed), and opens another
  connection, up to `max_connections`, only when every open one is full;
- a connection from which nothing has arrived for `ping_after` seconds gets a
  PING; without its ACK within `ping_timeout` the connection is taken for
  dead, closed, and its requests fail with the retryable `Http2Error`;
- after a GOAWAY no new stream opens on that connection; the streams the
  server says it never processed (above its last stream id, or reset with
  REFUSED_STREAM) are sent again on another connection, the others finish,
  and then the connection closes.

`https` URLs negotiate HTTP/2 with ALPN; `http` URLs (the local emulator)
speak HTTP/2 with prior knowledge.
"""

import asyncio
import contextlib
import os
import ssl
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Protocol
from urllib.parse import urlsplit

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings
from hyperframe.frame import Frame, GoAwayFrame

from mentor_notify.config import check_base_url


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


class _DrainingConnection(h2.connection.H2Connection):
    """An h2 connection that goes on receiving after a GOAWAY.

    h2 (4.x) closes its state machine on any GOAWAY and then refuses every later
    frame, so the answers to the streams the server has promised to finish would
    be lost. Here a GOAWAY only reports itself; the client opens no new stream
    on that connection and closes it when its streams are done.
    """

    def _receive_goaway_frame(
        self, frame: GoAwayFrame
    ) -> tuple[list[Frame], list[h2.events.Event]]:
        event = h2.events.ConnectionTerminated()
        try:
            event.error_code = h2.errors.ErrorCodes(frame.error_code)
        except ValueError:
            event.error_code = frame.error_code
        event.last_stream_id = frame.last_stream_id
        event.additional_data = frame.additional_data or None
        return [], [event]


@dataclass
class _Stream:
    done: asyncio.Future[Response]
    # The server ended or refused the stream (else it must be reset to close it).
    finished: bool = False
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytearray = field(default_factory=bytearray)


@dataclass(eq=False)
class _Link:
    """One open connection with the streams it carries."""

    conn: _DrainingConnection
    writer: asyncio.StreamWriter
    # Set by the server's first SETTINGS: until then its stream limit is unknown.
    ready: asyncio.Future[None]
    last_frame: float
    streams: dict[int, _Stream] = field(default_factory=dict)
    # Streams taken on this connection, counted from before their HEADERS leave.
    active: int = 0
    window_open: asyncio.Event = field(default_factory=asyncio.Event)
    ping: asyncio.Future[None] | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    going_away: bool = False
    closed: bool = False
    flush_pending: bool = False

    def has_room(self) -> bool:
        """Whether one more stream may open here now."""
        return self.active < self.conn.remote_settings.max_concurrent_streams

    def flush_soon(self) -> None:
        """Write what h2 has queued once this turn of the event loop is over, so the
        frames of many requests started together leave in one system call."""
        if not self.flush_pending:
            self.flush_pending = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self.flush_pending = False
        if not self.closed and (data := self.conn.data_to_send()):
            self.writer.write(data)


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
        head = [
            (":method", method),
            (":scheme", "https" if self._tls else "http"),
            (":authority", self._authority),
            (":path", path),
            *((k.lower(), v) for k, v in headers.items()),
            ("content-length", str(len(body))),
        ]
        loop = asyncio.get_running_loop()
        # A request the server did not process is sent again at once, for as long
        # as the request's own timeout lasts.
        deadline = loop.time() + self._timeout
        while True:
            link = await self._stream_slot()
            try:
                return await self._exchange(link, head, body, deadline)
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
            for task in link.tasks:
                task.cancel()
            for task in link.tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _exchange(
        self, link: _Link, head: list[tuple[str, str]], body: bytes, deadline: float
    ) -> Response:
        conn, loop = link.conn, asyncio.get_running_loop()
        try:
            stream_id = conn.get_next_available_stream_id()
        except h2.exceptions.NoAvailableStreamIDError:
            # A connection's 2^31 stream ids are spent (days at full speed): retire
            # it as if the server had gone away, and use another.
            self._going_away(link, conn.highest_outbound_stream_id or 0)
            raise _NotProcessed() from None
        stream = _Stream(loop.create_future())
        link.streams[stream_id] = stream
        # A timer rather than asyncio.wait_for, which costs a good deal more per request.
        timer = loop.call_at(deadline, self._expire, stream)
        try:
            conn.send_headers(stream_id, head, end_stream=not body)
            if body:
                await self._send_body(link, stream_id, body)
            else:
                link.flush_soon()
            return await stream.done
        except (h2.exceptions.ProtocolError, OSError) as exc:
            raise Http2Error(f"{type(exc).__name__}: {exc}") from exc
        finally:
            timer.cancel()
            del link.streams[stream_id]
            if not stream.finished and not link.closed:
                # Timed out or cancelled: the stream must close in h2 too, or it
                # would go on counting against the server's limit.
                with contextlib.suppress(h2.exceptions.ProtocolError):
                    conn.reset_stream(stream_id, h2.errors.ErrorCodes.CANCEL)
                    link.flush_soon()

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
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self._host, self._port, ssl=context), self._timeout
            )
        except (OSError, TimeoutError) as exc:
            raise Http2Error(f"cannot connect to {self._authority}: {exc}") from exc
        conn = _DrainingConnection(
            h2.config.H2Configuration(
                client_side=True,
                header_encoding=None,
                # Our own headers are well-formed; validating them costs more per
                # request than the rest of the framing.
                validate_outbound_headers=False,
                normalize_outbound_headers=False,
                # Only the status and a few headers of the answers are read; checking
                # every received header's form costs as much as decoding them.
                validate_inbound_headers=False,
            )
        )
        conn.local_settings = h2.settings.Settings(
            client=True,
            initial_values={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1 << 20},
        )
        conn.initiate_connection()
        conn.increment_flow_control_window(1 << 24)
        writer.write(conn.data_to_send())
        loop = asyncio.get_running_loop()
        link = _Link(conn, writer, loop.create_future(), loop.time())
        link.tasks = [
            asyncio.create_task(self._read(link, reader)),
            asyncio.create_task(self._watch(link)),
        ]
        try:
            # The server's preface is its SETTINGS; streams wait for its limit.
            await asyncio.wait_for(asyncio.shield(link.ready), self._timeout)
        except (TimeoutError, Http2Error) as exc:
            self._shut(link, "no SETTINGS from the server")
            raise Http2Error(f"{self._authority} sent no HTTP/2 settings: {exc}") from None
        return link

    async def _send_body(self, link: _Link, stream_id: int, body: bytes) -> None:
        conn, rest = link.conn, body
        while True:
            window = min(conn.local_flow_control_window(stream_id), conn.max_outbound_frame_size)
            if window >= len(rest):
                # The last frame carries END_STREAM: no empty frame after it.
                conn.send_data(stream_id, rest, end_stream=True)
                link.flush_soon()
                return
            if window <= 0:
                link.window_open.clear()
                link.writer.write(conn.data_to_send())
                await asyncio.wait_for(link.window_open.wait(), self._timeout)
                if link.closed:
                    raise Http2Error("connection closed while sending")
                continue
            conn.send_data(stream_id, rest[:window])
            rest = rest[window:]

    async def _read(self, link: _Link, reader: asyncio.StreamReader) -> None:
        reason = "connection closed by the server"
        loop = asyncio.get_running_loop()
        try:
            while data := await reader.read(65536):
                link.last_frame = loop.time()
                for event in link.conn.receive_data(data):
                    self._handle(link, event)
                if not link.closed and (out := link.conn.data_to_send()):
                    link.writer.write(out)
        except (OSError, h2.exceptions.ProtocolError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
        finally:
            self._shut(link, reason)

    async def _watch(self, link: _Link) -> None:
        """PING when the server has been quiet for `ping_after`; no ACK in time: dead."""
        loop = asyncio.get_running_loop()
        while not link.closed:
            quiet = loop.time() - link.last_frame
            if quiet < self._ping_after:
                await asyncio.sleep(self._ping_after - quiet)
                continue
            link.ping = loop.create_future()
            link.conn.ping(os.urandom(8))
            link.writer.write(link.conn.data_to_send())
            try:
                await asyncio.wait_for(link.ping, self._ping_timeout)
            except TimeoutError:
                self._shut(link, f"no answer to a PING within {self._ping_timeout:g} s")
                return

    def _shut(self, link: _Link, reason: str) -> None:
        """Close `link` now; what it still carries fails as retryable."""
        if link.closed:
            return
        link.closed = True
        if link in self._links:
            self._links.remove(link)
        self._draining.discard(link)
        with contextlib.suppress(Exception):
            link.conn.close_connection()
            link.writer.write(link.conn.data_to_send())
        link.writer.close()
        for stream in link.streams.values():
            if not stream.done.done():
                stream.done.set_exception(Http2Error(reason))
        if not link.ready.done():
            link.ready.set_exception(Http2Error(reason))
            link.ready.exception()  # marked seen: `_open` may have stopped waiting for it
        link.window_open.set()
        current = asyncio.current_task()
        for task in link.tasks:
            if task is not current:
                task.cancel()
        self._wake(all_of_them=True)

    def _handle(self, link: _Link, event: h2.events.Event) -> None:
        streams = link.streams
        if isinstance(event, h2.events.ResponseReceived):
            if (stream := streams.get(event.stream_id or 0)) is not None:
                for name, value in event.headers or []:
                    if name == b":status":
                        stream.status = int(value)
                    else:
                        stream.headers[name.decode("latin-1")] = value.decode("latin-1")
        elif isinstance(event, h2.events.DataReceived):
            link.conn.acknowledge_received_data(event.flow_controlled_length or 0, event.stream_id)
            if (stream := streams.get(event.stream_id or 0)) is not None:
                stream.body += event.data or b""
        elif isinstance(event, h2.events.StreamEnded):
            stream = streams.get(event.stream_id or 0)
            if stream is not None and not stream.done.done():
                stream.finished = True
                stream.done.set_result(Response(stream.status, stream.headers, bytes(stream.body)))
        elif isinstance(event, h2.events.StreamReset):
            stream = streams.get(event.stream_id or 0)
            if stream is not None and not stream.done.done():
                stream.finished = True
                if event.error_code == h2.errors.ErrorCodes.REFUSED_STREAM:
                    stream.done.set_exception(_NotProcessed())
                else:
                    stream.done.set_exception(
                        Http2Error(f"stream reset by the server (code {event.error_code})")
                    )
        elif isinstance(event, h2.events.WindowUpdated):
            link.window_open.set()
        elif isinstance(event, h2.events.RemoteSettingsChanged):
            if not link.ready.done():
                link.ready.set_result(None)
            # The limit may have risen: those waiting may find room.
            self._wake(all_of_them=True)
        elif isinstance(event, h2.events.PingAckReceived):
            if link.ping is not None and not link.ping.done():
                link.ping.set_result(None)
        elif isinstance(event, h2.events.ConnectionTerminated):
            self._going_away(link, event.last_stream_id or 0)

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
                stream.done.set_exception(_NotProcessed())
        if not link.active:
            self._shut(link, "the server went away")
        self._wake(all_of_them=True)
