"""`mentor-notify sync ...`: the inbound certificate sync's held events, its
status and its dead letter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from mentor_notify.commands import common

if TYPE_CHECKING:
    from mentor_notify.sync import (
        CertificateSync,
        DataverseMapping,
        DeadEvent,
        NewWebhookKey,
        ReplayResult,
        StatusRow,
        WebhookKey,
        WebhookKeys,
    )

app = typer.Typer(
    help="Inbound certificate sync from membership systems (Dataverse webhooks, v1 events).",
    no_args_is_help=True,
)


@app.command("replay")
def sync_replay(
    ctx: typer.Context,
    organization: common.OrganisationOption = None,
    as_json: common.JsonOption = False,
) -> None:
    """Apply the held events of organisations whose sync is on, oldest modification
    first. Organisations whose sync is off keep theirs (listed as held). Safe to run
    again."""
    result = common.run_with_database(ctx, lambda url: _replay(ctx, url, organization))
    _print_replay(result, as_json)


@app.command("retry")
def sync_retry(
    ctx: typer.Context,
    event_ids: Annotated[
        list[int], typer.Argument(metavar="ID...", help="Ids of dead events (see `sync status`).")
    ],
    as_json: common.JsonOption = False,
) -> None:
    """Put dead events back in the queue once their mapping is fixed, and apply them if
    their organisation's sync is on. Refuses, changing nothing, if an id is not dead."""

    async def work(url: str) -> ReplayResult:
        async with _certificate_sync(ctx, url) as sync:
            return await sync.retry(event_ids)

    _print_replay(common.run_with_database(ctx, work), as_json)


@app.command("status")
def sync_status(
    ctx: typer.Context,
    organization: common.OrganisationOption = None,
    as_json: common.JsonOption = False,
) -> None:
    """Events pending (held or queued), applied, superseded and dead per organisation,
    and the dead letter with each event's reason."""

    async def work(url: str) -> tuple[list[StatusRow], list[DeadEvent]]:
        async with _certificate_sync(ctx, url) as sync:
            return await sync.status(organization)

    rows, dead = common.run_with_database(ctx, work)
    if as_json:
        common.print_json(
            {
                "organisations": [r.model_dump(mode="json") for r in rows],
                "dead": [d.model_dump(mode="json") for d in dead],
            }
        )
        return
    for r in rows:
        switch = "on" if r.enabled else "off (events held)"
        common.stdout().print(
            f"{r.slug}: sync {switch}; pending {r.pending}, applied {r.applied}, "
            f"superseded {r.superseded}, dead {r.dead}",
            highlight=False,
        )
    for d in dead:
        common.stdout().print(
            f"  dead #{d.id} ({d.slug}, {d.event_type}): {d.reason}", highlight=False
        )


@asynccontextmanager
async def _certificate_sync(ctx: typer.Context, url: str) -> AsyncIterator[CertificateSync]:
    """The sync service over a pool of its own, on the real clock of the composition root."""
    from mentor_notify.composition import real_clock
    from mentor_notify.db import open_pool
    from mentor_notify.sync import CertificateSync

    async with open_pool(url, common.state(ctx).settings) as pool:
        yield CertificateSync(pool, real_clock())


async def _replay(ctx: typer.Context, url: str, organization: list[str] | None) -> ReplayResult:
    async with _certificate_sync(ctx, url) as sync:
        return await sync.replay(organization)


def _print_replay(result: ReplayResult, as_json: bool) -> None:
    if as_json:
        common.print_json(result.model_dump(mode="json"))
        return
    for slug, counts in result.organisations.items():
        common.stdout().print(
            f"{slug}: applied {counts.applied}, superseded {counts.superseded}, dead {counts.dead}",
            highlight=False,
        )
    for slug, pending in result.held.items():
        common.stdout().print(f"{slug}: sync off, {pending} events held", highlight=False)
    if not result.organisations and not result.held:
        common.stdout().print("nothing to replay", highlight=False)


mappings_app = typer.Typer(
    help="Each organisation's Dataverse table and column names and date behaviour "
    "(a proposal HLF must confirm; organisations without their own use the default).",
    no_args_is_help=True,
)
app.add_typer(mappings_app, name="mappings")


@mappings_app.command("show")
def mappings_show(
    ctx: typer.Context,
    organization: common.OrganisationOption = None,
    as_json: common.JsonOption = False,
) -> None:
    """The Dataverse names each organisation's webhooks are read with."""

    async def work(url: str) -> list[tuple[str, DataverseMapping, bool]]:
        async with _certificate_sync(ctx, url) as sync:
            return await sync.mappings(organization)

    shown = common.run_with_database(ctx, work)
    if as_json:
        common.print_json(
            [
                {"organization": slug, "stored": stored, **m.model_dump(mode="json")}
                for slug, m, stored in shown
            ]
        )
        return
    for slug, mapping, stored in shown:
        fields = ", ".join(f"{k}={v}" for k, v in mapping.model_dump(mode="json").items())
        origin = "stored" if stored else "default (not confirmed)"
        common.stdout().print(f"{slug} ({origin}): {fields}", highlight=False)


@mappings_app.command("set")
def mappings_set(
    ctx: typer.Context,
    organization: Annotated[
        str,
        typer.Option("--organization", "-o", metavar="ID|SLUG", help="The organisation."),
    ],
    changes: Annotated[
        list[str],
        typer.Argument(
            metavar="FIELD=VALUE...",
            help="Fields to change: table, person, certificate_type, issued_on, "
            "expiry_date, revoked_on, state, modified_on, version (Dataverse logical "
            "names) or date_behavior (UserLocal, DateOnly, TimeZoneIndependent).",
        ),
    ],
) -> None:
    """Change an organisation's Dataverse names or date behaviour, keeping the rest;
    servers read it within ten seconds. Setting the same again changes nothing."""
    pairs = [c.partition("=") for c in changes]
    bad = [c for c, (_, eq, value) in zip(changes, pairs, strict=True) if not eq or not value]
    if bad:
        raise common.fail(f"not FIELD=VALUE: {', '.join(bad)}")
    from mentor_notify.sync import DataverseMapping

    unknown = sorted({k for k, _, _ in pairs} - set(DataverseMapping.model_fields))
    if unknown:
        raise common.fail(
            f"no such mapping field: {', '.join(unknown)} "
            f"(fields: {', '.join(DataverseMapping.model_fields)})"
        )

    async def work(url: str) -> DataverseMapping:
        async with _certificate_sync(ctx, url) as sync:
            return await sync.set_mapping(organization, {k: v for k, _, v in pairs})

    mapping = common.run_with_database(ctx, work)
    fields = ", ".join(f"{k}={v}" for k, v in mapping.model_dump(mode="json").items())
    common.stdout().print(f"{organization}: {fields}", highlight=False)


keys_app = typer.Typer(
    help="Webhook keys of each organisation's membership system: a key admits its "
    "holder to that organisation's /v1/sync/... URLs only.",
    no_args_is_help=True,
)
app.add_typer(keys_app, name="keys")

RequiredOrganisation = Annotated[
    str,
    typer.Option("--organization", "-o", metavar="ID|SLUG", help="The organisation (id or slug)."),
]


@keys_app.command("add")
def keys_add(
    ctx: typer.Context, organization: RequiredOrganisation, as_json: common.JsonOption = False
) -> None:
    """Make a new random key for the organisation and print it once: only its hash is
    kept, so store it in the membership system's webhook registration now. Older keys
    stay live until revoked (rotation: add, re-register, revoke the old one)."""

    async def work(url: str) -> NewWebhookKey:
        async with _webhook_keys(ctx, url) as keys:
            return await keys.add(organization)

    made = common.run_with_database(ctx, work)
    if as_json:
        common.print_json(made.model_dump(mode="json"))
        return
    key = made.webhook_key
    common.stdout().print(
        f"New webhook key {key.fingerprint} for {key.slug} (shown only now):", highlight=False
    )
    common.stdout().print(made.key, highlight=False, soft_wrap=True)


@keys_app.command("list")
def keys_list(
    ctx: typer.Context,
    organization: common.OrganisationOption = None,
    as_json: common.JsonOption = False,
) -> None:
    """The organisations' keys by fingerprint, live and revoked (never the keys)."""

    async def work(url: str) -> list[WebhookKey]:
        async with _webhook_keys(ctx, url) as keys:
            return await keys.of_organisations(organization)

    listed = common.run_with_database(ctx, work)
    if as_json:
        common.print_json([k.model_dump(mode="json") for k in listed])
        return
    for k in listed:
        state = "live" if k.revoked_at is None else f"revoked {k.revoked_at:%Y-%m-%d %H:%M}"
        common.stdout().print(
            f"{k.slug}: {k.fingerprint}, made {k.created_at:%Y-%m-%d %H:%M}, {state}",
            highlight=False,
        )
    if not listed:
        common.stdout().print("no webhook keys", highlight=False)


@keys_app.command("revoke")
def keys_revoke(
    ctx: typer.Context,
    organization: RequiredOrganisation,
    fingerprint: Annotated[
        str, typer.Argument(metavar="FINGERPRINT", help="As `sync keys list` shows it.")
    ],
) -> None:
    """Revoke one of the organisation's keys: it admits nobody from now on. Revoking a
    revoked key again changes nothing."""

    async def work(url: str) -> list[tuple[WebhookKey, bool]]:
        async with _webhook_keys(ctx, url) as keys:
            return await keys.revoke(organization, fingerprint)

    for key, already in common.run_with_database(ctx, work):
        done = "was already revoked" if already else "revoked"
        common.stdout().print(f"{key.slug}: {key.fingerprint} {done}", highlight=False)


@asynccontextmanager
async def _webhook_keys(ctx: typer.Context, url: str) -> AsyncIterator[WebhookKeys]:
    from mentor_notify.composition import real_clock
    from mentor_notify.db import open_pool
    from mentor_notify.sync import WebhookKeys

    async with open_pool(url, common.state(ctx).settings) as pool:
        yield WebhookKeys(pool, real_clock())
