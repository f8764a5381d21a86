"""The push payload is built in one place (issue 25): `private.push_payload` in
supabase/schemas/04_notifications_and_push.sql. No producer's SQL or Python (the
expiry sweep, the scenario engine, the claim's digest) writes a payload's keys
itself; reading them (the senders, the digest reading its carrier's title) is fine."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OWNER = ROOT / "supabase" / "schemas" / "04_notifications_and_push.sql"
# A payload's translation key written as a key of a JSON object being built: the
# name then a comma (SQL's jsonb_build_object) or a colon (a Python or JSON
# literal). A key read (`->> 'title_key',`, `payload["title_key"]`) is not.
BUILDS_A_PAYLOAD = re.compile(r"(->>?\s*)?['\"](title_key|body_key)['\"]\s*[,:]")


def builders(path: Path) -> list[str]:
    """The payload keys `path` writes itself."""
    return [
        match.group(2)
        for match in BUILDS_A_PAYLOAD.finditer(path.read_text(encoding="utf-8"))
        if match.group(1) is None
    ]


def test_only_private_push_payload_builds_a_push_payload() -> None:
    sources = [
        *(ROOT / "src").rglob("*.sql"),
        *(ROOT / "src").rglob("*.py"),
        *(ROOT / "supabase" / "schemas").glob("*.sql"),
    ]
    found = {str(path.relative_to(ROOT)): keys for path in sources if (keys := builders(path))}

    assert len(sources) > 50
    # The owner writes each key once: in private.push_payload.
    assert found == {str(OWNER.relative_to(ROOT)): ["title_key", "body_key"]}
