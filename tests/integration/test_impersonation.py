"""The PostgREST-style impersonation helper the RLS tests rely on."""

from typing import Any
from uuid import uuid4

from psycopg import AsyncConnection

from tests.support import fetch_value, impersonate


async def test_impersonation_sets_role_and_claims_then_undoes_them(
    conn: AsyncConnection[Any],
) -> None:
    user_id = uuid4()

    async with impersonate(conn, user_id):
        inside = await (
            await conn.execute("select current_user::text, auth.uid(), auth.role(), auth.jwt()")
        ).fetchone()
    outside = await fetch_value(conn, "select current_user::text")
    uid_after = await fetch_value(conn, "select auth.uid()")

    assert inside is not None
    assert inside["current_user"] == "authenticated"
    assert inside["uid"] == user_id
    assert inside["role"] == "authenticated"
    assert inside["jwt"] == {"sub": str(user_id), "role": "authenticated"}
    assert outside != "authenticated"
    assert uid_after is None


async def test_anonymous_requests_have_no_user(conn: AsyncConnection[Any]) -> None:
    async with impersonate(conn, None, role="anon"):
        role = await fetch_value(conn, "select current_user::text")
        uid = await fetch_value(conn, "select auth.uid()")

    assert role == "anon"
    assert uid is None
