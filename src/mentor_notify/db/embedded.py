"""An embedded PostgreSQL 16 (the `pgserver` package) for zero-install use.

pgserver keeps one server per data directory and counts handles across
processes: the server starts with the first handle and stops when the last
handle is released (each process releases its handle on exit at the latest).
`embedded_postgres()` takes a handle for the duration of a `with` block and
releases it at the end, so a CLI command that runs alone starts the server and
stops it again, while a second command running at the same time shares it.
The data directory persists between runs; delete it to start afresh.

When run as root, pgserver runs PostgreSQL as a system user `pgserver` (which
it creates) and makes the data directory's parent folders traversable for it.
"""

import subprocess
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Literal

from mentor_notify.db.errors import ConnectionFailed

CleanupMode = Literal["stop", "delete"]


@dataclass(frozen=True)
class EmbeddedPostgres:
    """A running embedded server: its connection URI and data directory."""

    uri: str
    pgdata: Path


@contextmanager
def embedded_postgres(pgdata: Path, *, cleanup: CleanupMode = "stop") -> Iterator[EmbeddedPostgres]:
    """Start (or join) the embedded PostgreSQL whose cluster lives in `pgdata`.

    The cluster is created on first use. On leaving the block this process's
    handle is released: with `cleanup="stop"` the server stops if no other
    process holds it; `cleanup="delete"` also deletes `pgdata` (for tests).
    Raises `ConnectionFailed` when the server cannot be started.
    """
    pgserver = _import_pgserver()
    pgdata = pgdata.expanduser().resolve()
    try:
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        server = pgserver.get_server(pgdata, cleanup_mode=cleanup)
    except (OSError, subprocess.SubprocessError) as exc:
        raise ConnectionFailed(
            f"could not start the embedded PostgreSQL in {pgdata}: {exc} "
            f"(its log, if any, is {pgdata / 'log'})"
        ) from exc
    try:
        yield EmbeddedPostgres(uri=str(server.get_uri()), pgdata=pgdata)
    finally:
        server.cleanup()


def _import_pgserver() -> ModuleType:
    # pgserver asks platformdirs for a runtime directory at import time, which
    # warns when XDG_RUNTIME_DIR is unset (containers, cron, root shells) and
    # then falls back to /tmp sensibly; the warning is noise for our users.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
        import pgserver

    return pgserver
