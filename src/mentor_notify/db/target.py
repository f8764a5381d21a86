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

from mentor_notify.db.sql_files import load_sql

SUPABASE_SCHEMAS = ("storage", "graphql_public", "realtime", "vault", "supabase_functions")

_INSPECT_SQL = load_sql("mentor_notify.db", "inspect_target")


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
