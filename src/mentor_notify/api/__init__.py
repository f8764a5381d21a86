"""The HTTP API: the edge-function equivalents, device-token registration, health, metrics."""

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
