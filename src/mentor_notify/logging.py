"""Structured logging for every component (structlog).

Logs go to stderr, leaving stdout to command output (`--json` results), as
JSON lines for machines or coloured key=value lines for people. Log ids,
codes and tiers; never names, e-mail addresses or phone numbers.

Everything else that writes log lines goes the same way: the standard
library's `logging` (psycopg and its pool, uvicorn, httpx, ...) and Python's
`warnings`, so stderr holds nothing but log entries in the configured format.
"""

import logging
import sys
import warnings
from typing import Any, TextIO

import structlog
from structlog.typing import Processor

from mentor_notify.config import LogFormat, LogLevel


def configure_logging(level: LogLevel = "info", fmt: LogFormat = "auto") -> None:
    """Configure structlog process-wide, and route `logging` and `warnings` through it.

    `fmt="auto"` picks console output when stderr (where logs go) is a
    terminal, and JSON otherwise (cron, containers, pipes). Safe to call
    again: the previous configuration is replaced, not added to.
    """
    as_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    numeric_level = logging.getLevelNamesMapping()[level.upper()]
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    )
    finishing: list[Processor] = [structlog.processors.format_exc_info] if as_json else []
    structlog.configure(
        processors=[*shared, *finishing, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
    _route_standard_logging(numeric_level, shared, finishing, renderer)
    warnings.showwarning = _log_warning


def _route_standard_logging(
    level: int, shared: list[Processor], finishing: list[Processor], renderer: Processor
) -> None:
    """One root handler that renders every stdlib record as structlog renders its own."""
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name, *finishing],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = _StderrHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    # Replace the handler an earlier call installed (commands and tests configure
    # again); leave handlers others added (a test runner's capture) alone.
    for old in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
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
