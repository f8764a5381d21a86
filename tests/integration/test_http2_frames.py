"""The HTTP/2 client's own framing over real sockets, against a server built on h2 (an
independent implementation of RFC 9113 and RFC 7541) that can be told to answer in the
awkward ways a server may: header blocks over CONTINUATION frames, answers in many
padded DATA frames arriving a few bytes at a time, informational answers and trailers,
flow-control windows smaller than a body, a small or shrinking HPACK table, refused
streams, its own PINGs, and a frame breaking the protocol."""

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings
import pytest
import pytest_asyncio

from mentor_notify.push.http2 import Http2Client, Http2Error, Response


@dataclass
class Behaviour:
    """How the test server answers; the defaults are a plain, well-behaved server."""

    # SETTINGS the server sends first (h2's setting codes).
    settings: dict[int, int] = field(default_factory=dict)
    # Extra header fields of every answer (a large one forces CONTINUATION frames).
    headers: list[tuple[str, str]] = field(default_factory=list)
    # The answer's body in DATA frames of this size, each padded with `padding` bytes.
    chunk: int | None = None
    padding: int = 0
    # Write the server's bytes this many at a time, letting the loop turn in between.
    trickle: int | None = None
    informational: bool = False
    trailers: bool = False
    # REFUSED_STREAM for this many streams first (they were never processed).
    refuse: int = 0
    # Send a PING on each new connection.
    ping: bool = False
    # Raw bytes written instead of the second answer (a frame breaking the protocol).
    instead_of_second_answer: bytes = b""


@dataclass
class Server:
    behaviour: Behaviour
    port: int = 0
    # Bodies received (each should be processed once), connections, PING ACKs.
    bodies: Counter[bytes] = field(default_factory=Counter)
    connections: int = 0
    ping_acks: list[bytes] = field(default_factory=list)
    refused: int = 0
    answered: int = 0
    # The size of the server's HPACK decoding table after the last request.
    table_size: int | None = None
    # The connections open now, for settings changed mid-connection.
    open: list[tuple[h2.connection.H2Connection, asyncio.StreamWriter]] = field(
        default_factory=list
    )


async def write(server: Server, writer: asyncio.StreamWriter, data: bytes) -> None:
    step = server.behaviour.trickle
    if not step:
        writer.write(data)
        return
    for at in range(0, len(data), step):
        writer.write(data[at : at + step])
        await writer.drain()
        await asyncio.sleep(0.0005)


async def serve(server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    behaviour = server.behaviour
    server.connections += 1
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    conn.local_settings = h2.settings.Settings(client=False, initial_values=behaviour.settings)
    conn.initiate_connection()
    if behaviour.ping:
        conn.ping(b"serverpg")
    server.open.append((conn, writer))
    await write(server, writer, conn.data_to_send())
    requests: dict[int, bytearray] = {}
    try:
        while data := await reader.read(65536):
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.RequestReceived):
                    requests[event.stream_id] = bytearray()
                    if server.refused < behaviour.refuse:
                        server.refused += 1
                        conn.reset_stream(event.stream_id, h2.errors.ErrorCodes.REFUSED_STREAM)
                        del requests[event.stream_id]
                elif isinstance(event, h2.events.DataReceived):
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                    if event.stream_id in requests:
                        requests[event.stream_id] += event.data
                elif isinstance(event, h2.events.StreamEnded) and event.stream_id in requests:
                    body = bytes(requests.pop(event.stream_id))
                    server.table_size = conn.decoder.header_table.maxsize
                    server.bodies[body] += 1
                    if server.answered == 1 and behaviour.instead_of_second_answer:
                        writer.write(behaviour.instead_of_second_answer)
                    else:
                        answer(behaviour, conn, event.stream_id, body)
                    server.answered += 1
                elif isinstance(event, h2.events.PingAckReceived):
                    server.ping_acks.append(event.ping_data)
            await write(server, writer, conn.data_to_send())
    except (OSError, h2.exceptions.ProtocolError):
        pass
    finally:
        server.open.remove((conn, writer))
        writer.close()


def answer(
    behaviour: Behaviour, conn: h2.connection.H2Connection, stream_id: int, body: bytes
) -> None:
    """Echo `body` back, in the ways `behaviour` asks for."""
    if behaviour.informational:
        conn.send_headers(stream_id, [(":status", "103"), ("link", "</a>; rel=preload")])
    conn.send_headers(
        stream_id,
        [(":status", "200"), ("content-length", str(len(body))), *behaviour.headers],
    )
    chunk = behaviour.chunk or min(len(body), 16_384) or 1
    for at in range(0, len(body), chunk):
        last = at + chunk >= len(body) and not behaviour.trailers
        conn.send_data(
            stream_id, body[at : at + chunk], end_stream=last, pad_length=behaviour.padding or None
        )
    if behaviour.trailers:
        conn.send_headers(stream_id, [("x-checksum", "ok")], end_stream=True)
    elif not body:
        conn.end_stream(stream_id)


def behaviour(how: Behaviour) -> pytest.MarkDecorator:
    """The test's server behaves `how`."""
    return pytest.mark.parametrize("server", [how], indirect=True, ids=[""])


@pytest_asyncio.fixture
async def server(request: pytest.FixtureRequest) -> AsyncIterator[Server]:
    """A server behaving as the test asks (`behaviour`), else plainly."""
    state = Server(getattr(request, "param", Behaviour()))
    listener = await asyncio.start_server(lambda r, w: serve(state, r, w), "127.0.0.1", 0)
    state.port = listener.sockets[0].getsockname()[1]
    yield state
    listener.close()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(listener.wait_closed(), 1)


def bodies(n: int, size: int = 0) -> list[bytes]:
    return [f"request {i} ".encode().ljust(size, b".") for i in range(n)]


async def send_all(client: Http2Client, payloads: list[bytes]) -> list[Response]:
    try:
        return await asyncio.gather(
            *(client.request("POST", "/echo", {"content-type": "text/plain"}, p) for p in payloads)
        )
    finally:
        await client.close()


def client(server: Server, **options: float) -> Http2Client:
    return Http2Client(f"http://127.0.0.1:{server.port}", **options)  # type: ignore[arg-type]


@behaviour(Behaviour(headers=[("x-large", "v" * 40_000)], trickle=4096))
async def test_an_answer_head_over_continuation_frames_is_read_whole(server: Server) -> None:
    responses = await send_all(client(server), bodies(5))

    assert [r.status for r in responses] == [200] * 5
    assert {r.headers["x-large"] for r in responses} == {"v" * 40_000}
    assert [r.body for r in responses] == bodies(5)


@behaviour(Behaviour(chunk=7, padding=5, trickle=3))
async def test_an_answer_in_padded_data_frames_arriving_a_few_bytes_at_a_time(
    server: Server,
) -> None:
    responses = await send_all(client(server), bodies(3, size=100))

    assert [r.body for r in responses] == bodies(3, size=100)


@behaviour(Behaviour(informational=True, trailers=True))
async def test_informational_answers_and_trailers_leave_the_final_answer(server: Server) -> None:
    responses = await send_all(client(server), bodies(10))

    assert [r.status for r in responses] == [200] * 10
    assert [r.body for r in responses] == bodies(10)
    assert "x-checksum" not in responses[0].headers


@behaviour(Behaviour(settings={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 16}))
async def test_a_stream_window_smaller_than_the_body_sends_it_as_the_window_opens(
    server: Server,
) -> None:
    payloads = bodies(20, size=1_000)
    responses = await send_all(client(server), payloads)

    assert [r.body for r in responses] == payloads
    assert set(server.bodies.values()) == {1}


async def test_bodies_beyond_the_connection_window_and_the_frame_size_wait_for_it(
    server: Server,
) -> None:
    # 12 bodies of 40 KiB: several frames each, and six times the connection's
    # initial window of 64 KiB, which only the server's WINDOW_UPDATEs reopen.
    payloads = bodies(12, size=40_000)
    responses = await send_all(client(server), payloads)

    assert [r.body for r in responses] == payloads
    assert set(server.bodies.values()) == {1}


@behaviour(Behaviour(settings={h2.settings.SettingCodes.HEADER_TABLE_SIZE: 0}))
async def test_a_server_allowing_no_header_table_gets_none_used(server: Server) -> None:
    responses = await send_all(client(server), bodies(30))

    assert [r.body for r in responses] == bodies(30)
    assert server.table_size == 0


async def test_a_header_table_shrunk_mid_connection_is_announced_and_kept_to(
    server: Server,
) -> None:
    http = client(server)
    try:
        first = await asyncio.gather(*(http.request("POST", "/", {}, b) for b in bodies(10)))
        for conn, writer in server.open:
            conn.update_settings({h2.settings.SettingCodes.HEADER_TABLE_SIZE: 100})
            writer.write(conn.data_to_send())
        await asyncio.sleep(0.05)
        second = await asyncio.gather(*(http.request("POST", "/", {}, b) for b in bodies(10)))
    finally:
        await http.close()

    assert [r.body for r in first + second] == bodies(10) * 2
    assert server.connections == 1
    assert server.table_size == 100


@behaviour(Behaviour(refuse=7))
async def test_refused_streams_are_sent_again_and_processed_once(server: Server) -> None:
    responses = await send_all(client(server), bodies(20))

    assert [r.status for r in responses] == [200] * 20
    assert set(server.bodies.values()) == {1}
    assert len(server.bodies) == 20


@behaviour(Behaviour(ping=True))
async def test_the_servers_ping_is_answered_with_its_data(server: Server) -> None:
    await send_all(client(server), bodies(2))

    assert server.ping_acks == [b"serverpg"]


@behaviour(
    Behaviour(
        # A 20,000-byte DATA frame, above the 16,384 the client allows (RFC 9113 4.2).
        instead_of_second_answer=(20_000).to_bytes(3, "big")
        + b"\x00\x00\x00\x00\x00\x03"
        + b"x" * 20_000
    )
)
async def test_a_frame_breaking_the_protocol_ends_the_connection_and_a_new_one_works(
    server: Server,
) -> None:
    http = client(server)
    try:
        first = await http.request("POST", "/", {}, b"first")
        with pytest.raises(Http2Error, match="protocol error"):
            await http.request("POST", "/", {}, b"second")
        again = await http.request("POST", "/", {}, b"third")
    finally:
        await http.close()

    assert (first.body, again.body) == (b"first", b"third")
    assert server.connections == 2


def test_the_client_runs_on_uvloop_too() -> None:
    """`serve` runs on uvloop, whose transports are not asyncio's classes."""
    uvloop = pytest.importorskip("uvloop")

    async def scenario() -> tuple[list[Response], Server]:
        window = {h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 16}
        state = Server(Behaviour(refuse=3, chunk=5, settings=window))
        listener = await asyncio.start_server(lambda r, w: serve(state, r, w), "127.0.0.1", 0)
        state.port = listener.sockets[0].getsockname()[1]
        try:
            return await send_all(client(state), bodies(20, size=100)), state
        finally:
            listener.close()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        responses, state = runner.run(scenario())

    assert [r.body for r in responses] == bodies(20, size=100)
    assert set(state.bodies.values()) == {1}
