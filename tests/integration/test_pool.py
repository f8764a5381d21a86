"""The shared async pool: dict rows, one transaction per checkout, clear failures."""

import asyncio

import pytest

from mentor_notify.config import Settings
from mentor_notify.db import ConnectionFailed, Pool, open_pool


async def test_a_checkout_is_one_transaction_with_dict_rows(pool: Pool) -> None:
    async with pool.connection() as conn:
        first = await (await conn.execute("select 1 as one, now() as at")).fetchone()
        await asyncio.sleep(0.01)
        second = await (await conn.execute("select now() as at")).fetchone()

    assert first is not None
    assert second is not None
    assert first["one"] == 1
    # now() is the transaction's start time: equal means one transaction.
    assert first["at"] == second["at"]


async def test_an_unreachable_database_is_reported_with_the_servers_reason() -> None:
    settings = Settings(pool_min_size=1, pool_max_size=1)
    with pytest.raises(ConnectionFailed, match="Connection refused"):
        async with open_pool(
            "postgresql://postgres@127.0.0.1:1/postgres", settings, connect_timeout=1
        ):
            pass
