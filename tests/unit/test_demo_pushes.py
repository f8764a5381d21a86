"""The demo's per-person line: the one push a person got, and what it summarised."""

from uuid import uuid4

from mentor_notify.commands.demo import _pushes
from mentor_notify.demo.cycle import Received


def _notice(
    key: str, *, about: str = "Kari", sent: int = 0, folded: bool = False, role: str = "coordinator"
) -> Received:
    return Received(
        id=uuid4(),
        organisation="hlf",
        recipient="Per",
        role=role,
        about=about,
        message_key=key,
        pushes_sent=sent,
        pushes_waiting=0,
        pushes_not_sent=0,
        folded=folded,
    )


def test_a_digest_names_its_title_and_counts_what_it_carried() -> None:
    rows = [
        _notice("certification_expiry.coordinator.expired", about="Ola", sent=2),
        _notice("certification_expiry.coordinator.expiry_warning_90d", folded=True),
        _notice("certification_expiry.coordinator.expiry_warning_90d", about="Liv", folded=True),
    ]

    assert _pushes(rows).splitlines() == [
        "1 push to 2 devices: Ola: certificate lapsed",
        "a digest of 3: 2 expires in 90 days, 1 certificate lapsed",
    ]


def test_a_single_notice_is_its_own_push_and_no_device_is_said() -> None:
    single = [_notice("scenario.inactivity.nudge", role="mentor", sent=1)]
    nothing = [_notice("scenario.inactivity.nudge", role="mentor")]

    assert _pushes(single) == "1 push to 1 device: follow-up: we miss you"
    assert _pushes(nothing) == "no push (no device)"
