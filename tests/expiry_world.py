"""A small, realistic world for the expiry tests: one organisation, two chapters,
a coordinator, a chapter admin, mentors with certificates at chosen distances
from expiry, devices and directory listings. Every person has a name, an
e-mail address and a phone number, so tests can check none of it leaks."""

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

from psycopg import AsyncConnection


@dataclass
class Person:
    id: UUID
    name: str
    email: str
    phone: str


@dataclass
class Mentor:
    person: Person
    certification_id: UUID
    expiry_date: date
    chapter_id: UUID
    device_ids: list[UUID] = field(default_factory=list)


@dataclass
class World:
    organization_id: UUID
    slug: str
    chapter_a: UUID
    chapter_b: UUID
    coordinator: Person
    admin: Person
    coordinator_device: UUID
    mentors: dict[str, Mentor]

    def people(self) -> list[Person]:
        return [self.coordinator, self.admin] + [m.person for m in self.mentors.values()]


_counter = iter(range(10_000, 100_000))


async def _person(conn: AsyncConnection[Any], role_name: str) -> Person:
    n = next(_counter)
    person = Person(
        id=uuid4(),
        name=f"{role_name} Nordmann{n}",
        email=f"{role_name.lower()}.{n}@example.no",
        phone=f"+47 9{n % 100:02d} {n % 1000:03d} {n % 100:02d}",
    )
    await conn.execute("insert into auth.users (id) values (%s)", [person.id])
    await conn.execute(
        "insert into public.users (id, display_name, email, phone) values (%s, %s, %s, %s)",
        [person.id, person.name, person.email, person.phone],
    )
    return person


async def _member(
    conn: AsyncConnection[Any], org: UUID, chapter: UUID, user: UUID, role: str
) -> None:
    await conn.execute(
        "insert into public.chapter_memberships (organization_id, chapter_id, user_id, role) "
        "values (%s, %s, %s, %s)",
        [org, chapter, user, role],
    )


async def _device(conn: AsyncConnection[Any], user: UUID, platform: str, provider: str) -> UUID:
    device = uuid4()
    # Shaped like the real ones: APNs device tokens are 64 hex digits.
    token = device.hex * 2 if provider == "apns" else f"token-{device.hex}"
    await conn.execute(
        "insert into public.device_tokens (id, user_id, platform, provider, token) "
        "values (%s, %s, %s, %s, %s)",
        [device, user, platform, provider, token],
    )
    return device


async def build_world(
    conn: AsyncConnection[Any],
    today: date,
    offsets: dict[str, int],
    *,
    slug: str | None = None,
    thresholds: tuple[int, ...] = (60, 30, 7),
    without_coordinator: tuple[str, ...] = (),
    devices_per_mentor: int = 1,
) -> World:
    """Insert the world; `offsets` maps a mentor label to days from `today` to expiry.

    Mentors named in `without_coordinator` belong to chapter B, which has no
    coordinator assignments, only the chapter admin.
    """
    org = uuid4()
    slug = slug or f"org-{org.hex[:8]}"
    await conn.execute(
        "insert into public.organizations (id, slug, name, certificate_type, expiry_thresholds) "
        "values (%s, %s, %s, 'hlf_peer_mentor', %s)",
        [org, slug, f"Organisation {slug}", list(thresholds)],
    )
    chapter_a, chapter_b = uuid4(), uuid4()
    for chapter, name in ((chapter_a, "Bergen"), (chapter_b, "Tromsø")):
        await conn.execute(
            "insert into public.chapters (id, organization_id, name) values (%s, %s, %s)",
            [chapter, org, name],
        )
    coordinator = await _person(conn, "Kari")
    admin = await _person(conn, "Ola")
    await _member(conn, org, chapter_a, coordinator.id, "coordinator")
    await _member(conn, org, chapter_a, admin.id, "chapter_admin")
    await _member(conn, org, chapter_b, admin.id, "chapter_admin")
    coordinator_device = await _device(conn, coordinator.id, "ios", "apns")
    mentors: dict[str, Mentor] = {}
    for label, offset in offsets.items():
        person = await _person(conn, "Per")
        chapter = chapter_b if label in without_coordinator else chapter_a
        await _member(conn, org, chapter, person.id, "peer_mentor")
        if chapter == chapter_a:
            await conn.execute(
                "insert into public.coordinator_assignments "
                "(organization_id, chapter_id, coordinator_id, peer_mentor_id) "
                "values (%s, %s, %s, %s)",
                [org, chapter_a, coordinator.id, person.id],
            )
        expiry = today + timedelta(days=offset)
        certification = uuid4()
        await conn.execute(
            "insert into public.peer_mentor_certifications "
            "(id, organization_id, peer_mentor_id, certificate_type, issued_on, expiry_date) "
            "values (%s, %s, %s, 'hlf_peer_mentor', %s, %s)",
            [certification, org, person.id, expiry - timedelta(days=730), expiry],
        )
        await conn.execute(
            "insert into public.mentor_directory (organization_id, chapter_id, peer_mentor_id, "
            "display_name) values (%s, %s, %s, %s)",
            [org, chapter, person.id, person.name],
        )
        devices = [
            await _device(conn, person.id, "android", "fcm") for _ in range(devices_per_mentor)
        ]
        mentors[label] = Mentor(person, certification, expiry, chapter, devices)
    return World(org, slug, chapter_a, chapter_b, coordinator, admin, coordinator_device, mentors)
