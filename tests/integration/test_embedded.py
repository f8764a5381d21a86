"""The embedded PostgreSQL 16 (pgserver): starts, serves, and takes the migrations."""

from pathlib import Path

from mentor_notify.db import MigrationRunner, SupabaseLayout, connect, embedded_postgres
from tests.support import fetch_value


async def test_embedded_server_starts_accepts_connections_and_takes_the_migrations(
    tmp_path: Path, supabase_layout: SupabaseLayout
) -> None:
    with embedded_postgres(tmp_path / "pgdata", cleanup="delete") as server:
        conn = await connect(server.uri)
        try:
            version = await fetch_value(conn, "select current_setting('server_version_num')::int")
            runner = MigrationRunner(conn, supabase_layout)
            result = await runner.migrate()
            undone = await runner.rollback(all=True)
        finally:
            await conn.close()

    assert version >= 160000
    assert result.bootstrapped
    assert [m.version for m in result.applied] == [m.version for m in supabase_layout.migrations()]
    assert [m.version for m in undone] == [m.version for m in reversed(result.applied)]
    assert not (tmp_path / "pgdata").exists()
