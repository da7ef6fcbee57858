"""An Alpaca-compatible emulator on 127.0.0.1, backed by the mock venue's matching engine.

The real alpaca-py clients run unmodified against it: ``TradingClient`` over REST,
``TradingStream`` over the ``/stream`` websocket, ``StockHistoricalDataClient`` for latest
quotes, bars and snapshots. Use it for offline paper trading (``venuekit emulate
alpaca``) and in tests::

    from venuekit_alpaca.emulator import AlpacaEmulator, run_in_thread

    async with AlpacaEmulator(symbols=["AAPL"], cash="50000", seed=7) as emulator:
        emulator.base_url, emulator.stream_url, emulator.data_url
        emulator.api_key, emulator.secret_key
        emulator.control.set_quote("AAPL", "189.99", "190.01")

    with run_in_thread(seed=7) as emulator:     # for synchronous clients
        client = TradingClient(emulator.api_key, emulator.secret_key,
                               url_override=emulator.base_url)

What is served (all numbers in trading payloads are strings, Decimal exact):

* ``POST /v2/orders`` (answers the order as ``accepted``; fills follow on the stream and in
  reads), ``GET /v2/orders`` (``status``, ``limit``, ``after``, ``until``, ``direction``,
  ``side``, ``symbols``), ``GET``/``PATCH``/``DELETE /v2/orders/{id}`` (DELETE answers 204),
  ``DELETE /v2/orders`` (207 with one entry per order), ``GET
  /v2/orders:by_client_order_id?client_order_id=``;
* ``GET /v2/account``, ``/v2/positions``, ``/v2/positions/{symbol}``, ``/v2/assets``,
  ``/v2/assets/{symbol}``, ``/v2/clock``, ``/v2/calendar``;
* ``DELETE /v2/positions/{symbol}`` and ``DELETE /v2/positions``: see :mod:`.closing`;
* ``GET /v2/account/activities[/{type}]``: see :mod:`.activities`; ``GET
  /v2/account/portfolio/history`` and ``GET``/``PATCH /v2/account/configurations``: see
  :mod:`.account`;
* the stock market data (latest quotes, trades and bars, historical bars and quotes,
  snapshots): see :mod:`.marketdata`;
* ``/stream``: see :mod:`.stream`; the control API under ``/_venuekit/``: see
  :mod:`.control`.

Errors are Alpaca's JSON bodies: 401 ``40110000`` ``request is not authorized``; 403
``40310000`` insufficient buying power or quantity; 422 ``40010001`` invalid input and
``client_order_id must be unique`` (also after the first order was cancelled); 422
``42210000`` ``order is not cancelable``; 404 ``40410000`` ``order not found``; 429
``42910000`` beyond the request budget; 500 ``50010000`` for an injected server error.
Market and limit orders with ``day``, ``gtc``, ``ioc`` and ``fok`` are supported, by
quantity or (market, day, fractionable symbols) by notional, and with ``opg`` and ``cls``
for the simulated sessions' opening and closing auctions (see :mod:`.auctions`); stop,
stop-limit and trailing-stop orders (``stop_price``, ``trail_price`` / ``trail_percent``;
answered with ``stop_price``, ``trail_price``, ``trail_percent`` and ``hwm``) run on the
simulator's native stops (see :mod:`.triggers`); order classes ``bracket``, ``oco`` and ``oto`` with
their ``take_profit`` / ``stop_loss`` legs run on its contingent orders (see
:mod:`.order_classes`). Extended hours are refused with a 422 that says so.
"""

from .control import AlpacaControl
from .server import DEFAULT_API_KEY, DEFAULT_SECRET_KEY, AlpacaEmulator, run_in_thread

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_SECRET_KEY",
    "AlpacaControl",
    "AlpacaEmulator",
    "run_in_thread",
]
