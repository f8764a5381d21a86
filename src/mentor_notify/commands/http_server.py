"""uvicorn as the commands run it: stopped by the command's own signal handling."""

import contextlib
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI


class HttpServer(uvicorn.Server):
    """uvicorn, minus its own signal handling: it re-raises SIGTERM after shutting
    down, so a clean stop would end with a signal instead of exit status 0."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        """Serve `app` on `host:port`, logging through our structured log only."""
        super().__init__(
            uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False)
        )

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def stop(self) -> None:
        """Finish the requests in progress, then return from `serve`."""
        self.should_exit = True
