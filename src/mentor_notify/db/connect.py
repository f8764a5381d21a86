"""Which database to use, and single connections to it.

The effective database is, in order: an explicit URL (the `--database-url`
option), the `DATABASE_URL` environment variable, else the embedded
PostgreSQL in the per-user data directory.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import structlog
from psycopg import AsyncConnection
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import DictRow, dict_row

from mentor_notify.config import Settings
from mentor_notify.db.embedded import embedded_postgres
from mentor_notify.db.errors import InvalidDatabaseUrl, translate

APPLICATION_NAME = "mentor-notify"

log = structlog.get_logger(__name__)
server_log = structlog.get_logger("postgres")


def resolve_database_url(settings: Settings, explicit: str | None = None) -> str | None:
    """The configured database URL, or None when the embedded server should be used."""
    return explicit or settings.database_url or None


# The password of a URL (postgresql://user:PASSWORD@host) or of key=value settings
# (password=PASSWORD), kept out of the message about an unreadable URL.
_PASSWORD = re.compile(r"^[a-z]+://[^:/@]*:(?P<url>[^@]*)@|password\s*=\s*(?P<kv>\S+)", re.I)


def check_database_url(url: str) -> str:
    """`url` if it can be read as a PostgreSQL connection string, else `InvalidDatabaseUrl`
    saying why (its password left out).

    Checked before any connection is tried: the pool would retry an unreadable URL as
    if the server were away, and report it only when its timeout ran out.
    """
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        reason = str(exc).strip().splitlines()[0]
        for match in _PASSWORD.finditer(url):
            secret = match.group("url") or match.group("kv")
            if secret:
                reason = reason.replace(secret, "***")
        raise InvalidDatabaseUrl(f"invalid database URL: {reason}") from exc
    # libpq reads the port only when it connects; a wrong one is as much a typo.
    for port in str(params.get("port") or "").split(","):
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            raise InvalidDatabaseUrl(f"invalid database URL: port {port!r} is not a port number")
    return url


@contextmanager
def use_database(settings: Settings, explicit: str | None = None) -> Iterator[str]:
    """Yield the URL of the database to use, starting the embedded one if needed.

    Raises `InvalidDatabaseUrl` at once for a URL that cannot be read.
    The embedded server (if started here) is released when the block ends.
    """
    url = resolve_database_url(settings, explicit)
    if url is not None:
        yield check_database_url(url)
        return
    with embedded_postgres(settings.embedded_pgdata) as server:
        log.info("using embedded PostgreSQL", pgdata=str(server.pgdata))
        yield server.uri


async def connect(url: str, *, autocommit: bool = True) -> AsyncConnection[DictRow]:
    """Open one connection (dict rows, autocommit by default; the server's notices
    logged, see `log_server_notices`).

    Raises `ConnectionFailed` (never a raw psycopg error) when it cannot.
    """
    try:
        conn = await AsyncConnection.connect(
            url,
            autocommit=autocommit,
            row_factory=dict_row,
            application_name=APPLICATION_NAME,
        )
    except psycopg.Error as exc:
        raise translate(exc) from exc
    log_server_notices(conn)
    return conn


def log_server_notices(conn: AsyncConnection[Any]) -> None:
    """Log the messages the server sends `conn` besides results (`RAISE WARNING` and
    `RAISE NOTICE` in SQL, ...) as structured entries; psycopg would drop them.

    WARNING (and anything more severe) is logged as a warning; NOTICE, INFO and
    the like only at debug level: they are mostly routine (`create ... if not
    exists` skipping what exists).
    """
    conn.add_notice_handler(_log_notice)


def _log_notice(diag: psycopg.errors.Diagnostic) -> None:
    severity = diag.severity_nonlocalized or diag.severity or "NOTICE"
    routine = severity in {"NOTICE", "INFO", "LOG", "DEBUG"}
    emit = server_log.debug if routine else server_log.warning
    emit(diag.message_primary or "", severity=severity, sqlstate=diag.sqlstate)
