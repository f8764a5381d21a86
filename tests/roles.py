"""Throwaway login roles, for tests that connect as a role with fewer privileges.

Roles are cluster-wide, so each gets a unique name and is dropped at the end.
Works as the suite's non-superuser owner role (CREATEROLE, as hosted Supabase's
`postgres`): the role is created and dropped by the connection of `admin_url`,
and privileges it was granted are revoked by the owner of the objects (the
test database's owner, which is also `admin_url`'s role) before it is dropped,
since a role that still holds privileges cannot be dropped.
"""

import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from uuid import uuid4

from psycopg import AsyncConnection, sql
from psycopg.conninfo import make_conninfo


@asynccontextmanager
async def throwaway_role(
    admin_url: str, database_url: str, *, tables: Sequence[str] = ()
) -> AsyncIterator[str]:
    """A new login role with no privileges but SELECT on `tables` (in `database_url`'s
    database); yields a connection URL for that database as the role."""
    name = f"mn_noprivs_{uuid4().hex[:10]}"
    password = secrets.token_urlsafe(16)
    role = sql.Identifier(name)
    async with await AsyncConnection.connect(admin_url, autocommit=True) as admin:
        await admin.execute(
            sql.SQL("create role {} login password {}").format(role, sql.Literal(password))
        )
    try:
        async with await AsyncConnection.connect(database_url, autocommit=True) as owner:
            for table in tables:
                await owner.execute(
                    sql.SQL("grant select on {} to {}").format(
                        sql.Identifier(*table.split(".")), role
                    )
                )
        yield make_conninfo(database_url, user=name, password=password)
    finally:
        async with await AsyncConnection.connect(database_url, autocommit=True) as owner:
            for table in tables:
                await owner.execute(
                    sql.SQL("revoke all on {} from {}").format(
                        sql.Identifier(*table.split(".")), role
                    )
                )
        async with await AsyncConnection.connect(admin_url, autocommit=True) as admin:
            await admin.execute(sql.SQL("drop role if exists {}").format(role))
