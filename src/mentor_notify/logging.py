"""Structured logging for every component (structlog).

Logs go to stderr, leaving stdout to command output (`--json` results), as
JSON lines for machines or coloured key=value lines for people. Log ids,
codes and tiers; never names, e-mail addresses or phone numbers.
"""

import logging
import sys
from typing import Any

import structlog
from structlog.typing import Processor

from mentor_notify.config import LogFormat, LogLevel


def configure_logging(level: LogLevel = "info", fmt: LogFormat = "auto") -> None:
    """Configure structlog process-wide.

    `fmt="auto"` picks console output when stderr (where logs go) is a
    terminal, and JSON otherwise (cron, containers, pipes).
    """
    as_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    processors: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if as_json:
        processors += [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    else:
        processors.append(structlog.dev.ConsoleRenderer())
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )


def _stderr_logger(*_args: Any) -> structlog.PrintLogger:
    # Looked up per call rather than bound once, so logging follows sys.stderr
    # when it is swapped (test runners capturing output, CliRunner).
    return structlog.PrintLogger(sys.stderr)
