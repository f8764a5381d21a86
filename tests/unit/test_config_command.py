"""`mentor-notify config`: every setting shown, secrets never."""

import json

import pytest
from typer.testing import CliRunner

from mentor_notify.cli import app
from mentor_notify.config import Settings

runner = CliRunner()


def test_every_setting_is_listed_with_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MENTOR_NOTIFY_LOG_LEVEL", "warning")

    result = runner.invoke(app, ["config", "--json"])

    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert set(rows) == set(Settings.model_fields)
    assert rows["log_level"] == {
        "name": "log_level",
        "env": "MENTOR_NOTIFY_LOG_LEVEL",
        "value": "warning",
        "description": Settings.model_fields["log_level"].description,
    }
    assert rows["database_url"]["env"] == "DATABASE_URL"
    assert all(row["description"] for row in rows.values())


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql://postgres:hunter2@db.abc.supabase.co:5432/postgres",
            "postgresql://postgres:********@db.abc.supabase.co:5432/postgres",
        ),
        (
            "postgresql://postgres@127.0.0.1:5432/postgres",
            "postgresql://postgres@127.0.0.1:5432/postgres",
        ),
        ("host=db.example password=hunter2 user=app", "user=app password=******** host=db.example"),
    ],
)
def test_database_passwords_are_masked(
    monkeypatch: pytest.MonkeyPatch, url: str, shown: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)

    from_env = runner.invoke(app, ["config", "--json"])
    from_option = runner.invoke(app, ["--database-url", url, "config"])

    rows = {row["name"]: row for row in json.loads(from_env.stdout)}
    assert rows["database_url"]["value"] == shown
    assert "hunter2" not in from_env.output
    assert from_option.exit_code == 0
    assert "hunter2" not in from_option.output


def test_api_keys_are_shown_by_fingerprint_and_the_signing_key_url_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = "a" * 40, "b" * 40
    monkeypatch.setenv("MENTOR_NOTIFY_API_KEYS", f"{first},{second}")
    monkeypatch.setenv("MENTOR_NOTIFY_SUPABASE_URL", "https://abc.supabase.co/")

    as_json = runner.invoke(app, ["config", "--json"])
    as_table = runner.invoke(app, ["config"])

    rows = {row["name"]: row for row in json.loads(as_json.stdout)}
    assert rows["api_keys"]["value"].startswith("2 key(s): sha256:")
    assert rows["supabase_url"]["derived"] == {
        "jwks_url": "https://abc.supabase.co/auth/v1/.well-known/jwks.json",
        "issuer": "https://abc.supabase.co/auth/v1",
    }
    assert "https://abc.supabase.co/auth/v1/.well-known/jwks.json" in as_table.output
    for output in (as_json.output, as_table.output):
        assert first not in output
        assert second not in output
