"""Start-up time of the command line, before and after, side by side in one run.

Runs each command with the `mentor-notify` of two checkouts, alternating
between them run by run (so both see the same machine load), and prints per
command the median wall time and the median CPU time (user + system) of each,
and the ratio of the medians. "Before" is a worktree of `--before-ref`
(default `main`) made in a temporary folder with its locked dependencies
(`uv sync --frozen`) and removed afterwards, unless `--before DIR` names an
existing checkout with a `.venv`.

    uv run python bench/bench_startup.py --runs 10 \\
        --database-url postgresql://postgres@127.0.0.1:5432/bench_startup

`--database-url` (a migrated, or empty, database) adds `db status`; without it
only the commands that need no database run.
"""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@contextmanager
def before_checkout(ref: str, given: Path | None) -> Iterator[Path]:
    """A checkout of `ref` with its dependencies installed (made and removed here
    unless `given`)."""
    if given is not None:
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="mentor-notify-before-") as tmp:
        folder = Path(tmp) / "checkout"
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", str(folder), ref],
            check=True,
            capture_output=True,
        )
        try:
            subprocess.run(["uv", "sync", "--frozen", "--quiet"], cwd=folder, check=True)
            yield folder
        finally:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(folder)],
                check=False,
                capture_output=True,
            )


def timed(executable: Path, args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one run of `executable args`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [str(executable), *args], env=env, check=True, stdout=subprocess.DEVNULL, timeout=120
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    """Time the commands before and after; print a table and optionally JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="an existing checkout with a .venv")
    parser.add_argument("--before-ref", default="main")
    parser.add_argument("--after", type=Path, default=REPO)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--database-url", help="a database for `db status`")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    commands: dict[str, list[str]] = {
        "--help": ["--help"],
        "config --json": ["config", "--json"],
    }
    if args.database_url:
        commands["db status"] = ["--database-url", args.database_url, "db", "status", "--json"]
    # JSON logs and no terminal: the same for both sides, nothing drawn.
    env = os.environ | {"MENTOR_NOTIFY_LOG_FORMAT": "json"}
    env.pop("DATABASE_URL", None)

    with before_checkout(args.before_ref, args.before) as before:
        sides = {
            "before": before / ".venv" / "bin" / "mentor-notify",
            "after": args.after / ".venv" / "bin" / "mentor-notify",
        }
        results: dict[str, dict[str, dict[str, float]]] = {}
        for name, command in commands.items():
            walls: dict[str, list[float]] = {side: [] for side in sides}
            cpus: dict[str, list[float]] = {side: [] for side in sides}
            for executable in sides.values():  # warm the file cache, untimed
                timed(executable, command, env)
            for _ in range(args.runs):
                for side, executable in sides.items():
                    wall, cpu = timed(executable, command, env)
                    walls[side].append(wall)
                    cpus[side].append(cpu)
            results[name] = {
                side: {
                    "wall_median_s": round(statistics.median(walls[side]), 3),
                    "wall_min_s": round(min(walls[side]), 3),
                    "cpu_median_s": round(statistics.median(cpus[side]), 3),
                }
                for side in sides
            }
            results[name]["ratio"] = {
                "wall": round(
                    results[name]["before"]["wall_median_s"]
                    / results[name]["after"]["wall_median_s"],
                    1,
                )
            }

    print(f"{'command':<16} {'before (median wall / cpu)':>28} {'after':>18} {'ratio':>7}")
    for name, r in results.items():
        b, a = r["before"], r["after"]
        print(
            f"{name:<16} {b['wall_median_s']:>12.3f} s / {b['cpu_median_s']:.3f} s"
            f" {a['wall_median_s']:>8.3f} s / {a['cpu_median_s']:.3f} s"
            f" {r['ratio']['wall']:>6}x"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "date": datetime.now(UTC).isoformat(timespec="seconds"),
                    "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cores, "
                    f"Python {platform.python_version()}",
                    "runs": args.runs,
                    "results": results,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
