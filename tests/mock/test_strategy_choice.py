"""The strategy follows the request: a limit request is never executed at market.

Through the Python entry points (``venuekit.execute`` and ``Engine.execute``), as through
the CLI: with no strategy named, the request's order type chooses; a strategy that would
throw a limit price away is refused before anything is journaled or sent.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

import venuekit
from venuekit.errors import Code, VenueKitError
from venuekit.journal import SQLiteJournal
from venuekit.model import OrderRequest, OrderState, OrderType
from venuekit.strategies import strategy_for
from venuekit_mock import MockVenue

LIMIT = OrderRequest(symbol="AAPL", side="buy", quantity="10", order_type="limit",
                     limit_price="100")


def test_a_limit_request_with_no_strategy_executes_as_a_limit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    journal = tmp_path / "journal.sqlite3"
    result = venuekit.execute(LIMIT, venue="mock", journal=journal, timeout=0.3)
    assert result.strategy == "limit"
    [order] = result.orders
    assert order.request.order_type is OrderType.LIMIT and order.limit_price == 100
    # AAPL trades near 190 on the mock: a buy limited to 100 rests, then times out.
    assert result.filled_quantity == 0 and result.state is OrderState.TIMEOUT
    with SQLiteJournal(journal, readonly=True) as book:
        [stored] = book.orders()
    assert stored.limit_price == Decimal(100) and stored.state is OrderState.TIMEOUT


def test_the_market_strategy_on_a_limit_request_is_refused_naming_both(
        tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite3"
    venue = MockVenue(seed=1)
    with pytest.raises(VenueKitError) as raised:
        venuekit.execute(LIMIT, "market", venue=venue, journal=journal)
    assert raised.value.code is Code.STRATEGY_MISMATCH
    assert "'market'" in raised.value.message and "limit request" in raised.value.message
    assert "at 100" in raised.value.message
    assert venue.control.ledger.order_count == 0, "nothing reached the venue"
    with SQLiteJournal(journal, readonly=True) as book:
        assert book.orders() == []


@pytest.mark.parametrize(("request_type", "named", "chosen"), [
    ("market", None, "market"),
    ("limit", None, "limit"),
    ("market", "limit", "limit"),
    ("market", "aggressive-limit", "aggressive-limit"),
    ("limit", "limit", "limit"),
    ("limit", "aggressive-limit", "aggressive-limit"),
])
def test_which_strategy_runs(request_type: str, named: str | None, chosen: str) -> None:
    request = LIMIT if request_type == "limit" else OrderRequest(symbol="AAPL", side="buy",
                                                                 quantity="10")
    assert strategy_for(request, named) == chosen


def test_an_unknown_strategy_is_a_typed_error() -> None:
    with pytest.raises(VenueKitError) as raised:
        strategy_for(LIMIT, "twap")
    assert raised.value.code is Code.UNKNOWN_COMPONENT
