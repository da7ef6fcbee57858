"""One order as a run: what ``venuekit order`` executes.

The order is a run of one item, so that it is resumed rather than sent twice: the same
order given again while its run is unfinished (its process was killed, or it was
interrupted) resumes that run (its working orders cancelled, confirmed, and only what is
left sent); once the run finished, the same order again is a new run.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..errors import Code, VenueKitError
from ..journal.runs import Run, RunItem, RunKind, RunLink, RunState, linked
from ..model import ZERO, OrderRequest
from ..preview import preview
from ..quantize import Rounding, round_quantity
from ..strategies import ExecutionResult, run_strategy
from .book import ItemProgress, RunBook

if TYPE_CHECKING:
    from ..engine import Engine

__all__ = ["OrderRun", "execute_order"]


@dataclass
class OrderRun:
    """An order's run: this session's execution and what earlier sessions filled."""

    run: Run
    request: OrderRequest
    resumed: bool = False
    earlier: ItemProgress | None = None
    result: ExecutionResult | None = None
    """None when nothing was left to send (earlier sessions filled it)."""
    rounded: tuple[Rounding, ...] = ()
    """What rounding to the instrument's grids changed in the request (a new run's)."""

    @property
    def filled_quantity(self) -> Decimal:
        earlier = self.earlier.filled if self.earlier is not None else ZERO
        return earlier + (self.result.filled_quantity if self.result is not None else ZERO)

    @property
    def complete(self) -> bool:
        quantity = self.request.quantity
        return quantity is not None and self.filled_quantity >= quantity


async def execute_order(engine: Engine, request: OrderRequest, strategy: str,
                        *, again: bool = False, **options: Any) -> OrderRun:
    """Execute ``request`` with ``strategy`` as a journaled run (see the module docstring).

    ``again`` starts a new run even if the same order's run is unfinished. A new run is
    checked first (:func:`venuekit.preview.preview`: rounded to the instrument's grids and
    through the engine's pre-trade checks): a refused order raises with nothing journaled,
    not even its run.
    """
    book = RunBook(engine.journal, engine.venue.name)
    item = RunItem(index=0, symbol=request.symbol, action=request.side.value.upper(),
                   quantity=request.quantity, notional=request.notional,
                   limit_price=request.limit_price, target=request.quantity)
    start = book.start(RunKind.ORDER, [item], strategy=strategy, again=again)
    rounded: tuple[Rounding, ...] = ()
    if start.run is None:
        rounded = (await preview(engine, request)).rounded
    run = start.run if start.run is not None else book.record_targets(start, {})
    outcome = OrderRun(run, request, resumed=start.resumed, rounded=rounded)
    try:
        send = request
        if start.resumed:
            await book.cancel_working(engine, run)
            prior = book.progress(run)[0]
            outcome.earlier = prior if prior.orders else None
            if outcome.earlier is not None and request.quantity is not None:
                left = prior.left(request.quantity)
                try:
                    left = round_quantity(await engine.instrument(request.symbol), left) \
                        if left > 0 else ZERO
                except VenueKitError:
                    left = ZERO  # less than a lot: nothing more can be sent
                if left <= 0 or prior.unsettled > 0:
                    book.end(run, RunState.FINISHED if prior.unsettled == 0 else RunState.FAILED,
                             note=None if prior.unsettled == 0 else
                             "an earlier order's outcome is still unknown",
                             statuses=[(0, "completed" if left <= 0 else "failed", None)])
                    return outcome
                send = request.model_copy(update={"quantity": left})
        with linked(RunLink(run.id, 0)):
            outcome.result = await run_strategy(engine, send, strategy, **options)
    except BaseException as exc:
        state = RunState.FAILED
        if isinstance(exc, VenueKitError):
            note = f"{exc.code.name}: {exc.message}"
            if exc.code is Code.INTERRUPTED:
                state = RunState.INTERRUPTED
        elif isinstance(exc, Exception):
            note = f"{type(exc).__name__}: {exc}"
        else:  # cancelled or interrupted
            state, note = RunState.INTERRUPTED, "cancelled"
        book.end(run, state, note=note, statuses=[(0, state.value, note)])
        raise
    halted = engine.halted
    status = "completed" if outcome.complete else ("interrupted" if halted else "incomplete")
    book.end(run, RunState.INTERRUPTED if halted else RunState.FINISHED, note=halted,
             statuses=[(0, status, outcome.result.note if outcome.result else None)])
    return outcome
