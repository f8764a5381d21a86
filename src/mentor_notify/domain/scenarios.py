"""The kinds of follow-up scenario (ticket 003).

Plain and import-light: the command line offers them as choices (`scenarios run
--only`) without loading the scenario engine.
"""

from enum import StrEnum


class ScenarioType(StrEnum):
    """The follow-up scenarios (`scenario_notifications.scenario_type`)."""

    INACTIVITY = "inactivity"
    MILESTONE = "milestone"
    CERTIFICATION_EXPIRY = "certification_expiry"
    WELCOME_BACK = "welcome_back"
