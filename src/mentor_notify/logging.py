"""Structured logging for every component (structlog).

Logs go to stderr, leaving stdout to command output (`--json` results), as
JSON lines for machines or coloured key=value lines for people. Log ids,
codes and tiers; never names, e-mail addresses or phone numbers.

For people (a terminal) the lines are printed through the rich console the
progress bars draw on, so they appear above a live bar instead of through it,
and a command can keep them to warnings and errors (`terse_console`) so that its
progress and results tell the story; `-v` shows the rest. For machines (a pipe,
a file, a service manager) they stay JSON at the configured level.

Everything else that writes log lines goes the same way: the standard
library's `logging` (psycopg and its pool, uvicorn, httpx, ...) and Python's
`warnings`, so stderr holds nothing but log entries in the configured format.
"""

from __future__ import annotations

import logging
import sys
import warnings
from typing import TYPE_CHECKING, Any, TextIO

import structlog
from structlog.typing import Processor

from mentor_notify.config import LogFormat, LogLevel

if TYPE_CHECKING:
    from rich.console import Console


def configure_logging(
    level: LogLevel = "info",
    fmt: LogFormat = "auto",
    *,
    terse_console: bool = False,
    console: Console | None = None,
) -> None:
    """Configure structlog process-wide, and route `logging` and `warnings` through it.

    `fmt="auto"` picks console output when stderr (where logs go) is a
    terminal, and JSON otherwise (cron, containers, pipes). Console output is
    printed through `console` (by default a new one on stderr): the console a
    progress bar draws on, so that entries appear above the bar. With
    `terse_console`, console output holds warnings and errors only. Safe to call
    again: the previous configuration is replaced, not added to.
    """
    as_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    numeric_level = logging.getLevelNamesMapping()[level.upper()]
    if terse_console and not as_json:
        numeric_level = max(numeric_level, logging.WARNING)
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    )
    finishing: list[Processor] = [structlog.processors.format_exc_info] if as_json else []
    people = None if as_json else _ConsoleLines(console)
    structlog.configure(
        processors=[*shared, *finishing, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=_stderr_logger if people is None else people.logger,
        cache_logger_on_first_use=False,
    )
    handler = _StderrHandler() if people is None else _ConsoleHandler(people)
    _route_standard_logging(handler, numeric_level, shared, finishing, renderer)
    warnings.showwarning = _log_warning


def _route_standard_logging(
    handler: logging.Handler,
    level: int,
    shared: list[Processor],
    finishing: list[Processor],
    renderer: Processor,
) -> None:
    """One root handler that renders every stdlib record as structlog renders its own."""
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name, *finishing],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler.setFormatter(formatter)
    root = logging.getLogger()
    # Replace the handler an earlier call installed (commands and tests configure
    # again); leave handlers others added (a test runner's capture) alone.
    for old in [h for h in root.handlers if isinstance(h, _StderrHandler | _ConsoleHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    # Other libraries' info lines are their chatter (httpx logs every request),
    # not this program's events: only their warnings and errors are logged,
    # unless everything is asked for (debug).
    root.setLevel(level if level <= logging.DEBUG else max(level, logging.WARNING))


class _StderrHandler(logging.StreamHandler[TextIO]):
    """A stream handler on whatever `sys.stderr` is at the moment it writes."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        # Looked up per record, like the structlog loggers below, so records
        # follow sys.stderr when a test runner or CliRunner swaps it.
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


class _ConsoleLines:
    """Rendered console lines, printed through a rich console: above its live display
    (a progress bar) when one is running, instead of through it."""

    def __init__(self, console: Console | None) -> None:
        from rich.console import Console

        self._console = console or Console(stderr=True)

    def print(self, line: str) -> None:
        from rich.text import Text

        # The renderer's colours arrive as ANSI codes; rich keeps them (and drops them
        # where the console has no colours). soft_wrap: a long entry stays one line.
        self._console.print(Text.from_ansi(line), soft_wrap=True, highlight=False)

    def logger(self, *_args: Any) -> _ConsoleLogger:
        """structlog's logger factory."""
        return _ConsoleLogger(self)


class _ConsoleLogger:
    """The structlog logger for people: every level prints its rendered line."""

    def __init__(self, lines: _ConsoleLines) -> None:
        self._lines = lines

    def msg(self, message: str) -> None:
        self._lines.print(message)

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


class _ConsoleHandler(logging.Handler):
    """The root handler for people: other libraries' records printed like ours."""

    def __init__(self, lines: _ConsoleLines) -> None:
        super().__init__()
        self._lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._lines.print(self.format(record))
        except Exception:
            self.handleError(record)


def _log_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    # Replaces warnings.showwarning, which would print two plain-text lines.
    structlog.get_logger("py.warnings").warning(
        str(message), category=category.__name__, filename=filename, lineno=lineno
    )


def _stderr_logger(*_args: Any) -> structlog.PrintLogger:
    # Looked up per call rather than bound once, so logging follows sys.stderr
    # when it is swapped (test runners capturing output, CliRunner).
    return structlog.PrintLogger(sys.stderr)
