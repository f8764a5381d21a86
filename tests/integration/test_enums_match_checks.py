"""Every Python enum or literal type that mirrors a CHECK constraint lists exactly the
values the constraint allows, read from `pg_constraint` of the migrated schema.

A value the database allows but Python lacks makes a repository fail on a row
the database holds (a muted milestone is `skipped`); a value Python allows but
the database refuses turns valid-looking input into a constraint error.
"""

import re
from collections.abc import Iterable
from enum import StrEnum
from typing import Any, get_args

import pytest
from psycopg import AsyncConnection
from psycopg.rows import DictRow

from mentor_notify.api.jobs import ScenarioRequest
from mentor_notify.domain import Tier
from mentor_notify.domain.scenarios import ScenarioType
from mentor_notify.push.kinds import Platform, Provider
from mentor_notify.push.tokens import DeviceTokenRegistration
from mentor_notify.scenarios.models import DeliveryStatus
from mentor_notify.scenarios.rules import LANGUAGES
from mentor_notify.sync import DateBehavior, EventStatus, EventType, Source


def _values(kind: Any) -> set[str]:
    if isinstance(kind, type) and issubclass(kind, StrEnum):
        return {member.value for member in kind}
    return set(get_args(kind))


# (what Python calls it, its values, the table and column whose CHECK it mirrors)
MIRRORS: list[tuple[str, Iterable[str], str, str]] = [
    ("Tier", _values(Tier), "cert_notification_log", "notification_type"),
    ("Tier", _values(Tier), "notifications", "threshold_tier"),
    ("Tier", _values(Tier), "organizations", "push_immediate_tiers"),
    ("ScenarioType", _values(ScenarioType), "scenario_rules", "scenario_type"),
    ("ScenarioType", _values(ScenarioType), "scenario_notifications", "scenario_type"),
    ("ScenarioType", _values(ScenarioType), "scenario_cooldowns", "scenario_type"),
    (
        "ScenarioRequest.only",
        _values(ScenarioRequest.model_fields["only"].annotation.__args__[0]),  # type: ignore[union-attr]
        "scenario_rules",
        "scenario_type",
    ),
    ("DeliveryStatus", _values(DeliveryStatus), "scenario_notifications", "delivery_status"),
    ("Provider", _values(Provider), "device_tokens", "provider"),
    ("Provider", _values(Provider), "push_deliveries", "provider"),
    ("Platform", _values(Platform), "device_tokens", "platform"),
    (
        "DeviceTokenRegistration.platform",
        _values(DeviceTokenRegistration.model_fields["platform"].annotation),
        "device_tokens",
        "platform",
    ),
    ("LANGUAGES", set(LANGUAGES), "users", "locale"),
    ("sync Source", _values(Source), "certificate_sync_events", "source"),
    ("sync EventType", _values(EventType), "certificate_sync_events", "event_type"),
    ("sync EventStatus", _values(EventStatus), "certificate_sync_events", "status"),
    ("sync DateBehavior", _values(DateBehavior), "certificate_sync_mappings", "date_behavior"),
]

_CHECK_OF_COLUMN = """
select pg_catalog.pg_get_constraintdef(c.oid) as definition
from pg_catalog.pg_constraint c
join pg_catalog.pg_attribute a on a.attrelid = c.conrelid and a.attnum = any (c.conkey)
where c.contype = 'c'
  and c.conrelid = ('public.' || %(table)s)::regclass
  and a.attname = %(column)s
  and cardinality(c.conkey) = 1
  and pg_catalog.pg_get_constraintdef(c.oid) like '%%ARRAY[%%'
"""


async def allowed_values(conn: AsyncConnection[DictRow], table: str, column: str) -> set[str]:
    """The literals of the one list-valued CHECK on `table.column`."""
    cur = await conn.execute(_CHECK_OF_COLUMN, {"table": table, "column": column})
    rows = await cur.fetchall()
    assert len(rows) == 1, f"expected one list CHECK on {table}.{column}, found {len(rows)}"
    return set(re.findall(r"'([^']*)'::text", rows[0]["definition"]))


@pytest.mark.parametrize(
    ("name", "values", "table", "column"),
    MIRRORS,
    ids=[f"{name}-{table}.{column}" for name, _, table, column in MIRRORS],
)
async def test_python_values_equal_the_check_constraint(
    conn: AsyncConnection[DictRow], name: str, values: set[str], table: str, column: str
) -> None:
    allowed = await allowed_values(conn, table, column)

    assert allowed, f"no values parsed from the CHECK on {table}.{column}"
    assert set(values) == allowed, (
        f"{name} and the CHECK on {table}.{column} disagree: "
        f"only in Python {sorted(set(values) - allowed)}, "
        f"only in the database {sorted(allowed - set(values))}"
    )
