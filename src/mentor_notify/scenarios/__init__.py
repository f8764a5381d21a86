"""Follow-up scenarios (ticket 003): the notification repository and its models."""

from mentor_notify.scenarios.models import (
    DeliveryStatus,
    NewScenarioNotification,
    ScenarioNotification,
    ScenarioType,
)
from mentor_notify.scenarios.repository import (
    ScenarioNotificationRepository,
    ScenarioRepositoryError,
)

__all__ = [
    "DeliveryStatus",
    "NewScenarioNotification",
    "ScenarioNotification",
    "ScenarioNotificationRepository",
    "ScenarioRepositoryError",
    "ScenarioType",
]
