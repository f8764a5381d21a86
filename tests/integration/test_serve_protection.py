"""`mentor-notify serve` over real HTTP: bodies over the limit refused before they are
read, liveness and readiness, a clear error for a port in use, several worker
processes on one port."""

import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator

import httpx
import pytest

from tests.api.credentials import SERVE_ENV, token
from tests.integration.test_dispatch_processes import MENTOR_NOTIFY
from tests.support import free_port, wait_until_ready

LIMIT = 16384


def start_serve(url: str, port: int, *args: str) -> "subprocess.Popen[str]":
    return subprocess.Popen(
        [str(MENTOR_NOTIFY), "--database-url", url, "serve", "--port", str(port), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | SERVE_ENV | {"MENTOR_NOTIFY_API_MAX_BODY_BYTES": str(LIMIT)},
    )


def stop(process: "subprocess.Popen[str]") -> str:
    """SIGTERM, then the server's log; it must have stopped cleanly."""
    process.send_signal(signal.SIGTERM)
    _, errors = process.communicate(timeout=30)
    assert process.returncode == 0, errors
    return errors


@pytest.fixture
def served(database_url: str) -> Iterator[int]:
    """`serve` on its own port; yields the port."""
    port = free_port()
    process = start_serve(database_url, port)
    wait_until_ready(f"http://127.0.0.1:{port}", process)
    try:
        yield port
    finally:
        stop(process)


def exchange(port: int, head: list[str], body: Iterable[bytes] = ()) -> bytes:
    """Send a request as raw bytes and read until the server closes the connection
    (5 s at most: a server still waiting for the rest of a body fails the test)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall("\r\n".join([*head, "", ""]).encode())
        for part in body:
            conn.sendall(part)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


def post_head(*headers: str) -> list[str]:
    return [
        "POST /v1/device-tokens HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/json",
        f"Authorization: Bearer {token('authenticated')}",
        *headers,
    ]


def test_a_body_declared_too_large_is_refused_before_it_is_sent(served: int) -> None:
    # Not a byte of the 20 MB is sent: the answer must come from the header alone.
    answer = exchange(served, post_head("Content-Length: 20000000"))

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ")
    assert b"connection: close" in head.lower()
    assert body == (
        b'{"error":{"code":"payload_too_large",'
        b'"message":"the request body is larger than 16384 bytes"}}'
    )


def test_a_chunked_body_is_refused_once_past_the_limit(served: int) -> None:
    # One chunk past the limit and then nothing more, as from a client that would send
    # for ever: the server must answer and close without waiting for the rest.
    chunk = b"1000\r\n" + b"x" * 4096 + b"\r\n"

    answer = exchange(
        served, post_head("Transfer-Encoding: chunked"), [chunk] * (LIMIT // 4096 + 1)
    )

    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b'"code":"payload_too_large"' in answer


def test_a_body_within_the_limit_is_served(served: int, database_url: str) -> None:
    answer = httpx.post(
        f"http://127.0.0.1:{served}/v1/device-tokens",
        content=b'{"token": "' + b"y" * 100 + b'", "platform": "android"}',
        headers={"Authorization": f"Bearer {token('authenticated')}"},
    )

    # Past the limit check: the user of a made-up token has no profile to own a device.
    assert answer.status_code != 413
    assert answer.json()["error"]["code"] != "payload_too_large"


def test_liveness_and_readiness(served: int) -> None:
    live = httpx.get(f"http://127.0.0.1:{served}/livez")
    ready = httpx.get(f"http://127.0.0.1:{served}/readyz")
    health = httpx.get(f"http://127.0.0.1:{served}/healthz")

    assert live.json() == {"status": "ok", "version": live.json()["version"]}
    assert ready.status_code == health.status_code == 200
    assert ready.json()["migrations_pending"] == []


def test_a_port_in_use_is_one_clear_line(database_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for workers in ("1", "2"):
            result = subprocess.run(
                [
                    *(str(MENTOR_NOTIFY), "--database-url", database_url, "serve"),
                    *("--port", str(port), "--workers", workers),
                ],
                capture_output=True,
                text=True,
                timeout=60,
                env=os.environ | SERVE_ENV,
            )

            assert result.returncode == 1
            assert result.stderr.strip() == (
                f"error: port {port} on 127.0.0.1 is already in use; choose another with --port"
            )


def test_several_workers_serve_one_port_and_stop_together(database_url: str) -> None:
    port = free_port()
    process = start_serve(database_url, port, "--workers", "2")
    log = LogReader(process)
    try:
        log.wait_for(lambda lines: sum('"serving"' in x for x in lines) == 3)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            answers = [client.get("/readyz").status_code for _ in range(5)]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        log.thread.join(timeout=5)

    assert process.returncode == 0, log.lines
    assert answers == [200] * 5
    serving = [json.loads(line) for line in log.lines if '"serving"' in line]
    assert [entry.get("workers") for entry in serving] == [2, None, None]
    assert len({entry["pid"] for entry in serving}) == 3  # the supervisor and two workers


class LogReader:
    """The server's log lines as they come, read on a thread."""

    def __init__(self, process: "subprocess.Popen[str]") -> None:
        assert process.stderr is not None
        self.lines: list[str] = []
        stream = process.stderr
        self.thread = threading.Thread(
            target=lambda: self.lines.extend(iter(stream.readline, "")), daemon=True
        )
        self.thread.start()

    def wait_for(self, done: Callable[[list[str]], bool]) -> None:
        """Until `done(lines)` holds (30 s at most)."""
        deadline = time.monotonic() + 30
        while not done(list(self.lines)):
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise AssertionError(f"the server ended or fell silent: {self.lines}")
            time.sleep(0.05)
