"""Follow-up scenarios (ticket 003): the notification repository and its models."""

from mentor_notify.domain.scenarios import ScenarioType
from mentor_notify.scenarios.models import (
    DeliveryStatus,
    NewScenarioNotification,
    ScenarioNotification,
)
from mentor_notify.scenarios.repository import (
    CooldownActive,
    ScenarioNotificationRepository,
    ScenarioRepositoryError,
)

__all__ = [
    "CooldownActive",
    "DeliveryStatus",
    "NewScenarioNotification",
    "ScenarioNotification",
    "ScenarioNotificationRepository",
    "ScenarioRepositoryError",
    "ScenarioType",
]
