"""Idempotency keys: deterministic, PII-free, enforced by unique indexes.

Every key is the lowercase hex SHA-256 of its parts joined by `|`. The parts
are ids (UUIDs in canonical lowercase form), tier codes and ISO dates, never
names or contact details, and the hash hides even those. Where SQL must derive
a key for a whole set (a push per device, found in SQL when it is sent; the
scenario delivery)
it calls `private.idempotency_key` (supabase/schemas/08_rule_functions.sql), the same
function as `idempotency_key` here; tests/integration/test_rule_functions.py
holds the two equal. The expiry job derives its notices' keys in SQL with
`private.expiry_notification_key` and `private.cert_log_key` (migration
20261206000200), held equal to the two below by the same test.

* Expiry notification (`notifications.idempotency_key`):
  `certification_expiry | certification id | tier | expiry date | recipient id`.
  The expiry date is the cycle: a renewal brings a new date and so new keys,
  while re-runs on any day of the same window produce the same key.
* Expiry log (`cert_notification_log.idempotency_key`):
  `certification id | tier | expiry date | recipient id`.
* Push to a device: `push notice id | device token id` (the carrier notice of
  the push, `push_notices.id`); derived by the claim (push/sql/resolve.sql) and
  sent to the push services, the same on every retry, so a receiver can drop
  a duplicate.
"""

import hashlib
from datetime import date
from uuid import UUID

from mentor_notify.domain.tiers import Tier


def idempotency_key(*parts: str | UUID | date) -> str:
    """SHA-256 (hex) of the parts, as text, joined by `|`."""
    return _sha256(_joined(parts))


def expiry_notice_keys(
    certification_id: UUID, tier: Tier, expiry_date: date, recipient_id: UUID
) -> tuple[str, str]:
    """The notification key and the log key of one notice, from one text of their
    shared parts (both are needed for every notice)."""
    shared = _joined((certification_id, tier.value, expiry_date, recipient_id))
    return _sha256(f"certification_expiry|{shared}"), _sha256(shared)


def expiry_notification_key(
    certification_id: UUID, tier: Tier, expiry_date: date, recipient_id: UUID
) -> str:
    """Key of the in-app notice about one certificate's tier for one recipient."""
    return expiry_notice_keys(certification_id, tier, expiry_date, recipient_id)[0]


def cert_log_key(certification_id: UUID, tier: Tier, expiry_date: date, recipient_id: UUID) -> str:
    """Key of the `cert_notification_log` row for the same notice."""
    return expiry_notice_keys(certification_id, tier, expiry_date, recipient_id)[1]


def push_key(notice_id: UUID, device_token_id: UUID) -> str:
    """Key of one push (its carrier notice) to one device."""
    return idempotency_key(notice_id, device_token_id)


def _joined(parts: tuple[str | UUID | date, ...]) -> str:
    return "|".join([p.isoformat() if isinstance(p, date) else str(p) for p in parts])


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
