"""Started while their database is away, `serve`, `worker` and `push dispatch` wait
instead of exiting: alive, not ready with the reason, and at work once the database is
there and migrated. A worker on an unmigrated database says `migrations pending`; a
database URL that cannot be read is refused at once. The stopped database is a cluster
the test makes itself, never the shared server."""

import asyncio
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mentor_notify.db import SupabaseLayout
from tests.api.credentials import SERVE_ENV, SERVICE
from tests.conftest import CreateDatabase
from tests.integration.test_dispatch_processes import (  # noqa: F401 - fixture
    MENTOR_NOTIFY,
    emulator_url,
)
from tests.integration.test_reconnect import queue_due_now, until_sent
from tests.integration.test_worker import worker_process
from tests.support import Cluster, free_port, own_cluster, run_migrations, wait_until_answering

JSON_LOGS = {"MENTOR_NOTIFY_LOG_FORMAT": "json"}


@pytest.fixture
def stopped_cluster() -> Iterator[Cluster]:
    with own_cluster() as made:
        made.ctl("stop", "--mode", "fast")
        yield made


def _start(*args: str, env: dict[str, str] | None = None) -> "subprocess.Popen[str]":
    return subprocess.Popen(
        [str(MENTOR_NOTIFY), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | JSON_LOGS | (env or {}),
    )


def _until(url: str, status: int, *, method: str = "GET", **kwargs: Any) -> httpx.Response:
    deadline = time.monotonic() + 90
    while True:
        try:
            answer = httpx.request(method, url, timeout=5, **kwargs)
            if answer.status_code == status:
                return answer
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer {status} within 90 s")
        time.sleep(0.3)


def _events(stderr: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def _stop(process: "subprocess.Popen[str]") -> str:
    process.send_signal(signal.SIGTERM)
    return process.communicate(timeout=60)[1]


async def test_each_service_waits_for_a_stopped_database_then_works(
    stopped_cluster: Cluster,
    supabase_layout: SupabaseLayout,
    emulator_url: str,  # noqa: F811
) -> None:
    url = stopped_cluster.url
    api_port, worker_port, dispatch_port = free_port(), free_port(), free_port()
    serve = _start("--database-url", url, "serve", "--port", str(api_port), env=SERVE_ENV)
    worker = worker_process(url, emulator_url, worker_port)
    dispatch = _start(
        *("--database-url", url, "push", "dispatch", "--emulator", emulator_url),
        *("--metrics-port", str(dispatch_port), "--json"),
    )
    processes = {"api": serve, "worker": worker, "dispatch": dispatch}
    bases = {
        name: f"http://127.0.0.1:{port}"
        for name, port in (("api", api_port), ("worker", worker_port), ("dispatch", dispatch_port))
    }
    errors: dict[str, str] = {}
    try:
        live = {n: wait_until_answering(f"{b}/livez", processes[n]) for n, b in bases.items()}
        waiting = {n: _until(f"{b}/readyz", 503) for n, b in bases.items()}
        refused = _until(
            f"{bases['api']}/functions/v1/dispatch", 503, method="POST", json={}, headers=SERVICE
        )
        # Long enough for the old behaviour (retry for ~8 s, then exit) to show.
        await asyncio.sleep(10)
        still_up = {n: p.poll() for n, p in processes.items()}
        stopped_cluster.ctl("start")
        not_migrated = _until(f"{bases['dispatch']}/readyz", 503)
        while "migrations pending" not in (not_migrated.json()["reason"] or ""):
            not_migrated = _until(f"{bases['dispatch']}/readyz", 503)
        await run_migrations(url, supabase_layout)
        ready = {n: _until(f"{b}/readyz", 200) for n, b in bases.items()}
        dispatched = _until(
            f"{bases['api']}/functions/v1/dispatch", 200, method="POST", json={}, headers=SERVICE
        )
        queued = await queue_due_now(url, "after-the-wait", 2)
        await until_sent(url, queued)
        metrics = _until(f"{bases['dispatch']}/metrics", 200)
    finally:
        errors = {name: _stop(process) for name, process in processes.items()}

    assert all(answer.status_code == 200 for answer in live.values())
    for name, answer in waiting.items():
        assert answer.status_code == 503, name
        assert answer.json()["database"] is False, name
        assert answer.json()["reason"].startswith("the database does not answer"), name
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "not_ready"
    assert "Retry-After" in refused.headers
    assert still_up == {"api": None, "worker": None, "dispatch": None}
    assert not_migrated.json()["database"] is True
    assert "mentor_notify_push_settled_total" in metrics.text
    assert all(answer.json()["status"] == "ok" for answer in ready.values())
    assert dispatched.status_code == 200
    for name, process in processes.items():
        assert process.returncode == 0, errors[name][-2000:]
        said = [e["event"] for e in _events(errors[name])]
        assert "waiting for the database" in said, name
        assert "database ready; starting" in said, name


async def test_a_worker_on_an_unmigrated_database_says_migrations_pending(
    create_database: CreateDatabase,
    supabase_layout: SupabaseLayout,
    emulator_url: str,  # noqa: F811
) -> None:
    url = await create_database()
    port = free_port()
    worker = worker_process(url, emulator_url, port)
    try:
        wait_until_answering(f"http://127.0.0.1:{port}/livez", worker)
        pending = _until(f"http://127.0.0.1:{port}/readyz", 503)
        while "migrations pending" not in (pending.json()["reason"] or ""):
            pending = _until(f"http://127.0.0.1:{port}/readyz", 503)
        await run_migrations(url, supabase_layout)
        ready = _until(f"http://127.0.0.1:{port}/readyz", 200)
    finally:
        stderr = _stop(worker)

    assert pending.json()["database"] is True
    assert pending.json()["migrations_pending"] == [m.version for m in supabase_layout.migrations()]
    assert pending.json()["reason"].endswith("run `mentor-notify db migrate`")
    assert ready.json()["status"] == "ok"
    events = _events(stderr)
    waits = [e for e in events if e["event"] == "waiting for the database"]
    assert len(waits) == 1
    assert "migrations pending" in waits[0]["reason"]
    assert not [e for e in events if e["event"] == "scheduling check failed"]
    assert worker.returncode == 0, stderr[-2000:]


@pytest.mark.parametrize(
    "command",
    [["serve"], ["worker", "--health-port", "0"], ["push", "dispatch"]],
    ids=["serve", "worker", "dispatch"],
)
@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("postgresql://me:s3cret@[::1/postgres", 'matching "]" in IPv6 host address'),
        ("postgresql://me@127.0.0.1:54x2/postgres", "port '54x2' is not a port number"),
        ("host=127.0.0.1 dbname", 'missing "=" after "dbname"'),
    ],
    ids=["bad-host", "bad-port", "bad-keywords"],
)
def test_a_malformed_database_url_is_refused_at_once(
    command: list[str], url: str, reason: str
) -> None:
    result = subprocess.run(
        [str(MENTOR_NOTIFY), "--database-url", url, *command],
        capture_output=True,
        text=True,
        # Only a bound for a process that would wait forever; what shows that no
        # connection was tried is the one line below and no log entry.
        timeout=60,
        env=os.environ | SERVE_ENV,
    )

    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("error: invalid database URL: ")
    assert reason in line
    assert "s3cret" not in line


@pytest.mark.parametrize(
    ("command", "option"),
    [(["worker"], "--health-port"), (["push", "dispatch"], "--metrics-port")],
    ids=["worker", "dispatch"],
)
def test_an_operations_port_in_use_is_one_clear_line(command: list[str], option: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            # Nothing listens on port 1: the port is refused before any connection.
            [
                *(str(MENTOR_NOTIFY), "--database-url", "postgresql://me@127.0.0.1:1/db"),
                *(*command, option, str(port)),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env=os.environ | JSON_LOGS,
        )

    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: port {port} on 127.0.0.1 is already in use; choose another with {option}"
    )
