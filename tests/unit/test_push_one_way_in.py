"""The push queue has one way in (issue 25): no statement of the application writes
`push_notices` but `private.enqueue_push`, so every producer queues a push the same way."""

import re
from pathlib import Path

SOURCES = Path(__file__).resolve().parents[2] / "src"
WRITES_THE_QUEUE = re.compile(r"insert\s+into\s+(public\.)?push_notices\b", re.IGNORECASE)


def test_no_producer_writes_the_push_queue_itself() -> None:
    statements = [*SOURCES.rglob("*.sql"), *SOURCES.rglob("*.py")]
    writers = [
        str(path.relative_to(SOURCES))
        for path in statements
        if WRITES_THE_QUEUE.search(path.read_text(encoding="utf-8"))
    ]

    assert len(statements) > 50
    assert writers == []
