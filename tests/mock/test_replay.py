"""Quotes replayed from a CSV file instead of the random walk."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.helpers import D, run
from venuekit.errors import ConfigurationError
from venuekit.model import OrderRequest, OrderState
from venuekit.venue import OrderRef
from venuekit_mock import MockVenue, QuoteReplay

CSV = """time,symbol,bid,ask,bid_size,ask_size
09:30:00,ABC,10.00,10.02,100,200
09:30:00,DEF,50.00,50.05,,
09:30:01,ABC,10.01,10.03,100,200
09:30:02,ABC,9.97,9.99,100,50
"""


def test_replayed_quotes_drive_the_book_step_by_step(tmp_path: Path) -> None:
    path = tmp_path / "quotes.csv"
    path.write_text(CSV)

    async def scenario() -> None:
        async with MockVenue(replay=path) as venue:
            assert [i.symbol for i in await venue.instruments()] == ["ABC", "DEF"]
            quote = await venue.quote("ABC")
            assert (quote.bid, quote.ask, quote.ask_size) == (D("10.00"), D("10.02"), D(200))
            assert (await venue.quote("DEF")).ask_size == D(500)  # the default size
            order = await venue.submit(OrderRequest(
                symbol="ABC", side="buy", quantity="80", order_type="limit",
                limit_price="10.00"), "r-1")
            venue.control.advance()
            assert (await venue.quote("ABC")).bid == D("10.01")
            assert (await venue.quote("DEF")).bid == D("50.00")  # absent: unchanged
            venue.control.advance()  # ask 9.99 crosses the 10.00 limit, 50 displayed
            snapshot = await venue.fetch_order(OrderRef(venue_order_id=order.venue_order_id))
            assert snapshot.state is OrderState.PARTIALLY_FILLED
            assert snapshot.filled_quantity == D(50) and snapshot.average_price == D("10.00")
            assert venue.simulator.market.replay_exhausted
            venue.control.advance()  # after the last row, quotes stay put; sizes refresh
            snapshot = await venue.fetch_order(OrderRef(venue_order_id=order.venue_order_id))
            assert snapshot.state is OrderState.FILLED

    run(scenario())


@pytest.mark.parametrize(("text", "problem"), [
    ("symbol,bid,ask\nABC,1,2\n", "lacks column"),
    ("time,symbol,bid,ask\n1,ABC,2.00,1.00\n", "line 2"),
    ("time,symbol,bid,ask\n1,ABC,x,1.00\n", "line 2"),
    ("time,symbol,bid,ask\n", "at least one row"),
    ("time,symbol,bid,ask\n1,ABC,1,1e999\n", "out of range"),  # found by fuzzing
])
def test_bad_csv_is_refused_with_the_line(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        QuoteReplay.from_csv(io.StringIO(text))


def test_off_grid_replayed_quotes_are_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "quotes.csv"
    path.write_text("time,symbol,bid,ask\n1,ABC,10.001,10.02\n")
    with pytest.raises(ConfigurationError, match="tick grid"):
        MockVenue.from_config({"replay": str(path)})


def test_the_benchmark_script_runs_and_prints_one_json_line() -> None:
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "sim_rate.py"
    if not script.exists():
        pytest.skip("the benchmarks folder is not part of this checkout")
    result = subprocess.run([sys.executable, str(script), "--orders", "3000", "--rounds", "1"],
                            capture_output=True, text=True, timeout=120, check=True)
    [line] = result.stdout.splitlines()
    report = json.loads(line)
    assert report["orders"] == 3000 and report["orders_per_second"] > 0
    assert report["fills"] > 0 and report["events"] > report["orders"]
