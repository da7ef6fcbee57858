"""The Venue contract: what a venue plugin implements, and the capabilities it declares.

A venue is an async class. The core never asks a venue to do what its
:class:`Capabilities` say it cannot; where a capability is ``"emulated"`` the venue offers
it by other means (for example replace as cancel + new order) and the core may use it.

Rules every implementation keeps (the conformance kit in :mod:`venuekit.testing` checks them):

* every venue error is raised as a :class:`venuekit.errors.VenueKitError` whose code says
  whether the order was rejected or its outcome is unknown;
* :meth:`Venue.fetch_order` raises :class:`venuekit.errors.OrderNotFound` only on a real
  not-found answer from the venue, never for a transport failure;
* prices and quantities are :class:`~decimal.Decimal` both ways.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Literal, Self

from .errors import Code, VenueKitError, error
from .model import (
    Account,
    BracketRequest,
    Fill,
    Instrument,
    OrderRequest,
    OrderSnapshot,
    OrderType,
    OrderUpdate,
    Quote,
)

__all__ = [
    "BracketSnapshot",
    "Capabilities",
    "OrderRef",
    "RateLimitPool",
    "Support",
    "Venue",
    "another_request",
]

Support = Literal[True, False, "emulated"]
"""A capability is supported natively (True), not at all (False), or emulated."""

_more_room: ContextVar[Callable[[str], Awaitable[None]] | None] = ContextVar(
    "venuekit_more_room", default=None)


async def another_request(operation: str) -> None:
    """Call before each request after the first of a venue call that sends several (the
    next page of a listing, the next symbol's): where the engine's rate limiter runs the
    call, this waits for room and charges ``operation``'s weight again, as the venue will
    count it; elsewhere it returns at once."""
    wait = _more_room.get()
    if wait is not None:
        await wait(operation)


def more_room_from(wait: Callable[[str], Awaitable[None]] | None) -> Token[Any]:
    """Make :func:`another_request` wait on ``wait`` in this context (the rate-limited
    venue sets it around a call; ``_more_room.reset(token)`` restores it)."""
    return _more_room.set(wait)


def more_room_reset(token: Token[Any]) -> None:
    _more_room.reset(token)


@dataclass(frozen=True, slots=True)
class RateLimitPool:
    """A request budget the venue enforces: ``capacity`` weight units per ``period`` seconds."""

    name: str
    capacity: int
    period: float

    def __post_init__(self) -> None:
        if self.capacity <= 0 or self.period <= 0:
            raise ValueError(f"rate-limit pool {self.name!r} needs a positive capacity and period")


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a venue can do. Declared once per venue class; listed by ``venuekit venues``.

    ``weights`` maps an operation (``submit``, ``cancel``, ``replace``, ``fetch_order``,
    ``open_orders``, ``recent_orders``, ``fills_since``, ``quote``, ``account``,
    ``instruments``) to the weight it charges in each pool; an operation that is not listed
    charges 1 in every pool.
    """

    client_order_ids: Support
    order_stream: Support
    replace: Support
    market_orders: Support
    fractional: Support
    short_selling: Support
    notional_orders: Support = False
    itemized_fills: Support = True
    """Whether ``fills_since`` lists each execution with the venue's trade id. A venue that
    shows only an order's totals over REST (KIS) itemizes executions on its stream alone;
    reconciliation infers what the totals show beyond them."""
    stop_orders: Support = False
    """Stop orders (a market order released at a trigger). ``"emulated"``: the engine holds
    the order and releases it when a quote crosses the trigger (see venuekit.triggers)."""
    stop_limit_orders: Support = False
    trailing_stops: Support = False
    brackets: Support = False
    """An entry with a take-profit and a stop-loss, one cancelling the other. ``"emulated"``:
    the engine places the exits itself once the entry fills (see venuekit.brackets)."""
    client_order_id_max_length: int = 32
    client_order_id_alphabet: str = "0123456789abcdefghijklmnopqrstuvwxyz-"
    not_found_grace: float = 2.0
    """Seconds after a create during which a not-found answer is not believed."""
    rate_limits: tuple[RateLimitPool, ...] = ()
    weights: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def weight(self, operation: str) -> Mapping[str, int]:
        """The weight ``operation`` charges in each declared pool."""
        declared = self.weights.get(operation)
        if declared is not None:
            return declared
        return {pool.name: 1 for pool in self.rate_limits}

    def order_type(self, order_type: OrderType) -> Support:
        """How the venue offers ``order_type``: natively, emulated, or not at all."""
        if order_type is OrderType.MARKET:
            return self.market_orders
        if order_type is OrderType.LIMIT:
            return True
        return {OrderType.STOP: self.stop_orders, OrderType.STOP_LIMIT: self.stop_limit_orders,
                OrderType.TRAILING_STOP: self.trailing_stops}[order_type]

    def as_dict(self) -> dict[str, object]:
        return {
            "client_order_ids": self.client_order_ids,
            "order_stream": self.order_stream,
            "replace": self.replace,
            "market_orders": self.market_orders,
            "fractional": self.fractional,
            "short_selling": self.short_selling,
            "notional_orders": self.notional_orders,
            "itemized_fills": self.itemized_fills,
            "stop_orders": self.stop_orders,
            "stop_limit_orders": self.stop_limit_orders,
            "trailing_stops": self.trailing_stops,
            "brackets": self.brackets,
            "client_order_id_max_length": self.client_order_id_max_length,
            "not_found_grace": self.not_found_grace,
            "rate_limits": [
                {"name": p.name, "capacity": p.capacity, "period": p.period}
                for p in self.rate_limits
            ],
        }


@dataclass(frozen=True, slots=True)
class BracketSnapshot:
    """A native bracket at the venue: its entry and, once the venue names them, its exits."""

    entry: OrderSnapshot
    take_profit: OrderSnapshot | None = None
    stop_loss: OrderSnapshot | None = None


@dataclass(frozen=True, slots=True)
class OrderRef:
    """How to find one order at a venue: by client order id, venue order id, or both.

    ``symbol`` is the order's symbol where the caller knows it: some venues (Binance) name
    orders per symbol and cannot look one up without it. The core always gives it.
    """

    client_order_id: str | None = None
    venue_order_id: str | None = None
    symbol: str | None = None

    def __post_init__(self) -> None:
        if not self.client_order_id and not self.venue_order_id:
            raise ValueError("an OrderRef needs a client_order_id or a venue_order_id")

    def __str__(self) -> str:
        return self.venue_order_id or self.client_order_id or ""


class Venue(abc.ABC):
    """One connection to one trading venue.

    Subclasses set ``name`` and ``capabilities`` as class attributes (so they can be listed
    without connecting) and implement the abstract methods. ``submit`` receives a request
    already quantized to the instrument's rules and the client order id the journal
    committed before the call.
    """

    name: ClassVar[str]
    capabilities: Capabilities  # a class attribute; an instance may narrow it (configurable venues)
    environment_prefixes: ClassVar[tuple[str, ...]] = ()
    """Prefixes of the environment variables the venue reads besides ``NAME_`` (its name in
    upper case): ``venuekit config`` shows those set, credentials masked."""

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, state_dir: Path | None = None) -> Self:
        """Build the venue from configuration (CLI options, a config file section).

        ``state_dir`` is a directory the venue may keep local state in (a simulated
        market, a token cache): the journal's directory unless the configuration names
        another (see :mod:`venuekit.settings`); None when the caller keeps no state. A
        venue that keeps none ignores it; one that does never writes anywhere else
        unless its own options say so.

        The default passes the mapping as keyword arguments; plugins override it to parse
        strings, read credentials from the environment, and refuse unknown keys clearly.
        """
        try:
            return cls(**dict(config))
        except TypeError as exc:
            raise error(Code.INVALID_CONFIG, f"{cls.name}: {exc}", venue=cls.name) from None

    async def connect(self) -> None:
        """Open sessions and streams. Called once before any other method."""

    async def close(self) -> None:
        """Release every resource; safe to call twice."""

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    @abc.abstractmethod
    async def instruments(self, symbols: Sequence[str] | None = None) -> Sequence[Instrument]:
        """The tradable instruments (only ``symbols`` when given; unknown ones are omitted)."""

    async def instrument(self, symbol: str) -> Instrument:
        """One instrument, or a ``UNKNOWN_SYMBOL`` validation error."""
        for item in await self.instruments([symbol]):
            if item.symbol == symbol:
                return item
        raise error(Code.UNKNOWN_SYMBOL, f"{self.name} does not list {symbol!r}", venue=self.name)

    @abc.abstractmethod
    async def quote(self, symbol: str) -> Quote:
        """The latest top of book for ``symbol``."""

    async def quotes(self, symbols: Sequence[str]) -> Sequence[Quote]:
        """The latest quotes of ``symbols`` (unknown ones are omitted).

        The default asks :meth:`quote` once per symbol, concurrently. A venue with a
        multi-symbol quote request overrides this to make one request: a rebalance of a
        hundred symbols then costs one call of the venue's rate limit, not a hundred.
        """
        found = await asyncio.gather(*(self.quote(symbol) for symbol in symbols),
                                     return_exceptions=True)
        quotes: list[Quote] = []
        for result in found:
            if isinstance(result, VenueKitError) and result.code is Code.UNKNOWN_SYMBOL:
                continue
            if isinstance(result, BaseException):
                raise result
            quotes.append(result)
        return quotes

    @abc.abstractmethod
    async def account(self) -> Account:
        """Cash, buying power and positions."""

    @abc.abstractmethod
    async def submit(self, request: OrderRequest, client_order_id: str) -> OrderSnapshot:
        """Send a new order. Errors say whether it was rejected or its outcome is unknown."""

    @abc.abstractmethod
    async def cancel(self, ref: OrderRef) -> OrderSnapshot | None:
        """Ask the venue to cancel. Returns the venue's snapshot when it answers with one.

        A cancel of an order that is already filled raises with a rejected outcome or
        returns the filled snapshot; a not-found raises :class:`~venuekit.errors.OrderNotFound`.
        """

    async def replace(self, ref: OrderRef, *, quantity: Decimal | None = None,
                      limit_price: Decimal | None = None,
                      client_order_id: str | None = None) -> OrderSnapshot:
        """Replace price and/or quantity natively; the answer is the new order's snapshot."""
        raise error(Code.CAPABILITY_NOT_SUPPORTED, f"{self.name} cannot replace orders",
                    venue=self.name)

    async def submit_bracket(self, bracket: BracketRequest,
                             client_order_id: str) -> BracketSnapshot:
        """Send a bracket natively (where ``capabilities.brackets`` is True): the entry under
        ``client_order_id``, its exits as the venue's own contingent orders. The answer is
        the entry's snapshot and each exit's as the venue names it."""
        raise error(Code.CAPABILITY_NOT_SUPPORTED, f"{self.name} takes no native brackets",
                    venue=self.name)

    async def fetch_bracket(self, ref: OrderRef) -> BracketSnapshot:
        """A native bracket's entry (``ref``) with its exits, or OrderNotFound."""
        raise error(Code.CAPABILITY_NOT_SUPPORTED, f"{self.name} takes no native brackets",
                    venue=self.name)

    @abc.abstractmethod
    async def fetch_order(self, ref: OrderRef) -> OrderSnapshot:
        """One order's current snapshot, or :class:`~venuekit.errors.OrderNotFound`."""

    @abc.abstractmethod
    async def open_orders(self, symbol: str | None = None) -> Sequence[OrderSnapshot]:
        """Orders still working at the venue."""

    @abc.abstractmethod
    async def recent_orders(self, since: datetime) -> Sequence[OrderSnapshot]:
        """Every order created since ``since``, open or closed (fingerprint lookups use it)."""

    @abc.abstractmethod
    async def fills_since(self, since: datetime, symbol: str | None = None) -> Sequence[Fill]:
        """Executions since ``since``, oldest first."""

    def order_updates(self) -> AsyncIterator[OrderUpdate]:
        """The venue's stream of order updates, for venues that declare ``order_stream``.

        The iterator ends (or raises a connectivity error) when the stream disconnects;
        the settlement layer then polls and reconnects by calling this method again. An
        iterator that subscribes in the background may offer ``async def ready()``,
        returning once the subscription is in force (or has failed, which the next
        ``__anext__`` then raises): settlement awaits it before it reads open orders over
        REST, so that no update falls between that read and the subscription.
        """
        raise error(Code.CAPABILITY_NOT_SUPPORTED, f"{self.name} has no order stream",
                    venue=self.name)
