"""supabase/schemas/ and supabase/migrations/ describe the same database (issue 26).

The schema files are where a reader finds an object's current definition; the
migrations are what brings a database there. One database is built from each,
the same way (the local bootstrap, then the SQL as the non-superuser owner
role), and their catalogs must be identical: a change made in only one of the
two fails here.
"""

from pathlib import Path

from mentor_notify.db import SupabaseLayout, connect
from tests.conftest import CreateDatabase
from tests.support import bootstrap_only_layout, run_migrations, schema_catalog


async def apply_schema_files(url: str, layout: SupabaseLayout, scratch: Path) -> list[str]:
    """Bootstrap the database at `url`, then apply supabase/schemas/*.sql in name
    order (the Supabase CLI's order), each in its own transaction; returns the names."""
    await run_migrations(url, bootstrap_only_layout(layout, scratch))
    files = sorted((layout.root / "schemas").glob("*.sql"))
    conn = await connect(url)
    try:
        for path in files:
            async with conn.transaction():
                await conn.execute(path.read_bytes())
    finally:
        await conn.close()
    return [path.name for path in files]


async def test_the_schema_files_and_the_migrations_build_the_same_catalog(
    create_database: CreateDatabase, supabase_layout: SupabaseLayout, tmp_path: Path
) -> None:
    from_files = await create_database()
    applied = await apply_schema_files(from_files, supabase_layout, tmp_path / "supabase")
    from_migrations = await create_database()
    await run_migrations(from_migrations, supabase_layout)

    assert applied, "supabase/schemas/ holds no schema file"
    assert schema_catalog(from_files, supabase_layout) == schema_catalog(
        from_migrations, supabase_layout
    )
