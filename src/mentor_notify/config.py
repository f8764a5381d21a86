"""Settings read from the environment.

Every setting has one environment variable. `DATABASE_URL` keeps its
conventional unprefixed name (the one Supabase, Heroku-style hosts and most
tools use); all others are prefixed `MENTOR_NOTIFY_`.
"""

from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit

import platformdirs
from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LogFormat = Literal["auto", "json", "console"]
LogLevel = Literal["debug", "info", "warning", "error"]


class ConfigurationError(Exception):
    """The settings are incomplete or unreadable; the message says which and what to set."""


def check_base_url(url: str) -> str:
    """Return `url` if it is the base URL of an HTTP service (a push service, the
    emulator): http or https, a host, a valid port; else raise ValueError saying so.

    The one rule for every such URL (settings, `--emulator`, the HTTP/2 client),
    so a bad one is refused where it is given, not deep inside a connection.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it is what checks it (ValueError when out of range)
    except ValueError as exc:
        raise ValueError(f"{url!r} is not a usable URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"{url!r} is not an http(s) URL with a host; write e.g. http://127.0.0.1:8787"
        )
    return url


def default_data_dir() -> Path:
    """Per-user data directory, e.g. `~/.local/share/mentor-notify` on Linux."""
    return platformdirs.user_data_path("mentor-notify", appauthor=False)


class Settings(BaseSettings):
    """Configuration of mentor-notify; see each field's description."""

    model_config = SettingsConfigDict(env_prefix="MENTOR_NOTIFY_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL"),
        description=(
            "PostgreSQL connection URL (env DATABASE_URL), e.g. a Supabase project's "
            "postgresql://postgres:...@db.<ref>.supabase.co:5432/postgres. The command-line "
            "option --database-url overrides it. When neither is given, an embedded "
            "PostgreSQL is started in `data_dir`."
        ),
    )
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description=(
            "Directory holding the embedded PostgreSQL's data (env MENTOR_NOTIFY_DATA_DIR); "
            "used only when no database URL is given. Default: the per-user data "
            "directory, ~/.local/share/mentor-notify on Linux."
        ),
    )
    supabase_dir: Path | None = Field(
        default=None,
        description=(
            "The project's supabase/ folder with migrations/, rollbacks/ and local/ "
            "(env MENTOR_NOTIFY_SUPABASE_DIR). Default: found by walking up from the "
            "installed package, then from the current directory."
        ),
    )
    log_format: LogFormat = Field(
        default="auto",
        description=(
            "Log output (env MENTOR_NOTIFY_LOG_FORMAT): json (one object per line), console "
            "(coloured, for people) or auto (console when stderr is a terminal, else json)."
        ),
    )
    log_level: LogLevel = Field(
        default="info",
        description=(
            "Lowest level logged (env MENTOR_NOTIFY_LOG_LEVEL): debug, info, warning or error."
        ),
    )
    pool_min_size: int = Field(
        default=1,
        ge=0,
        description=(
            "Connections the database pool keeps open even when idle "
            "(env MENTOR_NOTIFY_POOL_MIN_SIZE)."
        ),
    )
    pool_max_size: int = Field(
        default=10,
        ge=1,
        description=(
            "Most connections the database pool opens at once "
            "(env MENTOR_NOTIFY_POOL_MAX_SIZE); keep the sum over all workers below the "
            "server's connection limit."
        ),
    )

    supabase_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^/\s]+(/[^\s]*)?$",
        description=(
            "The Supabase project's URL, e.g. https://<ref>.supabase.co (env "
            "MENTOR_NOTIFY_SUPABASE_URL). `serve` verifies users' access tokens against the "
            "signing keys it publishes at <url>/auth/v1/.well-known/jwks.json (ES256 or "
            "RS256) and accepts only tokens issued by <url>/auth/v1."
        ),
    )
    jwt_secret: SecretStr | None = Field(
        default=None,
        description=(
            "The project's legacy JWT secret (env MENTOR_NOTIFY_JWT_SECRET), for a project "
            "that still signs sessions with it: `serve` then also accepts HS256 user tokens. "
            "Leave it unset once the project has moved to signing keys."
        ),
    )
    api_keys: SecretStr | None = Field(
        default=None,
        description=(
            "The API's own secret keys (env MENTOR_NOTIFY_API_KEYS), comma-separated, each "
            "at least 32 characters: a caller of the job endpoints sends one in the apikey "
            "header (or as the bearer token). Several at once let a key be rotated without "
            "downtime."
        ),
    )
    api_keys_vault_secret: str | None = Field(
        default=None,
        description=(
            "Name of a Supabase Vault secret holding the API's secret keys, comma- or "
            "newline-separated (env MENTOR_NOTIFY_API_KEYS_VAULT_SECRET); read by `serve` "
            "when it starts, in place of api_keys."
        ),
    )
    accept_legacy_service_role_jwt: bool = Field(
        default=False,
        description=(
            "Also accept the project's legacy service-role key (an HS256 JWT signed with "
            "jwt_secret) on the job endpoints (env "
            "MENTOR_NOTIFY_ACCEPT_LEGACY_SERVICE_ROLE_JWT); for the move to api_keys only, "
            "as Supabase retires its JWT-based API keys by the end of 2026."
        ),
    )
    api_host: str = Field(
        default="127.0.0.1",
        description="Address `serve` listens on (env MENTOR_NOTIFY_API_HOST).",
    )
    api_port: int = Field(
        default=8000,
        ge=1,
        le=65535,
        description="Port `serve` listens on (env MENTOR_NOTIFY_API_PORT).",
    )
    api_workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description=(
            "Processes `serve` runs on its one listening socket (env MENTOR_NOTIFY_API_WORKERS, "
            "or --workers); each has its own event loop, database pool (pool_max_size "
            "connections) and in-flight limit. About one per core."
        ),
    )
    api_max_body_bytes: int = Field(
        default=65536,
        ge=1024,
        description=(
            "Largest request body `serve` accepts, in bytes (env "
            "MENTOR_NOTIFY_API_MAX_BODY_BYTES). A larger one is answered 413 from its "
            "Content-Length before it is read, or as soon as a chunked body passes the limit."
        ),
    )
    api_max_in_flight: int = Field(
        default=16,
        ge=0,
        description=(
            "Requests one `serve` process works on at once (env "
            "MENTOR_NOTIFY_API_MAX_IN_FLIGHT); beyond it a request is answered 503 with "
            "Retry-After at once instead of queueing. Health checks and /metrics are never "
            "refused. About pool_max_size plus a few: more only wait, for a connection or "
            "for the CPU. 0: no limit."
        ),
    )
    api_health_timeout_seconds: float = Field(
        default=0.5,
        gt=0,
        le=30,
        description=(
            "How long /readyz and /healthz wait for the database before answering 503 "
            "(env MENTOR_NOTIFY_API_HEALTH_TIMEOUT_SECONDS)."
        ),
    )

    fcm_base_url: str = Field(
        default="https://fcm.googleapis.com",
        description=(
            "Base URL of FCM's HTTP v1 API (env MENTOR_NOTIFY_FCM_BASE_URL); point it at "
            "`push emulator` (http://127.0.0.1:8787) to test without Google."
        ),
    )
    fcm_project_id: str | None = Field(
        default=None,
        description=(
            "Firebase project id (env MENTOR_NOTIFY_FCM_PROJECT_ID). Default: the project_id "
            "of the service-account key."
        ),
    )
    fcm_credentials_file: Path | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "MENTOR_NOTIFY_FCM_CREDENTIALS_FILE", "GOOGLE_APPLICATION_CREDENTIALS"
        ),
        description=(
            "Service-account JSON key file for FCM (env MENTOR_NOTIFY_FCM_CREDENTIALS_FILE or "
            "GOOGLE_APPLICATION_CREDENTIALS). Without it (or fcm_credentials_json) FCM "
            "messages wait in the outbox."
        ),
    )
    fcm_credentials_json: SecretStr | None = Field(
        default=None,
        description=(
            "The service-account key as JSON text (env MENTOR_NOTIFY_FCM_CREDENTIALS_JSON), "
            "for hosts that pass secrets in the environment."
        ),
    )
    fcm_credentials_vault_secret: str | None = Field(
        default=None,
        description=(
            "Name of a Supabase Vault secret holding the service-account key (env "
            "MENTOR_NOTIFY_FCM_CREDENTIALS_VAULT_SECRET), read from vault.decrypted_secrets "
            "when running against Supabase."
        ),
    )
    apns_base_url: str = Field(
        default="https://api.push.apple.com",
        description=(
            "Base URL of the APNs provider API (env MENTOR_NOTIFY_APNS_BASE_URL); "
            "https://api.sandbox.push.apple.com for development builds, or the emulator."
        ),
    )
    apns_key_file: Path | None = Field(
        default=None,
        description="APNs signing key (.p8) file (env MENTOR_NOTIFY_APNS_KEY_FILE).",
    )
    apns_key: SecretStr | None = Field(
        default=None,
        description=(
            "The APNs signing key's PEM text (env MENTOR_NOTIFY_APNS_KEY), instead of a file."
        ),
    )
    apns_key_vault_secret: str | None = Field(
        default=None,
        description=(
            "Name of a Supabase Vault secret holding the APNs key's PEM text (env "
            "MENTOR_NOTIFY_APNS_KEY_VAULT_SECRET)."
        ),
    )
    apns_key_id: str | None = Field(
        default=None, description="Key id of the APNs signing key (env MENTOR_NOTIFY_APNS_KEY_ID)."
    )
    apns_team_id: str | None = Field(
        default=None, description="Apple developer team id (env MENTOR_NOTIFY_APNS_TEAM_ID)."
    )
    apns_topic: str | None = Field(
        default=None,
        description="The iOS app's bundle id, sent as apns-topic (env MENTOR_NOTIFY_APNS_TOPIC).",
    )
    push_max_attempts: int = Field(
        default=5,
        ge=1,
        le=100,
        description=(
            "Send attempts before a message that keeps failing retryably is dead "
            "(env MENTOR_NOTIFY_PUSH_MAX_ATTEMPTS); see `push dead` and `push retry`."
        ),
    )
    push_concurrency: int = Field(
        default=100,
        ge=1,
        le=1000,
        description=(
            "Sends in flight at once per dispatcher (env MENTOR_NOTIFY_PUSH_CONCURRENCY); "
            "they share the HTTP/2 connections to each push service, within the streams "
            "each connection's server allows."
        ),
    )
    push_connections: int = Field(
        default=4,
        ge=1,
        le=64,
        description=(
            "Most HTTP/2 connections per push service (env MENTOR_NOTIFY_PUSH_CONNECTIONS); "
            "another opens only when the open ones carry as many streams as the server allows."
        ),
    )
    push_ping_after_seconds: float = Field(
        default=30.0,
        gt=0,
        description=(
            "Seconds without a frame from a push service before its connection is checked "
            "with a PING (env MENTOR_NOTIFY_PUSH_PING_AFTER_SECONDS)."
        ),
    )
    push_ping_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description=(
            "Seconds a PING's answer may take before the connection counts as dead: it is "
            "closed and its sends retried (env MENTOR_NOTIFY_PUSH_PING_TIMEOUT_SECONDS)."
        ),
    )
    push_batch_size: int = Field(
        default=500,
        ge=1,
        le=10_000,
        description="Messages claimed per round (env MENTOR_NOTIFY_PUSH_BATCH_SIZE).",
    )
    # Short, so that a killed dispatcher's claims come back within seconds
    # (issue 25): a live one renews its leases every third of it, and its claims
    # are sized to what its send slots carry in that third (push/capacity.py).
    push_lease_seconds: int = Field(
        default=15,
        ge=5,
        description=(
            "How long a claimed message stays with its dispatcher (env "
            "MENTOR_NOTIFY_PUSH_LEASE_SECONDS); renewed every third of it while its "
            "sends are out, so a dead dispatcher's messages are claimed again after it."
        ),
    )

    @field_validator("fcm_base_url", "apns_base_url")
    @classmethod
    def _service_url(cls, url: str) -> str:
        return check_base_url(url)

    @model_validator(mode="after")
    def _pool_bounds_ordered(self) -> Self:
        if self.pool_max_size < self.pool_min_size:
            raise ValueError("pool_max_size must be at least pool_min_size")
        return self

    @property
    def auth_issuer(self) -> str | None:
        """The `iss` of the project's access tokens: its Supabase Auth URL."""
        return None if self.supabase_url is None else self.supabase_url.rstrip("/") + "/auth/v1"

    @property
    def jwks_url(self) -> str | None:
        """Where the project publishes its signing keys (JSON Web Key Set)."""
        issuer = self.auth_issuer
        return None if issuer is None else issuer + "/.well-known/jwks.json"

    @property
    def embedded_pgdata(self) -> Path:
        """Where the embedded PostgreSQL keeps its cluster inside `data_dir`."""
        return self.data_dir / "pgdata"
