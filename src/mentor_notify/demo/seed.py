"""Loading `supabase/seed.sql`, the demo organisations, people and history."""

import asyncio
from typing import Any

import psycopg
from psycopg import AsyncConnection

from mentor_notify.db import DatabaseError, SupabaseLayout, translate


class SeedError(DatabaseError):
    """The seed file is missing or did not load; nothing of it was kept."""


async def load_seed(conn: AsyncConnection[Any], layout: SupabaseLayout) -> None:
    """Load the seed file in one transaction.

    The file is idempotent (fixed ids, ON CONFLICT DO NOTHING), so loading it
    again leaves the data as it was. A failure rolls the whole file back.
    """
    path = layout.seed_file
    if not path.is_file():
        raise SeedError(f"no seed file at {path}; is MENTOR_NOTIFY_SUPABASE_DIR right?")
    text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    try:
        async with conn.transaction():
            # No parameters: the simple query protocol runs every statement.
            await conn.execute(text.encode())
    except psycopg.Error as exc:
        raise SeedError(f"loading {path.name} failed: {translate(exc)}") from exc
