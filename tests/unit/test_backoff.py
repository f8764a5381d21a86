"""Retry backoff: exponential with full jitter, capped, never before Retry-After."""

import random
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from mentor_notify.push.dispatcher import Backoff


@given(st.integers(1, 40), st.integers(0, 2**32))
def test_the_wait_stays_within_the_exponential_ceiling_and_the_cap(attempt: int, seed: int) -> None:
    backoff = Backoff(rng=random.Random(seed))

    wait = backoff.delay(attempt)

    assert (
        timedelta(0) <= wait <= min(timedelta(hours=1), timedelta(seconds=2 * 2 ** (attempt - 1)))
    )


@given(st.integers(1, 10), st.integers(0, 3600), st.integers(0, 2**32))
def test_retry_after_is_a_floor(attempt: int, seconds: int, seed: int) -> None:
    backoff = Backoff(rng=random.Random(seed))

    assert backoff.delay(attempt, timedelta(seconds=seconds)) >= timedelta(seconds=seconds)


def test_jitter_spreads_the_waits() -> None:
    backoff = Backoff(rng=random.Random(7))

    waits = {backoff.delay(5) for _ in range(50)}

    assert len(waits) > 40
