"""Examples the privacy guard must catch or let through, shared by the Python
tests and the database tests so the two implementations cannot drift."""

from datetime import date

_FIRST = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_SECOND = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def identity_number(
    born: date,
    individual: int,
    *,
    d_number: bool = False,
    h_number: bool = False,
    remainder_2032: int = 0,
) -> str | None:
    """Build an identity number the way the register issues it (textbook steps:
    control digit = 11 - weighted sum mod 11), or None when that individual
    number cannot be issued on that day (a control digit would be 10).
    `remainder_2032` > 0 builds a number valid only under the 2032 rule."""
    day = born.day + (40 if d_number else 0)
    month = born.month + (40 if h_number else 0)
    digits = [int(c) for c in f"{day:02d}{month:02d}{born.year % 100:02d}{individual:03d}"]
    k1 = (11 - (sum(w * x for w, x in zip(_FIRST, digits, strict=True)) - remainder_2032) % 11) % 11
    if k1 == 10:
        return None
    digits.append(k1)
    k2 = (11 - sum(w * x for w, x in zip(_SECOND, digits, strict=True)) % 11) % 11
    if k2 == 10:
        return None
    return "".join(map(str, digits)) + str(k2)


def _first_issuable(born: date, **kwargs: bool | int) -> str:
    for individual in range(100, 1000):
        number = identity_number(born, individual, **kwargs)  # type: ignore[arg-type]
        if number is not None:
            return number
    raise AssertionError("no issuable number")


FNR = "02016126007"  # the worked example of matematikk.org
FNR_2 = "31129956715"  # the worked example of fnrinfo.no
D_NUMBER = _first_issuable(date(1985, 7, 14), d_number=True)
H_NUMBER = _first_issuable(date(1990, 3, 5), h_number=True)
FNR_2032 = _first_issuable(date(2032, 2, 29), remainder_2032=2)

# (value, kind the Python guard reports)
MUST_FLAG: list[tuple[str, str]] = [
    (FNR, "national identity number"),
    (FNR_2, "national identity number"),
    ("020161 26007", "national identity number"),
    (f"fnr: {D_NUMBER}.", "national identity number"),
    (H_NUMBER, "national identity number"),
    (FNR_2032, "national identity number"),
    ("ola.nordmann@example.org", "e-mail address"),
    ("Contact: kari+hlf@mail.example.no", "e-mail address"),
    ("+47 912 34 567", "phone number"),
    ("+4791234567", "phone number"),
    ("0047 22 33 44 55", "phone number"),
    ("004791234567", "phone number"),
    ("22 33 44 55", "phone number"),
    ("912 34 567", "phone number"),
    ("91234567", "phone number"),
    ("call 41234567 today", "phone number"),
    ("+1 (415) 555-0100", "phone number"),
    ("+44 20 7946 0958", "phone number"),
    ("+46 8 123 456 78", "phone number"),
]

# near misses that are not personal data
MUST_PASS: list[str] = [
    "3fa85f64-5717-4562-b3fc-2c963f66afa6",  # a UUID
    "c0000000-0000-4000-8000-000000001234",
    "2026-11-22",  # dates
    "20261122",
    "2026-11-22T08:00:00+01:00",
    "02016126008",  # 11 digits, wrong second control digit
    "12345678901",  # 11 digits, wrong check digits
    "32016126007",  # check digits aside, day 32 is no date
    "12345678",  # 8 digits, no Norwegian mobile number
    "expiry_warning_30d",
    "certification.expiry.warning_7d",
    "mentornotify://v1/certifications/50000000-0000-4000-8000-000000001011/renew",
    "a3f1e0c9b2d48a7e6f5c4b3a2918d7e6f5c4b3a2918d7e6f5c4b3a2918d7e6f5",  # a sha256
    "@hlf",  # a handle, not an address
    "+47",
]
