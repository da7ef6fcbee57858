"""MockVenue.from_config: plain strings and numbers in, a configured venue out, and errors
that name the key to fix."""

from __future__ import annotations

import json
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest

from tests.support.helpers import D
from venuekit.errors import Code, ConfigurationError
from venuekit.plugins import PluginHost
from venuekit.settings import load_settings
from venuekit_mock import (
    KRX_TICK_TABLE,
    Fault,
    MockVenue,
    PercentageSlippage,
    PerShareCommission,
    TieredCommission,
    VolumeImpactSlippage,
)

TOML = """
[venue.mock]
seed = 7
symbols = ["AAPL", "MSFT"]
cash = "250000.50"
latency = 0.02
stream_delay = 0
visibility_delay = "0.5"
client_order_ids = true
short_selling = "yes"
clock = "sim"
start = "2024-03-01T14:30:00Z"
step_seconds = 0.5
steps_per_session = 390
state_path = "mock-state.pkl"

[venue.mock.slippage]
model = "volume_impact"
temporary_bps = "20"
permanent_bps = 10

[venue.mock.commission]
model = "per_share"
per_share = "0.005"
minimum = "1.00"
maximum_bps = 100

[venue.mock.faults]
drop_response = 0.05
server_error = "0.01"
server_error_after_accept = true
retry_after = 2
schedule = { timeout = [3, 7], lose_final_fill = "2" }

[venue.mock.rate_limits.orders]
capacity = 200
period = 60
"""


def test_a_toml_section_configures_everything() -> None:
    section = tomllib.loads(TOML)["venue"]["mock"]
    venue = MockVenue.from_config(section)
    sim = venue.simulator
    config = sim.config
    assert [s.symbol for s in sim.symbols] == ["AAPL", "MSFT"]
    assert sim.account.cash == D("250000.50") and config.seed == 7
    assert config.short_selling and config.steps_per_session == 390
    assert config.step == timedelta(seconds=0.5)
    assert config.start is not None and config.start.isoformat() == "2024-03-01T14:30:00+00:00"
    assert config.slippage == VolumeImpactSlippage(D(20), D(10))
    assert config.commission == PerShareCommission(D("0.005"), D("1.00"), D(100))
    assert venue.faults.probability(Fault.DROP_RESPONSE) == D("0.05")
    assert venue.faults.scripted("timeout") == {3, 7}
    assert venue.faults.scripted("lose_final_fill") == {2}
    assert venue.faults.server_error_after_accept and venue.faults.retry_after == 2
    [pool] = venue.capabilities.rate_limits
    assert (pool.name, pool.capacity, pool.period) == ("orders", 200, 60.0)
    assert venue.capabilities.not_found_grace >= 0.5


def test_cli_style_dotted_strings_configure_the_same_way() -> None:
    venue = MockVenue.from_config({
        "seed": "3", "symbols": "AAPL,SPY", "cash": "5000", "client_order_ids": "false",
        "slippage.model": "percentage", "slippage.bps": "5",
        "commission.model": "tiered", "commission.tiers": "0:10,1000000:5",
        "faults.timeout": "0.5", "faults.schedule.drop_response": "1,4",
        "rate_limits": "orders=10/1,requests=200/60", "weights.submit.orders": "2",
        "tick_interval": "0.05", "order_stream": "off", "replace": "no",
        "halted": "SPY",
    })
    config = venue.simulator.config
    assert config.halted == frozenset({"SPY"})
    assert [s.symbol for s in venue.simulator.symbols] == ["AAPL", "SPY"]
    assert config.slippage == PercentageSlippage(D(5))
    assert config.commission == TieredCommission([(D(0), D(10)), (D(1_000_000), D(5))])
    assert venue.capabilities.client_order_ids is False
    assert (venue.capabilities.order_stream, venue.capabilities.replace) == (False, False)
    assert venue.faults.scripted("drop_response") == {1, 4}
    assert [p.name for p in venue.capabilities.rate_limits] == ["orders", "requests"]
    assert venue.capabilities.weight("submit") == {"orders": 2}


def test_custom_symbols_and_price_band_tables() -> None:
    venue = MockVenue.from_config({"symbols": {
        "005930": {"price": "71050", "tick_table": "krx", "currency": "KRW",
                   "volatility_bps": "0"},
        "BTCUSDT": {"price": "65000.005", "tick": "0.01", "lot": "0.00001",
                    "min_notional": "5", "fractional": True, "size": "2.5"},
        "AAPL": {"size": "1000"},
    }, "currency": "KRW", "cash": "100000000"})
    specs = {s.symbol: s for s in venue.simulator.symbols}
    assert specs["005930"].tick_table == KRX_TICK_TABLE
    assert specs["BTCUSDT"].lot_size == D("0.00001") and specs["BTCUSDT"].fractional
    assert specs["AAPL"].size == D(1000) and specs["AAPL"].price == D("190.00")


def test_json_config_round_trips() -> None:
    section = json.loads('{"seed": 1, "cash": 1000, "latency": 0.01, '
                         '"faults": {"auth_failure": true}}')
    venue = MockVenue.from_config(section)
    assert venue.faults.auth_failure and venue.simulator.account.cash == D(1000)


@pytest.mark.parametrize(("config", "key"), [
    ({"cash": 1000.5}, "cash"),
    ({"cash": "lots"}, "cash"),
    ({"seed": "x"}, "seed"),
    ({"latency": "-1"}, "latency"),
    ({"client_order_ids": "maybe"}, "client_order_ids"),
    ({"clock": "moon"}, "clock"),
    ({"start": "2024-01-01T00:00:00"}, "start"),
    ({"symbols": "AAPL,NOPE"}, "symbols"),
    ({"symbols": {"NEW": {"tick": "0.01"}}}, "symbols"),
    ({"symbols": {"AAPL": {"colour": "red"}}}, "symbols"),
    ({"slippage": {"model": "magic"}}, "slippage"),
    ({"slippage.model": "percentage", "slippage.bsp": "5"}, "slippage"),
    ({"commission": {"model": "tiered", "tiers": "5:10"}}, "commission"),
    ({"faults.drop_response": "1.5"}, "faults"),
    ({"faults.drop_response": float("nan")}, "faults"),  # found by fuzzing
    ({"symbols.AAPL.price": 10**26}, "symbols"),  # found by fuzzing: 10^28 ticks
    ({"symbols.AAPL.size": "1E+25", "symbols.AAPL.lot": "0.0001"}, "symbols"),
    ({"faults.timeout": float("inf")}, "faults"),
    ({"faults.gremlins": "0.1"}, "faults"),
    ({"faults.schedule.timeout": "0"}, "faults"),
    ({"rate_limits": "orders=ten/1"}, "rate_limits"),
    ({"step_seconds": "0"}, "step_seconds"),
    ({"symbols": "AAPL", "halted": "MSFT"}, "halted"),
    ({"halted": [""]}, "halted"),
    ({"colour": "blue"}, "colour"),
])
def test_bad_values_name_the_key(config: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        MockVenue.from_config(config)
    assert refused.value.code is Code.INVALID_CONFIG
    assert key in refused.value.message
    assert refused.value.venue == "mock"


def test_the_registered_venue_builds_from_config() -> None:
    venue_class = PluginHost().venues().get("mock")
    venue = venue_class.from_config({"seed": "9", "symbols": "F"})
    assert isinstance(venue, MockVenue)
    assert [s.symbol for s in venue.simulator.symbols] == ["F"]


def test_an_absurd_step_is_a_configuration_error() -> None:
    # Found by fuzzing: timedelta raised OverflowError past 999,999,999 days.
    with pytest.raises(ConfigurationError, match="step_seconds"):
        MockVenue.from_config({"step_seconds": 86_400_000_000_000.0})


def test_built_from_settings_the_venue_keeps_its_state_beside_the_journal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(journal=tmp_path / "books" / "j.sqlite3")
    venue = settings.build_venue("mock")
    assert venue._state_path == tmp_path / "books" / "mock-venue.state"  # type: ignore[attr-defined]
    in_memory = settings.build_venue("mock", {"state_path": "none"})
    assert in_memory._state_path is None  # type: ignore[attr-defined]
    assert MockVenue.from_config({})._state_path is None, "no state directory: in memory"
