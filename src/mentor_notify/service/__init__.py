"""What every long-running process (`serve`, `worker`, `push dispatch`) shares: waiting
for its database at start instead of exiting, and the operations endpoints (`/livez`,
`/readyz`, `/healthz`, `/metrics`) it answers from its first second."""

from mentor_notify.service.endpoints import (
    Health,
    Liveness,
    StartupGate,
    create_ops_app,
    health_of,
    health_response,
)
from mentor_notify.service.waiting import DatabaseWait

__all__ = [
    "DatabaseWait",
    "Health",
    "Liveness",
    "StartupGate",
    "create_ops_app",
    "health_of",
    "health_response",
]
