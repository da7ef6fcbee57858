"""``MockVenue``: the simulator behind the async Venue contract, with a real venue's habits.

The matching engine (:mod:`venuekit_mock.sim`) decides what happens to orders; this module
adds what a network venue does around it: per-request latency, rate-limit pools it
enforces, eventual consistency (a new order reads as not found for a while), injected
faults, an order stream with delay and its own faults, persistence for crash tests, and an
optional background clock that moves the market.

Each request runs the same pipeline: authentication, rate-limit pools, half the latency,
the faults that strike before the venue acts (rate limit, timeout, server error), the
action, the faults that strike after it (server error after accept, dropped response),
the other half of the latency. The venue state is saved after every action.

A cancel of an order that is already filled, cancelled, expired or replaced returns that
order's snapshot unchanged: the caller learns the final state at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, Literal, NamedTuple, Self

from venuekit.errors import Code, ErrorCode, VenueKitError, error
from venuekit.model import (
    Account,
    Fill,
    Instrument,
    OrderRequest,
    OrderSnapshot,
    OrderUpdate,
    Quote,
)
from venuekit.venue import Capabilities, OrderRef, RateLimitPool, Support, Venue

from . import convert, state
from .clock import monotonic
from .config import STATE_FILE, STOP_MODES, money, parse_config, resolve_symbols
from .control import MockControl
from .ratelimit import PoolLimiter
from .sim import (
    CLIENT_ID_ALPHABET,
    DISCONNECT,
    SIM_EPOCH,
    CommissionModel,
    Fault,
    FaultPlan,
    NoCommission,
    NoSlippage,
    OrderView,
    QuoteReplay,
    SimConfig,
    SimEvent,
    Simulator,
    SlippageModel,
    SymbolSpec,
)
from .stream import StreamHub

__all__ = ["MockVenue"]

log = logging.getLogger("venuekit_mock.venue")

_MUTATIONS = frozenset({"submit", "cancel", "replace"})


class _Admission(NamedTuple):
    """A request the venue let in: its order index (creates) and the faults still due."""

    order_index: int | None = None
    server_error: bool = False
    drop_response: bool = False


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():  # unless its waiter was cancelled
        future.set_result(None)


_STOP_SUPPORT: dict[str, Support] = {"native": True, "emulated": "emulated", "none": False}


def _capabilities(*, client_order_ids: bool, order_stream: bool, replace: bool,
                  fractional: bool, short_selling: bool, max_length: int,
                  grace: float, rate_limits: Sequence[RateLimitPool],
                  weights: Mapping[str, Mapping[str, int]],
                  stops: str = "native") -> Capabilities:
    support = _STOP_SUPPORT[stops]
    return Capabilities(
        stop_orders=support, stop_limit_orders=support, trailing_stops=support,
        # The engine places a bracket's exits itself; without stops it has no stop-loss.
        brackets="emulated" if support is not False else False,
        client_order_ids=client_order_ids, order_stream=order_stream, replace=replace,
        market_orders=True, fractional=fractional, short_selling=short_selling,
        notional_orders=False, client_order_id_max_length=max_length,
        client_order_id_alphabet=CLIENT_ID_ALPHABET, not_found_grace=grace,
        rate_limits=tuple(rate_limits), weights={k: dict(v) for k, v in weights.items()})


class MockVenue(Venue):
    """A deterministic simulated venue. See ``docs/venues/mock.md`` for every option.

    With no arguments: six US-equity-like symbols, 100,000 USD, seed 0, no faults, no
    latency, client order ids (up to 64 characters), an order stream, native replace,
    market orders, fractional quantities on AAPL, MSFT and SPY, no short selling, native
    stop, stop-limit and trailing-stop orders (``stops="emulated"`` or ``"none"`` declares
    them emulated or absent, and refuses them at the venue), brackets left to the engine,
    and a market that moves only when told to (``venue.control.advance()``).
    """

    name: ClassVar[str] = "mock"
    capabilities = _capabilities(client_order_ids=True, order_stream=True, replace=True,
                                 fractional=True, short_selling=False, max_length=64,
                                 grace=0.5, rate_limits=(), weights={})

    def __init__(self, *, seed: int = 0,
                 symbols: Sequence[SymbolSpec | str] | None = None,
                 cash: Decimal | int | str = Decimal(100_000), currency: str = "USD",
                 slippage: SlippageModel | None = None,
                 commission: CommissionModel | None = None,
                 short_selling: bool = False,
                 client_order_ids: bool = True, client_order_id_max_length: int = 64,
                 order_stream: bool = True, replace: bool = True,
                 latency: float = 0.0, stream_delay: float = 0.0,
                 visibility_delay: float = 0.0,
                 rate_limits: Sequence[RateLimitPool] = (),
                 weights: Mapping[str, Mapping[str, int]] | None = None,
                 faults: FaultPlan | None = None,
                 tick_interval: float | None = None,
                 clock: Literal["wall", "sim"] = "wall", start: datetime | None = None,
                 step: timedelta = timedelta(seconds=1),
                 steps_per_session: int | None = None,
                 replay: QuoteReplay | str | os.PathLike[str] | None = None,
                 halted: Iterable[str] = (),
                 market_reserve_bps: Decimal | int | str = Decimal(200),
                 stops: Literal["native", "emulated", "none"] = "native",
                 state_path: str | os.PathLike[str] | None = None,
                 on_accepted: Callable[[OrderSnapshot], None] | None = None) -> None:
        for label, seconds in (("latency", latency), ("stream_delay", stream_delay),
                               ("visibility_delay", visibility_delay)):
            if seconds < 0:
                raise error(Code.INVALID_CONFIG, f"mock: {label} must be >= 0",
                            venue=self.name)
        if stops not in STOP_MODES:
            raise error(Code.INVALID_CONFIG, f"mock: stops must be one of "
                        f"{', '.join(STOP_MODES)}, got {stops!r}", venue=self.name)
        if tick_interval is not None and tick_interval <= 0:
            raise error(Code.INVALID_CONFIG, "mock: tick_interval must be > 0", venue=self.name)
        if clock not in ("wall", "sim"):
            raise error(Code.INVALID_CONFIG, f"mock: clock must be 'wall' or 'sim', got "
                        f"{clock!r}", venue=self.name)
        if isinstance(replay, str | os.PathLike):
            try:
                with open(replay, encoding="utf-8", newline="") as handle:
                    replay = QuoteReplay.from_csv(handle)
            except (OSError, ValueError) as exc:
                raise error(Code.INVALID_CONFIG, f"mock: replay: {exc}",
                            venue=self.name) from None
        try:
            config = SimConfig(
                symbols=resolve_symbols(symbols) if symbols is not None else None,
                seed=seed, cash=money(cash), currency=currency,
                slippage=slippage or NoSlippage(), commission=commission or NoCommission(),
                client_order_ids=client_order_ids,
                client_order_id_max_length=client_order_id_max_length,
                short_selling=short_selling, market_reserve_bps=money(market_reserve_bps),
                steps_per_session=steps_per_session,
                start=(start or SIM_EPOCH) if clock == "sim" else None, step=step,
                replay=replay, halted=frozenset(halted), venue=self.name)
            self._sim = Simulator(config)
        except ValueError as exc:
            raise error(Code.INVALID_CONFIG, f"mock: {exc}", venue=self.name) from None
        self.capabilities = _capabilities(
            client_order_ids=client_order_ids, order_stream=order_stream, replace=replace,
            fractional=any(spec.fractional for spec in self._sim.symbols),
            short_selling=short_selling, max_length=client_order_id_max_length,
            grace=round(visibility_delay + latency + 0.5, 6), rate_limits=rate_limits,
            weights=weights or {}, stops=stops)
        self._native_stops = stops == "native"
        self.faults = faults if faults is not None else FaultPlan(seed=seed)
        self.on_accepted = on_accepted
        self._half = latency / 2  # half before the venue acts, half after
        self._visibility_delay = visibility_delay
        self._tick_interval = tick_interval
        self._state_path = Path(state_path) if state_path is not None else None
        self._limiter = PoolLimiter(rate_limits)
        self._hub = StreamHub(self.name, stream_delay)
        self._hidden_until: dict[str, float] = {}
        self._ticker: asyncio.Task[None] | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, state_dir: Path | None = None) -> Self:
        """Build from a CLI or config-file section of plain strings and numbers.

        Built this way the venue lives across commands like a real one: unless the
        section sets ``state_path`` (``"none"`` keeps it in memory), its whole state is
        saved to ``mock-venue.state`` in ``state_dir`` (the journal's directory, see
        :mod:`venuekit.settings`), and kept in memory when there is no ``state_dir``.
        Raises ``ConfigurationError`` (``INVALID_CONFIG``) naming the offending key.
        """
        options = parse_config(config)
        if "state_path" not in options:
            options["state_path"] = None if state_dir is None else state_dir / STATE_FILE
        return cls(**options)

    # lifecycle -----------------------------------------------------------------------
    @property
    def control(self) -> MockControl:
        """Market control and the ledger of truth (tests, the conformance kit)."""
        return MockControl(simulator=lambda: self._sim, faults=self.faults, hub=self._hub,
                           commit=self._commit)

    @property
    def simulator(self) -> Simulator:
        return self._sim

    async def connect(self) -> None:
        if self._state_path is not None:
            restored = state.load(self._state_path, self.name)
            if restored is not None:
                self._sim = restored
        if self._tick_interval is not None and self._ticker is None:
            self._ticker = asyncio.create_task(self._run_clock(self._tick_interval),
                                               name=f"{self.name}-market-clock")

    async def close(self) -> None:
        ticker, self._ticker = self._ticker, None
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        self._hub.close()

    async def _run_clock(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                self._commit(self._sim.advance(1))
            except Exception:  # the clock keeps the market moving; the log says why not
                log.exception("market step failed", extra={"venue": self.name,
                                                           "step": self._sim.step_index})

    # reads ---------------------------------------------------------------------------
    async def instruments(self, symbols: Sequence[str] | None = None) -> Sequence[Instrument]:
        await self._request("instruments")
        wanted = set(symbols) if symbols is not None else None
        return [convert.instrument(spec) for spec in self._sim.symbols
                if wanted is None or spec.symbol in wanted]

    async def quote(self, symbol: str) -> Quote:
        await self._request("quote")
        return convert.quote(self._sim.book(symbol), self._sim.now())

    async def quotes(self, symbols: Sequence[str]) -> Sequence[Quote]:
        """Quotes of many symbols in one request (unknown symbols are omitted)."""
        await self._request("quotes")
        books = self._sim.market.books
        now = self._sim.now()
        return [convert.quote(books[symbol], now) for symbol in symbols if symbol in books]

    async def account(self) -> Account:
        await self._request("account")
        return convert.account(self._sim)

    async def fetch_order(self, ref: OrderRef) -> OrderSnapshot:
        await self._request("fetch_order")
        view = self._sim.order(*self._ref(ref))
        self._require_visible(view.venue_order_id)
        return convert.snapshot(view)

    async def open_orders(self, symbol: str | None = None) -> Sequence[OrderSnapshot]:
        await self._request("open_orders")
        return [convert.snapshot(v) for v in self._sim.open_orders(symbol)
                if self._visible(v.venue_order_id)]

    async def recent_orders(self, since: datetime) -> Sequence[OrderSnapshot]:
        await self._request("recent_orders")
        return [convert.snapshot(v) for v in self._sim.orders_since(since)
                if self._visible(v.venue_order_id)]

    async def fills_since(self, since: datetime, symbol: str | None = None) -> Sequence[Fill]:
        await self._request("fills_since")
        return [convert.fill(f) for f in self._sim.fills_since(since, symbol)
                if self._visible(f.venue_order_id)]

    def order_updates(self) -> AsyncIterator[OrderUpdate]:
        """Subscribe to the order stream (each call is a new connection, without replay)."""
        if not self.capabilities.order_stream:
            return super().order_updates()
        self._check_auth()
        return self._hub.subscribe()

    # actions -------------------------------------------------------------------------
    async def submit(self, request: OrderRequest, client_order_id: str) -> OrderSnapshot:
        if request.quantity is None:
            raise error(Code.UNSUPPORTED_ORDER, "the mock venue takes quantities, not "
                        "notional amounts", venue=self.name)
        if not self._native_stops and request.order_type.triggered:
            kind = request.order_type.value
            raise error(Code.UNSUPPORTED_ORDER, (
                f"this mock venue takes no {kind} orders (stops=emulated): the engine holds "
                "them and sends the released order when the trigger fires"
                if self.capabilities.stop_orders else
                f"this mock venue offers no {kind} orders (stops=none)"), venue=self.name)
        after = await self._request("submit")
        index = after.order_index
        try:
            view, events = self._sim.submit(
                request.symbol, request.side, request.quantity, request.order_type,
                request.limit_price, request.time_in_force, client_order_id,
                order_index=index, stop_price=request.stop_price,
                trail_amount=request.trail_amount, trail_percent=request.trail_percent)
        except VenueKitError:
            self._save()  # the ledger recorded the rejection
            await self._half_latency()
            raise
        if log.isEnabledFor(logging.DEBUG):
            log.debug("order accepted", extra={"venue": self.name, "order_index": index,
                                               "venue_order_id": view.venue_order_id,
                                               "client_order_id": view.client_order_id})
        return await self._respond("submit", after, view, events, index, accepted=True)

    async def submit_contingent(self, request: OrderRequest, client_order_id: str, *,
                                take_profit: Decimal | None = None,
                                stop_loss: Decimal | None = None,
                                stop_loss_limit: Decimal | None = None,
                                one_cancels_other: bool = False,
                                leg_client_ids: tuple[str | None, str | None] = (None, None)
                                ) -> OrderSnapshot:
        """Contingent orders, for the protocol emulators of venues that take them natively
        (the Venue contract has no such call: the engine runs brackets itself).

        By default ``request`` is an entry (market or limit) whose exits, a take-profit
        limit and/or a stop-loss (a stop-limit with ``stop_loss_limit``), wait for it to
        fill: a bracket, or with one exit a one-triggers-other order. With
        ``one_cancels_other`` the request is itself the take-profit limit (at
        ``take_profit``, or its limit price) of a pair with the stop-loss, both working at
        once. ``leg_client_ids`` are the client ids of the take-profit and the stop-loss
        legs. Requests, faults and latency go through the same pipeline as :meth:`submit`.
        """
        def create(index: int | None) -> tuple[OrderView, list[SimEvent]]:
            assert request.quantity is not None
            if one_cancels_other:
                profit = take_profit if take_profit is not None else request.limit_price
                if profit is None or stop_loss is None:
                    raise error(Code.INVALID_ORDER, "a one-cancels-other pair needs a "
                                "take-profit and a stop-loss", venue=self.name)
                return self._sim.submit_oco(
                    request.symbol, request.side, request.quantity, take_profit=profit,
                    stop_loss=stop_loss, stop_loss_limit=stop_loss_limit,
                    time_in_force=request.time_in_force,
                    client_order_ids=(client_order_id, leg_client_ids[1]), order_index=index)
            return self._sim.submit_bracket(
                request.symbol, request.side, request.quantity, request.order_type,
                request.limit_price, request.time_in_force, client_order_id,
                order_index=index, take_profit=take_profit, stop_loss=stop_loss,
                stop_loss_limit=stop_loss_limit, exit_client_ids=leg_client_ids)
        return await self._create(request, create)

    async def submit_auction(self, request: OrderRequest, client_order_id: str, *,
                             auction: str) -> OrderSnapshot:
        """An auction order, for the protocol emulators of venues that take them (the
        Venue contract has no such call): ``request``, a market or limit order, trades
        only in the next opening auction (``auction="open"``) or in this session's
        closing auction (``"close"``); see :mod:`venuekit_mock.sim.auctions`. Requests,
        faults and latency go through the same pipeline as :meth:`submit`.
        """
        def create(index: int | None) -> tuple[OrderView, list[SimEvent]]:
            assert request.quantity is not None
            return self._sim.submit_auction(
                request.symbol, request.side, request.quantity, request.order_type,
                request.limit_price, client_order_id, order_index=index, auction=auction)
        return await self._create(request, create)

    async def _create(self, request: OrderRequest,
                      create: Callable[[int | None], tuple[OrderView, list[SimEvent]]]
                      ) -> OrderSnapshot:
        """A create other than a plain order's (``create`` calls the simulator with the
        request's order index), through the same pipeline as :meth:`submit`."""
        if request.quantity is None:
            raise error(Code.UNSUPPORTED_ORDER, "the mock venue takes quantities, not "
                        "notional amounts", venue=self.name)
        after = await self._request("submit")
        index = after.order_index
        try:
            view, events = create(index)
        except VenueKitError:
            self._save()  # the ledger recorded the rejection
            await self._half_latency()
            raise
        return await self._respond("submit", after, view, events, index, accepted=True)

    async def cancel(self, ref: OrderRef) -> OrderSnapshot | None:
        after = await self._request("cancel")
        venue_order_id, client_order_id = self._ref(ref)
        view = self._sim.order(venue_order_id, client_order_id)
        self._require_visible(view.venue_order_id)
        view, events = self._sim.cancel(view.venue_order_id)
        return await self._respond("cancel", after, view, events)

    async def replace(self, ref: OrderRef, *, quantity: Decimal | None = None,
                      limit_price: Decimal | None = None,
                      client_order_id: str | None = None) -> OrderSnapshot:
        if not self.capabilities.replace:
            return await super().replace(ref, quantity=quantity, limit_price=limit_price,
                                         client_order_id=client_order_id)
        after = await self._request("replace")
        view = self._sim.order(*self._ref(ref))
        self._require_visible(view.venue_order_id)
        try:
            new, events = self._sim.replace(view.venue_order_id, quantity=quantity,
                                            limit_price=limit_price,
                                            new_client_order_id=client_order_id)
        except VenueKitError:
            self._save()  # the ledger recorded the rejection
            await self._half_latency()
            raise
        return await self._respond("replace", after, new, events, new.order_index,
                                   accepted=True)

    # the request pipeline ------------------------------------------------------------
    async def _request(self, operation: str) -> _Admission:
        """Everything before the venue acts; says which after-faults will strike.

        A create that gets past authentication and the rate-limit pools takes the next
        order index, so scripted faults count the creates the venue received.
        """
        self._check_auth()
        refused = self._limiter.charge(self.capabilities.weight(operation)) \
            if self._limiter else None
        if refused is not None:
            pool, wait = refused
            raise error(Code.RATE_LIMITED, f"rate limit of pool {pool!r} exceeded",
                        venue=self.name, retry_after=wait)
        index = self._sim.take_index() if operation == "submit" else None
        if self._half:
            await self._half_elapsed()
        plan = self.faults
        if not plan.active:
            return _Admission(index)
        if plan.fires(Fault.RATE_LIMIT, operation, index):
            raise self._strike(Fault.RATE_LIMIT, operation, index, Code.RATE_LIMITED,
                               "rate limited (injected fault)", retry_after=plan.retry_after)
        if plan.fires(Fault.TIMEOUT, operation, index):
            raise self._strike(Fault.TIMEOUT, operation, index, Code.TIMEOUT,
                               f"{operation} timed out (injected fault)")
        server_error = plan.fires(Fault.SERVER_ERROR, operation, index)
        after_accept = server_error and plan.server_error_after_accept \
            and operation in _MUTATIONS
        if server_error and not after_accept:
            raise self._strike(Fault.SERVER_ERROR, operation, index, Code.VENUE_ERROR,
                               f"{operation}: internal server error (injected fault)")
        drop = operation in _MUTATIONS and plan.fires(Fault.DROP_RESPONSE, operation, index)
        return _Admission(index, after_accept, drop)

    def _strike(self, fault: Fault, operation: str, index: int | None, code: ErrorCode,
                message: str, **extra: Any) -> VenueKitError:
        """Record a fault that stops a request before the venue acts; returns its error."""
        self._note(fault, operation, index, detail="before the venue acted")
        self._save()
        return error(code, message, venue=self.name, **extra)

    async def _half_latency(self) -> None:
        if self._half:
            await self._half_elapsed()

    def _half_elapsed(self) -> asyncio.Future[None]:
        """A future done when half the latency has passed: ``asyncio.sleep`` without its
        coroutine frame and timer bookkeeping (the venue waits twice per request).
        A request cancelled meanwhile leaves the timer to fire on a cancelled future."""
        loop = asyncio.get_running_loop()
        elapsed: asyncio.Future[None] = loop.create_future()
        loop.call_later(self._half, _resolve, elapsed)
        return elapsed

    async def _respond(self, operation: str, after: _Admission, view: OrderView,
                       events: Sequence[SimEvent], index: int | None = None, *,
                       accepted: bool = False) -> OrderSnapshot:
        """Everything after the venue acted: visibility, state, stream, after-faults.

        ``view`` is the order as the action left it (the engine's answer).
        """
        server_error, drop = after.server_error, after.drop_response
        venue_order_id = view.venue_order_id
        if accepted and self._visibility_delay:
            self._hidden_until[venue_order_id] = monotonic() + self._visibility_delay
        if drop:
            self._note(Fault.DROP_RESPONSE, operation, index, venue_order_id,
                       "the venue acted; the response was lost")
        elif server_error:
            self._note(Fault.SERVER_ERROR, operation, index, venue_order_id,
                       "after the venue acted")
        snapshot = convert.snapshot(view)
        self._commit(events, view, snapshot)
        if accepted and self.on_accepted is not None:
            self.on_accepted(snapshot)
        if drop:
            raise error(Code.TIMEOUT, f"{operation} timed out waiting for the response "
                        "(injected fault)", venue=self.name)
        if server_error:
            raise error(Code.VENUE_ERROR, f"{operation}: internal server error (injected "
                        "fault)", venue=self.name)
        if self._half:
            await self._half_elapsed()
        return snapshot

    def _commit(self, events: Sequence[SimEvent], view: OrderView | None = None,
                snapshot: OrderSnapshot | None = None) -> None:
        """Stream what happened, then save the state.

        ``snapshot`` is ``view`` already converted (the answer to the request): the events
        that carry that very view share it rather than convert it again.
        """
        if events and self.capabilities.order_stream:
            routed = self.faults.route(events, self._sim.ledger) if self.faults.active \
                else events
            if self._hub.subscribers:
                self._hub.publish([
                    item if item is DISCONNECT
                    else convert.update(item, snapshot if item.order is view else None)
                    for item in routed])
        self._save()

    def _save(self) -> None:
        if self._state_path is not None:
            state.save(self._state_path, self._sim)

    def _note(self, fault: Fault, operation: str, index: int | None,
              venue_order_id: str | None = None, detail: str = "") -> None:
        self._sim.ledger.record_fault(fault.value, operation, self._sim.now(),
                                      order_index=index, venue_order_id=venue_order_id,
                                      detail=detail)
        log.info("injected fault", extra={"venue": self.name, "fault": fault.value,
                                          "operation": operation, "order_index": index,
                                          "venue_order_id": venue_order_id})

    def _check_auth(self) -> None:
        if self.faults.auth_failure:
            raise error(Code.AUTHENTICATION_FAILED, "the venue refused the credentials "
                        "(injected fault)", venue=self.name)

    def _ref(self, ref: OrderRef) -> tuple[str | None, str | None]:
        client_order_id = ref.client_order_id
        if not self.capabilities.client_order_ids:
            if ref.venue_order_id is None:
                raise error(Code.CAPABILITY_NOT_SUPPORTED, "this mock venue has no client "
                            "order ids; look orders up by venue order id",
                            venue=self.name)
            client_order_id = None
        return ref.venue_order_id, client_order_id

    def _visible(self, venue_order_id: str) -> bool:
        until = self._hidden_until.get(venue_order_id)
        if until is None:
            return True
        if monotonic() < until:
            return False
        del self._hidden_until[venue_order_id]
        return True

    def _require_visible(self, venue_order_id: str) -> None:
        if not self._visible(venue_order_id):
            raise error(Code.ORDER_NOT_FOUND, f"no order {venue_order_id!r}",
                        venue=self.name)

