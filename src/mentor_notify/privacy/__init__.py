"""Keeping personal data out of notification metadata."""

from mentor_notify.privacy.guard import (
    PersonalDataError,
    PersonalDataFinding,
    ensure_no_personal_data,
    find_personal_data,
    is_national_identity_number,
)

__all__ = [
    "PersonalDataError",
    "PersonalDataFinding",
    "ensure_no_personal_data",
    "find_personal_data",
    "is_national_identity_number",
]
