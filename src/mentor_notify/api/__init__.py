"""The HTTP API: the edge-function equivalents, device-token registration, health, metrics.

The names below are loaded from their modules on first use, so that importing
one light part (e.g. `mentor_notify.api.api_keys`, which `config` reads) does
not load FastAPI and the whole application.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mentor_notify.api.api_keys import ApiKeys
    from mentor_notify.api.app import create_app
    from mentor_notify.api.auth import Authenticator, Forbidden, Unauthenticated
    from mentor_notify.api.jobs import (
        DispatchRequest,
        ExpiryRequest,
        JobOutcome,
        JobResponse,
        JobRunner,
        ScenarioRequest,
    )
    from mentor_notify.api.signing_keys import SigningKeys, SigningKeysUnavailable
    from mentor_notify.push.tokens import DeviceTokenRegistration, DeviceTokenResponse

_HOMES = {
    "ApiKeys": "mentor_notify.api.api_keys",
    "Authenticator": "mentor_notify.api.auth",
    "DeviceTokenRegistration": "mentor_notify.push.tokens",
    "DeviceTokenResponse": "mentor_notify.push.tokens",
    "DispatchRequest": "mentor_notify.api.jobs",
    "ExpiryRequest": "mentor_notify.api.jobs",
    "Forbidden": "mentor_notify.api.auth",
    "JobOutcome": "mentor_notify.api.jobs",
    "JobResponse": "mentor_notify.api.jobs",
    "JobRunner": "mentor_notify.api.jobs",
    "ScenarioRequest": "mentor_notify.api.jobs",
    "SigningKeys": "mentor_notify.api.signing_keys",
    "SigningKeysUnavailable": "mentor_notify.api.signing_keys",
    "Unauthenticated": "mentor_notify.api.auth",
    "create_app": "mentor_notify.api.app",
}

__all__ = [
    "ApiKeys",
    "Authenticator",
    "DeviceTokenRegistration",
    "DeviceTokenResponse",
    "DispatchRequest",
    "ExpiryRequest",
    "Forbidden",
    "JobOutcome",
    "JobResponse",
    "JobRunner",
    "ScenarioRequest",
    "SigningKeys",
    "SigningKeysUnavailable",
    "Unauthenticated",
    "create_app",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(home), name)
