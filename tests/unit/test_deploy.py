"""The deployment files name commands and options that exist, and every variable of
the example environment is a setting the program reads."""

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mentor_notify.cli import app
from mentor_notify.config import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@pytest.mark.parametrize("unit", ["mentor-notify-worker.service", "mentor-notify-api.service"])
def test_the_units_start_a_command_that_accepts_its_options(unit: str) -> None:
    text = (DEPLOY / unit).read_text(encoding="utf-8")
    [exec_start] = re.findall(r"^ExecStart=(.+)$", text, re.MULTILINE)
    program, *arguments = shlex.split(exec_start)

    result = CliRunner().invoke(app, [*arguments, "--help"])

    assert program.endswith("/.venv/bin/mentor-notify")
    assert result.exit_code == 0, result.output
    assert "EnvironmentFile=/etc/mentor-notify.env" in text
    assert "KillSignal=SIGTERM" in text


def test_the_example_environment_names_only_real_settings() -> None:
    text = (DEPLOY / "mentor-notify.env.example").read_text(encoding="utf-8")
    names = re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, re.MULTILINE)
    known = {"DATABASE_URL"}
    for name, field in Settings.model_fields.items():
        known.add(f"MENTOR_NOTIFY_{name.upper()}")
        if isinstance(field.validation_alias, str):
            known.add(field.validation_alias)

    assert len(names) >= 8
    assert set(names) <= known, set(names) - known
