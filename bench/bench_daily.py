"""Benchmark the daily cycle end to end (issue 6): expiry sweep with the directory,
the follow-up scenarios, and delivery of every push to the push emulator.

Two worlds, built (or reused) on the server of ``--admin-url``:

* ``<prefix>_certs``: the expiry benchmark's world of ``--certificates`` (default
  1,000,000) certificates. The schema holds one current certificate per mentor and
  certificate type, so a million certificates means a million mentors here: ten
  times the mentors the issue names, which only makes the cycle heavier. No
  scenario rules, so the scenario step evaluates nothing.
* ``<prefix>_mentors``: the scenario benchmark's world of ``--mentors`` (default
  100,000) mentors with a certificate each, a year of activity (3 M rows), a
  million earlier scenario notifications and the four scenario rules.

Each run works on a fresh copy of the world (``CREATE DATABASE ... TEMPLATE``,
untimed) and times one ``DailyCycle.run`` with the dispatcher sending to
``mentor-notify push emulator`` in its own process, everything on this machine.
The clock stands at 12:00 in Oslo, inside the send window, so every push goes out.
Target: under 60 s for the whole cycle.

With ``--day-after`` it times instead the certificates world's cycle of the next
business day (issue 16: target under 15 s): once, untimed, a copy of the world
(``<prefix>_certs_day1``, kept for later runs like the worlds) goes through the
first day's whole cycle, delivery included, and is vacuumed and analysed as
autovacuum would have done during the day; each run then copies that database
and times ``DailyCycle.run`` with the business date and the clock one day on
(12:00 in Oslo again). The mentors world is not run in this mode.

Usage::

    uv run python bench/bench_daily.py --runs 3 --json daily.json
    uv run python bench/bench_daily.py --day-after --runs 3 --json day-after.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg

from bench_expiry import ensure_database
from bench_push import emulator_count, start_emulator
from bench_scenarios import ensure_world, fresh_copy
from mentor_notify.composition import daily_cycle
from mentor_notify.config import Settings
from mentor_notify.daily import DailyResult
from mentor_notify.db import open_pool
from mentor_notify.domain import AsOf, FixedClock, SystemClock
from mentor_notify.logging import configure_logging
from mentor_notify.push.dispatcher import Dispatcher
from mentor_notify.push.senders import open_senders, settings_for_emulator

TODAY = date(2026, 11, 23)
CLOCK = FixedClock(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))
# The next business day, at the same hour (inside the send window).
NEXT_DAY = TODAY + timedelta(days=1)
NEXT_CLOCK = FixedClock(CLOCK.now() + timedelta(days=1))


class StepTimer:
    """Seconds each step of the cycle took."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}
        self.seconds: dict[str, float] = {}

    def step(self, name: str, state: str, total: int | None = None) -> None:
        if state == "running":
            self.started[name] = time.perf_counter()
        else:
            self.seconds[name] = round(time.perf_counter() - self.started[name], 2)

    def advance(self, name: str, what: str) -> None:
        pass


async def timed_cycle(
    url: str, emulator: str, day: date = TODAY, clock: FixedClock = CLOCK
) -> tuple[float, DailyResult, dict[str, float]]:
    settings = settings_for_emulator(Settings(pool_min_size=2, pool_max_size=6), emulator)
    async with (
        open_pool(url, settings) as pool,
        open_senders(settings, SystemClock()) as senders,
    ):
        dispatcher = Dispatcher.from_settings(pool, senders, clock, settings, "bench")
        timer = StepTimer()
        started = time.perf_counter()
        result = await daily_cycle(pool, clock, dispatcher, progress=timer).run(AsOf.on(day))
        return time.perf_counter() - started, result, timer.seconds


def ensure_day_one(admin_url: str, template: str, name: str, emulator: str, again: bool) -> None:
    """`name`: a copy of `template` after the first day's whole cycle (made once)."""
    with psycopg.connect(admin_url, autocommit=True) as admin:
        exists = admin.execute("select 1 from pg_database where datname = %s", [name]).fetchone()
    if exists and not again:
        print(f"{name}: reusing the first day's state", file=sys.stderr)
        return
    url = fresh_copy(admin_url, template, name)
    elapsed, result, steps = asyncio.run(timed_cycle(url, emulator))
    assert result.ok, result.failed_steps
    print(f"{name}: first day's cycle (untimed) {elapsed:.1f} s {steps}", file=sys.stderr)
    # A day passes before the next cycle: autovacuum would have cleaned and
    # analysed the tables the first day wrote.
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("vacuum analyze")


def measure(
    admin_url: str,
    template: str,
    name: str,
    runs: int,
    emulator: str,
    day: date = TODAY,
    clock: FixedClock = CLOCK,
    target_s: float = 60.0,
) -> dict[str, Any]:
    totals: list[float] = []
    figures: dict[str, Any] = {}
    for n in range(runs):
        url = fresh_copy(admin_url, template, name)
        before = emulator_count(emulator)
        elapsed, result, steps = asyncio.run(timed_cycle(url, emulator, day, clock))
        delivered = emulator_count(emulator) - before
        assert result.ok, result.failed_steps
        assert result.expiry is not None
        assert result.dispatch is not None
        assert result.dispatch.sent == delivered, (result.dispatch.sent, delivered)
        totals.append(elapsed)
        figures = {
            "notifications": result.expiry.total("notifications_created")
            + (result.scenarios.total("notifications_created") if result.scenarios else 0),
            "pushes_delivered": delivered,
            "steps_s": steps,
        }
        print(f"{template} run {n + 1}: {elapsed:.1f} s {steps}", file=sys.stderr)
    return figures | {
        "median_s": statistics.median(totals),
        "runs_s": totals,
        "target_s": target_s,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--prefix", default="bench_daily")
    parser.add_argument("--certificates", type=int, default=1_000_000)
    parser.add_argument("--mentors", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument(
        "--day-after",
        action="store_true",
        help="time the certificates world's cycle of the day after its first run",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    configure_logging("error")

    certs = f"{args.prefix}_certs"
    mentors = f"{args.prefix}_mentors"
    ensure_database(args.admin_url, certs, args.certificates, args.regenerate)
    if args.day_after:
        return day_after(args, certs)
    ensure_world(args.admin_url, mentors, args.mentors, args.regenerate)
    emulator, emulator_url = start_emulator()
    try:
        figures: dict[str, Any] = {
            "date": datetime.now(UTC).date().isoformat(),
            "python": platform.python_version(),
            "runs": args.runs,
            "certificates_world": {"certificates": args.certificates}
            | measure(args.admin_url, certs, f"{certs}_run", args.runs, emulator_url),
            "mentors_world": {"mentors": args.mentors}
            | measure(args.admin_url, mentors, f"{mentors}_run", args.runs, emulator_url),
        }
    finally:
        emulator.terminate()
        emulator.wait(10)
    _report(figures, args.json)
    missed = [
        world
        for world in ("certificates_world", "mentors_world")
        if figures[world]["median_s"] >= 60
    ]
    print("all targets met" if not missed else f"MISSED: {', '.join(missed)}", file=sys.stderr)
    return 0 if not missed else 1


def _report(figures: dict[str, Any], json_path: str | None) -> None:
    """Print the figures, and write them to `json_path` when one was given."""
    print(json.dumps(figures, indent=2))
    if json_path:
        with open(json_path, "w", encoding="utf-8") as out:
            json.dump(figures, out, indent=2)


def day_after(args: argparse.Namespace, certs: str) -> int:
    """The `--day-after` mode: the next business day's cycle of the certificates world."""
    day_one = f"{certs}_day1"
    emulator, emulator_url = start_emulator()
    try:
        ensure_day_one(args.admin_url, certs, day_one, emulator_url, args.regenerate)
        figures: dict[str, Any] = {
            "date": datetime.now(UTC).date().isoformat(),
            "python": platform.python_version(),
            "runs": args.runs,
            "day_after": {"certificates": args.certificates, "business_date": str(NEXT_DAY)}
            | measure(
                args.admin_url,
                day_one,
                f"{certs}_day2",
                args.runs,
                emulator_url,
                NEXT_DAY,
                NEXT_CLOCK,
                target_s=15.0,
            ),
        }
    finally:
        emulator.terminate()
        emulator.wait(10)
    _report(figures, args.json)
    met = figures["day_after"]["median_s"] < 15
    print("all targets met" if met else "MISSED: day_after", file=sys.stderr)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
