"""Pure domain logic: no I/O, no wall clock. Real time comes from an injected `Clock`;
the business moment a job decides for is an explicit `AsOf`."""

from mentor_notify.domain.clock import (
    BUSINESS_DATE_MAX_YEARS,
    AsOf,
    Clock,
    FarBusinessDate,
    FixedClock,
    SystemClock,
    business_date_bounds,
    check_business_date,
    local_today,
)
from mentor_notify.domain.deep_links import (
    DEEP_LINK_SCHEME,
    DEEP_LINK_VERSION,
    DeepLink,
    coordinator_follow_up_link,
    parse_deep_link,
    renewal_link,
)
from mentor_notify.domain.keys import (
    cert_log_key,
    expiry_notice_keys,
    expiry_notification_key,
    idempotency_key,
    push_key,
)
from mentor_notify.domain.tiers import (
    ALL_THRESHOLDS,
    DEFAULT_THRESHOLDS,
    Tier,
    classify_tier,
    validate_thresholds,
)

__all__ = [
    "ALL_THRESHOLDS",
    "BUSINESS_DATE_MAX_YEARS",
    "DEEP_LINK_SCHEME",
    "DEEP_LINK_VERSION",
    "DEFAULT_THRESHOLDS",
    "AsOf",
    "Clock",
    "DeepLink",
    "FarBusinessDate",
    "FixedClock",
    "SystemClock",
    "Tier",
    "business_date_bounds",
    "cert_log_key",
    "check_business_date",
    "classify_tier",
    "coordinator_follow_up_link",
    "expiry_notice_keys",
    "expiry_notification_key",
    "idempotency_key",
    "local_today",
    "parse_deep_link",
    "push_key",
    "renewal_link",
    "validate_thresholds",
]
