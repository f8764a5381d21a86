"""Dataverse's webhooks as Microsoft documents them (issue 24), over HTTP on a real
database: each delivery ends in the right certificate state or in the dead letter
with its reason, whether it is applied as it arrives ("live") or held while the
organisation's sync is off and applied by `sync replay` ("replay")."""

import json
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from mentor_notify.db import Pool
from mentor_notify.domain import SystemClock
from mentor_notify.sync import CertificateSync, DataverseMapping, DateBehavior, SyncRepository
from tests.sync.payloads import SAMPLE, dataverse, dataverse_headers, user_local
from tests.sync.test_sync_http import (
    AUTH,
    build,
    certificate,
    listed_publicly,
    moment,
    post_dataverse,
    rows,
    status_of,
    today,
)
from tests.sync.world import SyncWorld, set_sync

OSLO = ZoneInfo("Europe/Oslo")
MODES = ["live", "replay"]


async def settle(pool: Pool, world: SyncWorld, sync: CertificateSync, mode: str) -> None:
    """In replay mode, switch the held organisation's sync on and replay."""
    if mode == "replay":
        async with pool.connection() as conn:
            await set_sync(conn, world.world.organization_id, True)
        await sync.replay([world.slug])


async def statuses(pool: Pool) -> list[tuple[str, str | None]]:
    found = await rows(
        pool, "select status, reason from public.certificate_sync_events order by id"
    )
    return [(r["status"], r["reason"]) for r in found]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("pre_image", [True, False], ids=["pre-image", "no-pre-image"])
async def test_a_delete_after_an_update_revokes_from_the_deletions_local_day(
    own_pool: Pool, client: httpx.AsyncClient, sync: CertificateSync, mode: str, pre_image: bool
) -> None:
    world = await build(own_pool, {"a": 200}, enabled=mode == "live")
    cert, holder = world.certificates["a"], world.holders["a"]
    last_update = moment(0) - timedelta(days=3)
    # Executed within the second of a later save, with the last Update's
    # modifiedon in its pre-image.
    executed = moment(0) + timedelta(milliseconds=400)
    bodies = [
        dataverse("Update", cert, holder, last_update, expiry=today() + timedelta(days=300)),
        dataverse("Delete", cert, holder, last_update, executed=executed, image=pre_image),
    ]

    for body in bodies:
        assert (await post_dataverse(client, world, body)).status_code == 202
    await settle(own_pool, world, sync, mode)

    deleted_on = executed.astimezone(OSLO).date()
    assert [s for s, _ in await statuses(own_pool)] == ["applied", "applied"]
    assert (await certificate(own_pool, world, "a"))["expiry_date"] == deleted_on - timedelta(
        days=1
    )
    assert await listed_publicly(own_pool, world, "a") is False


@pytest.mark.parametrize("mode", MODES)
async def test_the_later_of_two_changes_in_one_second_wins(
    own_pool: Pool, client: httpx.AsyncClient, sync: CertificateSync, mode: str
) -> None:
    world = await build(own_pool, {"a": 20, "b": 20}, enabled=mode == "live")
    saved, final = today() + timedelta(days=300), today() + timedelta(days=600)
    second = moment(0)

    # Without a row version: the order of arrival breaks the tie.
    for expiry in (saved, final):
        body = dataverse(
            "Update", world.certificates["a"], world.holders["a"], second, expiry=expiry
        )
        await post_dataverse(client, world, body)
    # With one: the row version, whatever the order of arrival.
    for expiry, version in ((final, 1002), (saved, 1001)):
        body = dataverse(
            "Update",
            world.certificates["b"],
            world.holders["b"],
            second,
            expiry=expiry,
            version=version,
        )
        await post_dataverse(client, world, body)
    await settle(own_pool, world, sync, mode)

    assert (await certificate(own_pool, world, "a"))["expiry_date"] == final
    assert (await certificate(own_pool, world, "b"))["expiry_date"] == final


@pytest.mark.parametrize("behavior", list(DateBehavior))
async def test_a_date_entered_in_oslo_is_stored_as_that_day(
    own_pool: Pool, client: httpx.AsyncClient, behavior: DateBehavior
) -> None:
    world = await build(own_pool, {"a": 20})
    async with own_pool.connection() as conn:
        await SyncRepository(conn).set_mapping(
            world.world.organization_id,
            DataverseMapping(date_behavior=behavior),
            SystemClock().now(),
        )
    entered = today() + timedelta(days=400)
    # A UserLocal column sends the instant Oslo's day began (the day before in UTC);
    # the others the date itself, as midnight UTC.
    expiry: date | str = user_local(entered) if behavior is DateBehavior.USER_LOCAL else entered
    body = dataverse(
        "Update", world.certificates["a"], world.holders["a"], moment(0), expiry=expiry
    )

    await post_dataverse(client, world, body)

    assert (await certificate(own_pool, world, "a"))["expiry_date"] == entered


async def test_a_null_request_id_without_a_header_is_keyed_by_the_operation(
    own_pool: Pool, client: httpx.AsyncClient
) -> None:
    world = await build(own_pool, {"a": 20})
    body = dataverse(
        "Update",
        world.certificates["a"],
        world.holders["a"],
        moment(0),
        expiry=today() + timedelta(days=400),
    )
    assert json.loads(body)["RequestId"] is None
    assert "x-request-id" not in dataverse_headers(body)

    first = await post_dataverse(client, world, body)
    # Dataverse's one retry (after a 502, 503 or 504) sends the same call again.
    retried = await post_dataverse(client, world, body)

    [stored] = await rows(own_pool, "select source_event_id from public.certificate_sync_events")
    assert (first.status_code, await status_of(own_pool, first)) == (202, "applied")
    assert first.json() | {"status": "pending"} == first.json()
    assert retried.json() == first.json() | {"duplicate": True, "status": "applied"}
    assert stored["source_event_id"].startswith("context:")
    assert (await certificate(own_pool, world, "a"))["renewals"] == 1


@pytest.mark.parametrize("mode", MODES)
async def test_an_update_without_a_post_image_applies_onto_the_known_certificate(
    own_pool: Pool, client: httpx.AsyncClient, sync: CertificateSync, mode: str
) -> None:
    world = await build(own_pool, {"a": 20}, enabled=mode == "live")
    cert, holder = world.certificates["a"], world.holders["a"]
    first, changed = today() + timedelta(days=300), today() + timedelta(days=500)
    bodies = [
        dataverse("Update", cert, holder, moment(0), expiry=first),
        dataverse("Update", cert, holder, moment(1), expiry=changed, image=False),
    ]

    for body in bodies:
        await post_dataverse(client, world, body)
    await settle(own_pool, world, sync, mode)

    assert [s for s, _ in await statuses(own_pool)] == ["applied", "applied"]
    assert (await certificate(own_pool, world, "a"))["expiry_date"] == changed


async def test_an_update_without_a_post_image_of_an_unknown_certificate_waits_in_the_dead_letter(
    own_pool: Pool, client: httpx.AsyncClient, sync: CertificateSync
) -> None:
    world = await build(own_pool, {"a": 20})
    cert, holder = world.certificates["a"], world.holders["a"]
    changed = today() + timedelta(days=500)
    partial = dataverse("Update", cert, holder, moment(1), expiry=changed, image=False)

    dead = await post_dataverse(client, world, partial)
    _, [letter] = await sync.status([world.slug])
    # The row's whole state arrives later (an earlier save, with its image).
    await post_dataverse(
        client,
        world,
        dataverse("Update", cert, holder, moment(0), expiry=today() + timedelta(days=90)),
    )
    retried = await sync.retry([dead.json()["event_id"]])

    assert letter.id == dead.json()["event_id"]
    assert f"certificate {cert} is not known yet" in letter.reason
    assert "post-image" in letter.reason
    assert retried.organisations[world.slug].applied == 1
    assert (await certificate(own_pool, world, "a"))["expiry_date"] == changed


async def test_a_body_cut_by_dataverse_is_dead_unless_it_is_a_delete_of_a_known_certificate(
    own_pool: Pool, client: httpx.AsyncClient, sync: CertificateSync
) -> None:
    world = await build(own_pool, {"a": 200, "b": 200})
    cut_headers = AUTH | {"x-ms-dynamics-msg-size-exceeded": "true"}

    async def post_cut(body: bytes) -> httpx.Response:
        context = json.loads(body)
        for dropped in ("InputParameters", "ParentContext", "PreEntityImages", "PostEntityImages"):
            del context[dropped]
        return await post_dataverse(
            client, world, json.dumps(context).encode(), headers=cut_headers
        )

    known = dataverse(
        "Update", world.certificates["b"], world.holders["b"], moment(0), expiry=today()
    )
    await post_dataverse(client, world, known)
    update = await post_cut(
        dataverse("Update", world.certificates["a"], world.holders["a"], moment(1), expiry=today())
    )
    delete = await post_cut(
        dataverse("Delete", world.certificates["b"], world.holders["b"], moment(2))
    )
    retried = await sync.retry([update.json()["event_id"]])

    assert (update.status_code, await status_of(own_pool, update)) == (202, "dead")
    assert "cut the body" in update.json()["reason"]
    assert retried.organisations[world.slug].dead == 1
    assert (await certificate(own_pool, world, "a"))["expiry_date"] == today() + timedelta(days=200)
    assert (delete.status_code, await status_of(own_pool, delete)) == (202, "applied")
    assert await listed_publicly(own_pool, world, "b") is False


async def test_a_person_id_that_is_an_email_address_is_dead_and_kept_nowhere(
    own_pool: Pool, client: httpx.AsyncClient
) -> None:
    world = await build(own_pool, {"a": 20})
    email = world.holders["a"].email
    context = json.loads(
        dataverse("Update", world.certificates["a"], world.holders["a"], moment(0), expiry=today())
    )
    for pair in context["PostEntityImages"][0]["value"]["Attributes"]:
        if pair["key"] == "hlf_contactid":
            pair["value"] = email
    through_v1 = {
        "version": "v1",
        "event_id": "e-1",
        "type": "revoked",
        "occurred_at": moment(0).isoformat(),
        "person_id": email,
        "certificate_id": "c-1",
        "revoked_on": str(today()),
    }

    answers = [
        await post_dataverse(client, world, json.dumps(context).encode()),
        await client.post(f"/v1/sync/{world.slug}/events", json=through_v1, headers=AUTH),
    ]

    stored = await rows(
        own_pool, "select to_jsonb(t)::text as row from public.certificate_sync_events t"
    )
    assert [(a.status_code, await status_of(own_pool, a)) for a in answers] == [
        (202, "dead"),
        (202, "dead"),
    ]
    assert all("looks like personal data (e-mail address)" in a.json()["reason"] for a in answers)
    assert len(stored) == 2
    assert not any(email in r["row"] for r in stored)


async def test_microsofts_sample_itself_is_kept_once_as_another_tables_message(
    own_pool: Pool, client: httpx.AsyncClient
) -> None:
    world = await build(own_pool, {"a": 20})
    body = json.dumps(SAMPLE).encode()

    first = await post_dataverse(client, world, body)
    again = await post_dataverse(client, world, body)

    assert (first.status_code, await status_of(own_pool, first)) == (202, "dead")
    assert first.json()["reason"].startswith("a 'Update' message of table 'contact'")
    assert again.json() == first.json() | {"duplicate": True}
    assert "James" not in json.dumps(
        await rows(own_pool, "select * from public.certificate_sync_events"), default=str
    )
