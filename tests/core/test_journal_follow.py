"""Following the whole book: NOTIFY after commit (coalesced), and the followers."""

from __future__ import annotations

import time

from venuekit.journal import open_journal

from .journal_support import RULES, limit


def test_follower_sees_another_writers_orders(postgres_url: str) -> None:
    with open_journal(postgres_url) as book, open_journal(postgres_url, readonly=True) as reader:
        follower = reader.follow()
        try:
            made = [book.create_order("mock", limit(), id_rules=RULES, submitted=True).id
                    for _ in range(3)]
            start = time.monotonic()
            seen: list[str] = []
            while len(seen) < 3 and time.monotonic() - start < 5:
                seen += follower.changes(timeout=5)
            assert seen == made
            assert time.monotonic() - start < 1  # woken by the notice, not the timeout
            assert follower.notices >= 1
            assert follower.changes(timeout=0.2) == []  # nothing twice
        finally:
            follower.close()
