"""What the database knows about its own constraints, loaded once.

Error translation needs, for a constraint named in an error report, the columns
it covers and the rule it stands for in plain words. The rule is the
constraint's COMMENT (`COMMENT ON CONSTRAINT c ON t IS '...'`, or for a unique
index that is not a constraint, `COMMENT ON INDEX`). Loading it all once keeps
error handling free of extra round trips at the moment something has failed.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from psycopg import AsyncConnection
from psycopg.rows import class_row

from mentor_notify.db.sql_files import load_sql

ConstraintKind = Literal["check", "unique", "primary_key", "foreign_key", "exclusion", "index"]

_KINDS: Mapping[str, ConstraintKind] = {
    "c": "check",
    "u": "unique",
    "p": "primary_key",
    "f": "foreign_key",
    "x": "exclusion",
    "i": "index",
}

_CONSTRAINTS_SQL = load_sql("mentor_notify.db", "constraints")

_COLUMNS_SQL = load_sql("mentor_notify.db", "columns")


@dataclass(frozen=True)
class ConstraintInfo:
    """One constraint (or constraint-like unique index) of a table."""

    schema: str
    table: str
    name: str
    kind: ConstraintKind
    columns: tuple[str, ...]
    comment: str | None
    definition: str
    referenced_table: str | None = None


@dataclass(frozen=True)
class _ConstraintRow:
    schema: str
    table: str
    name: str
    kind: str
    columns: list[str]
    comment: str | None
    definition: str
    referenced_table: str | None


@dataclass(frozen=True)
class _ColumnsRow:
    schema: str
    table: str
    columns: list[str]


@dataclass(frozen=True)
class ConstraintCatalog:
    """Constraints and column order of the tables in some schemas.

    Build it with `await ConstraintCatalog.load(conn)` after migrating, and pass
    it to `translate()` / `translating()`. It is a snapshot: reload it after a
    schema change.
    """

    constraints: Mapping[tuple[str, str, str], ConstraintInfo] = field(default_factory=dict)
    table_columns: Mapping[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    async def load(
        cls, conn: AsyncConnection[Any], schemas: Iterable[str] = ("public",)
    ) -> "ConstraintCatalog":
        """Read every constraint and table layout of `schemas` in two queries."""
        params = {"schemas": list(schemas)}
        async with conn.cursor(row_factory=class_row(_ConstraintRow)) as cur:
            await cur.execute(_CONSTRAINTS_SQL, params)
            constraint_rows = await cur.fetchall()
        async with conn.cursor(row_factory=class_row(_ColumnsRow)) as cur:
            await cur.execute(_COLUMNS_SQL, params)
            column_rows = await cur.fetchall()
        constraints = {
            (r.schema, r.table, r.name): ConstraintInfo(
                schema=r.schema,
                table=r.table,
                name=r.name,
                kind=_KINDS[r.kind],
                columns=tuple(r.columns),
                comment=r.comment,
                definition=r.definition,
                referenced_table=r.referenced_table,
            )
            for r in constraint_rows
        }
        columns = {(r.schema, r.table): tuple(r.columns) for r in column_rows}
        return cls(constraints=constraints, table_columns=columns)

    def constraint(self, schema: str, table: str, name: str) -> ConstraintInfo | None:
        """The named constraint of `schema.table`, if the catalog holds it."""
        return self.constraints.get((schema, table, name))

    def columns_of(self, schema: str, table: str) -> tuple[str, ...] | None:
        """Column names of `schema.table` in table order, if known."""
        return self.table_columns.get((schema, table))
