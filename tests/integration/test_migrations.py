"""The migration runner, on the project's real migrations and on small synthetic ones."""

import asyncio
from pathlib import Path

import pytest

from mentor_notify.db import (
    MigrationError,
    MigrationRunner,
    SupabaseLayout,
    connect,
    inspect_target,
)
from mentor_notify.db.migrations import BASELINE_VERSIONS, RETIRED_HISTORIES
from tests.conftest import CreateDatabase
from tests.support import (
    add_migration,
    bootstrap_only_layout,
    fetch_column,
    fetch_value,
    schema_dump,
)

SCHEMAS = "select nspname::text from pg_namespace where nspname !~ '^pg_' order by 1"


@pytest.fixture
def versions(supabase_layout: SupabaseLayout) -> list[str]:
    found = [m.version for m in supabase_layout.migrations()]
    if not found:
        pytest.skip("no migrations in supabase/migrations yet")
    return found


@pytest.fixture
def empty_layout(supabase_layout: SupabaseLayout, tmp_path: Path) -> SupabaseLayout:
    return bootstrap_only_layout(supabase_layout, tmp_path / "supabase")


async def migrate(url: str, layout: SupabaseLayout) -> None:
    conn = await connect(url)
    try:
        await MigrationRunner(conn, layout).migrate()
    finally:
        await conn.close()


async def rollback_all(url: str, layout: SupabaseLayout) -> None:
    conn = await connect(url)
    try:
        await MigrationRunner(conn, layout).rollback(all=True)
    finally:
        await conn.close()


# --- the project's migrations ---------------------------------------------------------


async def test_migrate_twice_is_harmless(
    create_database: CreateDatabase, supabase_layout: SupabaseLayout, versions: list[str]
) -> None:
    url = await create_database()
    conn = await connect(url)
    try:
        runner = MigrationRunner(conn, supabase_layout)
        first = await runner.migrate()
        dump = schema_dump(url)
        second = await runner.migrate()
    finally:
        await conn.close()

    assert first.bootstrapped
    assert [m.version for m in first.applied] == versions
    assert not second.bootstrapped
    assert second.applied == []
    assert schema_dump(url) == dump


async def test_status_lists_every_migration_in_version_order(
    create_database: CreateDatabase, supabase_layout: SupabaseLayout, versions: list[str]
) -> None:
    url = await create_database()
    conn = await connect(url)
    try:
        runner = MigrationRunner(conn, supabase_layout)
        before = await runner.status()
        await runner.migrate()
        after = await runner.status()
    finally:
        await conn.close()

    names = [m.name for m in supabase_layout.migrations()]
    assert [(s.version, s.name, s.applied) for s in before] == [
        (v, n, False) for v, n in zip(versions, names, strict=True)
    ]
    assert [(s.version, s.name, s.applied) for s in after] == [
        (v, n, True) for v, n in zip(versions, names, strict=True)
    ]


async def test_history_is_recorded_as_the_supabase_cli_records_it(
    create_database: CreateDatabase, supabase_layout: SupabaseLayout, versions: list[str]
) -> None:
    url = await create_database()
    await migrate(url, supabase_layout)
    conn = await connect(url)
    try:
        columns = await fetch_column(
            conn,
            "select column_name || ' ' || data_type from information_schema.columns"
            " where table_schema = 'supabase_migrations' and table_name = 'schema_migrations'"
            " order by ordinal_position",
        )
        primary_key = await fetch_column(
            conn,
            "select a.attname from pg_index i join pg_attribute a"
            " on a.attrelid = i.indrelid and a.attnum = any(i.indkey)"
            " where i.indrelid = 'supabase_migrations.schema_migrations'::regclass"
            " and i.indisprimary",
        )
        rows = await (
            await conn.execute(
                "select version, name, statements"
                " from supabase_migrations.schema_migrations order by version"
            )
        ).fetchall()
    finally:
        await conn.close()

    assert columns == ["version text", "statements ARRAY", "name text"]
    assert primary_key == ["version"]
    assert [(r["version"], r["name"]) for r in rows] == [
        (m.version, m.name) for m in supabase_layout.migrations()
    ]
    first = supabase_layout.migrations()[0]
    assert rows[0]["statements"] == [first.path.read_text()]


async def test_rollback_all_leaves_no_project_object_behind(
    create_database: CreateDatabase,
    supabase_layout: SupabaseLayout,
    empty_layout: SupabaseLayout,
    versions: list[str],
) -> None:
    baseline_url = await create_database()
    await migrate(baseline_url, empty_layout)
    baseline = await connect(baseline_url)
    try:
        baseline_schemas = await fetch_column(baseline, SCHEMAS)
    finally:
        await baseline.close()
    url = await create_database()
    await migrate(url, supabase_layout)
    await rollback_all(url, supabase_layout)

    conn = await connect(url)
    try:
        public_objects = await fetch_column(
            conn,
            """
            select kind || ' ' || name from (
              select 'relation' as kind, c.relname::text as name
              from pg_class c where c.relnamespace = 'public'::regnamespace
              union all
              select 'function', p.proname::text
              from pg_proc p where p.pronamespace = 'public'::regnamespace
              union all
              select 'type', t.typname::text
              from pg_type t where t.typnamespace = 'public'::regnamespace
              union all
              select 'policy', pol.polname::text
              from pg_policy pol join pg_class c on c.oid = pol.polrelid
              where c.relnamespace = 'public'::regnamespace
            ) objects order by 1
            """,
        )
        schemas = await fetch_column(conn, SCHEMAS)
        history = await fetch_value(
            conn, "select count(*) from supabase_migrations.schema_migrations"
        )
    finally:
        await conn.close()

    assert public_objects == []
    assert schemas == baseline_schemas
    assert history == 0
    # Whatever the migrations touched outside public (auth.users triggers,
    # grants, comments, other schemas) is back to the bootstrap's state.
    assert schema_dump(url) == schema_dump(baseline_url)


async def test_migrate_rollback_migrate_leaves_the_same_schema(
    create_database: CreateDatabase, supabase_layout: SupabaseLayout, versions: list[str]
) -> None:
    url = await create_database()
    await migrate(url, supabase_layout)
    first = schema_dump(url)
    await rollback_all(url, supabase_layout)
    await migrate(url, supabase_layout)

    assert schema_dump(url) == first


async def test_rollback_to_a_version_keeps_it_and_undoes_the_newer_ones(
    create_database: CreateDatabase, empty_layout: SupabaseLayout
) -> None:
    # Synthetic migrations: the project has a single baseline, and this is
    # about the runner.
    versions = ["20990101000100", "20990101000200", "20990101000300"]
    for version in versions:
        add_migration(
            empty_layout,
            f"{version}_step.sql",
            f"create table public.step_{version} (id integer)",
            f"drop table public.step_{version}",
        )
    url = await create_database()
    conn = await connect(url)
    try:
        runner = MigrationRunner(conn, empty_layout)
        await runner.migrate()
        undone = await runner.rollback(to=versions[0])
        status = await runner.status()
        kept = await fetch_value(conn, f"select to_regclass('public.step_{versions[0]}')::text")
        gone = await fetch_value(conn, f"select to_regclass('public.step_{versions[1]}')::text")
        reapplied = await runner.migrate()
    finally:
        await conn.close()

    assert [m.version for m in undone] == versions[:0:-1]
    assert [s.applied for s in status] == [True, False, False]
    assert (kept, gone) == (f"step_{versions[0]}", None)
    assert [m.version for m in reapplied.applied] == versions[1:]


async def test_rollback_without_options_undoes_only_the_newest(
    create_database: CreateDatabase, supabase_layout: SupabaseLayout, versions: list[str]
) -> None:
    url = await create_database()
    conn = await connect(url)
    try:
        runner = MigrationRunner(conn, supabase_layout)
        await runner.migrate()
        undone = await runner.rollback()
        pending = [s.version for s in await runner.status() if not s.applied]
    finally:
        await conn.close()

    assert [m.version for m in undone] == [versions[-1]]
    assert pending == [versions[-1]]


# --- databases that ran the retired history (squashed into the baseline) --------------

HISTORY = "select version from supabase_migrations.schema_migrations order by version"


async def record_as_retired_history(url: str, retired: tuple[str, ...]) -> None:
    """Make a migrated database's history look as if `retired` had built its baseline
    part (scripts/schema-diff shows the retired history built the same schema)."""
    conn = await connect(url)
    try:
        await conn.execute(
            "delete from supabase_migrations.schema_migrations where version = any(%s)",
            (list(BASELINE_VERSIONS),),
        )
        for version in retired:
            await conn.execute(
                "insert into supabase_migrations.schema_migrations (version, name, statements)"
                " values (%s, 'retired', array['-- retired'])",
                (version,),
            )
    finally:
        await conn.close()


@pytest.mark.parametrize("history", RETIRED_HISTORIES, ids=["0010..0800", "first squash"])
async def test_a_database_that_ran_a_whole_retired_history_adopts_the_baseline(
    create_database: CreateDatabase,
    supabase_layout: SupabaseLayout,
    versions: list[str],
    history: tuple[str, ...],
) -> None:
    url = await create_database()
    await migrate(url, supabase_layout)
    await record_as_retired_history(url, history)
    dump = schema_dump(url)

    conn = await connect(url)
    try:
        result = await MigrationRunner(conn, supabase_layout).migrate()
        history = await fetch_column(conn, HISTORY)
        statements = await fetch_value(
            conn,
            "select statements from supabase_migrations.schema_migrations where version = %s",
            BASELINE_VERSIONS[0],
        )
    finally:
        await conn.close()

    assert result.applied == []
    assert history == versions
    assert statements == [supabase_layout.migrations()[0].path.read_text()]
    assert schema_dump(url) == dump


@pytest.mark.parametrize(
    ("ran", "counted"),
    [
        (RETIRED_HISTORIES[0][:3], "3 of 13 versions"),
        # The first squash's history without the migrations after it: the
        # schema of 20261129000070, older than the baseline.
        (RETIRED_HISTORIES[1][:16], "16 of 22 versions"),
    ],
    ids=["three of 0010..0800", "first squash alone"],
)
async def test_a_database_that_ran_part_of_a_retired_history_is_refused(
    create_database: CreateDatabase,
    supabase_layout: SupabaseLayout,
    empty_layout: SupabaseLayout,
    ran: tuple[str, ...],
    counted: str,
) -> None:
    url = await create_database()
    await migrate(url, empty_layout)
    await record_as_retired_history(url, ran)

    conn = await connect(url)
    try:
        with pytest.raises(MigrationError) as raised:
            await MigrationRunner(conn, supabase_layout).migrate()
        history = await fetch_column(conn, HISTORY)
        organizations = await fetch_value(conn, "select to_regclass('public.organizations')")
    finally:
        await conn.close()

    message = str(raised.value)
    assert "\n" not in message
    assert f"ran only part of a retired migration history ({counted}" in message
    assert "recreate the database" in message
    assert history == sorted(ran)
    assert organizations is None


# --- runner mechanics, on synthetic migrations -----------------------------------------


async def test_a_failing_migration_is_rolled_back_whole_and_not_recorded(
    create_database: CreateDatabase, empty_layout: SupabaseLayout
) -> None:
    add_migration(empty_layout, "20000101000001_good.sql", "create table public.good (id int);")
    add_migration(
        empty_layout,
        "20000101000002_bad.sql",
        "create table public.half_done (id int);\n\nselect * from nowhere;\n",
    )
    url = await create_database()
    conn = await connect(url)
    try:
        runner = MigrationRunner(conn, empty_layout)
        with pytest.raises(MigrationError) as raised:
            await runner.migrate()
        status = await runner.status()
        half_done = await fetch_value(conn, "select to_regclass('public.half_done')")
    finally:
        await conn.close()

    assert "migration 20000101000002_bad.sql failed at line 3" in str(raised.value)
    assert 'relation "nowhere" does not exist' in str(raised.value)
    assert [(s.version, s.applied) for s in status] == [
        ("20000101000001", True),
        ("20000101000002", False),
    ]
    assert half_done is None


async def test_concurrent_migrators_apply_each_migration_exactly_once(
    create_database: CreateDatabase, empty_layout: SupabaseLayout
) -> None:
    # Deliberately not idempotent: applying any file twice would fail.
    for n in range(1, 6):
        add_migration(empty_layout, f"2000010100000{n}_t{n}.sql", f"create table public.t{n} ();")
    url = await create_database()
    connections = [await connect(url) for _ in range(4)]
    try:
        results = await asyncio.gather(
            *(MigrationRunner(c, empty_layout).migrate() for c in connections)
        )
    finally:
        for c in connections:
            await c.close()

    applied = sorted(m.version for r in results for m in r.applied)
    assert applied == [f"2000010100000{n}" for n in range(1, 6)]
    assert sum(r.bootstrapped for r in results) == 1


async def test_rollback_refuses_before_undoing_anything_when_a_rollback_file_is_missing(
    create_database: CreateDatabase, empty_layout: SupabaseLayout
) -> None:
    add_migration(
        empty_layout, "20000101000001_a.sql", "create table public.a ();", "drop table public.a;"
    )
    add_migration(empty_layout, "20000101000002_b.sql", "create table public.b ();")
    url = await create_database()
    conn = await connect(url)
    try:
        runner = MigrationRunner(conn, empty_layout)
        await runner.migrate()
        with pytest.raises(MigrationError, match=r"no rollback file .* for 20000101000002_b\.sql"):
            await runner.rollback(all=True)
        status = await runner.status()
    finally:
        await conn.close()

    assert all(s.applied for s in status)


async def test_rollback_rejects_an_unknown_version(
    create_database: CreateDatabase, empty_layout: SupabaseLayout
) -> None:
    add_migration(
        empty_layout, "20000101000001_a.sql", "create table public.a ();", "drop table public.a;"
    )
    url = await create_database()
    conn = await connect(url)
    try:
        runner = MigrationRunner(conn, empty_layout)
        await runner.migrate()
        with pytest.raises(MigrationError, match="unknown migration version 19990101000000"):
            await runner.rollback(to="19990101000000")
    finally:
        await conn.close()


async def test_a_migration_may_not_commit_on_its_own(
    create_database: CreateDatabase, empty_layout: SupabaseLayout
) -> None:
    add_migration(empty_layout, "20000101000001_commits.sql", "create table public.c (); commit;")
    url = await create_database()
    conn = await connect(url)
    try:
        with pytest.raises(MigrationError, match="ended the transaction itself"):
            await MigrationRunner(conn, empty_layout).migrate()
    finally:
        await conn.close()


async def test_bootstrap_is_applied_once_and_provides_every_supabase_piece(
    create_database: CreateDatabase, empty_layout: SupabaseLayout
) -> None:
    url = await create_database()
    conn = await connect(url)
    try:
        runner = MigrationRunner(conn, empty_layout)
        first = await runner.migrate()
        second = await runner.migrate()
        target = await inspect_target(conn)
        bypass = await fetch_value(
            conn, "select rolbypassrls from pg_roles where rolname = 'service_role'"
        )
        default_grants = await fetch_column(
            conn,
            "select distinct defaclobjtype::text || ':' || grantee::regrole::text"
            " from pg_default_acl d, aclexplode(d.defaclacl)"
            " where grantee::regrole::text in ('anon', 'authenticated', 'service_role')",
        )
        roles = await fetch_column(
            conn,
            "select rolname || ':' || rolinherit || ':' || rolcanlogin || ':' ||"
            " coalesce(array_to_string(rolconfig, ','), '') from pg_roles"
            " where rolname in ('anon', 'authenticated', 'service_role') order by rolname",
        )
        id_default = await fetch_value(
            conn,
            "select column_default from information_schema.columns"
            " where table_schema = 'auth' and table_name = 'users' and column_name = 'id'",
        )
    finally:
        await conn.close()

    assert first.bootstrapped
    assert not second.bootstrapped
    assert target.missing == []
    assert not target.supabase_managed
    assert bypass is True
    # As Supabase is today: no default privileges for the API roles (every grant
    # is a migration's), roles that inherit, its statement timeouts, and an
    # auth.users whose ids Supabase Auth assigns.
    assert default_grants == []
    assert roles == [
        "anon:true:false:statement_timeout=3s",
        "authenticated:true:false:statement_timeout=8s",
        "service_role:true:false:",
    ]
    assert id_default is None


async def test_bootstrap_is_never_applied_to_a_supabase_database(
    create_database: CreateDatabase, empty_layout: SupabaseLayout
) -> None:
    # Supabase's storage schema is one of the platform fingerprints the
    # runner respects; it is per-database, so the shared cluster is unaffected.
    add_migration(empty_layout, "20000101000001_t.sql", "create table public.t ();")
    url = await create_database()
    conn = await connect(url)
    try:
        await conn.execute("create schema storage")
        result = await MigrationRunner(conn, empty_layout).migrate()
        target = await inspect_target(conn)
        auth_schema = await fetch_value(conn, "select to_regnamespace('auth')")
    finally:
        await conn.close()

    assert target.supabase_managed
    assert "schema storage" in target.supabase_markers
    assert not result.bootstrapped
    assert [m.version for m in result.applied] == ["20000101000001"]
    assert auth_schema is None
