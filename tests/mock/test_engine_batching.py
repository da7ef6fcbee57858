"""What the engine does in one go: a burst of creates journaled under one commit before any
of them is sent, and the instruments of many symbols read in one venue call."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.support.helpers import D, flat
from tests.support.journal_truth import assert_journal_matches_ledger
from venuekit.engine import Engine
from venuekit.journal.sqlite import SQLiteJournal
from venuekit.model import Instrument, OrderRequest, OrderSnapshot, OrderState
from venuekit.plugins import PluginHost
from venuekit_mock import MockVenue

BURST = 20


def committed_states(path: Path) -> dict[str, str]:
    """What another process reading the journal file sees: only committed orders."""
    with sqlite3.connect(path) as reader:
        return dict(reader.execute("SELECT id, state FROM orders").fetchall())


def test_a_burst_of_submits_is_committed_together_before_the_first_is_sent(
        tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    seen_at_first_send: list[dict[str, str]] = []

    def accepted(snapshot: OrderSnapshot) -> None:
        if not seen_at_first_send:
            seen_at_first_send.append(committed_states(path))

    async def main() -> None:
        venue = MockVenue(seed=4, symbols=[flat("XYZ", size="10000")], cash=D(10**6),
                          on_accepted=accepted)
        with SQLiteJournal(path) as journal:
            async with Engine(venue, journal,
                              host=PluginHost(load_entry_points=False)) as engine:
                await engine.instrument("XYZ")
                orders = await asyncio.gather(*(engine.submit(OrderRequest(
                    symbol="XYZ", side="buy", quantity=D(1 + i))) for i in range(BURST)))
                assert all(o.state is OrderState.FILLED for o in orders)
                [committed] = seen_at_first_send
                # Every order of the burst was durable, as sent, when the first reached
                # the venue: one commit carried them all, and it came first.
                assert committed == {o.id: "submitted" for o in orders}
                assert len(venue.control.ledger.orders) == BURST
            assert_journal_matches_ledger(journal, venue.control.ledger)

    asyncio.run(main())


class CountingReads(MockVenue):
    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.instrument_calls: list[list[str] | None] = []

    async def instruments(self, symbols: Sequence[str] | None = None) -> Sequence[Instrument]:
        self.instrument_calls.append(None if symbols is None else list(symbols))
        return await super().instruments(symbols)


def test_instruments_of_many_symbols_take_one_call_and_are_cached(tmp_path: Path) -> None:
    async def main() -> None:
        venue = CountingReads(seed=1, symbols=[flat("A"), flat("B"), flat("C")])
        with SQLiteJournal(tmp_path / "j.sqlite3") as journal:
            async with Engine(venue, journal,
                              host=PluginHost(load_entry_points=False)) as engine:
                found = await engine.instruments(["A", "NOPE", "B", "A"])
                assert sorted(found) == ["A", "B"]  # an unlisted symbol is simply absent
                assert venue.instrument_calls == [["A", "NOPE", "B"]]
                again = await engine.instruments(["B", "C"])
                assert sorted(again) == ["B", "C"] and again["B"] is found["B"]
                assert venue.instrument_calls[1:] == [["C"]]  # only what was not cached
                assert await engine.instrument("A") is found["A"]
                assert len(venue.instrument_calls) == 2

    asyncio.run(main())
