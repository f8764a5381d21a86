"""Scenario rules both validators (Python and the database) must judge alike."""

from typing import Any

GOOD: list[tuple[str, dict[str, Any], dict[str, str]]] = [
    ("inactivity", {"inactivity_days": 30}, {"nb": "scenario.inactive", "en": "scenario.idle"}),
    ("inactivity", {}, {"nb": "a", "en": "b"}),
    ("milestone", {"milestones": [10, 25, 50, 100]}, {"nb": "m.x", "en": "m.x"}),
    ("certification_expiry", {"tier": "expired"}, {"nb": "c", "en": "c"}),
    ("welcome_back", {"inactive_days_before_return": 730}, {"nb": "w", "en": "w"}),
]

# (scenario type, parameters, messages, the field Python names)
BAD: list[tuple[str, dict[str, Any], dict[str, str], str]] = [
    ("inactivity", {"days": 30}, {"nb": "a", "en": "a"}, "parameters.days"),
    ("inactivity", {"inactivity_days": 0}, {"nb": "a", "en": "a"}, "parameters.inactivity_days"),
    ("inactivity", {"inactivity_days": 731}, {"nb": "a", "en": "a"}, "parameters.inactivity_days"),
    ("inactivity", {"inactivity_days": 7.5}, {"nb": "a", "en": "a"}, "parameters.inactivity_days"),
    ("milestone", {"milestones": []}, {"nb": "a", "en": "a"}, "parameters.milestones"),
    ("milestone", {"milestones": [25, 10]}, {"nb": "a", "en": "a"}, "parameters.milestones"),
    ("milestone", {"milestones": [10, 10]}, {"nb": "a", "en": "a"}, "parameters.milestones"),
    ("milestone", {"milestones": [0, 10]}, {"nb": "a", "en": "a"}, "parameters.milestones"),
    ("certification_expiry", {"tier": "expiry_45d"}, {"nb": "a", "en": "a"}, "parameters.tier"),
    ("welcome_back", {"inactivity_days": 30}, {"nb": "a", "en": "a"}, "parameters.inactivity_days"),
    ("inactivity", {}, {"nb": "Hei du!", "en": "a"}, "messages.nb"),
    ("inactivity", {}, {"nb": "a"}, "messages"),
    ("inactivity", {}, {"nb": "a", "en": "a", "se": "a"}, "messages"),
]
