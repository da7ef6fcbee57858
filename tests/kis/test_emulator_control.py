"""The emulator's control surface (Python and HTTP), its configuration, its addresses and
its use from a synchronous client."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from venuekit.errors import Code, VenueKitError
from venuekit_kis.emulator import (
    DEFAULT_APP_KEY,
    DEFAULT_APP_SECRET,
    KisEmulator,
    run_in_thread,
)

from .emulator_support import kis_http, run

FAST = {"rate_limit": 1000.0}


def test_order_and_fill_rows_name_kis_numbers() -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http:
            control = emulator.control
            bought = await http.place("005930", 3, 71000)
            resting = await http.place("035720", 4, 44000)
            cancel = (await http.amend(resting, quantity=1)).json()["output"]["ODNO"]
            rows = control.orders()
            assert [r["odno"] for r in rows] == [bought, resting, cancel]
            first = {k: v for k, v in rows[0].items() if k not in ("ord_dt", "ord_tmd",
                                                                   "engine_order_ids")}
            assert first == {
                "odno": bought, "branch": "00950", "kind": "new", "orgn_odno": "",
                "side": "buy", "sll_buy_dvsn_cd": "02", "symbol": "005930", "ord_dvsn": "00",
                "quantity": "3", "price": "71000", "filled": "3", "filled_amount": "213000",
                "average_price": "71000", "cancelled": "0", "moved": "0", "remaining": "0",
                "exchange": "KRX"}
            assert (rows[1]["cancelled"], rows[1]["remaining"]) == ("1", "3")
            assert (rows[2]["kind"], rows[2]["orgn_odno"], rows[2]["quantity"],
                    rows[2]["cancelled"]) == ("cancel", resting, "1", "1")
            assert len(rows[1]["engine_order_ids"]) == 2  # the partial cancel's replacement
            fills = control.fills()
            assert [(f["odno"], f["branch"], f["symbol"], f["side"], f["quantity"],
                     f["price"]) for f in fills] == [(bought, "00950", "005930", "buy", "3",
                                                      "71000")]
            statistics = control.statistics()
            assert (statistics.kis_orders, statistics.orders_accepted, statistics.fills,
                    statistics.orders_replaced) == (3, 3, 1, 1)

    run(scenario())


def test_the_http_control_api() -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http:
            keys = {"appkey": emulator.app_key, "appsecret": emulator.app_secret}
            base = emulator.control_url

            async def post(name: str, body: dict[str, Any]) -> httpx.Response:
                return await http.client.post(f"{base}/{name}", content=json.dumps(body),
                                              headers=keys)

            assert (await http.client.get(f"{base}/ledger")).status_code == 401
            assert (await post("cash", {"amount": "5000000"})).status_code == 200
            assert (await post("position", {"symbol": "000660", "quantity": "2",
                                            "average_price": "200000"})).status_code == 200
            assert (await post("quote", {"symbol": "005930", "bid": "70900", "ask": "71000",
                                         "base_price": "70000"})).status_code == 200
            price = await http.price("005930")
            assert (price["stck_sdpr"], price["stck_mxpr"]) == ("70000", "91000")
            await http.place("005930", 1, 71000)
            assert (await post("faults", {"schedule": {"rate_limit": [2]}})).status_code == 200
            assert (await http.order("005930", 1, 70000)).status_code == 500
            ledger = (await http.client.get(f"{base}/ledger", headers=keys)).json()
            assert [o["odno"] for o in ledger["orders"]] == ["0000000001"]
            assert [(f["odno"], f["quantity"]) for f in ledger["fills"]] == \
                [("0000000001", "1")]
            assert ledger["responses"]["500"] == 1 and ledger["egw00201"] == 1
            assert [f["kind"] for f in ledger["faults"]] == ["rate_limit"]
            holdings = (await http.balance()).json()
            assert [h["pdno"] for h in holdings["output1"]] == ["000660", "005930"]
            assert holdings["output2"][0]["dnca_tot_amt"] == "4929000"
            assert (await post("expire_tokens", {})).status_code == 200
            assert (await http.order("005930", 1, 70000)).json()["msg_cd"] == "EGW00123"
            bad = await post("cash", {"amount": 1.5})
            assert bad.status_code == 400 and "decimal" in bad.json()["message"]
            assert (await post("position", {"symbol": "005930"})).status_code == 400
            stats = (await http.client.get(f"{base}/statistics", headers=keys)).json()
            assert stats["kis_orders"] == 1 and stats["egw00123"] == 1

    run(scenario())


def test_control_refuses_what_krx_cannot_hold() -> None:
    async def scenario() -> None:
        async with KisEmulator() as emulator:
            with pytest.raises(ValueError, match="whole"):
                emulator.control.set_position("005930", "1.5")
            with pytest.raises(ValueError, match="unknown"):
                emulator.control.set_position("AAPL", "1")
            with pytest.raises(ValueError, match="tick"):
                emulator.control.set_quote("005930", "70900", "71000", base_price="70050")
            lower, upper = emulator.control.limits("005930")
            assert (lower, upper) == (Decimal(49700), Decimal(92300))

    run(scenario())


def test_options_from_the_command_line() -> None:
    emulator = KisEmulator.from_config({
        "rate_limit": "5", "record_fields": "23", "token_interval": "0.5", "seed": "3",
        "cash": "2000000", "symbols": "005930,069500", "symbols.123456.price": "12340",
        "symbols.123456.name": "테스트", "heartbeat": "0", "faults.server_error": "0.1",
        "hts_id": "someone", "account": "12345678-22"}, host="127.0.0.1", port=0)
    assert sorted(emulator.state.listings) == ["005930", "069500", "123456"]
    assert emulator.state.listings["123456"].name == "테스트"
    assert emulator.state.record_fields == 23 and emulator.state.limiter.rate_limit == 5.0
    assert emulator.hts_id == "someone" and emulator.account == "12345678-22"
    assert emulator.venue.faults.probability("server_error") == Decimal("0.1")
    assert emulator.state.sim.account.cash == Decimal(2_000_000)


@pytest.mark.parametrize(("config", "named"), [
    ({"colour": "blue"}, "colour"),
    ({"record_fields": "24"}, "record_fields"),
    ({"rate_limit": "0"}, "rate_limit"),
    ({"currency": "USD"}, "currency"),
    ({"state_path": "x"}, "state_path"),
    ({"account": "1234"}, "account"),
    ({"symbols.005930.tick": "5"}, "tick"),
    ({"symbols": "AAPL"}, "AAPL"),
    ({"symbols.123456.name": "no price"}, "price"),
    ({"cash": "1.5.5"}, "cash"),
])
def test_bad_options_name_the_key(config: dict[str, str], named: str) -> None:
    with pytest.raises(VenueKitError) as info:
        KisEmulator.from_config(config, host="127.0.0.1", port=0)
    assert info.value.code is Code.INVALID_CONFIG and named in info.value.message


def test_only_loopback_unless_allowed() -> None:
    with pytest.raises(VenueKitError, match="loopback"):
        KisEmulator(host="0.0.0.0")
    assert KisEmulator(host="0.0.0.0", allow_remote=True).host == "0.0.0.0"


def test_addresses_and_client_settings() -> None:
    async def scenario() -> None:
        async with KisEmulator() as emulator:
            port = emulator.port
            assert port > 0
            assert emulator.endpoints() == {
                "rest": f"http://127.0.0.1:{port}",
                "websocket": f"ws://127.0.0.1:{port}/tryitout",
                "control": f"http://127.0.0.1:{port}/_venuekit"}
            assert emulator.client_settings() == {
                "KIS_BASE_URL": f"http://127.0.0.1:{port}",
                "KIS_WS_URL": f"ws://127.0.0.1:{port}", "KIS_APP_KEY": DEFAULT_APP_KEY,
                "KIS_APP_SECRET": DEFAULT_APP_SECRET, "KIS_ACCOUNT": "50000000-01",
                "KIS_HTS_ID": "venuekit"}
            assert len(DEFAULT_APP_KEY) == 36 and len(DEFAULT_APP_SECRET) == 180
            assert DEFAULT_APP_SECRET not in repr(emulator.state.credentials)
            assert DEFAULT_APP_KEY not in repr(emulator.state.credentials)
        chosen = KisEmulator(app_secret="s" * 180)
        assert chosen.client_settings()["KIS_APP_SECRET"] != "s" * 180

    run(scenario())


def test_a_synchronous_client_against_an_emulator_in_a_thread() -> None:
    with run_in_thread(rate_limit=1000.0) as emulator, \
            httpx.Client(base_url=emulator.base_url, timeout=10) as client:
        token = client.post("/oauth2/tokenP", json={
            "grant_type": "client_credentials", "appkey": emulator.app_key,
            "appsecret": emulator.app_secret}).json()["access_token"]
        emulator.control.set_quote("005930", "70900", "71000")
        answer = client.post("/uapi/domestic-stock/v1/trading/order-cash", content=json.dumps({
            "CANO": "50000000", "ACNT_PRDT_CD": "01", "PDNO": "005930", "ORD_DVSN": "00",
            "ORD_QTY": "2", "ORD_UNPR": "71000"}), headers={
            "authorization": f"Bearer {token}", "appkey": emulator.app_key,
            "appsecret": emulator.app_secret, "tr_id": "VTTC0802U", "custtype": "P",
            "content-type": "application/json"})
        assert answer.json()["rt_cd"] == "0"
        assert [(f["odno"], f["quantity"]) for f in emulator.control.fills()] == \
            [(answer.json()["output"]["ODNO"], "2")]
