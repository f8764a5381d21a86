"""HTTP/2 frames and HPACK header blocks for our own requests: the pure part of
`push/http2.py` (no sockets, no event loop).

Why our own, rather than h2's: a profile of one 10,000-message dispatch
(2026-12-07, BENCHMARKS.md issue 25, third pass) put 47 % of the client's CPU in
h2, hyperframe and hpack: a state machine per stream, a frame object per frame,
HPACK's table searched for every header of every request, and a debug log call
per header. A request here is always the same few headers, most of them the
same on every request of a connection, so their encoded form is worked out once
per connection and reused; only the header block of a response still goes
through hpack's `Decoder`, whose dynamic table must follow the server's.
Measured after (same bench, same run, main alongside): the FCM sender's client
CPU per message 118 us against 206 us, end to end 167 against 289 us; framing
and HPACK 13 % of the client's CPU instead of 51 %.

Sections cited are of RFC 9113 (HTTP/2) and RFC 7541 (HPACK), checked
2026-12-07.
"""

import struct
from collections import deque

# The frame header (RFC 9113 section 4.1): 24-bit length and 8-bit type in one
# 32-bit word, 8-bit flags, a reserved bit and a 31-bit stream id.
FRAME_HEADER = struct.Struct(">IBL")
FRAME_HEADER_SIZE = 9
_WORD = struct.Struct(">L")
_SETTING = struct.Struct(">HL")

# Frame types (RFC 9113 section 6).
DATA = 0x0
HEADERS = 0x1
PRIORITY = 0x2
RST_STREAM = 0x3
SETTINGS = 0x4
PUSH_PROMISE = 0x5
PING = 0x6
GOAWAY = 0x7
WINDOW_UPDATE = 0x8
CONTINUATION = 0x9

# Flags (RFC 9113 section 6).
END_STREAM = 0x1
ACK = 0x1
END_HEADERS = 0x4
PADDED = 0x8
PRIORITY_FLAG = 0x20

# Settings (RFC 9113 section 6.5.2).
HEADER_TABLE_SIZE = 0x1
ENABLE_PUSH = 0x2
MAX_CONCURRENT_STREAMS = 0x3
INITIAL_WINDOW_SIZE = 0x4
MAX_FRAME_SIZE = 0x5

# Error codes (RFC 9113 section 7).
NO_ERROR = 0x0
PROTOCOL_ERROR = 0x1
FLOW_CONTROL_ERROR = 0x3
FRAME_SIZE_ERROR = 0x6
REFUSED_STREAM = 0x7
CANCEL = 0x8
COMPRESSION_ERROR = 0x9

# Section 3.4: what a client sends first, before its SETTINGS.
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
# Section 4.2: every peer must accept frames this large; larger needs its SETTINGS.
DEFAULT_MAX_FRAME_SIZE = 16_384
# Section 6.9.2: the initial window of a connection and (until SETTINGS) of a stream.
DEFAULT_WINDOW = 65_535
MAX_WINDOW = 2**31 - 1
MAX_STREAM_ID = 2**31 - 1


class ProtocolError(Exception):
    """The peer broke the protocol: the connection ends with `code` (a connection
    error, RFC 9113 section 5.4.1)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def frame(kind: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    """One whole frame."""
    return FRAME_HEADER.pack(len(payload) << 8 | kind, flags, stream_id) + payload


def settings(values: dict[int, int]) -> bytes:
    """A SETTINGS frame carrying `values` (section 6.5.1)."""
    return frame(SETTINGS, 0, 0, b"".join(_SETTING.pack(k, v) for k, v in values.items()))


def read_settings(payload: bytes) -> dict[int, int]:
    """The values of a SETTINGS frame's payload; raises `ProtocolError` when they break
    section 6.5.2's bounds."""
    if len(payload) % 6:
        raise ProtocolError(FRAME_SIZE_ERROR, "SETTINGS length is not a multiple of 6")
    values = dict(_SETTING.iter_unpack(payload))
    if values.get(INITIAL_WINDOW_SIZE, 0) > MAX_WINDOW:
        raise ProtocolError(FLOW_CONTROL_ERROR, "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1")
    size = values.get(MAX_FRAME_SIZE, DEFAULT_MAX_FRAME_SIZE)
    if not DEFAULT_MAX_FRAME_SIZE <= size <= 2**24 - 1:
        raise ProtocolError(PROTOCOL_ERROR, "SETTINGS_MAX_FRAME_SIZE out of range")
    return values


def window_update(stream_id: int, increment: int) -> bytes:
    """A WINDOW_UPDATE frame (section 6.9)."""
    return frame(WINDOW_UPDATE, 0, stream_id, _WORD.pack(increment))


def rst_stream(stream_id: int, code: int) -> bytes:
    """An RST_STREAM frame (section 6.4)."""
    return frame(RST_STREAM, 0, stream_id, _WORD.pack(code))


def goaway(last_stream_id: int, code: int) -> bytes:
    """A GOAWAY frame (section 6.8)."""
    return frame(GOAWAY, 0, 0, _WORD.pack(last_stream_id) + _WORD.pack(code))


def word(payload: bytes, at: int = 0) -> int:
    """The 31-bit value at `at` (a window increment, a stream id), reserved bit dropped."""
    return int(_WORD.unpack_from(payload, at)[0]) & 0x7FFF_FFFF


def error_code(payload: bytes, at: int = 0) -> int:
    """The 32-bit error code at `at` (RST_STREAM, GOAWAY)."""
    return int(_WORD.unpack_from(payload, at)[0])


def unpad(flags: int, payload: bytes) -> bytes:
    """A DATA or HEADERS payload without its padding (section 6.1, 6.2)."""
    if not flags & PADDED:
        return payload
    if not payload or payload[0] >= len(payload):
        raise ProtocolError(PROTOCOL_ERROR, "padding longer than the frame")
    return payload[1 : len(payload) - payload[0]]


def header_frames(stream_id: int, block: bytes, end_stream: bool, max_frame: int) -> bytes:
    """HEADERS, and CONTINUATION frames when the block is larger than one frame may be
    (section 6.2, 6.10)."""
    flags = END_STREAM if end_stream else 0
    if len(block) <= max_frame:
        return frame(HEADERS, flags | END_HEADERS, stream_id, block)
    parts = [block[at : at + max_frame] for at in range(0, len(block), max_frame)]
    out = [frame(HEADERS, flags, stream_id, parts[0])]
    out += [frame(CONTINUATION, 0, stream_id, part) for part in parts[1:-1]]
    out.append(frame(CONTINUATION, END_HEADERS, stream_id, parts[-1]))
    return b"".join(out)


def _integer(value: int, prefix_bits: int, pattern: int) -> bytes:
    """An HPACK integer with an N-bit prefix after the bits of `pattern` (RFC 7541
    section 5.1)."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes((pattern | value,))
    out = bytearray((pattern | limit,))
    value -= limit
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _string(text: bytes) -> bytes:
    """An HPACK string literal, not Huffman-coded (RFC 7541 section 5.2: H bit 0)."""
    return _integer(len(text), 7, 0x00) + text


# Whole fields of the static table (RFC 7541 appendix A) a request may carry, as
# indexed fields (section 6.1).
_STATIC_FIELDS = {
    (":method", "GET"): b"\x82",
    (":method", "POST"): b"\x83",
    (":path", "/"): b"\x84",
    (":scheme", "http"): b"\x86",
    (":scheme", "https"): b"\x87",
}
# Names of the static table (RFC 7541 appendix A) our requests carry, by index.
_STATIC_NAMES = {
    ":authority": 1,
    ":method": 2,
    ":path": 4,
    ":scheme": 6,
    "authorization": 23,
    "content-length": 28,
    "content-type": 31,
}
_STATIC_TABLE_LENGTH = 61
# Never put in the dynamic table: a body's length changes from request to request,
# and each new value would push out a field that repeats.
_NOT_INDEXED = frozenset({"content-length"})
# How many fields not yet in the table are remembered as seen once.
_SEEN_AT_MOST = 1024


def _literal(name: str, value: bytes, pattern: int, prefix_bits: int) -> bytes:
    """A literal field: its name by static index when there is one, else spelled out
    (RFC 7541 section 6.2)."""
    index = _STATIC_NAMES.get(name)
    head = (
        _integer(index, prefix_bits, pattern)
        if index
        else bytes((pattern,)) + _string(name.encode("ascii"))
    )
    return head + _string(value)


class HeaderEncoder:
    """Encodes the header blocks of one connection's requests (RFC 7541).

    A field seen a second time on the connection goes into the dynamic table
    ("literal with incremental indexing", section 6.2.1) and is sent as its index
    from then on (section 6.1): the method, scheme, authority, credentials and
    content type of a push service's requests cost a byte each. A field seen once
    (a per-message id, a device's path) is a literal without indexing (section
    6.2.2), so one-off values do not push the repeating ones out of the table.
    Strings are not Huffman-coded. The table is kept as the peer's decoder keeps
    it: entries evicted oldest first when a new one needs room (section 4.4),
    within the size the peer allows (SETTINGS_HEADER_TABLE_SIZE, at most 4,096
    here; a change is announced at the start of the next block, section 4.2)."""

    def __init__(self, capacity: int = 4096) -> None:
        """Start with a table of `capacity` octets (4,096: both sides' default)."""
        self._capacity = capacity
        # Each entry's insertion number; its index is counted back from the newest.
        self._numbers: dict[tuple[str, str], int] = {}
        self._entries: deque[tuple[tuple[str, str], int]] = deque()
        self._inserted = 0
        self._size = 0
        self._seen: set[tuple[str, str]] = set()
        self._size_updates: list[int] = []

    def resize(self, peer_limit: int) -> None:
        """The peer's SETTINGS_HEADER_TABLE_SIZE is now `peer_limit`."""
        capacity = min(peer_limit, 4096)
        if capacity == self._capacity:
            return
        self._capacity = capacity
        self._evict(0)
        # Section 4.2: the smallest size since the last block, then the final one.
        if not self._size_updates or capacity < min(self._size_updates):
            self._size_updates = [capacity]
        else:
            self._size_updates.append(capacity)

    def encode(self, fields: list[tuple[str, str]]) -> bytes:
        """The header block of one request; `fields` have lower-case names."""
        out = bytearray()
        if self._size_updates:
            for size in (min(self._size_updates), self._size_updates[-1]):
                out += _integer(size, 5, 0x20)  # section 6.3
            self._size_updates = []
        numbers = self._numbers
        for field in fields:
            number = numbers.get(field)
            if number is not None:
                index = _STATIC_TABLE_LENGTH + 1 + self._inserted - number
                out += bytes((0x80 | index,)) if index < 0x7F else _integer(index, 7, 0x80)
            elif (static := _STATIC_FIELDS.get(field)) is not None:
                out += static
            elif field in self._seen and field[0] not in _NOT_INDEXED:
                out += self._insert(field)
            else:
                if len(self._seen) >= _SEEN_AT_MOST:
                    self._seen.clear()
                self._seen.add(field)
                out += _literal(field[0], field[1].encode(), 0x00, 4)
        return bytes(out)

    def _insert(self, field: tuple[str, str]) -> bytes:
        name, value = field
        encoded = value.encode()
        size = len(name) + len(encoded) + 32  # section 4.1
        if size > self._capacity:
            return _literal(name, encoded, 0x00, 4)
        self._evict(size)
        self._inserted += 1
        self._numbers[field] = self._inserted
        self._entries.append((field, size))
        self._size += size
        self._seen.discard(field)
        return _literal(name, encoded, 0x40, 6)

    def _evict(self, room: int) -> None:
        """Drop the oldest entries until `room` more octets fit (section 4.4)."""
        while self._entries and self._size + room > self._capacity:
            field, size = self._entries.popleft()
            del self._numbers[field]
            self._size -= size
