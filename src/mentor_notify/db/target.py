"""Is the target database a real Supabase, and does it need the local bootstrap?

The bootstrap (supabase/local/bootstrap.sql) must never touch a real Supabase
database, where the platform owns roles, `auth` and grants. The rule errs on
the side of leaving a database alone:

* Supabase-managed: the role `supabase_admin` exists (hosted, self-hosted and
  `supabase start` all have it; the bootstrap never creates it), or one of the
  platform's own schemas exists (storage, graphql_public, realtime, vault,
  supabase_functions). Never bootstrapped, whatever else is missing.
* Otherwise the bootstrap is applied when any piece it provides is missing;
  when all are present (e.g. bootstrapped earlier) nothing is done.
"""

from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import class_row

SUPABASE_SCHEMAS = ("storage", "graphql_public", "realtime", "vault", "supabase_functions")

_INSPECT_SQL = """
select
  array_remove(
    array[case when exists (select from pg_catalog.pg_roles where rolname = 'supabase_admin')
               then 'role supabase_admin' end]
    || array(select 'schema ' || nspname from pg_catalog.pg_namespace
             where nspname = any(%(schemas)s) order by nspname),
    null) as supabase_markers,
  array_remove(array[
    case when not exists (select from pg_catalog.pg_roles where rolname = 'anon')
         then 'role anon' end,
    case when not exists (select from pg_catalog.pg_roles where rolname = 'authenticated')
         then 'role authenticated' end,
    case when not exists (select from pg_catalog.pg_roles where rolname = 'service_role')
         then 'role service_role' end,
    case when to_regnamespace('extensions') is null then 'schema extensions' end,
    case when to_regclass('auth.users') is null then 'table auth.users' end,
    case when to_regprocedure('auth.uid()') is null then 'function auth.uid()' end,
    case when to_regprocedure('auth.role()') is null then 'function auth.role()' end,
    case when to_regprocedure('auth.jwt()') is null then 'function auth.jwt()' end
  ], null) as missing
"""


@dataclass(frozen=True)
class TargetInspection:
    """What the target database looks like, for the bootstrap decision."""

    supabase_markers: list[str]
    missing: list[str]

    @property
    def supabase_managed(self) -> bool:
        """True when the database belongs to a Supabase platform."""
        return bool(self.supabase_markers)

    @property
    def needs_bootstrap(self) -> bool:
        """True when the local bootstrap should (and may) be applied."""
        return not self.supabase_managed and bool(self.missing)


async def inspect_target(conn: AsyncConnection[Any]) -> TargetInspection:
    """Look for Supabase's fingerprints and for the pieces the bootstrap provides."""
    async with conn.cursor(row_factory=class_row(TargetInspection)) as cur:
        await cur.execute(_INSPECT_SQL, {"schemas": list(SUPABASE_SCHEMAS)})
        inspection = await cur.fetchone()
    assert inspection is not None  # a bare SELECT always yields one row
    return inspection
