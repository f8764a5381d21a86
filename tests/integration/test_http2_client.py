"""The HTTP/2 client against the emulator over real sockets: it keeps within the
server's stream limit (also when lowered mid-connection) by opening more
connections, loses nothing to a GOAWAY, and notices a silent peer by PING."""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
import pytest_asyncio

from mentor_notify.push.http2 import Http2Client, Http2Error, Response
from mentor_notify_testing.emulator import Emulator, EmulatorServer, Reply, Request


class Echo(Emulator):
    """Answers every request 200 with its body, once `gate` is open, counting the bodies."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.gate.set()
        self.seen: Counter[bytes] = Counter()

    async def _answer(self, request: Request) -> Reply:
        self.seen[request.body] += 1
        await self.gate.wait()
        return Reply(200, request.body)


@dataclass
class Served:
    emulator: Echo
    server: EmulatorServer
    url: str


@pytest_asyncio.fixture
async def served() -> AsyncIterator[Served]:
    emulator = Echo()
    server = EmulatorServer(emulator)
    port = await server.start()
    yield Served(emulator, server, f"http://127.0.0.1:{port}")
    await server.close()


async def until(condition: Callable[[], bool]) -> None:
    """Wait for the emulator to reach a state (10 s at most, as a safety net only)."""
    async with asyncio.timeout(10):
        while not condition():  # noqa: ASYNC110 (the emulator's counters have no event)
            await asyncio.sleep(0.005)


def post(client: Http2Client, n: int) -> "asyncio.Future[list[Response]]":
    bodies = [f"request {i}".encode() for i in range(n)]
    return asyncio.gather(*(client.request("POST", "/echo", {}, body) for body in bodies))


async def test_a_stream_limit_below_the_concurrency_spreads_over_more_connections(
    served: Served,
) -> None:
    served.emulator.max_concurrent_streams = 10
    served.emulator.gate.clear()
    client = Http2Client(served.url, max_connections=4)
    try:
        sending = post(client, 300)
        # Every connection full, at the server's limit, and no fifth one opened.
        await until(lambda: served.emulator.in_flight == 40)
        full = (served.emulator.connections["h2"], served.emulator.max_streams_per_connection)
        served.emulator.gate.set()
        responses = await sending
    finally:
        await client.close()

    assert full == (4, 10)
    assert [r.status for r in responses] == [200] * 300
    assert served.emulator.max_streams_per_connection == 10
    assert served.emulator.connections["h2"] == 4


async def test_a_limit_lowered_mid_connection_binds_the_new_streams(served: Served) -> None:
    client = Http2Client(served.url, max_connections=2)
    try:
        await post(client, 20)  # one connection, at h2's default limit of 100
        await served.server.advertise_stream_limit(5)
        served.emulator.max_streams_per_connection = 0
        served.emulator.gate.clear()
        sending = post(client, 50)
        await until(lambda: served.emulator.in_flight == 10)
        full = (served.emulator.connections["h2"], served.emulator.max_streams_per_connection)
        served.emulator.gate.set()
        responses = await sending
    finally:
        await client.close()

    assert full == (2, 5)
    assert [r.status for r in responses] == [200] * 50
    assert served.emulator.max_streams_per_connection == 5


async def test_goaway_mid_batch_loses_nothing_and_fails_nothing(served: Served) -> None:
    served.emulator.goaway_after = 40
    client = Http2Client(served.url, max_connections=2)
    try:
        responses = await post(client, 300)
    finally:
        await client.close()

    assert [r.status for r in responses] == [200] * 300
    assert sorted(r.body for r in responses) == sorted(f"request {i}".encode() for i in range(300))
    # Each request processed exactly once: those above a GOAWAY's last stream were
    # not processed there and were sent again elsewhere.
    assert set(served.emulator.seen.values()) == {1}
    assert len(served.emulator.seen) == 300
    assert served.emulator.goaways >= 300 // 40
    assert served.emulator.connections["h2"] > 300 // 40


async def test_a_silent_peer_is_found_by_ping_and_a_fresh_connection_works(
    served: Served,
) -> None:
    # The request timeout is far beyond the test: only the PING can end the wait.
    client = Http2Client(served.url, timeout=600, ping_after=0.2, ping_timeout=0.2)
    try:
        await post(client, 3)
        served.emulator.silent = True
        with pytest.raises(Http2Error, match="PING"):
            await post(client, 5)
        pinged = served.emulator.pings
        served.emulator.silent = False
        again = await post(client, 5)
    finally:
        await client.close()

    assert pinged >= 1
    assert [r.status for r in again] == [200] * 5
    assert served.emulator.connections["h2"] == 2


async def test_an_idle_connection_answering_pings_is_kept(served: Served) -> None:
    client = Http2Client(served.url, ping_after=0.05, ping_timeout=5)
    try:
        await post(client, 1)
        await until(lambda: served.emulator.pings >= 3)
        again = await post(client, 1)
    finally:
        await client.close()

    assert again[0].status == 200
    assert served.emulator.connections["h2"] == 1


async def test_a_connection_out_of_stream_ids_is_retired_for_a_fresh_one(served: Served) -> None:
    client = Http2Client(served.url)
    try:
        await post(client, 1)
        # Skip ahead to the last stream id a client may use (2^31 - 1).
        client._links[0].next_stream_id = 2**31 + 1
        again = await post(client, 3)
    finally:
        await client.close()

    assert [r.status for r in again] == [200] * 3
    assert served.emulator.connections["h2"] == 2
