"""The worker: the daily cycle on each organisation's schedule, and continuous delivery."""

from mentor_notify.worker.schedule import DEFAULT_RUN_AT, due_cycles, parse_run_at
from mentor_notify.worker.worker import CycleRun, Worker, WorkerHealth

__all__ = ["DEFAULT_RUN_AT", "CycleRun", "Worker", "WorkerHealth", "due_cycles", "parse_run_at"]
