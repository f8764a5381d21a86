"""Scenario rules: what each scenario looks for, how often it may speak, what it says.

A rule belongs to a chapter, or (chapter null) is its organisation's default;
a chapter's own rule for a scenario replaces the default there, and a disabled
chapter rule switches the scenario off for that chapter. Parameters per type,
each optional with the default shown:

* inactivity: `{"inactivity_days": 30}`, no activity for that many days;
* milestone: `{"milestones": [10, 25, 50, 100]}`, activity counts worth
  congratulating, each once ever;
* certification_expiry: `{"tier": "expiry_warning_30d"}`, the expiry tier
  (as the sweep classifies it) that triggers the follow-up;
* welcome_back: `{"inactive_days_before_return": 30}`, the gap before a
  new activity that makes it a return.

The database checks the same rules (`private.scenario_rule_problem`), so a
bad rule is refused whoever writes it; here the message says which field and why.
"""

import re
from datetime import timedelta
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mentor_notify.domain import Tier
from mentor_notify.domain.problems import problem_path
from mentor_notify.domain.scenarios import ScenarioType

MESSAGE_KEY = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
LANGUAGES = ("nb", "en")


class RuleValidationError(ValueError):
    """A scenario rule that cannot be used; `field` names the offending part."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class _Parameters(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InactivityParameters(_Parameters):
    """Nudge a mentor with no activity for `inactivity_days`."""

    inactivity_days: int = Field(default=30, ge=1, le=730)


class MilestoneParameters(_Parameters):
    """Congratulate when the activity count reaches each value, once ever."""

    milestones: tuple[int, ...] = (10, 25, 50, 100)

    @field_validator("milestones")
    @classmethod
    def _increasing(cls, values: tuple[int, ...]) -> tuple[int, ...]:
        if not 1 <= len(values) <= 20:
            raise ValueError("list 1 to 20 milestone values")
        if any(v < 1 or v > 100_000 for v in values):
            raise ValueError("milestone values are activity counts from 1 to 100000")
        if list(values) != sorted(set(values)):
            raise ValueError("milestone values must be distinct and in increasing order")
        return values


class CertificationExpiryParameters(_Parameters):
    """Follow up when the mentor's certificate is in `tier`."""

    tier: Tier = Tier.WARNING_30D


class WelcomeBackParameters(_Parameters):
    """Welcome a mentor whose new activity follows a gap of at least this many days."""

    inactive_days_before_return: int = Field(default=30, ge=1, le=730)


PARAMETERS: dict[ScenarioType, type[_Parameters]] = {
    ScenarioType.INACTIVITY: InactivityParameters,
    ScenarioType.MILESTONE: MilestoneParameters,
    ScenarioType.CERTIFICATION_EXPIRY: CertificationExpiryParameters,
    ScenarioType.WELCOME_BACK: WelcomeBackParameters,
}


class ScenarioRule(BaseModel):
    """A validated scenario rule."""

    model_config = ConfigDict(frozen=True)

    id: UUID | None = None
    organization_id: UUID
    chapter_id: UUID | None = None
    scenario_type: ScenarioType
    parameters: dict[str, Any]
    cooldown: timedelta
    enabled: bool = True
    messages: dict[str, str]


def validate_rule(
    *,
    organization_id: UUID,
    scenario_type: str,
    parameters: dict[str, Any],
    cooldown: timedelta,
    messages: dict[str, str],
    chapter_id: UUID | None = None,
    enabled: bool = True,
    rule_id: UUID | None = None,
) -> ScenarioRule:
    """The rule, checked; `RuleValidationError` names the first problem found."""
    try:
        kind = ScenarioType(scenario_type)
    except ValueError:
        raise RuleValidationError(
            "scenario_type",
            f"{scenario_type!r} is not a scenario; use one of "
            + ", ".join(t.value for t in ScenarioType),
        ) from None
    try:
        checked = PARAMETERS[kind].model_validate(parameters)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = problem_path(error, "parameters")
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            allowed = ", ".join(PARAMETERS[kind].model_fields)
            message = f"not a {kind} parameter (allowed: {allowed})"
        raise RuleValidationError(f"parameters.{where}", message) from None
    if cooldown < timedelta(0):
        raise RuleValidationError("cooldown", "a cooldown cannot be negative")
    if set(messages) != set(LANGUAGES):
        raise RuleValidationError(
            "messages", "give exactly one message key for nb (Bokmål) and one for en (English)"
        )
    for language in LANGUAGES:
        if not MESSAGE_KEY.match(messages[language]):
            raise RuleValidationError(
                f"messages.{language}",
                f"{messages[language]!r} is not a message key (lowercase words joined by dots, "
                "e.g. scenario.inactivity.nudge); texts live in the app's translations",
            )
    return ScenarioRule(
        id=rule_id,
        organization_id=organization_id,
        chapter_id=chapter_id,
        scenario_type=kind,
        parameters=checked.model_dump(mode="json"),
        cooldown=cooldown,
        enabled=enabled,
        messages=dict(messages),
    )
