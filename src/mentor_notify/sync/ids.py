"""External ids are ids: the personal-data guard the notifications use, applied to
the person id a membership system sends (an e-mail address, a phone number or a
national identity number in its place is not kept; the event is dead-lettered)."""

from mentor_notify.privacy.guard import find_personal_data


def personal_data_problem(person_id: str | None, where: str) -> str | None:
    """Why `person_id` (sent in `where`) cannot be kept, or None if it is an id."""
    findings = [] if person_id is None else find_personal_data(person_id, where)
    if not findings:
        return None
    kinds = " and ".join(sorted({f.kind for f in findings}))
    return (
        f"the external person id in {where} looks like personal data ({kinds}), not an id; "
        "it was not kept: send the holder's id in the membership system instead"
    )
