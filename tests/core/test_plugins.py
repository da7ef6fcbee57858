"""The plugin system: registration, listing, selection, and broken plugins."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from venuekit import hookimpl
from venuekit.errors import ConfigurationError
from venuekit.model import (
    Account,
    Fill,
    Instrument,
    OrderRequest,
    OrderSnapshot,
    OrderState,
    OrderType,
    Quote,
)
from venuekit.plugins import OrderEventRecord, PluginHost
from venuekit.venue import Capabilities, OrderRef, Venue


class PaperVenue(Venue):
    """A tiny in-memory venue a throw-away plugin registers."""

    name = "paper-test"
    capabilities = Capabilities(client_order_ids=True, order_stream=False, replace=False,
                                market_orders=True, fractional=False, short_selling=False)

    def __init__(self, price: str = "10") -> None:
        self.price = Decimal(price)
        self.orders: dict[str, OrderSnapshot] = {}

    async def instruments(self, symbols: Sequence[str] | None = None) -> Sequence[Instrument]:
        return [Instrument(symbol="XYZ", tick_size="0.01", lot_size="1")]

    async def quote(self, symbol: str) -> Quote:
        return Quote(symbol=symbol, bid=self.price, ask=self.price + Decimal("0.01"))

    async def account(self) -> Account:
        return Account(cash="1000", buying_power="1000")

    async def submit(self, request: OrderRequest, client_order_id: str) -> OrderSnapshot:
        snap = OrderSnapshot(venue_order_id=f"P{len(self.orders) + 1}",
                             client_order_id=client_order_id, symbol=request.symbol,
                             side=request.side, order_type=request.order_type,
                             state=OrderState.ACKNOWLEDGED, quantity=request.quantity)
        self.orders[client_order_id] = snap
        return snap

    async def cancel(self, ref: OrderRef) -> OrderSnapshot | None:
        return None

    async def fetch_order(self, ref: OrderRef) -> OrderSnapshot:
        assert ref.client_order_id is not None
        return self.orders[ref.client_order_id]

    async def open_orders(self, symbol: str | None = None) -> Sequence[OrderSnapshot]:
        return list(self.orders.values())

    async def recent_orders(self, since: datetime) -> Sequence[OrderSnapshot]:
        return list(self.orders.values())

    async def fills_since(self, since: datetime, symbol: str | None = None) -> Sequence[Fill]:
        return []


class ThrowAwayPlugin:
    @hookimpl
    def venuekit_register_venues(self, register: Any) -> None:
        register("paper-test", PaperVenue)

    @hookimpl
    def venuekit_register_pricers(self, register: Any) -> None:
        register("always-ten", lambda **_: Decimal("10"))

    @hookimpl
    def venuekit_register_reconcilers(self, register: Any) -> None:
        register("noop-test", object)

    @hookimpl
    def venuekit_register_repeg_policies(self, register: Any) -> None:
        register("never-test", object)


def test_throwaway_plugin_venue_is_listed_usable_and_removed() -> None:
    host = PluginHost(load_entry_points=False)
    plugin = ThrowAwayPlugin()
    host.register(plugin, name="throwaway")
    try:
        assert "paper-test" in host.venues()
        assert host.venues().owner("paper-test") == "throwaway"
        info = {p.name: p for p in host.plugins()}["throwaway"]
        assert "venuekit_register_venues" in info.hooks
        venue_cls = host.venues().get("paper-test")
        venue = venue_cls.from_config({"price": "12.5"})

        async def trade() -> OrderSnapshot:
            async with venue:
                request = OrderRequest(symbol="XYZ", side="buy", quantity="3",
                                       order_type=OrderType.MARKET)
                await venue.submit(request, "cid-1")
                return await venue.fetch_order(OrderRef(client_order_id="cid-1"))

        snap = asyncio.run(trade())
        assert snap.state is OrderState.ACKNOWLEDGED and snap.quantity == Decimal(3)
        assert host.pricers().get("always-ten")() == Decimal("10")
        assert "noop-test" in host.reconcilers()
        assert "never-test" in host.repeg_policies()
    finally:
        host.unregister(plugin)
    assert "paper-test" not in host.venues()
    assert "throwaway" not in {p.name for p in host.plugins()}


def test_unknown_venue_error_lists_known_names() -> None:
    host = PluginHost(load_entry_points=False)
    host.register(ThrowAwayPlugin(), name="throwaway")
    with pytest.raises(ConfigurationError) as info:
        host.venues().get("nope")
    assert "paper-test" in str(info.value) and "UNKNOWN_VENUE" in str(info.value)


def test_from_config_rejects_unknown_keys_clearly() -> None:
    with pytest.raises(ConfigurationError, match="paper-test"):
        PaperVenue.from_config({"colour": "blue"})


def test_order_event_observers_all_run_even_if_one_fails(caplog: pytest.LogCaptureFixture
                                                         ) -> None:
    seen: list[str] = []

    class Broken:
        @hookimpl
        def venuekit_order_event(self, event: OrderEventRecord) -> None:
            raise RuntimeError("observer bug")

    class Recorder:
        @hookimpl
        def venuekit_order_event(self, event: OrderEventRecord) -> None:
            seen.append(f"{event.order_id}:{event.kind}")

    host = PluginHost(load_entry_points=False)
    host.register(Broken(), name="broken")
    host.register(Recorder(), name="recorder")
    assert host.has_order_observers()
    record = OrderEventRecord(order_id="o1", venue="mock", symbol="XYZ", kind="ack",
                              state=OrderState.ACKNOWLEDGED,
                              previous_state=OrderState.SUBMITTED, seq=2,
                              at=datetime(2026, 1, 2))
    host.order_event(record)
    assert seen == ["o1:ack"]
    assert any("observer failed" in r.getMessage() for r in caplog.records)


def test_a_registration_hook_that_raises_is_reported_not_fatal() -> None:
    class Faulty:
        @hookimpl
        def venuekit_register_venues(self, register: Any) -> None:
            raise ImportError("missing optional dependency 'zz'")

    host = PluginHost(load_entry_points=False)
    host.register(Faulty(), name="faulty")
    host.register(ThrowAwayPlugin(), name="throwaway")
    assert "paper-test" in host.venues()
    assert [f.name for f in host.failures] == ["faulty"]
    assert "missing optional dependency" in host.failures[0].error


def _fake_distribution(root: Path, name: str, module_source: str) -> None:
    """Install a distribution on a path entry: a module and a dist-info with an entry point."""
    (root / f"{name}_plugin.py").write_text(textwrap.dedent(module_source))
    info = root / f"{name}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[venuekit]\n{name} = {name}_plugin\n")


def _run_cli(args: list[str], path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, **env}
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(path),
                                                          environ.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "venuekit", *args], capture_output=True,
                          text=True, env=environ, timeout=60, check=False)


def test_broken_plugin_is_reported_by_name_and_cli_still_works(tmp_path: Path) -> None:
    _fake_distribution(tmp_path, "brokenvenue", "raise ImportError('no module named zmq')\n")
    _fake_distribution(tmp_path, "goodobserver", """
        from venuekit import hookimpl

        @hookimpl
        def venuekit_order_event(event):
            pass
    """)
    result = _run_cli(["plugins", "--json"], tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    failures = {f["name"]: f for f in data["failures"]}
    assert "brokenvenue" in failures
    assert "no module named zmq" in failures["brokenvenue"]["error"]
    assert failures["brokenvenue"]["distribution"] == "brokenvenue"
    names = {p["name"]: p for p in data["plugins"]}
    assert names["goodobserver"]["version"] == "1.2.3"
    assert names["goodobserver"]["hooks"] == ["venuekit_order_event"]
    assert "Traceback" not in result.stderr

    table = _run_cli(["plugins"], tmp_path)
    assert table.returncode == 0
    assert "brokenvenue" in table.stdout and "failed to load" in table.stdout


def test_load_plugins_subset_and_disable_list(tmp_path: Path) -> None:
    _fake_distribution(tmp_path, "alpha", "")
    _fake_distribution(tmp_path, "beta", "")
    def external(data: dict[str, Any]) -> list[str]:
        return [p["name"] for p in data["plugins"] if not p["builtin"]]

    only = json.loads(_run_cli(["plugins", "--json"], tmp_path,
                               VENUEKIT_LOAD_PLUGINS="beta").stdout)
    assert external(only) == ["beta"]
    assert "venuekit.builtins" in {p["name"] for p in only["plugins"]}, "built-ins always load"
    none = json.loads(_run_cli(["plugins", "--json"], tmp_path,
                               VENUEKIT_LOAD_PLUGINS="").stdout)
    assert external(none) == []
    no_builtins = json.loads(_run_cli(["plugins", "--json"], tmp_path, VENUEKIT_LOAD_PLUGINS="",
                                      VENUEKIT_DISABLE_PLUGINS="venuekit.builtins").stdout)
    assert no_builtins["plugins"] == []
    disabled = json.loads(_run_cli(["plugins", "--json"], tmp_path,
                                   VENUEKIT_DISABLE_PLUGINS="alpha").stdout)
    names = {p["name"] for p in disabled["plugins"]}
    assert "beta" in names and "alpha" not in names


def test_import_venuekit_is_light() -> None:
    code = ("import sys, venuekit; heavy = {'pydantic', 'click', 'rich', 'sqlite3'} & "
            "set(sys.modules); print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "[]"


def test_a_plugin_can_replace_a_builtin_component() -> None:
    class Override:
        @hookimpl
        def venuekit_register_pricers(self, register: Any) -> None:
            register("mid", ThrowAwayPlugin)

    host = PluginHost(load_entry_points=False)
    assert host.pricers().owner("mid") == "venuekit.builtins"
    host.register(Override(), name="override")
    assert host.pricers().get("mid") is ThrowAwayPlugin
    assert host.pricers().owner("mid") == "override"
