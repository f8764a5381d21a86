"""The data layer's one exception family, and translation from psycopg errors.

Repositories wrap their database calls in `translating(catalog)`, so callers
only ever see `DatabaseError` subclasses whose message names the table, the
column(s) and the rule broken, in plain words, e.g.::

    cert_notification_log.notification_type: "expiry_warning_45d" is not allowed:
    notification type must be one of expiry_warning_90d, ... (constraint
    cert_notification_log_notification_type_check)
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
import psycopg_pool

from mentor_notify.db.catalog import ConstraintCatalog, ConstraintInfo


class DatabaseError(Exception):
    """Base of every error the data layer raises.

    Attributes carry what the message says, for code that wants to react to a
    particular table, column or constraint rather than parse text.
    """

    def __init__(
        self,
        message: str,
        *,
        sqlstate: str | None = None,
        table: str | None = None,
        columns: tuple[str, ...] = (),
        constraint: str | None = None,
        value: str | None = None,
        rule: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate
        self.table = table
        self.columns = columns
        self.constraint = constraint
        self.value = value
        self.rule = rule


class ConstraintViolation(DatabaseError):
    """The data broke an integrity rule of the schema (SQLSTATE class 23)."""


class UniqueViolation(ConstraintViolation):
    """A value (or combination) that must be unique already exists."""


class ForeignKeyViolation(ConstraintViolation):
    """A reference points at a missing row, or a referenced row is still in use."""


class CheckViolation(ConstraintViolation):
    """A CHECK constraint (or a trigger enforcing a rule) rejected the row."""


class NotNullViolation(ConstraintViolation):
    """A required column was left empty."""


class ExclusionViolation(ConstraintViolation):
    """An EXCLUDE constraint found a conflicting row (e.g. overlapping periods)."""


class InvalidValue(DatabaseError):
    """A value could not be stored as its type (SQLSTATE class 22)."""


class PermissionDenied(DatabaseError):
    """Privileges or row-level security forbid the operation (SQLSTATE 42501)."""


class TransactionConflict(DatabaseError):
    """A serialization failure or deadlock: retrying the transaction may succeed."""


class ConnectionFailed(DatabaseError):
    """The database could not be reached, or the connection was lost."""


class InvalidDatabaseUrl(DatabaseError):
    """The database URL cannot be read (a typo, not a server that is away)."""


class MigrationError(DatabaseError):
    """A migration, rollback or bootstrap could not be applied."""


@dataclass(frozen=True)
class _Key:
    columns: tuple[str, ...]
    value: str


_KEY_DETAIL = re.compile(r"^Key \((?P<columns>.*?)\)=\((?P<value>.*)\) (?P<rest>.*)$", re.DOTALL)
_FAILING_ROW = re.compile(r"^Failing row contains \((?P<row>.*)\)\.$", re.DOTALL)
_STILL_REFERENCED = re.compile(r'is still referenced from table "(?P<table>[^"]+)"')

_CONNECTION_STATES = frozenset({"57P01", "57P02", "57P03", "53300"})
_CONFLICT_STATES = frozenset({"40001", "40P01"})


def translate(exc: psycopg.Error, catalog: ConstraintCatalog | None = None) -> DatabaseError:
    """Turn a psycopg error into the matching `DatabaseError`, in plain words.

    `catalog` supplies each constraint's columns and COMMENT (its rule in plain
    words); without it, or for a constraint it does not know, the server's own
    message is used as the rule.
    """
    state = exc.sqlstate
    if isinstance(exc, psycopg_pool.PoolTimeout | psycopg.InterfaceError) or (
        state is None and isinstance(exc, psycopg.OperationalError)
    ):
        return ConnectionFailed(f"cannot reach the database: {_first_line(str(exc))}")
    if state is None:
        return DatabaseError(_first_line(str(exc)))
    if state.startswith("08") or state in _CONNECTION_STATES:
        return ConnectionFailed(f"cannot reach the database: {_primary(exc)}", sqlstate=state)
    if state.startswith("23"):
        return _constraint_violation(exc, state, catalog)
    if state.startswith("22"):
        return InvalidValue(f"invalid value: {_primary(exc)}", sqlstate=state)
    if state == "42501":
        return PermissionDenied(
            f"permission denied: {_primary(exc)}", sqlstate=state, table=exc.diag.table_name
        )
    if state in _CONFLICT_STATES:
        return TransactionConflict(
            f"transaction conflict, retry it: {_primary(exc)}", sqlstate=state
        )
    return DatabaseError(_primary(exc), sqlstate=state, table=exc.diag.table_name)


@contextmanager
def translating(catalog: ConstraintCatalog | None = None) -> Iterator[None]:
    """Re-raise any psycopg error raised inside the block as a `DatabaseError`.

    A plain (synchronous) context manager on purpose: it works around `await`
    calls in async code and in sync code alike::

        with translating(self._catalog):
            await conn.execute(...)
    """
    try:
        yield
    except psycopg.Error as exc:
        raise translate(exc, catalog) from exc


def _constraint_violation(
    exc: psycopg.Error, state: str, catalog: ConstraintCatalog | None
) -> DatabaseError:
    diag = exc.diag
    table = diag.table_name
    info = _lookup(catalog, diag.schema_name, table, diag.constraint_name)
    if state == "23502":
        column = diag.column_name or "?"
        return NotNullViolation(
            f"{table}.{column}: a value is required (it cannot be null)",
            sqlstate=state,
            table=table,
            columns=(column,),
            rule="a value is required",
        )
    key = _parse_key(diag.message_detail)
    if state == "23505":
        return _unique(exc, info, key)
    if state == "23503":
        return _foreign_key(exc, info, key)
    if state == "23514":
        return _check(exc, info, catalog)
    if state == "23P01":
        return _exclusion(exc, info, key)
    return ConstraintViolation(_primary(exc), sqlstate=state, table=table)


def _unique(exc: psycopg.Error, info: ConstraintInfo | None, key: _Key | None) -> DatabaseError:
    table = exc.diag.table_name
    columns = _columns(info, key)
    rule = (info and info.comment) or "the value must be unique"
    shown = f'"{key.value}"' if key else "that value"
    return UniqueViolation(
        f"{_subject(table, columns)}: {shown} is already taken: {rule}{_named(exc)}",
        sqlstate=exc.sqlstate,
        table=table,
        columns=columns,
        constraint=exc.diag.constraint_name,
        value=key.value if key else None,
        rule=rule,
    )


def _foreign_key(
    exc: psycopg.Error, info: ConstraintInfo | None, key: _Key | None
) -> DatabaseError:
    diag = exc.diag
    columns = _columns(info, key)
    referenced = info.referenced_table if info else None
    rule = (info and info.comment) or (
        f"it must refer to an existing {referenced} row" if referenced else _primary(exc)
    )
    shown = f'"{key.value}"' if key else "the value"
    still_used = _STILL_REFERENCED.search(diag.message_detail or "")
    if still_used:
        # Deleting or re-keying a parent row: name the parent's key (where the
        # user acted) and the table still pointing at it.
        parent = referenced or diag.table_name
        columns = key.columns if key else ()
        message = (
            f"{_subject(parent, columns)}: {shown} is still referenced from "
            f"{still_used['table']}: {rule}{_named(exc)}"
        )
    else:
        target = f" in {referenced}" if referenced else ""
        message = (
            f"{_subject(diag.table_name, columns)}: {shown} does not exist{target}: "
            f"{rule}{_named(exc)}"
        )
    return ForeignKeyViolation(
        message,
        sqlstate=exc.sqlstate,
        table=diag.table_name,
        columns=columns,
        constraint=diag.constraint_name,
        value=key.value if key else None,
        rule=rule,
    )


# CHECK constraints that keep personal data out are named *_privacy_check.
_PRIVACY_SUFFIX = "_privacy_check"


def _check(
    exc: psycopg.Error, info: ConstraintInfo | None, catalog: ConstraintCatalog | None
) -> DatabaseError:
    diag = exc.diag
    table = diag.table_name
    columns = info.columns if info else ((diag.column_name,) if diag.column_name else ())
    if info and info.comment:
        rule = info.comment
    elif info:
        rule = f"the row must satisfy {info.definition}"
    else:
        rule = _primary(exc)
    # A value refused for holding personal data must not travel on in an
    # error message (and from there into logs).
    private = (diag.constraint_name or "").endswith(_PRIVACY_SUFFIX)
    value = None if private else _value_from_failing_row(exc, columns, catalog)
    if value is None:
        shown = "the value"
    elif len(columns) == 1:
        shown = f'"{value}"' if value != "null" else "null"
    else:
        shown = f"({value})"
    return CheckViolation(
        f"{_subject(table, columns)}: {shown} is not allowed: {rule}{_named(exc)}",
        sqlstate=exc.sqlstate,
        table=table,
        columns=columns,
        constraint=diag.constraint_name,
        value=value,
        rule=rule,
    )


def _exclusion(exc: psycopg.Error, info: ConstraintInfo | None, key: _Key | None) -> DatabaseError:
    table = exc.diag.table_name
    columns = _columns(info, key)
    rule = (info and info.comment) or _primary(exc)
    shown = f"({key.value})" if key else "the row"
    return ExclusionViolation(
        f"{_subject(table, columns)}: {shown} conflicts with an existing row: {rule}{_named(exc)}",
        sqlstate=exc.sqlstate,
        table=table,
        columns=columns,
        constraint=exc.diag.constraint_name,
        value=key.value if key else None,
        rule=rule,
    )


def _lookup(
    catalog: ConstraintCatalog | None, schema: str | None, table: str | None, name: str | None
) -> ConstraintInfo | None:
    if catalog is None or schema is None or table is None or name is None:
        return None
    return catalog.constraint(schema, table, name)


def _parse_key(detail: str | None) -> _Key | None:
    """Parse PostgreSQL's `Key (a, b)=(1, 2) ...` detail line."""
    match = _KEY_DETAIL.match(detail or "")
    if not match:
        return None
    columns = tuple(c.strip().strip('"') for c in match["columns"].split(","))
    return _Key(columns=columns, value=match["value"])


def _value_from_failing_row(
    exc: psycopg.Error, columns: tuple[str, ...], catalog: ConstraintCatalog | None
) -> str | None:
    """Pick the constrained columns' values out of `Failing row contains (...)`.

    The row lists every column's text, unquoted and joined by ", ", so it can
    only be split reliably when the piece count equals the table's column count
    (a value containing ", " makes it ambiguous, and then no value is shown).
    """
    diag = exc.diag
    match = _FAILING_ROW.match(diag.message_detail or "")
    if not match or not columns or catalog is None or not diag.schema_name or not diag.table_name:
        return None
    layout = catalog.columns_of(diag.schema_name, diag.table_name)
    values = match["row"].split(", ")
    if layout is None or len(values) != len(layout) or not set(columns) <= set(layout):
        return None
    return ", ".join(values[layout.index(c)] for c in columns)


def _columns(info: ConstraintInfo | None, key: _Key | None) -> tuple[str, ...]:
    if info and info.columns:
        return info.columns
    return key.columns if key else ()


def _subject(table: str | None, columns: tuple[str, ...]) -> str:
    name = table or "(unknown table)"
    if len(columns) == 1:
        return f"{name}.{columns[0]}"
    if columns:
        return f"{name}({', '.join(columns)})"
    return name


def _named(exc: psycopg.Error) -> str:
    name = exc.diag.constraint_name
    return f" (constraint {name})" if name else ""


def _primary(exc: psycopg.Error) -> str:
    return exc.diag.message_primary or _first_line(str(exc))


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown database error"
