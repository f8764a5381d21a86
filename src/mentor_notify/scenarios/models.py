"""Typed models of the scenario engine's tables (ticket 003)."""

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mentor_notify.domain.scenarios import ScenarioType


class DeliveryStatus(StrEnum):
    """Where a scenario notification's delivery stands
    (`scenario_notifications.delivery_status`)."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    # The recipient muted the category: the notice stays in the inbox, no push.
    SKIPPED = "skipped"


class NewScenarioNotification(BaseModel):
    """A scenario that fired for a person, to be recorded.

    `milestone_value` is required for milestones and refused otherwise, as the
    table's CHECK says; `metadata` may hold ids, codes and counts only. With a
    `cooldown_until`, the database refuses the notification while an earlier
    one of the same scenario for the same person is still cooling down.
    """

    model_config = ConfigDict(frozen=True)

    user_id: UUID
    organization_id: UUID
    scenario_type: ScenarioType
    triggered_at: datetime | None = None
    delivery_status: DeliveryStatus = DeliveryStatus.PENDING
    milestone_value: int | None = Field(default=None, gt=0)
    metadata: dict[str, Any] | None = None
    scenario_rule_id: UUID | None = None
    cooldown_until: datetime | None = None

    @model_validator(mode="after")
    def _milestone_value_matches_type(self) -> "NewScenarioNotification":
        is_milestone = self.scenario_type is ScenarioType.MILESTONE
        if is_milestone and self.milestone_value is None:
            raise ValueError("a milestone notification needs its milestone_value (e.g. 10)")
        if not is_milestone and self.milestone_value is not None:
            raise ValueError(f"milestone_value is only for milestones, not {self.scenario_type}")
        for name in ("triggered_at", "cooldown_until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware")
        return self


class ScenarioNotification(NewScenarioNotification):
    """A recorded scenario notification."""

    id: UUID
    triggered_at: datetime
