"""Which organisations a run covers: the one place that resolves the ids and slugs
a run is narrowed to (`--organization`, the API's `organization_id`), and refuses
a run that names an organisation that does not exist or could see none at all.

Every job that runs over organisations (the expiry sweep, the scenario engine,
the daily cycle) and every command that takes `--organization` asks here, so
bad input is refused the same way, in the same words, everywhere.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from mentor_notify.db import DatabaseError, translating
from mentor_notify.db.sql_files import load_sql

_COVERED = load_sql("mentor_notify.organisations", "covered")
_WHY_NONE = load_sql("mentor_notify.organisations", "why_none")


class UnknownOrganisation(DatabaseError):
    """An organisation a run was narrowed to does not exist (or the role cannot see it)."""


class NoOrganisationVisible(UnknownOrganisation):
    """A run could see no organisation at all: the database has none, or row-level
    security hides every one from the connected role."""


@dataclass(frozen=True)
class Organisation:
    """An organisation a run covers, with the settings the jobs read."""

    id: UUID
    slug: str
    timezone: str
    expiry_thresholds: tuple[int, ...]


async def covered_organisations(
    conn: AsyncConnection[Any], only: Sequence[str] | None = None
) -> list[Organisation]:
    """The organisations a run narrowed to `only` (ids or slugs; None or empty: all)
    covers, in slug order.

    Raises `UnknownOrganisation` naming every id or slug in `only` that matches
    no organisation, and `NoOrganisationVisible` when the run would cover none
    at all. Neither is a quiet success: a run that covers nothing it was asked
    to did nothing, and from cron an exit status 0 would hide that for good.
    """
    wanted = list(only) if only else None
    with translating():
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(_COVERED, {"only": wanted})
            rows = await cur.fetchall()
    found = [
        Organisation(
            id=row["id"],
            slug=row["slug"],
            timezone=row["timezone"],
            expiry_thresholds=tuple(row["expiry_thresholds"]),
        )
        for row in rows
    ]
    if wanted:
        names = {str(o.id) for o in found} | {o.slug for o in found}
        unknown = [w for w in wanted if w not in names]
        if unknown:
            raise UnknownOrganisation(
                "no organisation matches "
                + ", ".join(unknown)
                + "; give an organisation id or slug (see mentor-notify demo for examples)"
            )
    if not found:
        raise await _none_visible(conn)
    return found


async def _none_visible(conn: AsyncConnection[Any]) -> NoOrganisationVisible:
    # An empty result is an error whether row-level security hid the rows or the
    # database really has none: from inside the run the two look alike, every
    # real deployment has at least one organisation, and a job run from cron on
    # a database with none is almost always pointed at the wrong one (a new
    # project, a typo in DATABASE_URL). The message says which it looks like.
    with translating():
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(_WHY_NONE)
            row = await cur.fetchone()
    if row is not None and row["filtered"]:
        return NoOrganisationVisible(
            f"the role {row['role']} can see no organisation: row-level security "
            "hides them all from it; run the jobs as the database owner or a role with "
            "BYPASSRLS (on Supabase: postgres or service_role)"
        )
    return NoOrganisationVisible(
        "the database has no organisation, so there is nothing to run; check that "
        "--database-url (or DATABASE_URL) names the right database"
    )
