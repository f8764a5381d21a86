"""`mentor-notify demo`: the main job: set up the demo, run the daily cycle against
the push emulator, show who received what, and show that a second run sends nothing."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from mentor_notify.commands import common
from mentor_notify.domain import AsOf

if TYPE_CHECKING:
    from mentor_notify.config import Settings
    from mentor_notify.db import SupabaseLayout
    from mentor_notify.demo import OrganisationSummary

if TYPE_CHECKING:
    from mentor_notify.demo.cycle import DemoReport, DemoRun, Received

_TIER_COLUMNS = [
    ("none", "  not yet due"),
    ("expiry_warning_90d", "  90-day window"),
    ("expiry_warning_60d", "  60-day window"),
    ("expiry_warning_30d", "  30-day window"),
    ("expiry_warning_7d", "  7-day window"),
    ("expired", "  lapsed"),
]


async def _demo(
    url: str, layout: SupabaseLayout, settings: Settings, day: date, as_json: bool
) -> DemoReport:
    """Set up the demo and run its cycle twice; on a terminal (not `as_json`) each part
    is shown as it is done: what the database holds, the day's cycle, what each person
    received, then the second run."""
    from mentor_notify.commands.progress import StepProgress
    from mentor_notify.db import MigrationRunner, connect
    from mentor_notify.demo import load_seed, summarize
    from mentor_notify.demo.cycle import DemoCycles, DemoReport, demo_cycle

    conn = await connect(url)
    try:
        await MigrationRunner(conn, layout).migrate()
        await load_seed(conn, layout)
        summaries = await summarize(conn, AsOf.on(day).instant)
    finally:
        await conn.close()
    if not as_json:
        _print_demo(summaries)
    async with demo_cycle(url, settings) as cycle:
        with StepProgress(quiet=as_json) as progress:
            first = await cycle.run(day, progress)
        if not as_json:
            _print_first(first, day)
        with StepProgress(quiet=as_json) as progress:
            second = await cycle.run(day, progress)
        if not as_json:
            _print_second(second)
    return DemoReport(
        organisations=summaries, cycles=DemoCycles(day=day, first=first, second=second)
    )


def _print_demo(summaries: list[OrganisationSummary]) -> None:
    # One column per organisation keeps the table readable on an 80-column terminal.
    from rich.table import Table

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
    common.stdout().print(table)
    for s in summaries:
        common.stdout().print(f"  {s.slug}: {s.name}", highlight=False)


def _pushes(rows: list[Received]) -> str:
    """The push a person got (its title, and how many devices it reached) and what it
    summarised: a digest counts every notice it carried, by what the notice says."""
    carriers = [r for r in rows if r.pushes_sent]
    folded = [r for r in rows if r.folded]
    waiting = sum(r.pushes_waiting for r in rows)
    not_sent = sum(r.pushes_not_sent for r in rows)
    lines = []
    for carrier in carriers:
        devices = "device" if carrier.pushes_sent == 1 else "devices"
        lines.append(f"1 push to {carrier.pushes_sent} {devices}: {_label(carrier)}")
    if carriers and folded:
        told = Counter(_what(r) for r in [*carriers, *folded])
        lines.append(
            f"a digest of {len(carriers) + len(folded)}: "
            + ", ".join(f"{n} {what}" for what, n in told.most_common())
        )
    elif folded:
        lines.append(f"{len(folded)} in a digest")
    lines += [f"{waiting} waiting"] if waiting else []
    lines += [f"{not_sent} not sent"] if not_sent else []
    return "\n".join(lines) or "no push (no device)"


_LABELS = {
    "expired": "certificate lapsed",
    "expiry_warning_90d": "expires in 90 days",
    "expiry_warning_60d": "expires in 60 days",
    "expiry_warning_30d": "expires in 30 days",
    "expiry_warning_7d": "expires in 7 days",
    "certification_expiry": "follow-up: renew your certificate",
    "inactivity": "follow-up: we miss you",
    "milestone": "follow-up: milestone reached",
    "welcome_back": "follow-up: welcome back",
}


def _what(row: Received) -> str:
    """What the notice says, in words, from its translation key
    (certification_expiry.<audience>.<tier> or scenario.<type>.<text>)."""
    parts = row.message_key.split(".")
    key = parts[2] if parts[0] == "certification_expiry" else parts[1]
    return _LABELS.get(key, row.message_key)


def _label(row: Received) -> str:
    """What the notice says, and about whom when it is not the reader."""
    text = _what(row)
    return text if row.role == "mentor" else f"{row.about}: {text}"


def _print_received(run: DemoRun) -> None:
    from rich.table import Table

    people: dict[str, dict[tuple[str, str], list[Received]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for row in run.received:
        people[row.organisation][(row.recipient, row.role)].append(row)
    for organisation, inboxes in people.items():
        table = Table(
            title=f"What each person in {organisation} received",
            title_justify="left",
            show_lines=True,
        )
        for column in ("person", "role", "inbox", "the push they got, and what it summarised"):
            table.add_column(column)
        for (person, role), rows in inboxes.items():
            table.add_row(person, role, "\n".join(map(_label, rows)), _pushes(rows))
        common.stdout().print(table)


def _print_run(run: DemoRun, title: str) -> None:
    from mentor_notify.commands.daily import print_cycle

    print_cycle(run.cycle, title)
    common.stdout().print(
        f"push emulator: {run.delivered_fcm} FCM and {run.delivered_apns} APNs messages "
        f"delivered, {run.duplicate_deliveries} duplicates",
        highlight=False,
    )


def demo(
    ctx: typer.Context,
    on: Annotated[
        str | None,
        typer.Option(
            "--date",
            metavar="DATE",
            help="Run the cycle for this date (YYYY-MM-DD); default: today.",
        ),
    ] = None,
    allow_far_date: common.AllowFarDateOption = False,
    as_json: common.JsonOption = False,
) -> None:
    """Set up the demo, run the daily cycle on it, and show what it sent.

    Migrates the database (the embedded one unless --database-url or
    DATABASE_URL is given) and loads supabase/seed.sql: three organisations
    modelled on HLF, NHF and Blindeforbundet, their chapters, coordinators and
    about fifty mentors with certificates in every expiry tier. Then it starts
    the push emulator (a local stand-in for FCM and APNs), runs the daily cycle
    as of the date (expiry sweep, follow-up scenarios, delivery), shows
    what each mentor and coordinator received, and runs the cycle again to show
    that nothing is sent twice. Safe to run again: on a database where the
    cycle already ran for that date, the first run finds nothing new either.
    """
    day = common.parse_date(on, "--date", allow_far_date=allow_far_date) or datetime.now(UTC).date()
    try:
        # The push emulator it runs on is a test double, kept in the testing extra.
        import mentor_notify.demo.cycle  # noqa: F401
    except ImportError as exc:
        raise common.testing_extra_missing("the demo", exc) from exc
    layout = common.layout(ctx)
    settings = common.state(ctx).settings
    report = common.run_with_database(
        ctx, lambda url: _demo(url, layout, settings, day, as_json=as_json)
    )
    if as_json:
        common.print_json(report.model_dump(mode="json"))
    if not (report.cycles.first.cycle.ok and report.cycles.second.cycle.ok):
        raise typer.Exit(1)


def _print_first(run: DemoRun, day: date) -> None:
    _print_run(run, f"Daily cycle for {day.isoformat()}")
    if run.received:
        _print_received(run)
    else:
        common.stdout().print(
            "Nothing new: the cycle already ran for this date on this database "
            "(try another --date, or a fresh data directory).",
            highlight=False,
        )


def _print_second(run: DemoRun) -> None:
    _print_run(run, "The same cycle run again")
    added = len(run.received)
    delivered = run.delivered_fcm + run.delivered_apns
    verdict = "nothing new was sent" if added == delivered == 0 else "SOMETHING WAS SENT TWICE"
    common.stdout().print(
        f"second run: {added} notifications, {delivered} pushes: {verdict}.",
        style="bold",
        highlight=False,
    )
