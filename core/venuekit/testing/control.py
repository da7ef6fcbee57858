"""The market-control handle: how the conformance kit drives a venue's mock or emulator.

Each venue plugin implements :class:`MarketControl` for the simulated venue its tests run
against (its emulator, or the mock itself). The kit uses it to put the market in a known
state (a quote with known sizes, the account's cash), to inject the faults real venues
produce, and to read what the venue really did (its ledger of truth), so that a test can
check the SDK's view against the truth rather than against the venue's answers.

This module imports neither pytest nor the kit's test classes: an emulator may implement
the handle without depending on any test tool.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, runtime_checkable

from ..model import OrderType, Side

__all__ = ["FaultKind", "LedgerFill", "LedgerOrder", "MarketControl"]


class FaultKind(enum.StrEnum):
    """The faults every market-control handle can inject.

    Request faults strike the next create request the venue receives; stream faults
    strike the first stream event of the next order created.
    """

    DROP_RESPONSE = "drop_response"
    """The venue accepts the create, then the caller never gets the answer (a timeout)."""
    TIMEOUT = "timeout"
    """The request times out before the venue acts: nothing happened."""
    SERVER_ERROR = "server_error"
    """The venue answers with an internal error (HTTP 5xx) before acting."""
    RATE_LIMIT = "rate_limit"
    """The venue answers "too many requests" (HTTP 429) before acting."""
    STREAM_DISCONNECT = "stream_disconnect"
    """The order stream drops just before the order's first event."""
    DUPLICATE_EVENT = "duplicate_event"
    """The order's first stream event is delivered twice."""
    OUT_OF_ORDER = "out_of_order"
    """The order's first stream event is delivered after the next one."""


REQUEST_FAULTS = frozenset({FaultKind.DROP_RESPONSE, FaultKind.TIMEOUT,
                            FaultKind.SERVER_ERROR, FaultKind.RATE_LIMIT})


@dataclass(frozen=True, slots=True)
class LedgerOrder:
    """An order the venue accepted, as it was at acceptance."""

    venue_order_id: str
    client_order_id: str | None
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    limit_price: Decimal | None
    replaces: str | None = None
    """The venue order id of the order this one replaced (native replace), if any."""


@dataclass(frozen=True, slots=True)
class LedgerFill:
    """One execution the venue really made."""

    trade_id: str
    venue_order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal


@runtime_checkable
class MarketControl(Protocol):
    """Drives a simulated venue for the conformance kit and shows its truth.

    Every method is async so that a handle may talk to an emulator in another task,
    thread or process. Prices and quantities are :class:`~decimal.Decimal`.
    """

    async def set_quote(self, symbol: str, bid: Decimal, ask: Decimal,
                        bid_size: Decimal, ask_size: Decimal) -> None:
        """Show this top of book for ``symbol`` until the market is advanced.

        Resting orders the new quote crosses fill at their own price, each for at most
        the displayed size; the displayed size is consumed by fills until the next quote.
        """

    async def advance(self, steps: int = 1) -> None:
        """Move the market ``steps`` steps (quotes may change; resting orders may fill)."""

    async def set_cash(self, amount: Decimal) -> None:
        """Set the account's cash (buying power follows, net of working orders)."""

    async def inject(self, fault: FaultKind) -> None:
        """Arm ``fault`` once: for the next create request, or the next order's stream."""

    async def fail_authentication(self, enabled: bool = True) -> None:
        """Refuse every request's credentials until called with ``False``."""

    async def disconnect_stream(self) -> None:
        """Drop every order-stream connection now, as a network failure would."""

    async def clear_faults(self) -> None:
        """Disarm every fault (authentication failures included)."""

    async def orders(self) -> Sequence[LedgerOrder]:
        """Every order the venue accepted, oldest first (replacements included)."""

    async def fills(self) -> Sequence[LedgerFill]:
        """Every execution the venue made, oldest first."""
