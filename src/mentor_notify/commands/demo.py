"""`mentor-notify demo`: the main job (for now): set up the demo and show it."""

from datetime import UTC, datetime

import typer
from rich.table import Table

from mentor_notify.commands import common
from mentor_notify.db import MigrationRunner, SupabaseLayout, connect
from mentor_notify.demo import OrganisationSummary, load_seed, summarize

_TIER_COLUMNS = [
    ("none", "  not yet due"),
    ("expiry_warning_90d", "  90-day window"),
    ("expiry_warning_60d", "  60-day window"),
    ("expiry_warning_30d", "  30-day window"),
    ("expiry_warning_7d", "  7-day window"),
    ("expired", "  lapsed"),
]


async def _demo(url: str, layout: SupabaseLayout) -> list[OrganisationSummary]:
    conn = await connect(url)
    try:
        await MigrationRunner(conn, layout).migrate()
        await load_seed(conn, layout)
        return await summarize(conn, datetime.now(UTC))
    finally:
        await conn.close()


def _print_demo(summaries: list[OrganisationSummary]) -> None:
    # One column per organisation keeps the table readable on an 80-column terminal.
    table = Table(title="What the demo database holds", title_justify="left")
    table.add_column("")
    for s in summaries:
        table.add_column(s.slug, justify="right")

    def row(label: str, values: list[str], style: str | None = None) -> None:
        table.add_row(label, *values, style=style)

    row("time zone", [s.timezone for s in summaries])
    row("local today", [s.local_today.isoformat() for s in summaries])
    row("warns at (days)", ["/".join(map(str, s.thresholds)) for s in summaries])
    row("chapters", [str(s.chapters) for s in summaries], style="dim")
    row("coordinators", [str(s.coordinators) for s in summaries])
    row("chapter admins", [str(s.chapter_admins) for s in summaries])
    row("peer mentors", [str(s.peer_mentors) for s in summaries])
    row("devices", [str(s.devices) for s in summaries])
    row("activities (30 d)", [str(s.activities_30d) for s in summaries])
    row("certificates", [str(s.certificates) for s in summaries], style="bold")
    for key, label in _TIER_COLUMNS:
        row(label, [str(s.tiers.get(key, 0)) for s in summaries])
    row("listed in directory", [str(s.listed) for s in summaries], style="bold")
    row("  hidden (lapsed/suppr.)", [str(s.hidden) for s in summaries])
    common.stdout.print(table)
    for s in summaries:
        common.stdout.print(f"  {s.slug}: {s.name}", highlight=False)


def demo(ctx: typer.Context, as_json: common.JsonOption = False) -> None:
    """Set up the demo and show what it holds.

    Migrates the database (the embedded one unless --database-url or
    DATABASE_URL is given), loads supabase/seed.sql (three organisations
    modelled on HLF, NHF and Blindeforbundet, their chapters, coordinators and
    about fifty mentors with certificates in every expiry tier) and prints a
    summary per organisation. Safe to run again: the seed is idempotent.
    """
    layout = common.layout(ctx)
    summaries = common.run_with_database(ctx, lambda url: _demo(url, layout))
    if as_json:
        common.print_json([s.model_dump(mode="json") for s in summaries])
        return
    _print_demo(summaries)
