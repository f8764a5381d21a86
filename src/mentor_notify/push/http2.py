"""A small HTTP/2 client: one connection, many requests in flight on it.

FCM and APNs both want long-lived HTTP/2 connections carrying many concurrent
streams; a request per connection (or a connection per request) is what makes
naive senders slow. The framing, HPACK and flow-control bookkeeping are the
`h2` library's; this module only owns the socket, matches responses to their
requests and waits for flow-control windows. `https` URLs negotiate HTTP/2
with ALPN; `http` URLs (the local emulator) speak HTTP/2 with prior knowledge.
"""

import asyncio
import contextlib
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

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


@dataclass(frozen=True)
class Response:
    """A complete HTTP/2 response."""

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class _Stream:
    done: asyncio.Future[Response]
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytearray = field(default_factory=bytearray)


@dataclass
class _Link:
    """One open connection with the streams it carries."""

    conn: h2.connection.H2Connection
    writer: asyncio.StreamWriter
    streams: dict[int, _Stream] = field(default_factory=dict)
    window_open: asyncio.Event = field(default_factory=asyncio.Event)
    reader: asyncio.Task[None] | None = None
    closed: bool = False
    flush_pending: bool = False

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


class Http2Connection:
    """One HTTP/2 connection to one origin; reconnects on the next request after it closed.

    At most `max_streams` requests are in flight at once; more wait their turn.
    """

    def __init__(self, base_url: str, *, max_streams: int = 100, timeout: float = 30.0) -> None:
        """`base_url` is scheme, host and optional port, e.g. `https://fcm.googleapis.com`."""
        parts = urlsplit(check_base_url(base_url))
        assert parts.hostname is not None  # check_base_url refuses a URL without a host
        self._tls = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._tls else 80)
        self._authority = parts.netloc
        self._max_streams = max_streams
        self._timeout = timeout
        self._slots = asyncio.Semaphore(max_streams)
        self._lock = asyncio.Lock()
        self._link: _Link | None = None

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> Response:
        """Send one request and wait for its whole response."""
        async with self._slots:
            link = await self._connected()
            stream_id = link.conn.get_next_available_stream_id()
            stream = _Stream(asyncio.get_running_loop().create_future())
            link.streams[stream_id] = stream
            try:
                link.conn.send_headers(
                    stream_id,
                    [
                        (":method", method),
                        (":scheme", "https" if self._tls else "http"),
                        (":authority", self._authority),
                        (":path", path),
                        *((k.lower(), v) for k, v in headers.items()),
                        ("content-length", str(len(body))),
                    ],
                )
                await self._send_body(link, stream_id, body)
                return await asyncio.wait_for(stream.done, self._timeout)
            except (h2.exceptions.ProtocolError, OSError, TimeoutError) as exc:
                raise Http2Error(f"{type(exc).__name__}: {exc}") from exc
            finally:
                link.streams.pop(stream_id, None)

    async def close(self) -> None:
        """Say goodbye to the server and close the socket."""
        link, self._link = self._link, None
        if link is None:
            return
        with contextlib.suppress(Exception):
            link.conn.close_connection()
            link.writer.write(link.conn.data_to_send())
            link.writer.close()
        if link.reader is not None:
            link.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await link.reader

    async def _connected(self) -> _Link:
        async with self._lock:
            if self._link is None or self._link.closed or self._link.writer.is_closing():
                self._link = await self._open()
            return self._link

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
        conn = h2.connection.H2Connection(
            h2.config.H2Configuration(
                client_side=True,
                header_encoding=None,
                # Our own headers are well-formed; validating them costs more per
                # request than the rest of the framing.
                validate_outbound_headers=False,
                normalize_outbound_headers=False,
            )
        )
        conn.local_settings = h2.settings.Settings(
            client=True,
            initial_values={
                h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: self._max_streams,
                h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1 << 20,
            },
        )
        conn.initiate_connection()
        conn.increment_flow_control_window(1 << 24)
        writer.write(conn.data_to_send())
        link = _Link(conn, writer)
        link.reader = asyncio.create_task(self._read(link, reader))
        return link

    async def _send_body(self, link: _Link, stream_id: int, body: bytes) -> None:
        conn, view = link.conn, memoryview(body)
        while view:
            window = min(conn.local_flow_control_window(stream_id), conn.max_outbound_frame_size)
            if window <= 0:
                link.window_open.clear()
                link.writer.write(conn.data_to_send())
                await asyncio.wait_for(link.window_open.wait(), self._timeout)
                if link.closed:
                    raise Http2Error("connection closed while sending")
                continue
            conn.send_data(stream_id, bytes(view[:window]))
            view = view[window:]
        conn.end_stream(stream_id)
        link.flush_soon()

    async def _read(self, link: _Link, reader: asyncio.StreamReader) -> None:
        reason = "connection closed by the server"
        try:
            while data := await reader.read(65536):
                for event in link.conn.receive_data(data):
                    self._handle(link, event)
                link.writer.write(link.conn.data_to_send())
        except (OSError, h2.exceptions.ProtocolError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
        finally:
            link.closed = True
            link.writer.close()
            for stream in link.streams.values():
                if not stream.done.done():
                    stream.done.set_exception(Http2Error(reason))
            link.window_open.set()

    @staticmethod
    def _handle(link: _Link, event: h2.events.Event) -> None:
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
                stream.done.set_result(Response(stream.status, stream.headers, bytes(stream.body)))
        elif isinstance(event, h2.events.StreamReset):
            stream = streams.get(event.stream_id or 0)
            if stream is not None and not stream.done.done():
                stream.done.set_exception(
                    Http2Error(f"stream reset by the server (code {event.error_code})")
                )
        elif isinstance(event, h2.events.WindowUpdated):
            link.window_open.set()
        elif isinstance(event, h2.events.ConnectionTerminated):
            # GOAWAY: streams above the last one processed never will be; fail them
            # so they are retried, on a fresh connection.
            link.closed = True
            last = event.last_stream_id or 0
            for stream_id, stream in streams.items():
                if stream_id > last and not stream.done.done():
                    stream.done.set_exception(Http2Error("server going away"))
