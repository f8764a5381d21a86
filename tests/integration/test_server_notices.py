"""What the server says besides results (RAISE WARNING / NOTICE) reaches the log as
structured entries, on single connections and pooled ones alike, never as plain text."""

import json

import pytest

from mentor_notify.config import Settings
from mentor_notify.db import connect, open_pool
from mentor_notify.logging import configure_logging

RAISE = "do $$ begin raise warning 'careful: % left', 3; raise notice 'routine chatter'; end $$"


async def test_a_server_warning_is_one_json_line(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("info", "json")
    conn = await connect(database_url)
    try:
        await conn.execute(RAISE)
    finally:
        await conn.close()
    settings = Settings(pool_min_size=1, pool_max_size=1)
    async with open_pool(database_url, settings) as pool, pool.connection() as pooled:
        await pooled.execute(RAISE)

    lines = capsys.readouterr().err.splitlines()
    entries = [json.loads(line) for line in lines]  # every line is JSON
    assert [(e["event"], e["severity"], e["level"]) for e in entries] == [
        ("careful: 3 left", "WARNING", "warning")
    ] * 2  # the NOTICE only at debug level


async def test_notices_are_logged_at_debug_level(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("debug", "json")
    conn = await connect(database_url)
    try:
        await conn.execute(RAISE)
    finally:
        await conn.close()

    entries = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(e["event"], e["level"]) for e in entries if "severity" in e] == [
        ("careful: 3 left", "warning"),
        ("routine chatter", "debug"),
    ]
