"""The certificate sync end to end over HTTP on a real database: authentication,
the inbox (duplicates, reordering, the feature flag, the dead letter), the
effects on certificates and the listing, and what is never stored."""

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from mentor_notify.api.api_keys import fingerprint, key_sha256
from mentor_notify.db import Pool
from mentor_notify.domain import SystemClock
from mentor_notify.sync import CertificateSync, UnknownEvents, WebhookKeys, v1_json_schema
from mentor_notify.sync.keys import CALLER_KEYS_TTL
from tests.api.credentials import SteppingClock
from tests.support import impersonate
from tests.sync.payloads import Holder, dataverse, dataverse_headers, v1
from tests.sync.world import SyncWorld, build_sync_world, set_sync

KEY = "sync-key-0123456789abcdefghijklmnopqrstuvw"
NEXT_KEY = "sync-key-rotated-0123456789abcdefghijklmno"
OTHER_KEY = "sync-key-of-another-organisation-012345678"
AUTH = {"apikey": KEY}


def today() -> date:
    return SystemClock().now().date()


def moment(minutes: int) -> datetime:
    """An instant `minutes` from a fixed point an hour ago, so events are in the past
    and their order is explicit."""
    return datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1, minutes=-minutes)


async def build(
    pool: Pool,
    offsets: dict[str, int],
    *,
    enabled: bool = True,
    keys: tuple[str, ...] = (KEY, NEXT_KEY),
) -> SyncWorld:
    async with pool.connection() as conn:
        return await build_sync_world(conn, today(), offsets, enabled=enabled, keys=keys)


async def rows(pool: Pool, query: str, *params: Any) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute(query, list(params))
        return list(await cur.fetchall())


async def status_of(pool: Pool, answer: httpx.Response) -> str:
    """Where the event an answer names is now (the applier has run since)."""
    [row] = await rows(
        pool,
        "select status from public.certificate_sync_events where id = %s",
        answer.json()["event_id"],
    )
    return str(row["status"])


async def certificate(pool: Pool, world: SyncWorld, label: str) -> dict[str, Any]:
    [row] = await rows(
        pool,
        "select c.expiry_date, c.issued_on, jsonb_array_length(c.renewal_history) as renewals, "
        "t.notification_thresholds_sent as sent "
        "from public.peer_mentor_certifications c "
        "join public.certification_expiry_tracking t on t.certification_id = c.id "
        "where c.id = %s",
        world.world.mentors[label].certification_id,
    )
    return row


async def listed_publicly(pool: Pool, world: SyncWorld, label: str) -> bool:
    async with (
        pool.connection() as conn,
        conn.transaction(force_rollback=True),
        impersonate(conn, None, role="anon"),
    ):
        cur = await conn.execute(
            "select count(*) as n from public.mentor_directory where peer_mentor_id = %s",
            [world.world.mentors[label].person.id],
        )
        row = await cur.fetchone()
    assert row is not None
    return bool(row["n"])


async def post_dataverse(
    client: httpx.AsyncClient,
    world: SyncWorld,
    body: bytes,
    *,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> httpx.Response:
    return await client.post(
        f"/v1/sync/{world.slug}/dataverse",
        content=body,
        headers=dataverse_headers(body) | (AUTH if headers is None else headers),
        params=params,
    )


def update(world: SyncWorld, label: str, modified: datetime, expiry: date, **kw: Any) -> bytes:
    return dataverse(
        "Update", world.certificates[label], world.holders[label], modified, expiry=expiry, **kw
    )


@pytest.mark.parametrize(
    ("headers", "params"),
    [
        ({"apikey": KEY}, None),  # HttpHeader
        ({}, {"code": KEY}),  # WebhookKey
        ({}, {"apikey": KEY}),  # HttpQueryString
        ({"apikey": NEXT_KEY}, None),  # the next key, during a rotation
    ],
    ids=["HttpHeader", "WebhookKey", "HttpQueryString", "rotated-key"],
)
async def test_each_dataverse_authentication_option_is_accepted(
    own_pool: Pool,
    client: httpx.AsyncClient,
    headers: dict[str, str],
    params: dict[str, str] | None,
) -> None:
    world = await build(own_pool, {"a": 20})
    body = update(world, "a", moment(0), today() + timedelta(days=400))

    answer = await post_dataverse(client, world, body, headers=headers, params=params)

    assert answer.status_code == 202, answer.text
    assert await status_of(own_pool, answer) == "applied"


@pytest.mark.parametrize(
    ("headers", "params"),
    [({}, None), ({"apikey": "x" * 40}, None), ({}, {"code": KEY[:-1]}), ({"apikey": ""}, None)],
    ids=["none", "wrong-header", "wrong-code", "empty"],
)
async def test_a_missing_or_wrong_key_is_401_and_stores_nothing(
    own_pool: Pool,
    client: httpx.AsyncClient,
    headers: dict[str, str],
    params: dict[str, str] | None,
) -> None:
    world = await build(own_pool, {"a": 20})
    body = update(world, "a", moment(0), today() + timedelta(days=400))

    answer = await post_dataverse(client, world, body, headers=headers, params=params)

    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthorized"
    assert await rows(own_pool, "select id from public.certificate_sync_events") == []


@pytest.mark.parametrize(
    ("headers", "params"),
    [({"apikey": OTHER_KEY}, None), ({}, {"code": OTHER_KEY}), ({}, {"apikey": OTHER_KEY})],
    ids=["HttpHeader", "WebhookKey", "HttpQueryString"],
)
async def test_a_key_of_another_organisation_is_401_and_stores_nothing(
    own_pool: Pool,
    client: httpx.AsyncClient,
    headers: dict[str, str],
    params: dict[str, str] | None,
) -> None:
    mine = await build(own_pool, {"a": 20})
    theirs = await build(own_pool, {"b": 20}, keys=(OTHER_KEY,))
    body = update(mine, "a", moment(0), today() + timedelta(days=400))
    their_body = update(theirs, "b", moment(0), today() + timedelta(days=400))

    foreign = await post_dataverse(client, mine, body, headers=headers, params=params)
    stored = await rows(own_pool, "select id from public.certificate_sync_events")
    at_home = await post_dataverse(client, theirs, their_body, headers=headers, params=params)

    assert foreign.status_code == 401
    assert foreign.json()["error"]["code"] == "unauthorized"
    assert stored == []
    # The same key on its own organisation's URL is accepted.
    assert at_home.status_code == 202, at_home.text


async def test_a_revoked_key_is_401_and_the_other_keys_still_work(
    own_pool: Pool, client: httpx.AsyncClient
) -> None:
    world = await build(own_pool, {"a": 20})
    keys = WebhookKeys(own_pool, SystemClock())
    [(revoked, already)] = await keys.revoke(world.slug, fingerprint(key_sha256(NEXT_KEY)))
    again = await keys.revoke(world.slug, fingerprint(key_sha256(NEXT_KEY)))
    body = update(world, "a", moment(0), today() + timedelta(days=400))

    refused = await post_dataverse(client, world, body, headers={"apikey": NEXT_KEY})
    accepted = await post_dataverse(client, world, body, headers={"apikey": KEY})

    assert (revoked.revoked_at is not None, already) == (True, False)
    assert [(k.revoked_at, was) for k, was in again] == [(revoked.revoked_at, True)]
    assert refused.status_code == 401
    assert accepted.status_code == 202, accepted.text


async def test_only_a_hash_of_each_key_is_stored(own_pool: Pool) -> None:
    world = await build(own_pool, {"a": 20})
    made = await WebhookKeys(own_pool, SystemClock()).add(world.slug)

    stored = await rows(
        own_pool, "select to_jsonb(k)::text as row from public.certificate_sync_keys k"
    )
    text = "\n".join(r["row"] for r in stored)
    assert len(stored) == 3
    for key in (KEY, NEXT_KEY, made.key):
        assert key not in text
        assert key_sha256(key) in text


async def test_a_renewal_versions_the_history_and_starts_a_new_cycle(
    own_pool: Pool, client: httpx.AsyncClient
) -> None:
    world = await build(own_pool, {"a": 20})
    async with own_pool.connection() as conn:
        await conn.execute(
            "update public.certification_expiry_tracking set notification_thresholds_sent = '{30}' "
            "where certification_id = %s",
            [world.world.mentors["a"].certification_id],
        )
    renewed = today() + timedelta(days=730)

    answer = await post_dataverse(client, world, update(world, "a", moment(0), renewed))

    cert = await certificate(own_pool, world, "a")
    assert answer.status_code == 202
    assert (cert["expiry_date"], cert["renewals"], cert["sent"]) == (renewed, 1, [])


async def test_a_repeated_request_is_stored_and_applied_once(
    own_pool: Pool, client: httpx.AsyncClient
) -> None:
    world = await build(own_pool, {"a": 20})
    body = update(world, "a", moment(0), today() + timedelta(days=400))

    first = await post_dataverse(client, world, body)
    second = await post_dataverse(client, world, body)

    # Stored and answered at once; applied by the applier after the answer.
    assert first.json() == {
        "event_id": first.json()["event_id"],
        "duplicate": False,
        "status": "pending",
        "reason": None,
    }
    assert second.json() == first.json() | {"duplicate": True, "status": "applied"}
    assert len(await rows(own_pool, "select id from public.certificate_sync_events")) == 1
    assert (await certificate(own_pool, world, "a"))["renewals"] == 1


async def test_an_older_modification_never_overwrites_a_newer_one(
    own_pool: Pool, client: httpx.AsyncClient
) -> None:
    world = await build(own_pool, {"a": 20})
    newer = today() + timedelta(days=700)
    older = today() + timedelta(days=300)

    await post_dataverse(client, world, update(world, "a", moment(10), newer))
    late = await post_dataverse(client, world, update(world, "a", moment(5), older))

    assert await status_of(own_pool, late) == "superseded"
    assert (await certificate(own_pool, world, "a"))["expiry_date"] == newer


async def test_events_held_while_the_sync_is_off_are_applied_by_replay_in_source_order(
    own_pool: Pool, client: httpx.AsyncClient, sync: CertificateSync
) -> None:
    world = await build(own_pool, {"a": 20}, enabled=False)
    first, last = today() + timedelta(days=300), today() + timedelta(days=600)
    # Received in the wrong order; replay applies them in the order of modification.
    held = [
        await post_dataverse(client, world, update(world, "a", moment(9), last)),
        await post_dataverse(client, world, update(world, "a", moment(1), first)),
    ]
    before = await certificate(own_pool, world, "a")
    held_status = [await status_of(own_pool, h) for h in held]
    while_off = await sync.replay([world.slug])
    async with own_pool.connection() as conn:
        await set_sync(conn, world.world.organization_id, True)

    replayed = await sync.replay([world.slug])
    again = await sync.replay([world.slug])

    assert held_status == ["pending", "pending"]
    assert before["expiry_date"] == today() + timedelta(days=20)
    assert while_off.held == {world.slug: 2}
    assert while_off.organisations == {}
    assert replayed.organisations[world.slug].applied == 2
    cert = await certificate(own_pool, world, "a")
    assert (cert["expiry_date"], cert["renewals"]) == (last, 2)
    assert again.organisations[world.slug].model_dump() == {
        "applied": 0,
        "superseded": 0,
        "dead": 0,
    }


async def test_unknown_person_goes_to_the_dead_letter_and_retry_applies_it_once_mapped(
    own_pool: Pool, client: httpx.AsyncClient, sync: CertificateSync
) -> None:
    world = await build(own_pool, {"a": 20})
    stranger = Holder(uuid4(), "Ukjent Person", "ukjent@example.no", "+47 900 00 000")
    body = dataverse(
        "Update", world.certificates["a"], stranger, moment(0), expiry=today() + timedelta(days=500)
    )

    dead = await post_dataverse(client, world, body)
    status, letters = await sync.status([world.slug])
    dead_status = await status_of(own_pool, dead)
    async with own_pool.connection() as conn:
        await conn.execute(
            "insert into public.certificate_sync_people (organization_id, external_person_id, "
            "user_id) values (%s, %s, %s)",
            [
                world.world.organization_id,
                str(stranger.contact_id),
                world.world.mentors["a"].person.id,
            ],
        )
    retried = await sync.retry([dead.json()["event_id"]])

    assert dead_status == "dead"
    assert status[0].dead == 1
    assert [(d.id, d.reason) for d in letters] == [
        (
            dead.json()["event_id"],
            f"unknown person: no mapping for external person id {stranger.contact_id} "
            "(add it to certificate_sync_people, then `sync retry`)",
        )
    ]
    assert retried.organisations[world.slug].applied == 1
    assert (await certificate(own_pool, world, "a"))["expiry_date"] == today() + timedelta(days=500)


async def test_an_unknown_certificate_type_goes_to_the_dead_letter(
    own_pool: Pool, client: httpx.AsyncClient
) -> None:
    world = await build(own_pool, {"a": 20})
    body = update(world, "a", moment(0), today() + timedelta(days=500), certificate_type=7)

    answer = await post_dataverse(client, world, body)

    [event] = await rows(own_pool, "select status, reason from public.certificate_sync_events")
    assert await status_of(own_pool, answer) == "dead"
    assert event == {
        "status": "dead",
        "reason": "unknown certificate type: no mapping for external type 7 "
        "(add it to certificate_sync_types, then `sync retry`)",
    }


async def test_retry_refuses_ids_that_are_not_dead(own_pool: Pool, sync: CertificateSync) -> None:
    await build(own_pool, {"a": 20})

    with pytest.raises(UnknownEvents, match=r"not dead events .*: 424242"):
        await sync.retry([424242])


async def test_a_renewal_lists_a_mentor_hidden_as_lapsed_again_at_once(
    own_pool: Pool, client: httpx.AsyncClient, sync: CertificateSync
) -> None:
    world = await build(own_pool, {"lapsed": -3})
    # The nightly sweep's directory step hides the lapsed mentor explicitly.
    async with own_pool.connection() as conn:
        await conn.execute(
            "update public.mentor_directory set suppression_status = 'suppressed', "
            "suppression_reason = 'certification_lapsed', suppressed_at = now() "
            "where peer_mentor_id = %s",
            [world.world.mentors["lapsed"].person.id],
        )
    hidden = await listed_publicly(own_pool, world, "lapsed")

    answer = await post_dataverse(
        client, world, update(world, "lapsed", moment(0), today() + timedelta(days=365))
    )

    assert hidden is False
    assert await status_of(own_pool, answer) == "applied"
    assert await listed_publicly(own_pool, world, "lapsed") is True


async def test_a_revocation_hides_the_mentor_at_once(
    own_pool: Pool, client: httpx.AsyncClient
) -> None:
    world = await build(own_pool, {"a": 200})
    listed = await listed_publicly(own_pool, world, "a")
    body = dataverse(
        "Update",
        world.certificates["a"],
        world.holders["a"],
        moment(0),
        expiry=today() + timedelta(days=200),
        inactive=True,
    )

    answer = await post_dataverse(client, world, body)

    assert listed is True
    assert await status_of(own_pool, answer) == "applied"
    assert await listed_publicly(own_pool, world, "a") is False
    [state] = await rows(
        own_pool,
        "select suppression_status, suppression_reason from public.mentor_directory "
        "where peer_mentor_id = %s",
        world.world.mentors["a"].person.id,
    )
    assert state == {
        "suppression_status": "suppressed",
        "suppression_reason": "certification_lapsed",
    }


async def test_an_event_refreshes_only_its_own_mentors_listing(
    own_pool: Pool, client: httpx.AsyncClient
) -> None:
    # Another mentor's lapse is the nightly sweep's to record: an event about "a"
    # must not take the organisation's whole listing step (and its lock) with it.
    world = await build(own_pool, {"a": 200, "lapsed": -3})
    body = dataverse(
        "Update",
        world.certificates["a"],
        world.holders["a"],
        moment(0),
        expiry=today() + timedelta(days=200),
        inactive=True,
    )

    answer = await post_dataverse(client, world, body)

    assert await status_of(own_pool, answer) == "applied"
    states = {
        r["peer_mentor_id"]: r["suppression_status"]
        for r in await rows(
            own_pool,
            "select peer_mentor_id, suppression_status from public.mentor_directory "
            "where peer_mentor_id = any(%s)",
            [world.world.mentors[k].person.id for k in ("a", "lapsed")],
        )
    }
    assert states == {
        world.world.mentors["a"].person.id: "suppressed",
        world.world.mentors["lapsed"].person.id: "active",
    }


async def test_a_deleted_certificate_row_is_a_revocation(
    own_pool: Pool, client: httpx.AsyncClient
) -> None:
    world = await build(own_pool, {"a": 200})
    await post_dataverse(
        client, world, update(world, "a", moment(0), today() + timedelta(days=200))
    )
    body = dataverse("Delete", world.certificates["a"], world.holders["a"], moment(1))

    answer = await post_dataverse(client, world, body)

    assert await status_of(own_pool, answer) == "applied"
    assert await listed_publicly(own_pool, world, "a") is False


async def test_no_personal_field_of_a_dynamics_payload_is_stored(
    own_pool: Pool, client: httpx.AsyncClient
) -> None:
    world = await build(own_pool, {"a": 20, "b": 30})
    stranger = Holder(uuid4(), "Hemmelig Hansen", "hemmelig.hansen@example.no", "+47 411 22 333")
    bodies = [
        update(world, "a", moment(0), today() + timedelta(days=400)),
        dataverse("Delete", world.certificates["b"], world.holders["b"], moment(1)),
        dataverse("Update", world.certificates["a"], stranger, moment(2), expiry=today()),
    ]
    for body in bodies:
        assert (await post_dataverse(client, world, body)).status_code == 202

    stored = await rows(
        own_pool,
        "select to_jsonb(t)::text as row from public.certificate_sync_events t "
        "union all select to_jsonb(t)::text from public.certificate_sync_certificates t",
    )
    text = "\n".join(r["row"] for r in stored)
    holders = [world.holders["a"], world.holders["b"], stranger]
    assert len(stored) == 5
    for holder in holders:
        for personal in (holder.name, holder.email, holder.phone, holder.name.split()[-1]):
            assert personal not in text


async def test_v1_events_issue_renew_and_revoke(own_pool: Pool, client: httpx.AsyncClient) -> None:
    world = await build(own_pool, {"a": 20})
    person = str(world.holders["a"].contact_id)
    # The mentor's certificate is known to the sync only once an event names it.
    events = [
        v1(
            "renewed",
            person,
            "C-1",
            moment(0),
            certificate_type="100000000",
            expiry_date=str(today() + timedelta(days=365)),
        ),
        v1("revoked", person, "C-1", moment(5), revoked_on=str(today())),
    ]
    answers = [
        await client.post(f"/v1/sync/{world.world.organization_id}/events", json=e, headers=AUTH)
        for e in events
    ]

    assert [await status_of(own_pool, a) for a in answers] == ["applied", "applied"]
    assert (await certificate(own_pool, world, "a"))["expiry_date"] == today() - timedelta(days=1)
    assert await listed_publicly(own_pool, world, "a") is False


async def test_a_v1_issue_creates_the_certificate(
    own_pool: Pool, client: httpx.AsyncClient
) -> None:
    world = await build(own_pool, {"a": 20})
    async with own_pool.connection() as conn:
        await conn.execute(
            "delete from public.peer_mentor_certifications where id = %s",
            [world.world.mentors["a"].certification_id],
        )
    event = v1(
        "issued",
        str(world.holders["a"].contact_id),
        "C-9",
        moment(0),
        certificate_type="100000000",
        issued_on=str(today()),
        expiry_date=str(today() + timedelta(days=730)),
    )

    answer = await client.post(f"/v1/sync/{world.slug}/events", json=event, headers=AUTH)

    [cert] = await rows(
        own_pool,
        "select certificate_type, issued_on, expiry_date from public.peer_mentor_certifications "
        "where peer_mentor_id = %s",
        world.world.mentors["a"].person.id,
    )
    assert await status_of(own_pool, answer) == "applied"
    assert cert == {
        "certificate_type": "hlf_peer_mentor",
        "issued_on": today(),
        "expiry_date": today() + timedelta(days=730),
    }
    assert await listed_publicly(own_pool, world, "a") is True


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("dataverse", b"{not json", 400),
        ("dataverse", b"[1, 2]", 400),
        ("events", b"{not json", 400),
        ("events", b"x" * 70_000, 413),
    ],
    ids=["malformed", "not-an-object", "v1-malformed", "oversized"],
)
async def test_a_body_that_is_not_a_json_object_is_a_4xx_json_error_and_stored_nowhere(
    own_pool: Pool, client: httpx.AsyncClient, path: str, body: bytes, status: int
) -> None:
    world = await build(own_pool, {"a": 20})

    answer = await client.post(
        f"/v1/sync/{world.slug}/{path}",
        content=body,
        headers=AUTH | {"content-type": "application/json"},
    )

    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] in ("invalid_event", "payload_too_large")
    assert await rows(own_pool, "select id from public.certificate_sync_events") == []


@pytest.mark.parametrize(
    ("path", "body", "status", "reason"),
    [
        (
            "dataverse",
            {"MessageName": "Assign", "PrimaryEntityName": "hlf_certificate"},
            202,
            "a 'Assign' message of table 'hlf_certificate': this endpoint reads Create, Update "
            "and Delete of 'hlf_certificate' (check the webhook step, or `sync mappings`)",
        ),
        (
            "dataverse",
            {"MessageName": "Update", "PrimaryEntityName": "contact"},
            202,
            "a 'Update' message of table 'contact': this endpoint reads Create, Update and "
            "Delete of 'hlf_certificate' (check the webhook step, or `sync mappings`)",
        ),
        (
            "dataverse",
            {"MessageName": "Update", "PrimaryEntityName": "hlf_certificate"},
            202,
            "the delivery has no PrimaryEntityId (1-200 characters)",
        ),
        ("events", {}, 422, "version: Field required; event_id: Field required"),
        ("events", {"version": "v2"}, 422, "version: Input should be 'v1'"),
    ],
    ids=["other-message", "other-table", "incomplete", "v1-empty", "v1-other-version"],
)
async def test_an_authenticated_json_delivery_that_cannot_be_applied_is_kept_dead_with_its_reason(
    own_pool: Pool,
    client: httpx.AsyncClient,
    path: str,
    body: dict[str, Any],
    status: int,
    reason: str,
) -> None:
    world = await build(own_pool, {"a": 20})

    answer = await client.post(f"/v1/sync/{world.slug}/{path}", json=body, headers=AUTH)

    [event] = await rows(own_pool, "select id, status, reason from public.certificate_sync_events")
    assert answer.status_code == status, answer.text
    assert (event["status"], event["reason"][: len(reason)]) == ("dead", reason)
    if status == 202:
        assert answer.json() == {
            "event_id": event["id"],
            "duplicate": False,
            "status": "dead",
            "reason": event["reason"],
        }
    else:
        assert f"kept as dead event {event['id']}" in answer.json()["error"]["message"]


async def test_v1_fields_beyond_the_contract_are_refused(
    own_pool: Pool, client: httpx.AsyncClient
) -> None:
    world = await build(own_pool, {"a": 20})
    event = v1(
        "renewed",
        "p",
        "c",
        moment(0),
        certificate_type="t",
        expiry_date=str(today()),
        full_name="Kari Nordmann",
    )

    answer = await client.post(f"/v1/sync/{world.slug}/events", json=event, headers=AUTH)

    assert answer.status_code == 422
    assert "full_name" in answer.json()["error"]["message"]
    stored = await rows(
        own_pool, "select to_jsonb(t)::text as row from public.certificate_sync_events t"
    )
    assert "Kari" not in stored[0]["row"]


async def test_an_unknown_organisation_is_401_like_a_wrong_key_and_stores_nothing(
    own_pool: Pool, client: httpx.AsyncClient
) -> None:
    world = await build(own_pool, {"a": 20})
    body = update(world, "a", moment(0), today() + timedelta(days=400))

    answer = await client.post(
        "/v1/sync/no-such-org/dataverse", content=body, headers=dataverse_headers(body) | AUTH
    )

    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthorized"
    assert await rows(own_pool, "select id from public.certificate_sync_events") == []


async def test_the_v1_contract_is_published_in_the_repository_and_the_openapi_document(
    client: httpx.AsyncClient,
) -> None:
    published = json.loads(
        (Path(__file__).parents[2] / "schemas" / "certificate-event-v1.schema.json").read_text()
    )
    openapi = (await client.get("/openapi.json")).json()
    body = openapi["paths"]["/v1/sync/{organization}/events"]["post"]["requestBody"]

    assert published == v1_json_schema()
    served = body["content"]["application/json"]["schema"]
    assert served["properties"].keys() == published["properties"].keys()
    assert (served["required"], served["additionalProperties"]) == (published["required"], False)


async def test_the_server_reads_an_organisations_keys_again_after_ten_seconds(
    own_pool: Pool,
) -> None:
    world = await build(own_pool, {"a": 20})
    clock = SteppingClock(datetime.now(UTC))
    keys = WebhookKeys(own_pool, clock)
    first = await keys.of_caller(world.slug)
    await WebhookKeys(own_pool, SystemClock()).revoke(world.slug, fingerprint(key_sha256(NEXT_KEY)))

    clock.advance(CALLER_KEYS_TTL - timedelta(seconds=1))
    remembered = await keys.of_caller(world.slug)
    clock.advance(timedelta(seconds=1))
    read_again = await keys.of_caller(world.slug)

    assert first is not None
    assert remembered == first
    assert len(first.key_sha256) == 2
    assert read_again is not None
    assert read_again.key_sha256 == [key_sha256(KEY)]


async def test_the_openapi_document_gives_webhooks_their_own_security_schemes(
    client: httpx.AsyncClient,
) -> None:
    openapi = (await client.get("/openapi.json")).json()

    def schemes(path: str) -> set[str]:
        return {name for entry in openapi["paths"][path]["post"]["security"] for name in entry}

    webhook = {"WebhookKeyHeader", "WebhookKeyCode", "WebhookKeyQuery"}
    assert schemes("/v1/sync/{organization}/dataverse") == webhook
    assert schemes("/v1/sync/{organization}/events") == webhook
    assert schemes("/functions/v1/dispatch") == {"JobApiKey", "JobApiKeyBearer"}
    assert schemes("/v1/device-tokens") == {"UserAccessToken"}
    described = openapi["components"]["securitySchemes"]
    assert {described[name]["in"] for name in webhook} == {"header", "query"}
