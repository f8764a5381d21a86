"""Shared fixtures: throwaway databases on the system PostgreSQL, a pool, impersonation.

The admin URL comes from TEST_DATABASE_URL (default
postgresql://postgres@127.0.0.1:5432/postgres); its role must be allowed to
create databases. Every database made here gets a unique name and is dropped
(with force) at the end of the session.
"""

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol
from uuid import uuid4

import pytest
import pytest_asyncio
from psycopg import AsyncConnection, sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import DictRow

from mentor_notify.config import Settings
from mentor_notify.db import Pool, SupabaseLayout, find_supabase_dir, open_pool
from tests.support import impersonate, run_migrations

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


class CreateDatabase(Protocol):
    """Makes a uniquely named database and returns its conninfo string."""

    def __call__(self, template: str | None = None) -> Awaitable[str]:
        """An empty database, or a copy of the database named `template`."""
        ...


@pytest.fixture(scope="session")
def admin_url() -> str:
    """Connection URL of a role that may create and drop databases."""
    return os.environ.get("TEST_DATABASE_URL", DEFAULT_ADMIN_URL)


@pytest.fixture(scope="session")
def supabase_layout() -> SupabaseLayout:
    """The project's real supabase/ folder."""
    return find_supabase_dir()


@pytest_asyncio.fixture(scope="session")
async def create_database(admin_url: str) -> AsyncIterator[CreateDatabase]:
    """Factory of empty, uniquely named databases; each call returns a conninfo string."""
    created: list[str] = []

    async def create(template: str | None = None) -> str:
        name = f"mentor_notify_test_{uuid4().hex[:12]}"
        async with await AsyncConnection.connect(admin_url, autocommit=True) as conn:
            if template is None:
                await conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
            else:
                await copy_database(conn, template, name)
        created.append(name)
        return make_conninfo(admin_url, dbname=name)

    yield create
    async with await AsyncConnection.connect(admin_url, autocommit=True) as conn:
        for name in created:
            await conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
            )


async def copy_database(conn: AsyncConnection[Any], template: str, name: str) -> None:
    """Create database `name` as a copy of `template`, with its database-level settings,
    which CREATE DATABASE does not copy (PostgreSQL manual, CREATE DATABASE, Notes;
    checked 2026-12-07). The bootstrap sets only search_path there, a list whose
    stored text is valid SQL as it stands; any other setting fails here, so that
    whoever adds one decides how to copy it."""
    await conn.execute(
        sql.SQL("create database {} template {}").format(
            sql.Identifier(name), sql.Identifier(template)
        )
    )
    cur = await conn.execute(
        "select unnest(s.setconfig) from pg_catalog.pg_db_role_setting s "
        "join pg_catalog.pg_database d on d.oid = s.setdatabase "
        "where d.datname = %s and s.setrole = 0",
        [template],
    )
    for (setting,) in await cur.fetchall():
        key, value = setting.split("=", 1)
        if key != "search_path":
            pytest.fail(f"copy_database cannot copy the database setting {setting!r}")
        await conn.execute(
            sql.SQL("alter database {} set search_path = ").format(sql.Identifier(name))
            + sql.SQL(value)
        )


@pytest_asyncio.fixture(scope="session")
async def migrated_template(
    create_database: CreateDatabase, supabase_layout: SupabaseLayout
) -> str:
    """Name of a database with the bootstrap and every migration applied, which
    `own_database_url` copies: a copy takes about 0.2 s where migrating takes about
    1.5 s, and some two hundred tests each want a database of their own. Nobody
    connects to it after this (a template in use cannot be copied)."""
    url = await create_database()
    await run_migrations(url, supabase_layout)
    return str(conninfo_to_dict(url)["dbname"])


@pytest_asyncio.fixture(scope="session")
async def database_url(create_database: CreateDatabase, migrated_template: str) -> str:
    """A database with the bootstrap and every migration applied, shared by the session.

    Tests must not change its schema; use `create_database` for that.
    """
    return await create_database(template=migrated_template)


@pytest_asyncio.fixture
async def own_database_url(create_database: CreateDatabase, migrated_template: str) -> str:
    """A migrated database for this test alone: for tests that commit data."""
    return await create_database(template=migrated_template)


@pytest_asyncio.fixture
async def own_pool(own_database_url: str) -> AsyncIterator[Pool]:
    """The application pool on this test's own migrated database."""
    async with open_pool(own_database_url, Settings(pool_min_size=1, pool_max_size=4)) as p:
        yield p


@pytest_asyncio.fixture(scope="session")
async def pool(database_url: str) -> AsyncIterator[Pool]:
    """The application pool on the session's migrated database."""
    async with open_pool(database_url, Settings(pool_min_size=1, pool_max_size=4)) as p:
        yield p


@pytest_asyncio.fixture
async def conn(pool: Pool) -> AsyncIterator[AsyncConnection[DictRow]]:
    """A pooled connection inside a transaction that is always rolled back."""
    async with pool.connection() as c, c.transaction(force_rollback=True):
        yield c


@pytest.fixture(name="impersonate")
def impersonate_fixture() -> Callable[..., Any]:
    """`impersonate(conn, user_id, role="authenticated", claims=None)`: act as a user
    the way PostgREST does, inside a transaction; see tests.support.impersonate."""
    return impersonate
