"""A per-organisation summary of what the database holds, for the demo."""

from datetime import date, datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import class_row
from pydantic import BaseModel, ConfigDict

from mentor_notify.db import translating
from mentor_notify.db.sql_files import load_sql

_SUMMARY_SQL = load_sql("mentor_notify.demo", "summary")


class OrganisationSummary(BaseModel):
    """Counts for one organisation; `tiers` maps a tier (or `none`) to certificates in it."""

    model_config = ConfigDict(frozen=True)

    organization_id: UUID
    slug: str
    name: str
    timezone: str
    thresholds: list[int]
    local_today: date
    chapters: int
    coordinators: int
    chapter_admins: int
    peer_mentors: int
    certificates: int
    tiers: dict[str, int]
    devices: int
    activities_30d: int
    listed: int
    hidden: int


async def summarize(conn: AsyncConnection[Any], as_of: datetime) -> list[OrganisationSummary]:
    """Summarise every organisation as of the business moment `as_of` (timezone-aware),
    ordered by name."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    with translating():
        async with conn.cursor(row_factory=class_row(OrganisationSummary)) as cur:
            await cur.execute(_SUMMARY_SQL, {"as_of": as_of})
            return await cur.fetchall()
