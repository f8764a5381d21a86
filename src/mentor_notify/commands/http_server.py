"""uvicorn as the commands run it: on a socket we bind ourselves, stopped by the
command's own signal handling."""

import asyncio
import contextlib
import errno
import socket
from collections.abc import AsyncIterator, Iterator

import uvicorn
from starlette.types import ASGIApp


class CannotListen(Exception):
    """The address cannot be listened on; the message says why and what to do."""


def listen(host: str, port: int, *, option: str = "--port") -> socket.socket:
    """A TCP socket listening on `host:port`, ready to hand to `HttpServer.serve`.

    Bound here rather than by uvicorn, whose failure is a raw `[Errno 98]` log line
    and exit status 3; `CannotListen` carries one plain sentence instead. `option`
    is the command-line option that changes the port, for the advice.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise CannotListen(f"cannot listen on {host}: {exc.strerror or exc}") from exc
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        # Lets a restarted server bind while connections of the previous one are in
        # TIME_WAIT; it does not let two servers share the port (that is SO_REUSEPORT).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise CannotListen(_why_not(host, port, option, exc)) from exc
    sock.setblocking(False)
    return sock


def _why_not(host: str, port: int, option: str, exc: OSError) -> str:
    where = f"port {port} on {host}"
    if exc.errno == errno.EADDRINUSE:
        return f"{where} is already in use; choose another with {option}"
    if exc.errno == errno.EACCES:
        return f"not allowed to listen on {where} (ports below 1024 need privileges)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {where}: {host} is not an address of this machine"
    return f"cannot listen on {where}: {exc.strerror or exc}"


class HttpServer(uvicorn.Server):
    """uvicorn, minus its own signal handling: it re-raises SIGTERM after shutting
    down, so a clean stop would end with a signal instead of exit status 0."""

    def __init__(self, app: ASGIApp, host: str, port: int) -> None:
        """Serve `app` (on `host:port` unless `serve` is given a socket), logging
        through our structured log only."""
        super().__init__(
            uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False)
        )

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def stop(self) -> None:
        """Finish the requests in progress, then return from `serve`."""
        self.should_exit = True


@contextlib.asynccontextmanager
async def serving_beside(app: ASGIApp, host: str, port: int, *, option: str) -> AsyncIterator[None]:
    """Serve `app` on `host:port` while the block runs (port 0: nothing is served), for
    a process whose work is something else (the worker's and the dispatcher's operations
    endpoints). The port is bound on entry, so one in use is `CannotListen` at once;
    on exit the requests in flight are finished."""
    if not port:
        yield
        return
    sock = listen(host, port, option=option)
    server = HttpServer(app, host, port)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield
    finally:
        server.stop()
        await serving
        sock.close()
