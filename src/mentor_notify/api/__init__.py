"""The HTTP API: the edge-function equivalents, device-token registration, health, metrics."""

from mentor_notify.api.app import create_app
from mentor_notify.api.auth import Claims, TokenError, verify_token
from mentor_notify.api.jobs import (
    DispatchRequest,
    ExpiryRequest,
    JobOutcome,
    JobResponse,
    JobRunner,
    ScenarioRequest,
)
from mentor_notify.push.tokens import DeviceTokenRegistration, DeviceTokenResponse

__all__ = [
    "Claims",
    "DeviceTokenRegistration",
    "DeviceTokenResponse",
    "DispatchRequest",
    "ExpiryRequest",
    "JobOutcome",
    "JobResponse",
    "JobRunner",
    "ScenarioRequest",
    "TokenError",
    "create_app",
    "verify_token",
]
