"""Who is calling: a signed-in user by their Supabase access token, a job caller by one
of the API's own secret keys.

User access tokens are JWTs issued by the project's Supabase Auth. A project signs
them with an asymmetric signing key (ES256 or RS256) whose public half it
publishes (`SigningKeys`), or, while it has not moved on, with its legacy JWT
secret (HS256). The algorithm a token is checked with is the one its key has,
never the one the token claims: `alg: none`, an algorithm no configured key uses,
and an HS256 token signed with a public key (algorithm confusion) are all
refused. Each token's `exp`, `iss` (the project's Auth URL, when configured) and
`aud` (`authenticated`) are checked; `iat` and `nbf` may be up to
`CLOCK_SKEW_SECONDS` ahead of this server's clock, `exp` has no such leeway.

Anonymous sign-ins (`is_anonymous: true`) are signed-in users to Supabase (role
`authenticated`), but nobody in a mentor programme: they have no membership, RLS
gives them no rows, and every user endpoint here answers them 403.

Job endpoints take one of the API's secret keys (`ApiKeys`) in the `apikey`
header or as the bearer token; the project's legacy service-role key (an HS256
JWT) only while the setting that allows it is on.
"""

import time
from typing import Any
from uuid import UUID

import jwt

from mentor_notify.api.api_keys import ApiKeys
from mentor_notify.api.signing_keys import ASYMMETRIC_ALGORITHMS, SigningKeys
from mentor_notify.config import ConfigurationError, Settings
from mentor_notify.domain import Clock

# The audience Supabase Auth puts in signed-in users' access tokens.
USER_AUDIENCE = "authenticated"
# Supabase's legacy JWT secret signs with HMAC-SHA256.
LEGACY_ALGORITHM = "HS256"
# Supabase Auth stamps `iat` in whole seconds from its own clock (JWT claims
# reference, checked 2026-12-06), and PyJWT (2.6 and later) refuses a token whose
# `iat` or `nbf` is later than its own clock plus `leeway`, which defaults to 0
# (PyJWT API docs and jpadilla/pyjwt#797, checked 2026-12-06). A server whose clock
# runs a second behind Supabase's would refuse tokens fresh from sign-in, so those
# two claims get a few seconds' leeway; expiry gets none.
CLOCK_SKEW_SECONDS = 5


class Unauthenticated(Exception):
    """No credentials, or credentials that are not valid for this project (401)."""


class Forbidden(Exception):
    """Valid credentials of a kind this endpoint does not take (403)."""


class Authenticator:
    """Verifies the credentials of both kinds of caller."""

    def __init__(
        self,
        *,
        signing_keys: SigningKeys | None,
        issuer: str | None,
        legacy_secret: str | None,
        api_keys: ApiKeys,
        accept_legacy_service_role: bool = False,
    ) -> None:
        """Users are verified against `signing_keys` (tokens issued by `issuer`) and, if
        given, the `legacy_secret`; job callers by `api_keys` and, when
        `accept_legacy_service_role`, the legacy service-role JWT."""
        if signing_keys is None and not legacy_secret:
            raise ConfigurationError(
                "nothing to verify users' access tokens with: set MENTOR_NOTIFY_SUPABASE_URL "
                "(the project's URL; its signing keys are fetched from it) or, for a project "
                "still on its legacy JWT secret, MENTOR_NOTIFY_JWT_SECRET"
            )
        if accept_legacy_service_role and not legacy_secret:
            raise ConfigurationError(
                "MENTOR_NOTIFY_ACCEPT_LEGACY_SERVICE_ROLE_JWT needs MENTOR_NOTIFY_JWT_SECRET, "
                "the secret the legacy service-role key is signed with"
            )
        if not api_keys and not accept_legacy_service_role:
            raise ConfigurationError(
                "no key for the job endpoints: set MENTOR_NOTIFY_API_KEYS (or "
                "MENTOR_NOTIFY_API_KEYS_VAULT_SECRET) to one or more secret keys of at least "
                "32 characters, e.g. from: openssl rand -base64 32"
            )
        self._signing_keys = signing_keys
        self._issuer = issuer
        self._legacy_secret = legacy_secret or None
        self._api_keys = api_keys
        self._accept_legacy_service_role = accept_legacy_service_role

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock) -> "Authenticator":
        """The authenticator the settings describe (API keys already read from Vault)."""
        jwks_url = settings.jwks_url
        return cls(
            signing_keys=None if jwks_url is None else SigningKeys(jwks_url, clock),
            issuer=settings.auth_issuer,
            legacy_secret=None
            if settings.jwt_secret is None
            else settings.jwt_secret.get_secret_value(),
            api_keys=ApiKeys.parse(
                "" if settings.api_keys is None else settings.api_keys.get_secret_value()
            ),
            accept_legacy_service_role=settings.accept_legacy_service_role_jwt,
        )

    async def user(self, token: str | None) -> UUID:
        """The id of the signed-in user whose access token `token` is."""
        if not token:
            raise Unauthenticated("send the signed-in user's access token as a bearer token")
        claims = await self._verified(token)
        if claims.get("role") != USER_AUDIENCE:
            raise Forbidden("this endpoint needs a signed-in user's access token")
        # Supabase's anonymous sign-ins carry `is_anonymous: true` beside the
        # `authenticated` role ("Anonymous Sign-Ins" guide, checked 2026-12-06).
        if claims.get("is_anonymous") is True:
            raise Forbidden(
                "anonymous sign-ins cannot use this service; sign in with the account "
                "your organisation registered you with"
            )
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if USER_AUDIENCE not in audiences:
            raise Unauthenticated("the token is not issued for signed-in users")
        if self._issuer is not None and claims.get("iss") != self._issuer:
            raise Unauthenticated("the token was not issued by this project's Supabase Auth")
        subject = claims.get("sub")
        if not isinstance(subject, str):
            raise Unauthenticated("the token names no user")
        try:
            return UUID(subject)
        except ValueError:
            raise Unauthenticated("the token's subject is not a user id") from None

    async def job_caller(self, api_key: str | None, bearer: str | None) -> str:
        """Who may run a job: a description of the accepted credential (a key's
        fingerprint, or the legacy service-role key), for the log."""
        candidates = [c for c in (api_key, bearer) if c]
        if not candidates:
            raise Unauthenticated("send one of the API's secret keys in the apikey header")
        for candidate in candidates:
            if self._api_keys and self._api_keys.accepts(candidate):
                return "api key"
        if bearer and bearer.count(".") == 2:
            claims = await self._verified(bearer)
            if claims.get("role") == "service_role":
                if self._accept_legacy_service_role:
                    return "legacy service-role key"
                raise Forbidden(
                    "the legacy service-role key is no longer accepted here; send one of the "
                    "API's secret keys in the apikey header"
                )
            raise Forbidden("this endpoint needs one of the API's secret keys")
        raise Unauthenticated("not a valid API key for this service")

    async def _verified(self, token: str) -> dict[str, Any]:
        """The claims of `token` once its signature, expiry and (for asymmetric keys) key
        are checked."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("the token is not valid for this project") from None
        algorithm = header.get("alg")
        if algorithm in ASYMMETRIC_ALGORITHMS and self._signing_keys is not None:
            kid = header.get("kid")
            key = await self._signing_keys.key(kid) if isinstance(kid, str) else None
            if key is None or key.algorithm_name != algorithm:
                raise Unauthenticated("the token is signed with a key this project does not use")
            verifying_key: Any = key.key
            algorithms = [key.algorithm_name]
        elif algorithm == LEGACY_ALGORITHM and self._legacy_secret is not None:
            verifying_key, algorithms = self._legacy_secret, [LEGACY_ALGORITHM]
        else:
            raise Unauthenticated("the token is not valid for this project")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                verifying_key,
                algorithms=algorithms,
                leeway=CLOCK_SKEW_SECONDS,
                # The audience and issuer are checked by the caller, which knows
                # which kind of token it expects.
                options={"require": ["exp"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise Unauthenticated(
                "the token is not valid yet; check that this server's clock is right"
            ) from None
        except jwt.PyJWTError:
            raise Unauthenticated("the token is not valid for this project") from None
        # The leeway above applies to `exp` too; an expired token gets none. PyJWT
        # has already checked that `exp` is an integer.
        if int(claims["exp"]) <= time.time():
            raise Unauthenticated("the token has expired")
        return claims
