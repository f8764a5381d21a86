"""Apply and roll back the SQL migrations, recorded the way the Supabase CLI does.

History lives in `supabase_migrations.schema_migrations`, created with exactly
the Supabase CLI's DDL (version text primary key, statements text[], name
text), so `supabase migration list` / `supabase db push` and this runner agree
on what is applied. The hosted platform adds `created_by`, `idempotency_key`
and `rollback` columns to that table on its side; they are nullable and the
CLI never fills them, so neither does this runner. `statements` holds the whole
migration file as one element: the CLI splits files with its own SQL parser,
which this runner does not replicate, and nothing reads the split back.

The unreleased migrations were folded into the baseline 20261206000100, which
builds the same schema as they did (docs/database.md, "Where to read the
schema"). A database that ran a whole retired history (RETIRED_HISTORIES)
adopts the baseline: its history rows are replaced by the baseline's, nothing
is re-applied. One that ran only part of one cannot, and `migrate()` says so.

Each migration, rollback and the bootstrap runs in its own transaction,
serialised by a transaction-level advisory lock so that several migrators
started at once apply every file exactly once. Pass an idle connection,
preferably in autocommit mode, so those transactions are real ones.
"""

import asyncio
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import structlog
from psycopg import AsyncConnection
from psycopg.pq import TransactionStatus
from psycopg.rows import tuple_row

from mentor_notify.db.errors import MigrationError, PermissionDenied, translate
from mentor_notify.db.layout import Migration, SupabaseLayout
from mentor_notify.db.sql_files import load_sql
from mentor_notify.db.target import inspect_target

log = structlog.get_logger(__name__)

_LOCK = load_sql("mentor_notify.db", "migrations_lock")
_CREATE_HISTORY = load_sql("mentor_notify.db", "create_migration_history")
_HISTORY_EXISTS = load_sql("mentor_notify.db", "migration_history_exists")
_SELECT_APPLIED = load_sql("mentor_notify.db", "applied_migrations")
_IS_APPLIED = load_sql("mentor_notify.db", "migration_applied")
_INSERT = load_sql("mentor_notify.db", "record_migration")
_DELETE = load_sql("mentor_notify.db", "forget_migration")
_RESET = load_sql("mentor_notify.db", "reset_session")
_INSUFFICIENT_PRIVILEGE = "42501"

# The baseline, and the unreleased histories it replaced: each history,
# applied whole, built exactly the baseline's schema (scripts/schema-diff
# compared them), so a database that ran one adopts the baseline instead of
# running it. The first is the migrations 20261129000010..0800 folded into
# the baseline by issue 26; the second is the history an earlier squash had
# replaced by 20261129000010..0070, followed by the migrations after those.
BASELINE_VERSIONS = ("20261206000100",)
_LATER_MIGRATIONS = (
    "20261129000300",
    "20261129000400",
    "20261129000500",
    "20261129000600",
    "20261129000700",
    "20261129000800",
)
RETIRED_HISTORIES = (
    (
        "20261129000010",
        "20261129000020",
        "20261129000030",
        "20261129000040",
        "20261129000050",
        "20261129000060",
        "20261129000070",
        *_LATER_MIGRATIONS,
    ),
    (
        "20261122000100",
        "20261122000200",
        "20261122000300",
        "20261122000400",
        "20261122000500",
        "20261122001000",
        "20261122001100",
        "20261122001200",
        "20261122001300",
        "20261122001400",
        "20261122001500",
        "20261122001600",
        "20261122001700",
        "20261122001800",
        "20261129000100",
        "20261129000200",
        *_LATER_MIGRATIONS,
    ),
)
RETIRED_VERSIONS = tuple(sorted({v for history in RETIRED_HISTORIES for v in history}))


@dataclass(frozen=True)
class MigrationStatus:
    """Whether one migration version is applied to the database."""

    version: str
    name: str
    applied: bool


@dataclass(frozen=True)
class MigrateResult:
    """What `migrate()` did."""

    bootstrapped: bool
    applied: list[Migration]


class MigrationRunner:
    """Runs the migrations of `layout` against the database behind `conn`."""

    def __init__(self, conn: AsyncConnection[Any], layout: SupabaseLayout) -> None:
        self._conn = conn
        self._layout = layout

    async def status(self) -> list[MigrationStatus]:
        """Every known version, oldest first, local files and recorded history merged.

        A version recorded in the database without a local file is listed as
        applied under its recorded name.
        """
        with self._privileged("read the migration history of"):
            async with self._conn.transaction():
                applied = dict(await self._applied())
        statuses = {
            m.version: MigrationStatus(m.version, m.name, m.version in applied)
            for m in self._layout.migrations()
        }
        for version, name in applied.items():
            statuses.setdefault(version, MigrationStatus(version, name, applied=True))
        return [statuses[v] for v in sorted(statuses)]

    async def migrate(self) -> MigrateResult:
        """Bootstrap if needed, then apply every pending migration in version order.

        Running it again when nothing is pending changes nothing.
        """
        migrations = self._layout.migrations()
        with self._privileged("migrate"):
            async with self._conn.transaction():
                await self._conn.execute(_LOCK)
                bootstrapped = await self._bootstrap_if_needed()
                # Several statements, no parameters: the simple query protocol runs them all.
                await self._conn.execute(_CREATE_HISTORY.encode())
                await self._adopt_baseline_if_needed(migrations)
            applied: list[Migration] = []
            for migration in migrations:
                async with self._conn.transaction():
                    await self._conn.execute(_LOCK)
                    if await self._is_applied(migration.version):
                        continue
                    await self._conn.execute(_RESET)
                    text = await self._run_file(migration.path, "migration")
                    await self._conn.execute(_INSERT, (migration.version, migration.name, [text]))
                log.info("migration applied", version=migration.version, name=migration.name)
                applied.append(migration)
        return MigrateResult(bootstrapped=bootstrapped, applied=applied)

    async def rollback(self, *, to: str | None = None, all: bool = False) -> list[Migration]:
        """Undo applied migrations, newest first, and return them in that order.

        `all=True` undoes every applied migration; `to=VERSION` undoes those
        newer than VERSION (which stays applied); neither undoes the newest.
        Every migration to undo must have its rollback file, else nothing is
        undone.
        """
        if all and to is not None:
            raise MigrationError("give either a version to roll back to or all, not both")
        local = {m.version: m for m in self._layout.migrations()}
        with self._privileged("roll back migrations of"):
            async with self._conn.transaction():
                applied = [version for version, _ in await self._applied()]
            targets = self._rollback_targets(applied, local, to=to, all=all)
            lacking = [v for v in targets if v not in local or not local[v].rollback_path.is_file()]
            if lacking:
                names = ", ".join(local[v].filename if v in local else v for v in lacking)
                raise MigrationError(
                    f"cannot roll back: no rollback file in {self._layout.rollbacks_dir} "
                    f"for {names}"
                )
            undone: list[Migration] = []
            for version in targets:
                migration = local[version]
                async with self._conn.transaction():
                    await self._conn.execute(_LOCK)
                    if not await self._is_applied(version):
                        continue
                    await self._conn.execute(_RESET)
                    await self._run_file(migration.rollback_path, "rollback")
                    await self._conn.execute(_DELETE, (version,))
                log.info("migration rolled back", version=version, name=migration.name)
                undone.append(migration)
        return undone

    @contextmanager
    def _privileged(self, action: str) -> Iterator[None]:
        """Turn a refusal for lack of privileges (SQLSTATE 42501), wherever it happens
        (the history table, the bootstrap, a migration file), into one error that
        says the role lacks them and what to do; other driver errors into the data
        layer's typed errors."""
        try:
            yield
        except psycopg.Error as exc:
            error = translate(exc)
            if isinstance(error, PermissionDenied):
                detail = exc.diag.message_primary or error.message
                raise self._lacks_privileges(action, detail) from exc
            raise error from exc
        except MigrationError as exc:
            if exc.sqlstate != _INSUFFICIENT_PRIVILEGE:
                raise
            raise self._lacks_privileges(action, exc.message) from exc

    def _lacks_privileges(self, action: str, detail: str) -> MigrationError:
        return MigrationError(
            f"the role {self._conn.info.user} lacks the privileges to {action} this "
            f"database ({detail}); connect as the role that owns the schema (on Supabase: "
            "postgres, with the project's direct connection string; on plain PostgreSQL: "
            "the database owner with CREATEROLE, or a superuser)",
            sqlstate=_INSUFFICIENT_PRIVILEGE,
        )

    @staticmethod
    def _rollback_targets(
        applied: Sequence[str], local: dict[str, Migration], *, to: str | None, all: bool
    ) -> list[str]:
        newest_first = sorted(applied, reverse=True)
        if all:
            return newest_first
        if to is not None:
            if to not in local and to not in applied:
                raise MigrationError(f"unknown migration version {to}")
            return [v for v in newest_first if v > to]
        return newest_first[:1]

    async def _bootstrap_if_needed(self) -> bool:
        target = await inspect_target(self._conn)
        if target.supabase_managed:
            if target.missing:
                log.warning(
                    "target is Supabase-managed; not applying the local bootstrap",
                    markers=target.supabase_markers,
                    missing=target.missing,
                )
            return False
        if not target.needs_bootstrap:
            return False
        if not self._layout.bootstrap_file.is_file():
            raise MigrationError(f"the local bootstrap {self._layout.bootstrap_file} is missing")
        await self._run_file(self._layout.bootstrap_file, "bootstrap")
        log.info("local Supabase bootstrap applied", missing=target.missing)
        return True

    async def _adopt_baseline_if_needed(self, migrations: Sequence[Migration]) -> None:
        """Record the baseline as applied on a database that ran a retired history.

        Each retired history built exactly the baseline's schema (scripts/schema-diff
        shows it), so applying the baseline again would only repeat it; the
        history rows are swapped in the caller's transaction instead. Part of a
        history is a schema the baseline does not describe: refuse.
        """
        applied = {version for version, _ in await self._applied()}
        retired = applied.intersection(RETIRED_VERSIONS)
        if not retired:
            return
        history = max(RETIRED_HISTORIES, key=lambda h: len(retired.intersection(h)))
        if retired != set(history):
            missing = [v for v in history if v not in retired]
            stray = sorted(retired.difference(history))
            raise MigrationError(
                f"this database ran only part of a retired migration history "
                f"({len(retired.intersection(history))} of {len(history)} versions; missing "
                f"{', '.join(missing) or 'none'}"
                f"{'; not of that history: ' + ', '.join(stray) if stray else ''}), which "
                f"the baseline {BASELINE_VERSIONS[0]} replaced: finish it with "
                "`mentor-notify db migrate` from a checkout before that baseline, or recreate "
                "the database, then migrate again"
            )
        baseline = [m for m in migrations if m.version in BASELINE_VERSIONS]
        if [m.version for m in baseline] != list(BASELINE_VERSIONS):
            raise MigrationError(
                f"cannot adopt the baseline: {self._layout.migrations_dir} lacks "
                f"{', '.join(BASELINE_VERSIONS)}"
            )
        for version in sorted(retired):
            await self._conn.execute(_DELETE, (version,))
        for migration in baseline:
            if migration.version not in applied:
                text = await asyncio.to_thread(migration.path.read_text, encoding="utf-8")
                await self._conn.execute(_INSERT, (migration.version, migration.name, [text]))
        log.warning(
            "adopted the squashed baseline: the retired migration history is recorded as the "
            "baseline that replaced it, nothing was re-applied",
            retired=f"{history[0]}..{history[-1]}",
            baseline=[m.version for m in baseline],
        )

    async def _applied(self) -> list[tuple[str, str]]:
        async with self._conn.cursor(row_factory=tuple_row) as cur:
            await cur.execute(_HISTORY_EXISTS)
            exists = await cur.fetchone()
            if not (exists and exists[0]):
                return []
            await cur.execute(_SELECT_APPLIED)
            return [(str(version), str(name)) for version, name in await cur.fetchall()]

    async def _is_applied(self, version: str) -> bool:
        async with self._conn.cursor(row_factory=tuple_row) as cur:
            await cur.execute(_IS_APPLIED, (version,))
            row = await cur.fetchone()
        return bool(row and row[0])

    async def _run_file(self, path: Path, what: str) -> str:
        """Execute a whole SQL file in the current transaction and return its text."""
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")
        try:
            # Without parameters psycopg uses the simple query protocol, which
            # runs every statement of the file; bytes because the text is not
            # a literal, and no placeholders are interpreted.
            await self._conn.execute(text.encode())
        except psycopg.Error as exc:
            raise MigrationError(
                f"{what} {path.name} failed{_line_of(text, exc)}: {translate(exc)}",
                sqlstate=exc.sqlstate,
            ) from exc
        if self._conn.info.transaction_status != TransactionStatus.INTRANS:
            raise MigrationError(
                f"{what} {path.name} ended the transaction itself; remove its BEGIN/COMMIT "
                "(the runner wraps each file in a transaction)"
            )
        return text


def _line_of(text: str, exc: psycopg.Error) -> str:
    position = exc.diag.statement_position
    if not position or not position.isdigit():
        return ""
    return f" at line {text[: int(position) - 1].count(chr(10)) + 1}"
