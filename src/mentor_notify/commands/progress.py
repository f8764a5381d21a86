"""Progress output for long commands: bars on a terminal, plain lines elsewhere."""

from types import TracebackType

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from mentor_notify.commands import common


def progress_bars(*, transient: bool = True) -> Progress:
    """Bars on stderr, so the result on stdout stays clean for pipes."""
    return Progress(
        SpinnerColumn(finished_text=" "),
        TextColumn("{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=common.stderr(),
        transient=transient,
    )


class StepProgress:
    """One bar per step of a multi-step job; a step's bar advances per organisation
    when the step reports them. Off a terminal each change is a line on stderr;
    `quiet` (for --json) prints nothing."""

    def __init__(self, *, quiet: bool = False) -> None:
        """Bars when stderr is a terminal and not `quiet`."""
        self._quiet = quiet
        self._bars = progress_bars(transient=False) if common.stderr().is_terminal else None
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> "StepProgress":
        if self._bars is not None and not self._quiet:
            self._bars.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._bars is not None and not self._quiet:
            self._bars.stop()

    def step(self, name: str, state: str, total: int | None = None) -> None:
        """A step is `running` (with `total` parts when known), `done` or `failed`."""
        if self._quiet:
            return
        if self._bars is None:
            common.stderr().print(f"{name}: {state}", highlight=False)
            return
        if state == "running":
            self._tasks[name] = self._bars.add_task(name, total=total)
            return
        task = self._tasks[name]
        finished = self._bars.tasks[task].total or 1
        label = name if state == "done" else f"{name} (failed)"
        self._bars.update(task, total=finished, completed=finished, description=label)

    def advance(self, name: str, what: str) -> None:
        """One more part of step `name` is done (`what`: e.g. the organisation)."""
        if self._quiet or self._bars is None or name not in self._tasks:
            return
        self._bars.update(self._tasks[name], advance=1, description=f"{name}: {what}")
