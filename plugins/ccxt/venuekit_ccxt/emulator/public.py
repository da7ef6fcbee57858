"""Public market streams at ``/ws``, ``/ws/<n>`` (as ccxt.pro connects) and ``/stream``.

Subscribe with ``{"method": "SUBSCRIBE", "params": ["btcusdt@bookTicker"], "id": 1}``
(answered ``{"result": null, "id": 1}``), or name a stream in the path
(``/ws/btcusdt@miniTicker``, ``/stream?streams=a/b``). ``UNSUBSCRIBE`` and
``LIST_SUBSCRIPTIONS`` work as on Binance. Two streams are served per symbol:
``<symbol>@bookTicker`` (``{"u", "s", "b", "B", "a", "A"}``) and ``<symbol>@miniTicker``
(``24hrMiniTicker``: the close is the last trade or the mid). Each is sent when it changes,
checked every 0.1 second; ``/stream`` wraps events as ``{"stream", "data"}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from decimal import Decimal
from typing import Any

from aiohttp import WSMsgType, web

from .jsonio import amount, dumps
from .state import EmulatorState

__all__ = ["PublicStreams"]

ZERO = Decimal(0)
_INTERVAL = 0.1
_KINDS = ("bookTicker", "miniTicker")


class PublicStreams:
    """Serves the public market-stream connections of one emulator."""

    PATHS = ("/ws", "/ws/{name}", "/stream")

    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def _stream_ok(self, name: str) -> bool:
        symbol, _, kind = name.partition("@")
        return kind in _KINDS and symbol.upper() in self.state.venue.simulator.market.books

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=None, timeout=1.0)
        await ws.prepare(request)
        combined = request.path == "/stream"
        streams: list[str] = []
        initial = request.match_info.get("name", "") if not combined \
            else request.query.get("streams", "")
        for name in initial.split("/"):
            if self._stream_ok(name):
                streams.append(name)
        self.state.connections[ws] = request
        pusher = asyncio.create_task(self._push(ws, streams, combined),
                                     name="binance-emulator-public-stream")
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    await self._request(ws, streams, message.data)
        finally:
            pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pusher
            self.state.connections.pop(ws, None)
            if not ws.closed:
                with contextlib.suppress(Exception):
                    await ws.close()
        return ws

    async def _request(self, ws: web.WebSocketResponse, streams: list[str], text: str) -> None:
        try:
            frame = json.loads(text)
        except ValueError:
            frame = None
        if not isinstance(frame, dict):
            await ws.send_str(dumps({"error": {"code": 3, "msg": "Invalid JSON"}}))
            return
        method, request_id = frame.get("method"), frame.get("id")
        names = frame.get("params") or []
        if method == "LIST_SUBSCRIPTIONS":
            await ws.send_str(dumps({"result": list(streams), "id": request_id}))
            return
        if method not in ("SUBSCRIBE", "UNSUBSCRIBE") or not isinstance(names, list):
            await ws.send_str(dumps({"error": {"code": 2, "msg": "Invalid request: unknown "
                                               "method"}, "id": request_id}))
            return
        bad = [n for n in names if not isinstance(n, str) or not self._stream_ok(n)]
        if bad:
            await ws.send_str(dumps({"error": {"code": 2, "msg": f"Invalid request: invalid "
                                               f"stream {bad[0]}"}, "id": request_id}))
            return
        for name in names:
            if method == "SUBSCRIBE" and name not in streams:
                streams.append(name)
            elif method == "UNSUBSCRIBE" and name in streams:
                streams.remove(name)
        await ws.send_str(dumps({"result": None, "id": request_id}))

    def _event(self, name: str) -> dict[str, Any]:
        symbol_text, _, kind = name.partition("@")
        symbol = symbol_text.upper()
        sim = self.state.venue.simulator
        book = sim.market.books[symbol]
        if kind == "bookTicker":
            return {"u": sim.step_index * 1_000 + len(sim.ledger.fills) + 1, "s": symbol,
                    "b": amount(book.bid), "B": amount(book.bid_left),
                    "a": amount(book.ask), "A": amount(book.ask_left)}
        fills = [f for f in sim.ledger.fills if f.symbol == symbol]
        close = fills[-1].price if fills else (book.bid + book.ask) / 2
        prices = [book.spec.price, close, *(f.price for f in fills)]
        return {"e": "24hrMiniTicker", "E": self.state.server_ms(), "s": symbol,
                "c": amount(close), "o": amount(book.spec.price), "h": amount(max(prices)),
                "l": amount(min(prices)),
                "v": amount(sum((f.quantity for f in fills), ZERO)),
                "q": amount(sum((f.quantity * f.price for f in fills), ZERO))}

    async def _push(self, ws: web.WebSocketResponse, streams: list[str],
                    combined: bool) -> None:
        sent: dict[str, str] = {}
        while not ws.closed:
            for name in list(streams):
                event = self._event(name)
                key = dumps({k: v for k, v in event.items() if k != "E"})
                if sent.get(name) == key:
                    continue
                sent[name] = key
                body = {"stream": name, "data": event} if combined else event
                await ws.send_str(dumps(body))
            await asyncio.sleep(_INTERVAL)
