"""Helpers shared by the tests (fixtures live in conftest.py)."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import psycopg
import pytest
from psycopg import AsyncConnection, sql
from psycopg.rows import tuple_row

from mentor_notify.db import MigrationRunner, SupabaseLayout, connect


async def run_migrations(url: str, layout: SupabaseLayout) -> None:
    """Bootstrap and migrate the database at `url` with the runner."""
    conn = await connect(url)
    try:
        await MigrationRunner(conn, layout).migrate()
    finally:
        await conn.close()


@asynccontextmanager
async def impersonate(
    conn: AsyncConnection[Any],
    user_id: UUID | str | None,
    *,
    role: str = "authenticated",
    claims: Mapping[str, Any] | None = None,
) -> AsyncIterator[AsyncConnection[Any]]:
    """Act as a user exactly as PostgREST does, for the duration of the block.

    Inside a transaction (a savepoint if one is already open): `SET LOCAL ROLE`
    and `request.jwt.claims` set to a JSON object with `sub` (omitted for
    `user_id=None`, an anonymous request) and `role`, plus any extra `claims`.
    Both are undone when the block ends. Wrap statements expected to fail in
    their own `conn.transaction()` so the impersonating transaction survives.
    """
    jwt: dict[str, Any] = {"role": role, **(claims or {})}
    if user_id is not None:
        jwt["sub"] = str(user_id)
    async with conn.transaction():
        await conn.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
        await conn.execute("select set_config('request.jwt.claims', %s, true)", [json.dumps(jwt)])
        yield conn
        await conn.execute("set local role none")
        await conn.execute("select set_config('request.jwt.claims', '', true)")


async def fetch_value(conn: AsyncConnection[Any], query: Any, *params: Any) -> Any:
    """First column of the first row of `query` (None when there is no row)."""
    async with conn.cursor(row_factory=tuple_row) as cur:
        await cur.execute(query, params or None)
        row = await cur.fetchone()
    return None if row is None else row[0]


async def fetch_column(conn: AsyncConnection[Any], query: Any, *params: Any) -> list[Any]:
    """First column of every row of `query`."""
    async with conn.cursor(row_factory=tuple_row) as cur:
        await cur.execute(query, params or None)
        return [row[0] for row in await cur.fetchall()]


def schema_dump(url: str, *extra_args: str) -> str:
    """`pg_dump --schema-only` of the database, without the lines that vary per run."""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        pytest.skip("pg_dump is not installed")
    result = subprocess.run(
        [pg_dump, "--schema-only", *extra_args, "--dbname", url],
        capture_output=True,
        text=True,
        check=True,
    )
    volatile = ("-- Dumped from", "-- Dumped by", "\\restrict", "\\unrestrict")
    return "\n".join(line for line in result.stdout.splitlines() if not line.startswith(volatile))


def schema_catalog(url: str, layout: SupabaseLayout) -> str:
    """What scripts/schema-diff compares, for the database at `url`: its normalised
    `pg_dump --schema-only` (tables, columns, constraints, indexes, functions,
    triggers, views, comments, grants) and the access catalog (privileges, RLS,
    policies), both from tools/schema-diff/."""
    tools = layout.root.parent / "tools" / "schema-diff"
    normalised = subprocess.run(
        [sys.executable, str(tools / "normalise.py")],
        input=schema_dump(url),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    with psycopg.connect(url) as conn, conn.cursor(row_factory=tuple_row) as cur:
        cur.execute((tools / "catalog.sql").read_bytes())
        facts = [" | ".join(map(str, row)) for row in cur.fetchall()]
    return normalised + "\n".join(facts) + "\n"


def bootstrap_only_layout(layout: SupabaseLayout, root: Path) -> SupabaseLayout:
    """A supabase/ folder under `root` with the real bootstrap and no migrations yet."""
    (root / "migrations").mkdir(parents=True)
    (root / "rollbacks").mkdir()
    (root / "local").mkdir()
    shutil.copy(layout.bootstrap_file, root / "local" / "bootstrap.sql")
    return SupabaseLayout(root)


def add_migration(layout: SupabaseLayout, filename: str, up: str, down: str | None = None) -> None:
    """Write a migration (and, if given, its rollback) into a test layout."""
    (layout.migrations_dir / filename).write_text(up)
    if down is not None:
        (layout.rollbacks_dir / filename).write_text(down)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_answering(url: str, process: "subprocess.Popen[Any]") -> httpx.Response:
    """The first answer of `url` from the server `process` is starting (10 s at most);
    a clear error if the process exits or never answers."""
    for _ in range(100):
        try:
            return httpx.get(url, timeout=1)
        except httpx.TransportError:
            if process.poll() is not None:
                raise RuntimeError(
                    f"the server for {url} exited with {process.returncode}"
                ) from None
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered at {url} within 10 s")


@dataclass
class Cluster:
    """A PostgreSQL cluster a test made for itself (Debian's postgresql-common), which it
    may stop and restart without touching the shared server."""

    version: str
    name: str
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def ctl(self, action: str, *options: str) -> None:
        subprocess.run(
            [
                "pg_ctlcluster",
                "--skip-systemctl-redirect",
                self.version,
                self.name,
                action,
                *options,
            ],
            check=True,
            capture_output=True,
        )


@contextmanager
def own_cluster() -> Iterator[Cluster]:
    """A new cluster of the newest installed PostgreSQL on a free port, trusting local
    TCP, started; dropped afterwards. Needs root (CI and the test command run as root)."""
    version = str(max(int(v) for v in os.listdir("/usr/lib/postgresql") if v.isdigit()))
    cluster = Cluster(version, f"mn_test_{uuid4().hex[:10]}", free_port())
    subprocess.run(
        ["pg_createcluster", version, cluster.name, "-p", str(cluster.port), "--", "--auth=trust"],
        check=True,
        capture_output=True,
    )
    try:
        cluster.ctl("start")
        yield cluster
    finally:
        subprocess.run(
            ["pg_dropcluster", "--stop", version, cluster.name], check=False, capture_output=True
        )
