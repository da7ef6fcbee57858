"""Every refusal the Binance emulator makes reaches ccxt as the exception class that
CCXT_KIS.md §B.4 and VENUES.md §B say Binance's answer gives, through ccxt's own error
handling (a localhost URL: ccxt's general error map)."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import aiohttp
import ccxt
import pytest

from venuekit_ccxt.emulator import BinanceEmulator

from .emulator_clients import async_client, run, signed

BTC = "BTC/USDT"


def order(**params: str) -> dict[str, str]:
    return {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
            "quantity": "0.001", "price": "59000"} | params


CASES: list[tuple[str, dict[str, str], type[Exception], str]] = [
    ("price off the tick", order(price="59000.005"), ccxt.InvalidOrder,
     "Filter failure: PRICE_FILTER"),
    ("price above the maximum", order(price="2000000"), ccxt.InvalidOrder,
     "Filter failure: PRICE_FILTER"),
    ("quantity off the lot", order(quantity="0.000015"), ccxt.InvalidOrder,
     "Filter failure: LOT_SIZE"),
    ("quantity below the minimum", order(quantity="0"), ccxt.InvalidOrder,
     "Filter failure: LOT_SIZE"),
    ("notional below 5 USDT", order(quantity="0.00001"), ccxt.BadRequest,
     "Filter failure: NOTIONAL"),
    ("unknown symbol", order(symbol="DOGEUSDT"), ccxt.BadSymbol, "Invalid symbol."),
    ("missing side", {k: v for k, v in order().items() if k != "side"}, ccxt.BadRequest,
     "Mandatory parameter 'side' was not sent, was empty/null, or malformed."),
    ("bad side", order(side="HOLD"), ccxt.BadRequest, "Invalid side."),
    ("bad type", order(type="ICEBERG"), ccxt.BadRequest, "Invalid orderType."),
    ("bad time in force", order(timeInForce="DAY"), ccxt.BadRequest,
     "Invalid timeInForce."),
    ("limit without time in force", {k: v for k, v in order().items() if k != "timeInForce"},
     ccxt.BadRequest, "Mandatory parameter 'timeInForce'"),
    ("market with a price", order(type="MARKET", timeInForce=""), ccxt.BadRequest,
     "Parameter 'price' sent when not required."),
    ("market with neither amount", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET"},
     ccxt.BadRequest, "Param 'quantity' or 'quoteOrderQty' must be sent"),
    ("malformed quantity", order(quantity="1e-3"), ccxt.BadRequest,
     "Illegal characters found in parameter 'quantity'"),
    ("too precise quantity", order(quantity="0.000000001"), ccxt.BadRequest,
     "Parameter 'quantity' has too much precision."),
    ("bad client order id", order(newClientOrderId="has space"), ccxt.BadRequest,
     "Illegal characters found in parameter 'newClientOrderId'; legal range is "
     "'^[a-zA-Z0-9-_]{1,36}$'."),
    ("client order id too long", order(newClientOrderId="x" * 37), ccxt.BadRequest,
     "parameter 'newClientOrderId'"),
    ("stop-loss order", order(type="STOP_LOSS", stopPrice="50000", timeInForce="",
                              price=""), ccxt.InvalidOrder,
     "Stop loss orders are not supported for this symbol."),
    ("take-profit-limit order", order(type="TAKE_PROFIT_LIMIT", stopPrice="61000"),
     ccxt.InvalidOrder, "Take profit limit orders are not supported for this symbol."),
    ("iceberg", order(icebergQty="0.0005"), ccxt.InvalidOrder,
     "Iceberg orders are not supported for this symbol."),
    ("buy beyond the balance", order(quantity="2"), ccxt.InsufficientFunds,
     "Account has insufficient balance for requested action."),
    ("sell without the asset", order(side="SELL", price="61000"), ccxt.InsufficientFunds,
     "Account has insufficient balance for requested action."),
]


@pytest.mark.parametrize(("params", "error", "message"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_order_refusals_map_to_ccxt_exceptions(params: dict[str, str],
                                               error: type[Exception], message: str) -> None:
    async def scenario() -> None:
        async with BinanceEmulator(seed=1) as emulator, async_client(emulator) as ex:
            sent = {k: v for k, v in params.items() if v != ""}
            with pytest.raises(error) as info:
                await ex.private_post_order(sent)
            assert message in str(info.value)
            assert emulator.control.ledger.order_count == 0

    run(scenario())


def test_refusals_through_ccxt_unified_methods() -> None:
    async def scenario() -> None:
        async with BinanceEmulator(seed=2, halted=["SOLUSDT"]) as emulator, \
                async_client(emulator) as ex:
            await ex.create_order(BTC, "limit", "buy", "0.001", "59000", {"clientOrderId": "d"})
            with pytest.raises(ccxt.InvalidOrder, match=re.escape("Duplicate order sent.")) as info:
                await ex.create_order(BTC, "limit", "buy", "0.001", "59000",
                                      {"clientOrderId": "d"})
            assert not isinstance(info.value, ccxt.InsufficientFunds)
            with pytest.raises(ccxt.OrderImmediatelyFillable):
                await ex.create_order(BTC, "limit", "buy", "0.001", "61000", {"postOnly": True})
            with pytest.raises(ccxt.MarketClosed, match=re.escape("Market is closed.")):
                await ex.create_order("SOL/USDT", "market", "buy", "1")
            with pytest.raises(ccxt.InsufficientFunds):
                await ex.create_order(BTC, "market", "sell", "0.001")
            with pytest.raises(ccxt.InsufficientFunds):
                await ex.create_order(BTC, "market", "buy", "10")
            with pytest.raises(ccxt.BadRequest, match="newClientOrderId"):
                await ex.create_order(BTC, "limit", "buy", "0.001", "59000",
                                      {"clientOrderId": "bad.id"})
            with pytest.raises(ccxt.OrderNotFound, match=re.escape("Order does not exist.")):
                await ex.fetch_order("42", BTC)
            with pytest.raises(ccxt.OrderNotFound, match=re.escape("Unknown order sent.")):
                await ex.cancel_order("42", BTC)
            with pytest.raises(ccxt.BadSymbol, match=re.escape("Invalid symbol.")):
                await ex.public_get_ticker_24hr({"symbol": "DOGEUSDT"})
            rejects = [r.code for r in emulator.control.ledger.rejects]
            assert rejects == ["SYMBOL_HALTED", "INSUFFICIENT_FUNDS"]  # the engine's own

    run(scenario())


def test_signature_key_and_timestamp_failures() -> None:
    async def scenario() -> None:
        async with BinanceEmulator(seed=3) as emulator:
            async with async_client(emulator, secret="wrong-secret") as ex:
                with pytest.raises(ccxt.AuthenticationError,
                                   match=re.escape("Signature for this request is not valid.")):
                    await ex.fetch_balance()
            async with async_client(emulator, apiKey="someone-else") as ex:
                with pytest.raises(ccxt.AuthenticationError, match="-2015"):
                    await ex.fetch_balance()
            async with async_client(emulator, apiKey="bad key!") as ex:
                with pytest.raises(ccxt.AuthenticationError,
                                   match=re.escape("API-key format invalid.")):
                    await ex.fetch_balance()
            stale = {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False,
                     "fetchMargins": False, "timeDifference": 30_000}
            async with async_client(emulator, options=stale) as ex:
                with pytest.raises(ccxt.InvalidNonce, match="outside of the recvWindow"):
                    await ex.fetch_balance()
            ahead = dict(stale, timeDifference=-5_000)
            async with async_client(emulator, options=ahead) as ex:
                with pytest.raises(ccxt.InvalidNonce, match="1000ms ahead"):
                    await ex.fetch_balance()
            synced = dict(stale, adjustForTimeDifference=True)
            async with async_client(emulator, options=synced) as ex:
                await ex.load_markets()  # fetches /api/v3/time and corrects the difference
                assert abs(ex.options["timeDifference"]) < 1_000
                assert "USDT" in await ex.fetch_balance()
            answer = await asyncio.to_thread(signed, emulator, "GET", "/api/v3/account", {},
                                             timestamp=int(time.time() * 1000) - 6_000)
            assert (answer.status_code, answer.json()["code"]) == (400, -1021)
            answer = await asyncio.to_thread(signed, emulator, "GET", "/api/v3/account",
                                             {"recvWindow": "70000"})
            assert answer.json() == {"code": -1102, "msg": "'recvWindow' contains "
                                     "unexpected value. Cannot be greater than 60000."}
            async with aiohttp.ClientSession() as session:
                async with session.get(emulator.base_url + "/api/v3/account") as reply:
                    assert reply.status == 401
                    assert await reply.json() == {"code": -2014,
                                                  "msg": "API-key format invalid."}
                headers = {"X-MBX-APIKEY": emulator.api_key}
                async with session.get(emulator.base_url + "/api/v3/account?timestamp=1",
                                       headers=headers) as reply:
                    assert (reply.status, (await reply.json())["code"]) == (400, -1102)

    run(scenario())


def test_a_client_with_default_options_loads_markets_and_trades() -> None:
    async def scenario() -> None:
        async with BinanceEmulator(seed=4) as emulator:
            async with async_client(emulator, options={}) as ex:
                markets = await ex.load_markets()
                assert "BTC/USDT" in markets
                order: Any = await ex.create_order(BTC, "market", "buy", "0.001")
                assert order["status"] == "closed"
                assert (await ex.fetch_status())["status"] == "ok"
            async with async_client(emulator, options={}, keys=False) as ex:
                assert "ETH/USDT" in await ex.load_markets()
            async with async_client(emulator) as ex:
                started = time.monotonic()
                with pytest.raises(ccxt.ExchangeError, match="not served by the venuekit "
                                   "Binance emulator; set options") as info:
                    await ex.sapi_get_asset_assetdetail()
                assert type(info.value) is ccxt.ExchangeError
                assert time.monotonic() - started < 2
            async with aiohttp.ClientSession() as session, \
                    session.post(emulator.base_url + "/api/v3/userDataStream") as reply:
                assert reply.status == 404 and (await reply.json())["code"] == -1

    run(scenario())
