"""`mentor-notify config`: the effective configuration, secrets masked."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import typer

from mentor_notify.commands import common

if TYPE_CHECKING:
    from mentor_notify.config import Settings

MASK = "********"

# Settings whose value is a secret even when typed as a plain string.
_SECRET_NAME = re.compile(r"(secret|password|private_key|api_key|jwt_key|service_role_key)")


def _mask_url(url: str) -> str:
    """The URL with its password (if any) masked; the rest stays readable."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        # An unreadable URL is shown fully masked, never raw.
        return MASK
    if parts.get("password"):
        parts["password"] = MASK
        if "://" in url:
            return re.sub(r"(://[^:/@]*:)[^@]*@", rf"\g<1>{MASK}@", url)
        return make_conninfo("", **{k: str(v) for k, v in parts.items() if v is not None})
    return url


def effective_settings(settings: Settings) -> list[dict[str, Any]]:
    """Every setting with its environment variable, value (secrets masked) and description."""
    from pydantic import SecretBytes, SecretStr

    from mentor_notify.api.api_keys import ApiKeys
    from mentor_notify.config import ConfigurationError

    rows = []
    for name, field in type(settings).model_fields.items():
        value = getattr(settings, name)
        env = _env_name(name, field.validation_alias)
        if isinstance(value, SecretStr | SecretBytes) or _SECRET_NAME.search(name):
            shown: Any = MASK if value else None
        elif name.endswith("url") and isinstance(value, str):
            shown = _mask_url(value)
        elif isinstance(value, str | int | float | bool) or value is None:
            shown = value
        else:
            shown = str(value)
        rows.append(
            {"name": name, "env": env, "value": shown, "description": field.description or ""}
        )
    for row in rows:
        if row["name"] == "api_keys" and settings.api_keys is not None:
            # Fingerprints, never the keys: enough to tell which keys are configured.
            try:
                keys = ApiKeys.parse(settings.api_keys.get_secret_value())
                row["value"] = f"{len(keys)} key(s): " + ", ".join(keys.fingerprints())
            except ConfigurationError as exc:
                row["value"] = f"{MASK} (unusable: {exc})"
        if row["name"] == "supabase_url":
            row["derived"] = {"jwks_url": settings.jwks_url, "issuer": settings.auth_issuer}
    return rows


def _env_name(name: str, alias: Any) -> str:
    from mentor_notify.config import Settings

    choices = getattr(alias, "choices", None)
    if choices:
        return str(choices[0])
    prefix = Settings.model_config.get("env_prefix", "")
    return f"{prefix}{name}".upper()


def config(ctx: typer.Context, as_json: common.JsonOption = False) -> None:
    """Print the effective configuration: each setting, its variable and value.

    Values come from the environment (and --database-url); secrets and URL
    passwords are masked. Without a database URL the embedded PostgreSQL is used.
    """
    from rich.table import Table

    current = common.state(ctx)
    rows = effective_settings(current.settings)
    if current.database_url:
        for row in rows:
            if row["name"] == "database_url":
                row["value"] = _mask_url(current.database_url)
    if as_json:
        common.print_json(rows)
        return
    table = Table("Setting", "Environment variable", "Value")
    for row in rows:
        value = row["value"]
        table.add_row(row["name"], row["env"], "(not set)" if value is None else str(value))
    common.stdout().print(table)
    settings = current.settings
    if settings.jwks_url is not None:
        common.stdout().print(
            f"User access tokens: signing keys from {settings.jwks_url}, "
            f"issuer {settings.auth_issuer}",
            highlight=False,
        )
