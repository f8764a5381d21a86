"""Every migration applies a second time, alone, after all of them, and changes nothing.

The promise of guarded DDL (`if not exists`, `create or replace`, `drop ... if
exists` before a re-create): someone who runs one file again by hand, or a
history table that lost a row, gets the same schema, not an error and not an
object a later migration had replaced or dropped.
"""

import pytest

from mentor_notify.db import SupabaseLayout, connect
from tests.conftest import CreateDatabase
from tests.support import run_migrations, schema_catalog


async def test_each_migration_reapplied_alone_after_all_of_them_changes_nothing(
    create_database: CreateDatabase, supabase_layout: SupabaseLayout
) -> None:
    migrations = supabase_layout.migrations()
    if not migrations:
        pytest.fail("no migrations in supabase/migrations")
    url = await create_database()
    await run_migrations(url, supabase_layout)
    before = schema_catalog(url, supabase_layout)

    changed: list[str] = []
    conn = await connect(url)
    try:
        for migration in migrations:
            async with conn.transaction():
                await conn.execute(migration.path.read_bytes())
            if schema_catalog(url, supabase_layout) != before:
                changed.append(migration.filename)
    finally:
        await conn.close()

    assert changed == []
