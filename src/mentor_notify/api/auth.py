"""Bearer tokens as Supabase issues them: HS256 JWTs signed with the project's JWT secret.

The service-role key is such a token with `role: service_role`; a signed-in
user's access token has `role: authenticated` and the user's id in `sub`.
"""

from typing import Any
from uuid import UUID

import jwt
from pydantic import BaseModel, ConfigDict


class TokenError(Exception):
    """A bearer token that is missing, malformed, badly signed, expired or of the wrong role."""


class Claims(BaseModel):
    """What the API uses of a verified token."""

    model_config = ConfigDict(frozen=True)

    role: str
    sub: UUID | None = None


def verify_token(token: str, secret: str) -> Claims:
    """Verify `token`'s signature and expiry and return its claims, or raise `TokenError`."""
    try:
        payload: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            # Supabase's keys carry `aud` only on user tokens; the role decides.
            options={"verify_aud": False, "require": ["role"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("the token has expired") from exc
    except jwt.InvalidTokenError as exc:
        raise TokenError("the token is not valid for this project") from exc
    role = payload.get("role")
    if not isinstance(role, str):
        raise TokenError("the token carries no role")
    sub = payload.get("sub")
    try:
        user = UUID(sub) if isinstance(sub, str) else None
    except ValueError as exc:
        raise TokenError("the token's subject is not a user id") from exc
    return Claims(role=role, sub=user)
