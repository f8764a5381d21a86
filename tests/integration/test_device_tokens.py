"""Device tokens: registration is an upsert that refreshes, several devices per person,
stale tokens listed without the tokens themselves."""

import json
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from typer.testing import CliRunner

from mentor_notify.cli import app
from mentor_notify.push import DeviceTokenRegistration, DeviceTokenRepository
from tests.support import fetch_value

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
Conn = AsyncConnection[DictRow]


async def person(conn: Conn) -> UUID:
    user = uuid4()
    await conn.execute("insert into auth.users (id) values (%s)", [user])
    await conn.execute("insert into public.users (id, display_name) values (%s, 'Kari')", [user])
    return user


def device(token: str, platform: str = "android", provider: str = "fcm") -> DeviceTokenRegistration:
    return DeviceTokenRegistration(token=token, platform=platform, provider=provider)  # type: ignore[arg-type]


async def test_registering_again_refreshes_the_same_row(conn: Conn) -> None:
    repo = DeviceTokenRepository(conn)
    user = await person(conn)
    token = f"fcm-{uuid4().hex}"

    first = await repo.register(user, device(token), NOW - timedelta(days=3))
    again = await repo.register(user, device(token), NOW)

    assert again.id == first.id
    assert again.last_refreshed_at == NOW
    assert (
        await fetch_value(conn, "select count(*) from device_tokens where token = %s", token) == 1
    )


async def test_a_person_may_have_several_devices_on_both_platforms(conn: Conn) -> None:
    repo = DeviceTokenRepository(conn)
    user = await person(conn)

    phone = await repo.register(user, device(f"fcm-{uuid4().hex}"), NOW)
    tablet = await repo.register(user, device(uuid4().hex * 2, "ios", "apns"), NOW)

    assert phone.id != tablet.id
    assert (
        await fetch_value(conn, "select count(*) from device_tokens where user_id = %s", user) == 2
    )


async def test_a_device_that_changed_hands_moves_to_its_new_user(conn: Conn) -> None:
    repo = DeviceTokenRepository(conn)
    before, after = await person(conn), await person(conn)
    token = f"fcm-{uuid4().hex}"

    first = await repo.register(before, device(token), NOW - timedelta(days=1))
    moved = await repo.register(after, device(token), NOW)

    assert moved.id == first.id
    assert (
        await fetch_value(conn, "select user_id from device_tokens where id = %s", moved.id)
        == after
    )


async def test_people_delete_only_their_own_tokens(conn: Conn) -> None:
    repo = DeviceTokenRepository(conn)
    owner, other = await person(conn), await person(conn)
    registered = await repo.register(owner, device(f"fcm-{uuid4().hex}"), NOW)

    assert not await repo.delete_own(other, registered.id)
    assert await repo.delete_own(owner, registered.id)
    assert not await repo.delete_own(owner, registered.id)


async def test_stale_tokens_are_listed_oldest_first(conn: Conn) -> None:
    repo = DeviceTokenRepository(conn)
    user = await person(conn)
    old = await repo.register(user, device(f"fcm-{uuid4().hex}"), NOW - timedelta(days=90))
    older = await repo.register(user, device(f"fcm-{uuid4().hex}"), NOW - timedelta(days=200))
    await repo.register(user, device(f"fcm-{uuid4().hex}"), NOW - timedelta(days=2))

    stale = [t for t in await repo.stale(timedelta(days=30), NOW) if t.user_id == user]

    assert [t.id for t in stale] == [older.id, old.id]


def test_cli_lists_stale_tokens_without_the_tokens(own_database_url: str) -> None:
    import asyncio

    import psycopg

    token = f"fcm-secret-{uuid4().hex}"

    async def setup() -> UUID:
        async with await psycopg.AsyncConnection.connect(own_database_url) as conn:
            user = uuid4()
            await conn.execute("insert into auth.users (id) values (%s)", [user])
            await conn.execute(
                "insert into public.users (id, display_name) values (%s, 'Ola')", [user]
            )
            await conn.execute(
                "insert into public.device_tokens (user_id, platform, provider, token, "
                "last_refreshed_at) values (%s, 'android', 'fcm', %s, now() - interval '45 days')",
                [user, token],
            )
            return user

    user = asyncio.run(setup())
    runner = CliRunner()
    base = ["--database-url", own_database_url, "push", "stale-tokens"]

    as_json = runner.invoke(app, [*base, "--json"])
    recent = runner.invoke(app, [*base, "--days", "60"])

    assert as_json.exit_code == 0, as_json.output
    assert [t["user_id"] for t in json.loads(as_json.stdout)] == [str(user)]
    assert token not in as_json.stdout
    assert "No device token has gone 60 days" in recent.stdout
