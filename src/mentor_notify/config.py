"""Settings read from the environment.

Every setting has one environment variable. `DATABASE_URL` keeps its
conventional unprefixed name (the one Supabase, Heroku-style hosts and most
tools use); all others are prefixed `MENTOR_NOTIFY_`.
"""

from pathlib import Path
from typing import Literal, Self

import platformdirs
from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LogFormat = Literal["auto", "json", "console"]
LogLevel = Literal["debug", "info", "warning", "error"]


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

    jwt_secret: SecretStr | None = Field(
        default=None,
        description=(
            "The Supabase project's JWT secret (env MENTOR_NOTIFY_JWT_SECRET), used by "
            "`serve` to verify bearer tokens: the service-role key for the job endpoints, a "
            "user's access token for device-token registration. Without it `serve` refuses "
            "to start."
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

    @model_validator(mode="after")
    def _pool_bounds_ordered(self) -> Self:
        if self.pool_max_size < self.pool_min_size:
            raise ValueError("pool_max_size must be at least pool_min_size")
        return self

    @property
    def embedded_pgdata(self) -> Path:
        """Where the embedded PostgreSQL keeps its cluster inside `data_dir`."""
        return self.data_dir / "pgdata"
