"""Progress output of long commands: a bar per step on a terminal, plain lines on
stderr elsewhere, nothing with --json."""

import io
import re

import pytest
from rich.console import Console

from mentor_notify.commands import common
from mentor_notify.commands.progress import StepProgress


def run_steps(monkeypatch: pytest.MonkeyPatch, *, terminal: bool, quiet: bool = False) -> str:
    out = io.StringIO()
    console = Console(file=out, force_terminal=terminal, width=100, color_system=None)
    monkeypatch.setattr(common, "stderr", lambda: console)
    with StepProgress(quiet=quiet) as progress:
        progress.step("expiry", "running", 2)
        progress.advance("expiry", "hlf")
        progress.advance("expiry", "nhf")
        progress.step("expiry", "done")
        progress.step("scenarios", "running")
        progress.step("scenarios", "failed")
    return out.getvalue()


def test_a_terminal_gets_a_bar_per_step(monkeypatch: pytest.MonkeyPatch) -> None:
    shown = run_steps(monkeypatch, terminal=True)
    # The bars as last drawn (kept on screen), without the cursor controls.
    final = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown.rsplit("\r", 1)[-1])
    bars = [line.split() for line in final.splitlines() if line.strip()]

    assert "0/2" in shown  # the sweep's bar knows its organisations from the start
    assert [bar[0] for bar in bars] == ["expiry", "scenarios"]
    assert "2/2" in bars[0]
    assert "(failed)" in bars[1]


def test_elsewhere_each_change_is_a_line(monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_steps(monkeypatch, terminal=False).splitlines() == [
        "expiry: running",
        "expiry: done",
        "scenarios: running",
        "scenarios: failed",
    ]


def test_json_output_gets_no_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_steps(monkeypatch, terminal=True, quiet=True) == ""
