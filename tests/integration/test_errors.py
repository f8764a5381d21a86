"""Translation of database errors into plain words, on a throwaway schema.

Every table here lives in a schema created inside the `conn` fixture's
transaction, which is rolled back: the tests depend only on the bootstrap,
not on the project's own migrations.
"""

from typing import Any

import psycopg
import pytest
from psycopg import AsyncConnection

from mentor_notify.db import (
    CheckViolation,
    ConnectionFailed,
    ConstraintCatalog,
    DatabaseError,
    ExclusionViolation,
    ForeignKeyViolation,
    InvalidValue,
    NotNullViolation,
    PermissionDenied,
    UniqueViolation,
    connect,
    translate,
    translating,
)

SCHEMA = """
create schema errors_test;
create table errors_test.parent (
  id int primary key,
  slug text not null,
  kind text not null,
  constraint parent_slug_key unique (slug),
  constraint parent_kind_check check (kind in ('alpha', 'beta'))
);
comment on constraint parent_slug_key on errors_test.parent is 'two parents cannot share a slug';
comment on constraint parent_kind_check on errors_test.parent is
  'kind must be one of alpha, beta';
create table errors_test.child (
  id int primary key,
  parent_id int constraint child_parent_id_fkey references errors_test.parent (id),
  size int constraint child_size_check check (size > 0),
  label text,
  period tstzrange,
  constraint child_no_overlap exclude using gist (period with &&)
);
comment on constraint child_parent_id_fkey on errors_test.child is
  'a child belongs to an existing parent';
comment on constraint child_no_overlap on errors_test.child is 'periods may not overlap';
create unique index child_label_key on errors_test.child (lower(label)) where label is not null;
comment on index errors_test.child_label_key is 'labels are unique, ignoring case';
insert into errors_test.parent values (1, 'hlf', 'alpha');
"""


async def violation(conn: AsyncConnection[Any], statement: str) -> psycopg.Error:
    """Run `statement` in a savepoint and return the error it raises."""
    with pytest.raises(psycopg.Error) as raised:
        async with conn.transaction():
            await conn.execute(statement.encode())
    return raised.value


@pytest.fixture
async def catalog(conn: AsyncConnection[Any]) -> ConstraintCatalog:
    await conn.execute(SCHEMA.encode())
    return await ConstraintCatalog.load(conn, schemas=["errors_test"])


async def test_check_violation_names_column_value_rule_and_constraint(
    conn: AsyncConnection[Any], catalog: ConstraintCatalog
) -> None:
    exc = await violation(conn, "insert into errors_test.parent values (2, 'nhf', 'gamma')")

    error = translate(exc, catalog)

    assert isinstance(error, CheckViolation)
    assert str(error) == (
        'parent.kind: "gamma" is not allowed: kind must be one of alpha, beta'
        " (constraint parent_kind_check)"
    )
    assert (error.table, error.columns, error.value) == ("parent", ("kind",), "gamma")


async def test_check_without_comment_falls_back_to_its_definition(
    conn: AsyncConnection[Any], catalog: ConstraintCatalog
) -> None:
    exc = await violation(conn, "insert into errors_test.child (id, size) values (1, -5)")

    error = translate(exc, catalog)

    assert isinstance(error, CheckViolation)
    assert str(error) == (
        'child.size: "-5" is not allowed: the row must satisfy CHECK ((size > 0))'
        " (constraint child_size_check)"
    )


async def test_check_value_is_left_out_when_the_failing_row_is_ambiguous(
    conn: AsyncConnection[Any], catalog: ConstraintCatalog
) -> None:
    exc = await violation(
        conn, "insert into errors_test.child (id, size, label) values (1, 0, 'a, b')"
    )

    error = translate(exc, catalog)

    assert error.value is None
    assert str(error).startswith("child.size: the value is not allowed:")


async def test_unique_violation_names_the_taken_value(
    conn: AsyncConnection[Any], catalog: ConstraintCatalog
) -> None:
    exc = await violation(conn, "insert into errors_test.parent values (2, 'hlf', 'beta')")

    error = translate(exc, catalog)

    assert isinstance(error, UniqueViolation)
    assert str(error) == (
        'parent.slug: "hlf" is already taken: two parents cannot share a slug'
        " (constraint parent_slug_key)"
    )


async def test_unique_index_rule_comes_from_the_index_comment(
    conn: AsyncConnection[Any], catalog: ConstraintCatalog
) -> None:
    await conn.execute("insert into errors_test.child (id, label) values (1, 'Oslo')")
    exc = await violation(conn, "insert into errors_test.child (id, label) values (2, 'OSLO')")

    error = translate(exc, catalog)

    assert isinstance(error, UniqueViolation)
    assert "is already taken: labels are unique, ignoring case" in str(error)
    assert "(constraint child_label_key)" in str(error)


async def test_foreign_key_violation_on_insert_names_the_missing_parent(
    conn: AsyncConnection[Any], catalog: ConstraintCatalog
) -> None:
    exc = await violation(conn, "insert into errors_test.child (id, parent_id) values (1, 99)")

    error = translate(exc, catalog)

    assert isinstance(error, ForeignKeyViolation)
    assert str(error) == (
        'child.parent_id: "99" does not exist in parent: a child belongs to an existing parent'
        " (constraint child_parent_id_fkey)"
    )


async def test_foreign_key_violation_on_delete_names_the_referencing_table(
    conn: AsyncConnection[Any], catalog: ConstraintCatalog
) -> None:
    await conn.execute("insert into errors_test.child (id, parent_id) values (1, 1)")
    exc = await violation(conn, "delete from errors_test.parent where id = 1")

    error = translate(exc, catalog)

    assert isinstance(error, ForeignKeyViolation)
    assert str(error) == (
        'parent.id: "1" is still referenced from child: a child belongs to an existing'
        " parent (constraint child_parent_id_fkey)"
    )


async def test_not_null_violation_names_the_column(
    conn: AsyncConnection[Any], catalog: ConstraintCatalog
) -> None:
    exc = await violation(conn, "insert into errors_test.parent (id, kind) values (2, 'alpha')")

    error = translate(exc, catalog)

    assert isinstance(error, NotNullViolation)
    assert str(error) == "parent.slug: a value is required (it cannot be null)"


async def test_exclusion_violation(conn: AsyncConnection[Any], catalog: ConstraintCatalog) -> None:
    await conn.execute(
        "insert into errors_test.child (id, period) values (1, '[2026-01-01, 2026-02-01)')"
    )
    exc = await violation(
        conn, "insert into errors_test.child (id, period) values (2, '[2026-01-15, 2026-03-01)')"
    )

    error = translate(exc, catalog)

    assert isinstance(error, ExclusionViolation)
    assert "conflicts with an existing row: periods may not overlap" in str(error)


async def test_without_catalog_the_servers_message_is_the_rule(
    conn: AsyncConnection[Any], catalog: ConstraintCatalog
) -> None:
    exc = await violation(conn, "insert into errors_test.parent values (2, 'nhf', 'gamma')")

    error = translate(exc)

    assert isinstance(error, CheckViolation)
    assert 'violates check constraint "parent_kind_check"' in str(error)


async def test_invalid_value(conn: AsyncConnection[Any]) -> None:
    exc = await violation(conn, "select 'not-a-uuid'::uuid")

    error = translate(exc)

    assert isinstance(error, InvalidValue)
    assert str(error) == 'invalid value: invalid input syntax for type uuid: "not-a-uuid"'


async def test_row_level_security_refusal_is_permission_denied(
    conn: AsyncConnection[Any], catalog: ConstraintCatalog
) -> None:
    await conn.execute(
        b"""
        alter table errors_test.parent enable row level security;
        grant usage on schema errors_test to authenticated;
        grant insert on errors_test.parent to authenticated;
        set local role authenticated;
        """
    )
    exc = await violation(conn, "insert into errors_test.parent values (2, 'nhf', 'beta')")

    error = translate(exc, catalog)

    assert isinstance(error, PermissionDenied)
    assert "row-level security" in str(error)


async def test_translating_reraises_as_database_error_keeping_the_cause(
    conn: AsyncConnection[Any], catalog: ConstraintCatalog
) -> None:
    async def insert_duplicate() -> None:
        async with conn.transaction():
            with translating(catalog):
                await conn.execute("insert into errors_test.parent values (2, 'hlf', 'beta')")

    with pytest.raises(UniqueViolation) as raised:
        await insert_duplicate()

    assert isinstance(raised.value.__cause__, psycopg.errors.UniqueViolation)
    assert isinstance(raised.value, DatabaseError)


async def test_unreachable_database_is_connection_failed() -> None:
    with pytest.raises(ConnectionFailed, match="cannot reach the database"):
        await connect("postgresql://postgres@127.0.0.1:1/postgres?connect_timeout=2")
