"""The HTTP/2 client's HPACK encoder against hpack's decoder (an independent reading of
RFC 7541): whatever the requests, table sizes and their changes, every block decodes to
exactly the fields given, and repeated fields become one-byte indexes."""

import hpack
from hypothesis import given, settings
from hypothesis import strategies as st

from mentor_notify.push.http2_frames import HeaderEncoder

NAMES = st.sampled_from(
    [":path", ":authority", "authorization", "content-type", "apns-id", "apns-topic", "x-a"]
)
VALUES = st.text(alphabet="abcdef0123456789/-:. ", max_size=300)
REQUEST = st.lists(st.tuples(NAMES, VALUES), max_size=8)
# A request, or a change of the table size the decoder allows (SETTINGS_HEADER_TABLE_SIZE).
STEP = st.one_of(REQUEST, st.integers(min_value=0, max_value=8192))


def fields(request: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(":method", "POST"), (":scheme", "https"), *request, ("content-length", "12")]


@settings(max_examples=300, deadline=None)
@given(st.lists(STEP, max_size=40))
def test_every_block_decodes_to_its_fields(steps: list[list[tuple[str, str]] | int]) -> None:
    encoder, decoder = HeaderEncoder(), hpack.Decoder()
    for step in steps:
        if isinstance(step, int):
            encoder.resize(step)
            decoder.max_allowed_table_size = min(step, 4096)
            continue
        block = encoder.encode(fields(step))
        # hpack also checks that the table was shrunk to what the decoder allows.
        assert decoder.decode(block) == fields(step)


def test_repeated_fields_cost_a_byte_each_and_varying_ones_stay_out_of_the_table() -> None:
    encoder, decoder = HeaderEncoder(), hpack.Decoder()
    token = ("authorization", "Bearer " + "t" * 200)
    length = ("content-length", "9")
    blocks = [
        encoder.encode([(":method", "POST"), token, ("apns-id", f"id-{i}"), length])
        for i in range(3)
    ]
    for block in blocks:
        decoder.decode(block)

    # The third: method, token (indexed), apns-id and content-length (literals).
    assert len(blocks[2]) == 1 + 1 + len(b"\x00\x07apns-id\x04id-2") + len(b"\x0f\x0d\x019")
    assert len(decoder.header_table.dynamic_entries) == 1
