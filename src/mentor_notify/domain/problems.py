"""Validation problems in words: where each one is, and all of them on one line.

The Python API, the HTTP API and the certificate sync all report pydantic's
findings to people; they name a field the same way, by its dotted path.
"""

from collections.abc import Collection, Iterable, Mapping
from typing import Any


def problem_path(error: Mapping[str, Any], whole: str, skip: Collection[object] = ()) -> str:
    """The dotted field path of one pydantic error (`loc`), leaving out the parts in
    `skip`; `whole` when the error is about the value as a whole."""
    return ".".join(str(p) for p in error.get("loc", ()) if p not in skip) or whole


def describe_problems(
    errors: Iterable[Mapping[str, Any]], whole: str, skip: Collection[object] = ()
) -> str:
    """Every error as `path: message`, joined into one line."""
    return "; ".join(f"{problem_path(e, whole, skip)}: {e.get('msg')}" for e in errors)
