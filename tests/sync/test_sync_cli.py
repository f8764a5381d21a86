"""`mentor-notify sync replay | status | retry | keys` on a real database, and
`serve` answering the sync endpoints with the keys `sync keys` made."""

import asyncio
import json
import os
import signal
import subprocess
from datetime import timedelta
from uuid import uuid4

import httpx
from typer.testing import CliRunner, Result

from mentor_notify.cli import app
from mentor_notify.db import Pool
from mentor_notify.domain import SystemClock
from mentor_notify.expiry import RENEWAL_HISTORY_WARNING
from mentor_notify.sync import CertificateSync, Source
from tests.api.credentials import SERVE_ENV
from tests.integration.test_dispatch_processes import MENTOR_NOTIFY
from tests.support import fetch_value, free_port, wait_until_ready
from tests.sync.payloads import Holder, dataverse
from tests.sync.world import build_sync_world, caller, set_sync

runner = CliRunner()


async def cli(*args: str) -> Result:
    # The command calls asyncio.run(), which needs a thread with no running loop.
    return await asyncio.to_thread(runner.invoke, app, list(args))


async def test_status_replay_and_retry_from_the_command_line(
    own_pool: Pool, own_database_url: str
) -> None:
    today = SystemClock().now().date()
    async with own_pool.connection() as conn:
        world = await build_sync_world(conn, today, {"a": 20}, enabled=False)
    sync = CertificateSync(own_pool, SystemClock())
    stranger = Holder(uuid4(), "Ukjent Person", "ukjent@example.no", "+47 900 00 000")
    now = SystemClock().now() - timedelta(minutes=5)
    for holder in (world.holders["a"], stranger):
        body = dataverse(
            "Update", world.certificates["a"], holder, now, expiry=today + timedelta(days=400)
        )
        await sync.receive(await caller(own_pool, world), Source.DATAVERSE, body, {})
    db = ("--database-url", own_database_url)

    held = await cli(*db, "sync", "replay", "-o", world.slug)
    async with own_pool.connection() as conn:
        await set_sync(conn, world.world.organization_id, True)
    replayed = await cli(*db, "sync", "replay", "--json")
    status = await cli(*db, "sync", "status", "-o", world.slug, "--json")
    [dead] = json.loads(status.stdout)["dead"]
    not_dead = await cli(*db, "sync", "retry", "424242")
    unknown = await cli(*db, "sync", "status", "-o", "no-such-org")
    text = await cli(*db, "sync", "status", "-o", world.slug)

    assert held.exit_code == 0, held.output
    assert f"{world.slug}: sync off, 2 events held" in held.stdout
    assert json.loads(replayed.stdout)["organisations"][world.slug] == {
        "applied": 1,
        "superseded": 0,
        "dead": 1,
    }
    assert json.loads(status.stdout)["organisations"][0] | {"oldest_pending_at": None} == {
        "organization_id": str(world.world.organization_id),
        "slug": world.slug,
        "enabled": True,
        "pending": 0,
        "applied": 1,
        "superseded": 0,
        "dead": 1,
        "oldest_pending_at": None,
    }
    assert dead["reason"] == (
        f"unknown person: no mapping for external person id {stranger.contact_id} "
        "(add it to certificate_sync_people, then `sync retry`)"
    )
    assert f"dead #{dead['id']}" in text.stdout
    for failed, message in ((not_dead, "not dead events"), (unknown, "no organisation matches")):
        assert failed.exit_code == 1
        assert message in failed.stderr
        assert len(failed.stderr.strip().splitlines()) == 1


async def test_the_report_and_the_sweep_flag_the_same_renewal_history_size(own_pool: Pool) -> None:
    async with own_pool.connection() as conn:
        size = await fetch_value(conn, "select private.renewal_history_warning_size()")

    assert size == RENEWAL_HISTORY_WARNING


async def test_keys_made_listed_and_revoked_from_the_command_line_admit_only_their_organisation(
    own_pool: Pool, own_database_url: str
) -> None:
    today = SystemClock().now().date()
    async with own_pool.connection() as conn:
        mine = await build_sync_world(conn, today, {"a": 20})
        theirs = await build_sync_world(conn, today, {"b": 20})
    db = ("--database-url", own_database_url)
    made = json.loads((await cli(*db, "sync", "keys", "add", "-o", mine.slug, "--json")).stdout)
    old = json.loads((await cli(*db, "sync", "keys", "add", "-o", mine.slug, "--json")).stdout)
    revoked = await cli(
        *db, "sync", "keys", "revoke", "-o", mine.slug, old["webhook_key"]["fingerprint"]
    )
    listed = await cli(*db, "sync", "keys", "list", "-o", mine.slug)
    wrong = await cli(*db, "sync", "keys", "revoke", "-o", mine.slug, "sha256:000000000000")
    key, old_key = made["key"], old["key"]
    mine_url, theirs_url = f"/v1/sync/{mine.slug}/dataverse", f"/v1/sync/{theirs.slug}/dataverse"
    answers = await asyncio.to_thread(
        post_through_serve,
        own_database_url,
        {
            "wrong": (mine_url, "n" * 43),
            "revoked": (mine_url, old_key),
            "foreign": (theirs_url, key),
            "known": (mine_url, key),
        },
    )

    assert made["webhook_key"]["slug"] == mine.slug
    assert len(key) >= 32
    assert revoked.exit_code == 0, revoked.output
    assert f"{mine.slug}: {old['webhook_key']['fingerprint']} revoked" in revoked.stdout
    assert f"{made['webhook_key']['fingerprint']}, made" in listed.stdout
    assert listed.stdout.count("revoked") == 1
    assert wrong.exit_code == 1
    assert "has no webhook key sha256:000000000000" in wrong.stderr
    assert {name: status for name, (status, _) in answers.items()} == {
        "wrong": 401,
        "revoked": 401,
        "foreign": 401,
        # Authenticated, then kept dead as a message the sync does not handle.
        "known": 202,
    }
    assert answers["known"][1] == "dead"


def post_through_serve(
    database_url: str, calls: dict[str, tuple[str, str]]
) -> dict[str, tuple[int, str]]:
    """Start `serve` and POST a Dataverse body for another table to each (path, key
    as ?code=) of `calls`: each answer's status and error code (or, when accepted,
    the event's status)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [str(MENTOR_NOTIFY), "--database-url", database_url, "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=os.environ | SERVE_ENV,
    )
    body = b'{"MessageName": "Update", "PrimaryEntityName": "contact"}'
    try:
        wait_until_ready(base, process)
        answers = {
            name: httpx.post(f"{base}{path}", content=body, params={"code": key})
            for name, (path, key) in calls.items()
        }
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
    return {
        name: (a.status_code, a.json()["error"]["code"] if a.is_error else a.json()["status"])
        for name, a in answers.items()
    }


async def test_mappings_are_shown_and_set_per_organisation(
    own_pool: Pool, own_database_url: str
) -> None:
    today = SystemClock().now().date()
    async with own_pool.connection() as conn:
        world = await build_sync_world(conn, today, {"a": 20})
    db = ("--database-url", own_database_url)

    before = await cli(*db, "sync", "mappings", "show", "-o", world.slug, "--json")
    changed = await cli(
        *db, "sync", "mappings", "set", "-o", world.slug, "date_behavior=DateOnly", "table=nhf_cert"
    )
    again = await cli(*db, "sync", "mappings", "set", "-o", world.slug, "date_behavior=DateOnly")
    after = await cli(*db, "sync", "mappings", "show", "-o", world.slug, "--json")
    wrong_value = await cli(*db, "sync", "mappings", "set", "-o", world.slug, "table=Bad Name")
    wrong_field = await cli(*db, "sync", "mappings", "set", "-o", world.slug, "colour=red")
    read = await caller(own_pool, world)

    [shown_before] = json.loads(before.stdout)
    [shown_after] = json.loads(after.stdout)
    assert (shown_before["stored"], shown_before["date_behavior"]) == (False, "UserLocal")
    assert changed.exit_code == 0, changed.output
    assert again.exit_code == 0, again.output
    assert shown_after | {"stored": True} == shown_before | {
        "stored": True,
        "date_behavior": "DateOnly",
        "table": "nhf_cert",
    }
    assert (read.mapping.table, read.mapping.date_behavior) == ("nhf_cert", "DateOnly")
    for refused, says in ((wrong_value, "table"), (wrong_field, "colour")):
        assert refused.exit_code == 1
        assert says in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
