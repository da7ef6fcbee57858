"""Fuzzing every parser of outside input: bad input becomes a venuekit error, nothing else.

Parsers: the rebalance plan (parsed data and file text, JSON and YAML), the mock venue's
configuration (a CLI / TOML section) and its quote-replay CSV, the mock's order boundary
(client order ids, symbols, sizes), and Alpaca's payloads: REST order JSON, trade_updates
messages and error bodies, through alpaca-py's models and the plugin's conversions.

Each case must give a result or a :class:`~venuekit.errors.VenueKitError`; a KeyError,
TypeError, ValueError, decimal error or pydantic error escaping is a failure, shrunk to a
minimal example by hypothesis. Cases per parser: 150 on every change, 10,000 with
``--full``; the run prints one JSON line with the count per parser.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from venuekit.errors import VenueKitError
from venuekit.model import OrderRequest
from venuekit.rebalance import Plan, load_plan, parse_plan
from venuekit_mock import MockVenue
from venuekit_mock.config import KEYS
from venuekit_mock.sim import Fault

from .report import emit, machine

FULL = os.environ.get("VENUEKIT_FAULTS_FULL", "") not in ("", "0")
CASES = 10_000 if FULL else 150
FUZZ = settings(max_examples=CASES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                       HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
COUNTS: dict[str, int] = {}


def counted(name: str) -> Callable[[], None]:
    COUNTS.setdefault(name, 0)

    def tick() -> None:
        COUNTS[name] += 1

    return tick


@pytest.fixture(scope="module", autouse=True)
def report_counts(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    emit(request.config, {"suite": "fuzz", "size": "full" if FULL else "reduced",
                          "machine": machine(), "cases_per_parser": dict(COUNTS),
                          "parsers": len(COUNTS), "cases": sum(COUNTS.values()),
                          "unhandled_exceptions": 0 if not request.session.testsfailed
                          else "see the failures above"})


def outcome(parse: Callable[[], Any]) -> Any:
    """Run one parse: a value, or a VenueKitError returned (anything else propagates)."""
    try:
        return parse()
    except VenueKitError as exc:
        assert exc.message, "a venuekit error must say what is wrong"
        return exc


# shared value strategies -------------------------------------------------------------------
NUMBERISH = st.one_of(
    st.sampled_from(["", " ", "0", "-1", "1e999", "-1e-999", "NaN", "nan", "Infinity", "-inf",
                     "sNaN", "1_000", "0x10", "1.5.2", " 12.50 ", "1E+2", "٣", "1,000",
                     "9" * 60, "0." + "0" * 40 + "1"]),
    st.integers(min_value=-10**30, max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.text(max_size=12))
JSONISH = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20),
              NUMBERISH),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12)


# the rebalance plan ------------------------------------------------------------------------
ITEM = st.fixed_dictionaries(
    {}, optional={"symbol": st.one_of(st.sampled_from(["AAPL", "MSFT", " ", "", "A B"]),
                                      JSONISH),
                  "action": st.one_of(st.sampled_from(["BUY", "sell", " hold ", "X"]), JSONISH),
                  "notional": NUMBERISH, "quantity": NUMBERISH, "extra": JSONISH})
PLAN = st.one_of(
    JSONISH,
    st.fixed_dictionaries({"items": st.one_of(st.lists(ITEM, max_size=5), JSONISH)},
                          optional={"correlation_id": JSONISH, "x": JSONISH}))


@FUZZ
@given(PLAN)
def test_parse_plan(data: Any) -> None:
    counted("plan.parse_plan")()
    result = outcome(lambda: parse_plan(data))
    assert isinstance(result, Plan | VenueKitError)


@FUZZ
@given(st.one_of(st.binary(max_size=300), PLAN.map(lambda d: json.dumps(d, default=str)
                                                   .encode())),
       st.sampled_from([".json", ".yaml", ".yml", ""]))
def test_load_plan_from_file_text(tmp_path_factory: pytest.TempPathFactory, raw: bytes,
                                  suffix: str) -> None:
    counted("plan.load_plan")()
    path = tmp_path_factory.getbasetemp() / f"fuzz-plan{suffix}"
    path.write_bytes(raw)
    result = outcome(lambda: load_plan(path))
    assert isinstance(result, Plan | VenueKitError)


# the mock venue: configuration, replay CSV, the order boundary ------------------------------
FAULT_NAMES = [f.value for f in Fault]
CONFIG_KEYS = sorted(KEYS) + [f"faults.{name}" for name in FAULT_NAMES] + [
    "faults.schedule", "faults.operations", "symbols.AAPL.price", "symbols.NEW.tick",
    "rate_limits", "weights.submit", "nonsense"]
CONFIG = st.dictionaries(st.sampled_from(CONFIG_KEYS), JSONISH, max_size=4)


@FUZZ
@given(CONFIG)
def test_mock_configuration(config: dict[str, Any]) -> None:
    counted("mock.from_config")()
    config.setdefault("state_path", "none")  # never write a state file from a fuzz case
    result = outcome(lambda: MockVenue.from_config(config))
    assert isinstance(result, MockVenue | VenueKitError)


CSV_CELL = st.one_of(NUMBERISH.map(str), st.text(max_size=8), st.sampled_from(["AAPL", "1",
                                                                                "2", ""]))
CSV_ROW = st.lists(CSV_CELL, min_size=0, max_size=7).map(lambda cells: ",".join(cells))


@FUZZ
@given(st.one_of(st.lists(CSV_ROW, max_size=5).map(
    lambda rows: "\n".join(["time,symbol,bid,ask,bid_size,ask_size", *rows])),
    st.text(max_size=200)))
def test_mock_quote_replay_csv(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    counted("mock.replay_csv")()
    path = tmp_path_factory.getbasetemp() / "fuzz-replay.csv"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    result = outcome(lambda: MockVenue(replay=path))
    assert isinstance(result, MockVenue | VenueKitError)


@FUZZ
@given(client_order_id=st.text(max_size=80),
       symbol=st.sampled_from(["AAPL", "MSFT", "F", "NOPE"]),
       quantity=st.decimals(min_value=Decimal("0.000000001"), max_value=Decimal(10**9),
                            allow_nan=False, allow_infinity=False),
       price=st.one_of(st.none(), st.decimals(min_value=Decimal("0.0001"),
                                              max_value=Decimal(10**7), allow_nan=False,
                                              allow_infinity=False)))
def test_mock_order_boundary(client_order_id: str, symbol: str, quantity: Decimal,
                             price: Decimal | None) -> None:
    counted("mock.submit")()
    request = OrderRequest(symbol=symbol, side="buy", quantity=quantity,
                           order_type="limit" if price is not None else "market",
                           limit_price=price)
    venue = MockVenue(seed=1)
    result = outcome(lambda: asyncio.run(venue.submit(request, client_order_id)))
    assert not isinstance(result, BaseException) or isinstance(result, VenueKitError)


# Alpaca's payloads ---------------------------------------------------------------------------
def _alpaca() -> Any:
    # The plugin's sdk module imports alpaca-py quietly (its stream module warns on import).
    pytest.importorskip("venuekit_alpaca.sdk",
                        reason="the Alpaca plugin is not installed in this env")
    return pytest.importorskip("venuekit_alpaca.convert")


ORDER_FIELDS = ["id", "client_order_id", "created_at", "updated_at", "symbol", "qty",
                "filled_qty", "filled_avg_price", "notional", "order_type", "type", "side",
                "status", "limit_price", "time_in_force", "filled_at", "asset_class"]
ORDER_VALUES = st.one_of(JSONISH, NUMBERISH, st.sampled_from(
    ["new", "filled", "partially_filled", "canceled", "held", "done_for_day", "weird",
     "buy", "sell", "short", "limit", "market", "stop", "day", "gtc", "2024-01-02T15:00:00Z",
     "0", "-3", "1e3", None]))
MUTATIONS = st.dictionaries(st.sampled_from(ORDER_FIELDS),
                            st.one_of(st.just(KeyError), ORDER_VALUES), max_size=5)


def _order_json(mutations: dict[str, Any]) -> dict[str, Any]:
    from tests.alpaca.wire import ORDER

    raw = dict(ORDER)
    for key, value in mutations.items():
        if value is KeyError:
            raw.pop(key, None)
        else:
            raw[key] = value
    return raw


def _model(build: Callable[[], Any], operation: str) -> Any:
    """alpaca-py's model from JSON, or the venuekit error the venue maps its refusal to."""
    from venuekit_alpaca.errors import map_exception

    try:
        return build()
    except Exception as exc:  # the venue maps whatever alpaca-py raised: check it is typed
        mapped = map_exception(exc, operation)
        assert isinstance(mapped, VenueKitError)
        return None


@FUZZ
@given(MUTATIONS)
def test_alpaca_rest_order_json(mutations: dict[str, Any]) -> None:
    convert = _alpaca()
    from alpaca.trading.models import Order

    counted("alpaca.rest_order")()
    order = _model(lambda: Order(**_order_json(mutations)), "fetch_order")
    if order is not None:
        outcome(lambda: convert.snapshot(order))


@FUZZ
@given(MUTATIONS)
def test_alpaca_rest_order_json_read_directly(mutations: dict[str, Any]) -> None:
    """A create's answer is read from its JSON, without alpaca-py's model in between."""
    convert = _alpaca()
    counted("alpaca.rest_order_json")()
    outcome(lambda: convert.snapshot(_order_json(mutations)))


@FUZZ
@given(MUTATIONS, st.fixed_dictionaries(
    {"event": st.one_of(st.sampled_from(["new", "fill", "partial_fill", "canceled",
                                         "rejected", "replaced", "nonsense"]), JSONISH)},
    optional={"qty": ORDER_VALUES, "price": ORDER_VALUES, "timestamp": ORDER_VALUES,
              "position_qty": ORDER_VALUES, "execution_id": ORDER_VALUES}))
def test_alpaca_trade_updates_message(mutations: dict[str, Any],
                                      event: dict[str, Any]) -> None:
    convert = _alpaca()
    from alpaca.trading.models import TradeUpdate

    counted("alpaca.trade_update")()
    data = {"timestamp": "2024-01-02T15:00:01Z", **event, "order": _order_json(mutations)}
    update = _model(lambda: TradeUpdate(**data), "trade_updates")
    if update is not None:
        outcome(lambda: convert.update(update))


@FUZZ
@given(st.integers(min_value=100, max_value=599),
       st.one_of(JSONISH.map(lambda v: json.dumps(v, default=str)), st.text(max_size=80),
                 st.fixed_dictionaries({"code": JSONISH, "message": JSONISH})
                 .map(lambda v: json.dumps(v, default=str))),
       st.dictionaries(st.sampled_from(["Retry-After", "X-Ratelimit-Reset"]),
                       NUMBERISH.map(str), max_size=2))
def test_alpaca_error_body(status: int, body: str, headers: dict[str, str]) -> None:
    _alpaca()
    import requests
    from alpaca.common.exceptions import APIError

    from venuekit_alpaca.errors import map_exception

    counted("alpaca.error_body")()
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers)
    http_error = requests.HTTPError(response=response)
    mapped = map_exception(APIError(body, http_error), "submit")
    assert isinstance(mapped, VenueKitError) and mapped.message
    wait = getattr(mapped, "retry_after", None)
    assert wait is None or wait >= 0


def test_every_parser_was_fuzzed() -> None:
    """Guard: the count table covers every parser named in the module docstring."""
    expected = {"plan.parse_plan", "plan.load_plan", "mock.from_config", "mock.replay_csv",
                "mock.submit"}
    assert expected <= set(COUNTS)
    assert all(COUNTS[name] >= min(CASES, 100) for name in expected), COUNTS
