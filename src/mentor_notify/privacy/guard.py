"""Recognising personal data that must never be stored in notification metadata.

Three kinds are recognised, in any string value, object key or integer of a
JSON-like value:

- Norwegian national identity numbers: fødselsnummer, D-number (40 added to
  the day) and H-number (40 added to the month), 11 digits, optionally written
  with a space after the date. A number counts only when its date part is a
  possible date and its check digits are right: the first control digit under
  today's rule (weighted sum divisible by 11) or under the rule for numbers
  issued from 2032 (remainder 0, 1, 2 or 3), and the second control digit under
  the unchanged rule. So an 11-digit number with wrong check digits passes.
- E-mail addresses.
- Phone numbers: Norwegian 8-digit numbers with a +47 or 0047 prefix, written
  in the usual groups (`22 33 44 55`, `912 34 567`), or bare when they start
  with 4 or 9 (mobile numbers); and international numbers written with a `+`
  and 7-15 digits.

Digits that touch letters, other digits or hyphens (UUIDs, ISO dates, hashes)
are not candidates. The database runs the same rules in
`private.contains_personal_data(jsonb)` (supabase/schemas/02_privacy_guard.sql), which a
CHECK constraint applies; tests hold the two to the same examples.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

PersonalDataKind = Literal["national identity number", "e-mail address", "phone number"]

_EDGE_BEFORE = r"(?<![0-9A-Za-z-])"
_EDGE_AFTER = r"(?![0-9A-Za-z-])"
_IDENTITY = re.compile(_EDGE_BEFORE + r"([0-9]{6}) ?([0-9]{5})" + _EDGE_AFTER)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_PHONE_PATTERNS = (
    # +47 / 0047 and eight digits, grouped or not
    re.compile(_EDGE_BEFORE + r"(?:\+|00)47[ ]?[2-9][0-9](?:[ ]?[0-9]){6}" + _EDGE_AFTER),
    # Norwegian groupings without prefix: 22 33 44 55 and 912 34 567
    re.compile(_EDGE_BEFORE + r"[2-9][0-9] [0-9]{2} [0-9]{2} [0-9]{2}" + _EDGE_AFTER),
    re.compile(_EDGE_BEFORE + r"[2-9][0-9]{2} [0-9]{2} [0-9]{3}" + _EDGE_AFTER),
    # bare mobile numbers
    re.compile(_EDGE_BEFORE + r"[49][0-9]{7}" + _EDGE_AFTER),
    # international: + and 7-15 digits with spaces, dots, hyphens or brackets between
    re.compile(r"(?<![0-9A-Za-z+])\+[1-9](?:[ .()-]{0,2}[0-9]){6,14}" + _EDGE_AFTER),
)
_FIRST_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2, 1)
_SECOND_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


@dataclass(frozen=True)
class PersonalDataFinding:
    """Where personal data was found (a path like `metadata.contact[0]`) and what kind."""

    path: str
    kind: PersonalDataKind


class PersonalDataError(ValueError):
    """A value holds personal data; the message names the field, never the value."""

    def __init__(self, findings: list[PersonalDataFinding]) -> None:
        self.findings = findings
        parts = "; ".join(
            f"{f.path} holds what looks like {'an' if f.kind[0] == 'e' else 'a'} {f.kind}"
            for f in findings
        )
        super().__init__(
            f"{parts}: notification metadata may hold ids, codes and counts only, "
            "never personal data"
        )


def is_national_identity_number(digits: str) -> bool:
    """True for an 11-digit fødselsnummer, D-number or H-number with valid check digits."""
    if len(digits) != 11 or not digits.isascii() or not digits.isdigit():
        return False
    d = [int(c) for c in digits]
    day = d[0] * 10 + d[1]
    month = d[2] * 10 + d[3]
    if day > 40:  # D-number
        day -= 40
    if month > 40:  # H-number
        month -= 40
    if not (1 <= month <= 12 and 1 <= day <= _DAYS_IN_MONTH[month - 1]):
        return False
    first = sum(w * x for w, x in zip(_FIRST_WEIGHTS, d[:10], strict=True)) % 11
    second = sum(w * x for w, x in zip(_SECOND_WEIGHTS, d, strict=True)) % 11
    # Today's rule needs remainder 0; numbers issued from 2032 may have 0-3.
    return first in (0, 1, 2, 3) and second == 0


def _scan_text(text: str) -> Iterator[PersonalDataKind]:
    for match in _IDENTITY.finditer(text):
        if is_national_identity_number(match[1] + match[2]):
            yield "national identity number"
            break
    if _EMAIL.search(text):
        yield "e-mail address"
    if any(pattern.search(text) for pattern in _PHONE_PATTERNS):
        yield "phone number"


def find_personal_data(value: object, path: str = "metadata") -> list[PersonalDataFinding]:
    """Every place in a JSON-like value (dicts, lists, strings, numbers) holding personal data."""
    findings: list[PersonalDataFinding] = []
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}"
            findings += [PersonalDataFinding(child, k) for k in _scan_text(str(key))]
            findings += find_personal_data(item, child)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            findings += find_personal_data(item, f"{path}[{index}]")
    elif isinstance(value, str):
        findings += [PersonalDataFinding(path, k) for k in _scan_text(value)]
    elif isinstance(value, int) and not isinstance(value, bool):
        findings += [PersonalDataFinding(path, k) for k in _scan_text(str(value))]
    return findings


def ensure_no_personal_data(value: object, field: str = "metadata") -> None:
    """Raise `PersonalDataError` naming each offending field if `value` holds personal data."""
    findings = find_personal_data(value, field)
    if findings:
        raise PersonalDataError(findings)
