"""Scenario rule validation in Python: each problem named by field, with a reason."""

from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest

from mentor_notify.scenarios.rules import RuleValidationError, validate_rule
from tests.scenario_rule_examples import BAD, GOOD


def check(scenario: str, parameters: dict[str, Any], messages: dict[str, str]) -> Any:
    return validate_rule(
        organization_id=uuid4(),
        scenario_type=scenario,
        parameters=parameters,
        cooldown=timedelta(days=7),
        messages=messages,
    )


@pytest.mark.parametrize(("scenario", "parameters", "messages"), GOOD)
def test_good_rules_pass_with_defaults_filled_in(
    scenario: str, parameters: dict[str, Any], messages: dict[str, str]
) -> None:
    rule = check(scenario, parameters, messages)

    assert rule.scenario_type == scenario
    assert parameters.items() <= rule.parameters.items()
    assert len(rule.parameters) == 1


@pytest.mark.parametrize(("scenario", "parameters", "messages", "field"), BAD)
def test_bad_rules_name_the_field_and_say_why(
    scenario: str, parameters: dict[str, Any], messages: dict[str, str], field: str
) -> None:
    with pytest.raises(RuleValidationError) as refused:
        check(scenario, parameters, messages)

    assert refused.value.field == field
    assert len(refused.value.reason) > 10
    assert str(refused.value).startswith(f"{field}: ")


def test_unknown_scenarios_and_negative_cooldowns_are_refused() -> None:
    with pytest.raises(RuleValidationError, match="scenario_type: 'birthday' is not a scenario"):
        check("birthday", {}, {"nb": "a", "en": "a"})
    with pytest.raises(RuleValidationError, match="cooldown: a cooldown cannot be negative"):
        validate_rule(
            organization_id=uuid4(),
            scenario_type="inactivity",
            parameters={},
            cooldown=timedelta(days=-1),
            messages={"nb": "a", "en": "a"},
        )


def test_the_defaults_are_documented_values() -> None:
    rule = check("milestone", {}, {"nb": "a", "en": "a"})

    assert rule.parameters == {"milestones": [10, 25, 50, 100]}
