"""Settings come from the environment, with documented defaults."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from mentor_notify.config import Settings
from mentor_notify.db import resolve_database_url

ENV_VARS = (
    "DATABASE_URL",
    "MENTOR_NOTIFY_DATA_DIR",
    "MENTOR_NOTIFY_SUPABASE_DIR",
    "MENTOR_NOTIFY_LOG_FORMAT",
    "MENTOR_NOTIFY_LOG_LEVEL",
    "MENTOR_NOTIFY_POOL_MIN_SIZE",
    "MENTOR_NOTIFY_POOL_MAX_SIZE",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


def test_defaults() -> None:
    settings = Settings()

    assert settings.database_url is None
    assert settings.data_dir.name == "mentor-notify"
    assert settings.embedded_pgdata == settings.data_dir / "pgdata"
    assert settings.supabase_dir is None
    assert (settings.log_format, settings.log_level) == ("auto", "info")
    assert (settings.pool_min_size, settings.pool_max_size) == (1, 10)


def test_environment_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.example/app")
    monkeypatch.setenv("MENTOR_NOTIFY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MENTOR_NOTIFY_LOG_FORMAT", "json")
    monkeypatch.setenv("MENTOR_NOTIFY_POOL_MAX_SIZE", "3")

    settings = Settings()

    assert settings.database_url == "postgresql://db.example/app"
    assert settings.data_dir == tmp_path
    assert settings.log_format == "json"
    assert settings.pool_max_size == 3


def test_every_setting_is_documented() -> None:
    assert all(field.description for field in Settings.model_fields.values())


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MENTOR_NOTIFY_LOG_FORMAT": "xml"}, "log_format"),
        ({"MENTOR_NOTIFY_POOL_MIN_SIZE": "5", "MENTOR_NOTIFY_POOL_MAX_SIZE": "2"}, "at least"),
        ({"MENTOR_NOTIFY_PUSH_CONNECTIONS": "0"}, "push_connections"),
        ({"MENTOR_NOTIFY_PUSH_PING_TIMEOUT_SECONDS": "0"}, "push_ping_timeout_seconds"),
    ],
)
def test_invalid_values_are_rejected(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(ValidationError, match=message):
        Settings()


def test_explicit_url_beats_environment_which_beats_embedded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert resolve_database_url(Settings()) is None
    monkeypatch.setenv("DATABASE_URL", "postgresql://from-env/db")
    assert resolve_database_url(Settings()) == "postgresql://from-env/db"
    assert (
        resolve_database_url(Settings(), "postgresql://explicit/db") == "postgresql://explicit/db"
    )


def test_every_setting_is_in_the_configuration_page_with_its_default() -> None:
    page = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
    rows = [line for line in page.read_text(encoding="utf-8").splitlines() if line.startswith("| ")]
    for name, field in Settings.model_fields.items():
        variable = "DATABASE_URL" if name == "database_url" else f"MENTOR_NOTIFY_{name.upper()}"
        [row] = [r for r in rows if f"`{variable}`" in r] or [None]
        assert row is not None, (
            f"{variable} is not in the configuration table of docs/configuration.md"
        )
        default = field.default
        if isinstance(default, int | str) and not isinstance(default, bool):
            assert f"`{default}`" in row, f"{variable}: default {default!r} not in {row!r}"
