"""The psycopg async connection pool every component shares.

Connections come out of the pool in the driver's default (non-autocommit)
mode, so `async with pool.connection() as conn:` is one transaction: committed
when the block ends, rolled back if it raises. Rows are dicts by default;
repositories ask for typed models per cursor with
`conn.cursor(row_factory=class_row(Model))`.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from mentor_notify.config import Settings
from mentor_notify.db.connect import APPLICATION_NAME, connect, log_server_notices
from mentor_notify.db.errors import translate
from mentor_notify.db.sql_files import load_sql

_PING = load_sql("mentor_notify.db", "ping")

Pool = AsyncConnectionPool[AsyncConnection[DictRow]]


def create_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> Pool:
    """A pool for `url`, not yet open: call `await pool.open()` (or use `open_pool`)."""
    return AsyncConnectionPool(
        url,
        connection_class=AsyncConnection[DictRow],
        kwargs={"row_factory": dict_row, "application_name": APPLICATION_NAME},
        min_size=min_size,
        max_size=max_size,
        open=False,
        name=APPLICATION_NAME,
        configure=_configure,
    )


async def _configure(conn: AsyncConnection[DictRow]) -> None:
    log_server_notices(conn)


@asynccontextmanager
async def open_pool(
    url: str, settings: Settings, *, connect_timeout: float = 10.0
) -> AsyncIterator[Pool]:
    """Open a pool sized by `settings`, wait until it can connect, close it afterwards.

    Raises `ConnectionFailed` if no connection succeeds within `connect_timeout` seconds.
    """
    pool = create_pool(url, min_size=settings.pool_min_size, max_size=settings.pool_max_size)
    try:
        await pool.open(wait=True, timeout=connect_timeout)
    except PoolTimeout as exc:
        await pool.close()
        # The pool only reports that it timed out; one direct attempt raises
        # ConnectionFailed with the server's actual reason.
        await (await connect(url)).close()
        raise translate(exc) from exc
    try:
        yield pool
    finally:
        await pool.close()


async def database_answers(pool: Pool) -> bool:
    """Whether a connection from `pool` can run a query now (for health checks)."""
    try:
        async with pool.connection() as conn:
            await conn.execute(_PING)
    except Exception:
        return False
    return True
