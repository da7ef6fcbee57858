"""The time in force ``opg`` and ``cls``: orders for the opening and the closing auction.

Alpaca's rules (alpaca-py 0.44 ``alpaca/trading/enums.py: TimeInForce``, which repeats
docs.alpaca.markets "Orders at Alpaca"):

* ``opg`` with a market or limit order is a market-on-open / limit-on-open order: "eligible
  to execute only in the market opening auction. Any unfilled orders after the open will be
  cancelled." ``cls`` (market-on-close / limit-on-close) likewise for the closing auction.
* Submission windows: an ``opg`` order sent after 9:28 and before 19:00 ET is rejected, one
  sent after 19:00 is queued for the next day's opening auction; a ``cls`` order sent after
  15:50 and before 19:00 ET is rejected, one sent after 19:00 is queued for the next day's
  closing auction.
* Fractional quantities take time in force ``day`` only, notional orders are market
  ``day`` orders, and order classes other than ``simple`` take ``day`` or ``gtc``.

How the emulator serves them, on the simulator's auction orders
(:mod:`venuekit_mock.sim.auctions`): the emulated market is always open and its sessions
have no time of day, so there is no window to enforce. A ``cls`` order waits for the
close of the current session; an ``opg`` order is queued, as Alpaca queues one sent after
19:00, for the next session's opening quote. A session closes every ``steps_per_session``
steps or on ``POST /_venuekit/end_session``, never by the wall clock; the next session
opens at each symbol's next quote. At its auction the order trades once against that
quote (a buy at the ask, a sell at the bid, for at most the displayed size, a limit order
only if the quote reaches its limit) and what is left is cancelled. Refusals are the
emulator's usual 422 bodies; the windows' rejection is never sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from venuekit.model import OrderType, TimeInForce

from . import errors

__all__ = ["AUCTIONS", "TIME_IN_FORCE", "auction_of", "check_auction_order"]

AUCTIONS = {"opg": "open", "cls": "close"}
"""The simulator's auction for each auction time in force."""

TIME_IN_FORCE = {"opg": TimeInForce.DAY, "cls": TimeInForce.DAY}
"""The time in force the simulator keeps for them: its auction, not the close, ends one."""

_TYPES = (OrderType.MARKET, OrderType.LIMIT)
_CLASSES = ("bracket", "oco", "oto")  # they take day or gtc


def auction_of(body: Mapping[str, Any]) -> str | None:
    """The auction a create body asks for (``"open"``, ``"close"``), or None."""
    return AUCTIONS.get(str(body.get("time_in_force", "")).lower())


def check_auction_order(body: Mapping[str, Any], order_type: OrderType,
                        qty: Decimal | None, notional: Decimal | None) -> None:
    """Refuse, with Alpaca's 422, an ``opg`` or ``cls`` order it would not take."""
    tif = str(body.get("time_in_force")).lower()
    if order_type not in _TYPES:
        raise errors.invalid(f"{tif} orders must be market or limit orders")
    if notional is not None:
        raise errors.invalid("notional orders must be market orders with time_in_force day")
    if qty is not None and qty != qty.to_integral_value():
        raise errors.AlpacaError.of(422, errors.UNPROCESSABLE,
                                    "fractional orders must be DAY orders")
    order_class = str(body.get("order_class") or "simple").lower()
    if order_class in _CLASSES:
        raise errors.invalid(f"{order_class} orders must be day or gtc orders")
