"""The expiry tests' world with its membership system connected: every mentor and
the HLF certificate type mapped, the organisation's webhook keys registered, and
its sync switched as asked."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from psycopg import AsyncConnection

from mentor_notify.api.api_keys import key_sha256
from mentor_notify.db import Pool
from mentor_notify.domain import SystemClock
from mentor_notify.sync import CallerKeys, WebhookKeys
from tests.expiry_world import World, build_world
from tests.sync.payloads import HLF_TYPE, Holder


@dataclass
class SyncWorld:
    world: World
    holders: dict[str, Holder]
    certificates: dict[str, UUID]

    @property
    def slug(self) -> str:
        return self.world.slug


async def build_sync_world(
    conn: AsyncConnection[Any],
    today: date,
    offsets: dict[str, int],
    *,
    enabled: bool = True,
    keys: Sequence[str] = (),
) -> SyncWorld:
    """The world, with each mentor mapped to a Dataverse contact, each certificate
    given a Dataverse id, and `keys` registered as the organisation's webhook keys."""
    world = await build_world(conn, today, offsets)
    holders: dict[str, Holder] = {}
    for label, mentor in world.mentors.items():
        person = mentor.person
        holders[label] = Holder(uuid4(), person.name, person.email, person.phone)
        await conn.execute(
            "insert into public.certificate_sync_people "
            "(organization_id, external_person_id, user_id) values (%s, %s, %s)",
            [world.organization_id, str(holders[label].contact_id), person.id],
        )
    await conn.execute(
        "insert into public.certificate_sync_types "
        "(organization_id, external_type, certificate_type) values (%s, %s, 'hlf_peer_mentor')",
        [world.organization_id, str(HLF_TYPE)],
    )
    for key in keys:
        await conn.execute(
            "insert into public.certificate_sync_keys (organization_id, key_sha256) "
            "values (%s, %s)",
            [world.organization_id, key_sha256(key)],
        )
    await set_sync(conn, world.organization_id, enabled)
    return SyncWorld(world, holders, {label: uuid4() for label in offsets})


async def set_sync(conn: AsyncConnection[Any], organization_id: UUID, enabled: bool) -> None:
    """Switch the organisation's sync on or off."""
    await conn.execute(
        "insert into public.certificate_sync_settings (organization_id, enabled) values (%s, %s) "
        "on conflict (organization_id) do update "
        "set enabled = excluded.enabled, updated_at = now()",
        [organization_id, enabled],
    )


async def caller(pool: Pool, world: SyncWorld) -> CallerKeys:
    """The organisation as the webhook endpoint sees it once a key was accepted."""
    found = await WebhookKeys(pool, SystemClock()).of_caller(world.slug)
    assert found is not None
    return found
