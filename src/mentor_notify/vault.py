"""Secrets kept in Supabase Vault instead of the environment.

Some settings may instead name a Vault secret that stands in for them;
`with_vault_secrets` reads the named ones from `vault.decrypted_secrets` (which
the database owner and the service role may read) when the program starts
using them.
"""

from collections.abc import Iterable

import psycopg
from pydantic import SecretStr

from mentor_notify.config import ConfigurationError, Settings
from mentor_notify.db import Pool
from mentor_notify.db.sql_files import load_sql

# Each setting a Vault secret may stand in for, with the setting naming that secret.
VAULT_NAMES = {
    "fcm_credentials_json": "fcm_credentials_vault_secret",
    "apns_key": "apns_key_vault_secret",
    "api_keys": "api_keys_vault_secret",
}

_VAULT = load_sql("mentor_notify", "vault_secrets")


async def with_vault_secrets(settings: Settings, pool: Pool, fields: Iterable[str]) -> Settings:
    """`settings` with each of `fields` (keys of `VAULT_NAMES`) whose Vault secret is named
    replaced by that secret; unchanged when none is. Raises `ConfigurationError` when the
    database has no Vault or a named secret does not exist."""
    wanted = {field: name for field in fields if (name := getattr(settings, VAULT_NAMES[field]))}
    if not wanted:
        return settings
    try:
        async with pool.connection() as conn:
            cursor = await conn.execute(_VAULT, {"names": list(wanted.values())})
            found = {row["name"]: row["decrypted_secret"] for row in await cursor.fetchall()}
    except psycopg.errors.UndefinedTable:
        raise ConfigurationError(
            f"a Vault secret is named for {', '.join(wanted)}, but this database has no "
            "Supabase Vault (vault.decrypted_secrets)"
        ) from None
    missing = [name for name in wanted.values() if not found.get(name)]
    if missing:
        raise ConfigurationError(
            f"no Supabase Vault secret named {', '.join(missing)}: create it with "
            "select vault.create_secret('<value>', '<name>')"
        )
    return settings.model_copy(
        update={field: SecretStr(found[name]) for field, name in wanted.items()}
    )
