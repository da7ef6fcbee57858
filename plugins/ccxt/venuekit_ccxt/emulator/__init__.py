"""A Binance-spot-compatible emulator on 127.0.0.1, backed by the mock venue's matching engine.

The real ccxt clients run unmodified against it (``ccxt.binance``, ``ccxt.async_support``
and ``ccxt.pro``): point every URL of ``exchange.urls["api"]`` at ``base_url`` keeping its
path, and set the options ``fetchMarkets.types=['spot']``, ``fetchCurrencies=False``,
``fetchMargins=False``. Use it for offline paper trading (``venuekit emulate binance``)
and in tests::

    from venuekit_ccxt.emulator import BinanceEmulator, run_in_thread

    async with BinanceEmulator(cash="50000", balances={"BNB": "5"}, seed=7) as emulator:
        emulator.base_url, emulator.ws_api_url, emulator.api_key, emulator.secret_key
        emulator.control.set_quote("BTCUSDT", "59999.99", "60000.01")

    with run_in_thread(seed=7) as emulator:     # for the synchronous ccxt.binance
        ...

What is served (amounts are strings with Binance's eight decimals, times in ms):

* ``GET /api/v3/ping``, ``time``, ``exchangeInfo`` (``symbol``, ``symbols``), ``depth``,
  ``ticker/24hr``, ``ticker/bookTicker``, ``ticker/price``, ``avgPrice``;
* signed: ``POST /api/v3/order`` (LIMIT GTC/IOC/FOK, LIMIT_MAKER, MARKET by ``quantity``
  or ``quoteOrderQty``; ``newOrderRespType`` ACK, RESULT, FULL), ``POST
  /api/v3/order/test``, ``GET``/``DELETE /api/v3/order`` (``orderId`` or
  ``origClientOrderId``), ``GET``/``DELETE /api/v3/openOrders``, ``GET /api/v3/allOrders``,
  ``GET /api/v3/myTrades``, ``POST /api/v3/order/cancelReplace`` (STOP_ON_FAILURE,
  ALLOW_FAILURE), ``GET /api/v3/account``, ``GET /api/v3/rateLimit/order``;
* for ccxt clients left with their default options: ``/sapi/v1/capital/config/getall``,
  ``/sapi/v1/margin/allPairs``, ``/sapi/v1/margin/isolated/allPairs``,
  ``/sapi/v1/system/status``, ``/fapi/v1/exchangeInfo`` and ``/dapi/v1/exchangeInfo``;
  any other path answers 404 ``{"code": -1, "msg": ...}`` at once;
* ``/ws-api/v3``: the user data stream (``userDataStream.subscribe.signature``,
  ``executionReport``, ``outboundAccountPosition``), see :mod:`.stream`;
* ``/ws``, ``/ws/<n>``, ``/stream``: ``<symbol>@bookTicker`` and ``@miniTicker``, see
  :mod:`.public`;
* the control API under ``/_venuekit/``: see :mod:`.control`.

Errors are Binance's ``{"code", "msg"}`` bodies with Binance's HTTP status and exact
messages (:mod:`.errors`); requests are weighed and limited as Binance does
(:mod:`.ratelimit`); signatures and timestamps are checked (:mod:`.signing`); commissions
are charged in the received asset, USDT or BNB (:mod:`.account`). Injected faults act at
the wire (:mod:`.rest`).
"""

from .control import BinanceControl, BinanceStatistics
from .server import DEFAULT_API_KEY, DEFAULT_SECRET_KEY, BinanceEmulator, run_in_thread
from .symbols import DEFAULT_SYMBOLS

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_SECRET_KEY",
    "DEFAULT_SYMBOLS",
    "BinanceControl",
    "BinanceEmulator",
    "BinanceStatistics",
    "run_in_thread",
]
