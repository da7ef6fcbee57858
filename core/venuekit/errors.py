"""The error taxonomy: every failure venuekit reports has a category, a code and an outcome.

The one distinction an execution SDK must never blur is between "the venue said no"
(the order does not exist: outcome ``REJECTED``) and "we do not know" (the order may
exist: outcome ``UNKNOWN``). An UNKNOWN create keeps its order SUBMITTED until a lookup
at the venue resolves it; it is never retried blindly.

Exception tree::

    VenueKitError                      every error venuekit raises
    ├── ValidationError                the order or input is malformed      (rejected)
    ├── LiquidityError                 not enough on the book / slippage    (rejected)
    ├── RiskError                      funds, positions, limits             (rejected)
    ├── MarketConditionsError          closed, halted, spread too wide      (rejected)
    ├── SystemError_                   venue 5xx, journal, reconciliation   (unknown / n.a.)
    │   ├── JournalError               the journal cannot be used safely
    │   └── OrderNotFound              a definitive "no such order" answer  (n.a.)
    ├── ConnectivityError              timeouts, resets, 429                (unknown, retryable)
    │   └── RateLimited                carries retry_after seconds
    ├── AuthorizationError             bad keys, missing permission         (rejected)
    └── ConfigurationError             plugins, venues, settings            (n.a.)

Each concrete condition is an :class:`ErrorCode` in :data:`CODES`: its category, whether
retrying the same call can help (``retryable``), the order outcome it implies, and an
action for the user. Raise with :func:`error` (``raise error(Code.INSUFFICIENT_FUNDS,
"...")``) so the exception class always matches the code's category.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CODES",
    "AuthorizationError",
    "Category",
    "Code",
    "ConfigurationError",
    "ConnectivityError",
    "ErrorCode",
    "JournalError",
    "LiquidityError",
    "MarketConditionsError",
    "OrderNotFound",
    "Outcome",
    "RateLimited",
    "RiskError",
    "SystemError_",
    "ValidationError",
    "VenueKitError",
    "error",
]


class Category(enum.StrEnum):
    """The kind of failure an error reports; each has its exception class."""

    VALIDATION = "validation"
    LIQUIDITY = "liquidity"
    RISK = "risk_management"
    MARKET = "market_conditions"
    SYSTEM = "system"
    CONNECTIVITY = "connectivity"
    AUTHORIZATION = "authorization"
    CONFIGURATION = "configuration"


class Outcome(enum.StrEnum):
    """What an error says about an order the call tried to create or change."""

    REJECTED = "rejected"
    """The venue definitely did not act: the order does not exist (or was not changed)."""
    UNKNOWN = "unknown"
    """The request may have been acted on: resolve by lookup, never by retrying blindly."""
    NOT_APPLICABLE = "not_applicable"
    """The error is not about an order's existence (a read, the configuration, ...)."""


@dataclass(frozen=True, slots=True)
class ErrorCode:
    """One error condition: its category, whether retrying the same call can help, the order
    outcome it implies, what to do about it, and a one-line summary."""

    name: str
    category: Category
    retryable: bool
    outcome: Outcome
    action: str
    summary: str

    def __str__(self) -> str:
        return self.name


def _c(name: str, category: Category, retryable: bool, outcome: Outcome, summary: str,
       action: str) -> ErrorCode:
    return ErrorCode(name, category, retryable, outcome, action, summary)


_V, _L, _R, _M = Category.VALIDATION, Category.LIQUIDITY, Category.RISK, Category.MARKET
_S, _N = Category.SYSTEM, Category.CONNECTIVITY
_A, _G = Category.AUTHORIZATION, Category.CONFIGURATION
_REJ, _UNK, _NA = Outcome.REJECTED, Outcome.UNKNOWN, Outcome.NOT_APPLICABLE


class Code:
    """Every error code venuekit uses, as attributes (``Code.TIMEOUT``)."""

    # validation: the request itself is wrong; the venue (or venuekit) refused it.
    INVALID_ORDER = _c("INVALID_ORDER", _V, False, _REJ, "The order request is malformed.",
                       "Fix the request fields named in the message.")
    INVALID_QUANTITY = _c("INVALID_QUANTITY", _V, False, _REJ,
                          "The quantity breaks the instrument's lot or precision rules.",
                          "Round the quantity down to the instrument's lot size.")
    INVALID_PRICE = _c("INVALID_PRICE", _V, False, _REJ,
                       "The price is not on the instrument's tick grid or is out of range.",
                       "Round the price to the tick (venuekit.quantize does it for you).")
    STOP_CROSSED = _c("STOP_CROSSED", _V, False, _REJ,
                      "The stop's trigger is already crossed: it would fire at once.",
                      "Place a buy stop above the ask and a sell stop below the bid, or send "
                      "a market or limit order to trade now.")
    BELOW_MIN_QUANTITY = _c("BELOW_MIN_QUANTITY", _V, False, _REJ,
                            "The quantity is below the instrument's minimum.",
                            "Increase the quantity to at least the instrument's minimum.")
    BELOW_MIN_NOTIONAL = _c("BELOW_MIN_NOTIONAL", _V, False, _REJ,
                            "Quantity times price is below the instrument's minimum notional.",
                            "Increase the order size or skip this order.")
    ROUNDS_TO_ZERO = _c("ROUNDS_TO_ZERO", _V, False, _REJ,
                        "The quantity rounds down to zero under the lot rules.",
                        "Increase the amount; at least one lot is needed.")
    UNKNOWN_SYMBOL = _c("UNKNOWN_SYMBOL", _V, False, _REJ,
                        "The venue does not know the symbol.",
                        "Check the symbol's spelling and the venue's symbol format.")
    UNSUPPORTED_ORDER = _c("UNSUPPORTED_ORDER", _V, False, _REJ,
                           "The venue does not support this order type or option.",
                           "Use an order type the venue declares in its capabilities.")
    DUPLICATE_CLIENT_ORDER_ID = _c(
        "DUPLICATE_CLIENT_ORDER_ID", _V, False, _UNK,
        "The venue already has an order with this client order id.",
        "Do not resend: look the order up by its client order id; it may exist.")
    INVALID_PLAN = _c("INVALID_PLAN", _V, False, _NA, "The rebalance plan is invalid.",
                      "Fix every problem listed with its location, then run again.")
    STRATEGY_MISMATCH = _c("STRATEGY_MISMATCH", _V, False, _REJ,
                           "The strategy named contradicts the request's order type.",
                           "Leave the strategy out (a limit request runs as a limit), or "
                           "drop the limit price and let the strategy price the order.")
    RUN_FINISHED = _c("RUN_FINISHED", _V, False, _NA,
                      "This plan already ran to its end on this venue.",
                      "Pass --again (again=True) to trade it again; `venuekit runs show ID` "
                      "says what the earlier run did.")
    UNKNOWN_RUN = _c("UNKNOWN_RUN", _V, False, _NA, "The journal holds no such run.",
                     "List the runs with `venuekit runs`.")
    UNKNOWN_ORDER = _c("UNKNOWN_ORDER", _V, False, _NA,
                       "The journal holds no order with this client order id.",
                       "List the orders with `venuekit orders`.")

    # liquidity: the market cannot take the order as asked.
    NO_LIQUIDITY = _c("NO_LIQUIDITY", _L, False, _REJ, "There is nothing to trade against.",
                      "Use a limit order, or retry when the book has depth.")
    FILL_OR_KILL_UNFILLABLE = _c("FILL_OR_KILL_UNFILLABLE", _L, False, _REJ,
                                 "A fill-or-kill order could not fill in full.",
                                 "Reduce the size or use IOC / a resting limit order.")
    SLIPPAGE_EXCEEDED = _c("SLIPPAGE_EXCEEDED", _L, False, _REJ,
                           "The expected price moved past the slippage guard.",
                           "Widen the guard, or let the strategy fall back to a limit order.")

    # risk management: the account or a risk rule does not allow it.
    INSUFFICIENT_FUNDS = _c("INSUFFICIENT_FUNDS", _R, False, _REJ,
                            "Not enough buying power for the order.",
                            "Reduce the order or add funds; pending orders reserve power too.")
    INSUFFICIENT_POSITION = _c("INSUFFICIENT_POSITION", _R, False, _REJ,
                               "Selling more than the position holds.",
                               "Sell at most the available quantity.")
    SHORT_NOT_ALLOWED = _c("SHORT_NOT_ALLOWED", _R, False, _REJ,
                           "The venue or account does not allow short selling.",
                           "Sell only what you hold.")
    CONCENTRATION_LIMIT = _c("CONCENTRATION_LIMIT", _R, False, _REJ,
                             "The order would exceed the per-symbol concentration limit.",
                             "Reduce the order or raise the limit in the validation rules.")
    NOTIONAL_LIMIT = _c("NOTIONAL_LIMIT", _R, False, _REJ,
                        "The order exceeds the per-order notional limit.",
                        "Split the order or raise the limit in the validation rules.")
    OVERFILL = _c("OVERFILL", _S, False, _NA,
                  "A fill would take the filled quantity past the order quantity.",
                  "The fill was refused and reported; compare the journal with the venue.")

    # market conditions: the market is not in a state to trade.
    MARKET_CLOSED = _c("MARKET_CLOSED", _M, False, _REJ, "The market is closed.",
                       "Trade during market hours or use a time in force the venue queues.")
    SPREAD_TOO_WIDE = _c("SPREAD_TOO_WIDE", _M, False, _REJ,
                         "The spread exceeds the configured limit.",
                         "Wait for a tighter market or raise the spread limit.")
    SYMBOL_HALTED = _c("SYMBOL_HALTED", _M, False, _REJ, "Trading in the symbol is halted.",
                       "Wait for trading to resume.")
    PRICE_OUT_OF_BAND = _c("PRICE_OUT_OF_BAND", _M, False, _REJ,
                           "The price is outside the venue's allowed band.",
                           "Price the order closer to the market.")

    # system: something failed inside the venue or venuekit.
    VENUE_ERROR = _c("VENUE_ERROR", _S, True, _UNK,
                     "The venue failed internally (HTTP 5xx or equivalent).",
                     "venuekit resolves the order by lookup; retry reads later.")
    ORDER_NOT_FOUND = _c("ORDER_NOT_FOUND", _S, False, _NA,
                         "The venue definitively answered that the order does not exist.",
                         "Within the venue's grace window it may be eventual consistency: "
                         "look again after the window before treating the order as absent.")
    JOURNAL_ERROR = _c("JOURNAL_ERROR", _S, False, _NA, "The journal could not be written.",
                       "Check the disk and the journal path, then run `venuekit recover`; "
                       "an order is never sent before its journal entry is committed.")
    JOURNAL_LOCKED = _c("JOURNAL_LOCKED", _S, True, _NA,
                        "Another process holds the journal's write lock.",
                        "Stop the other venuekit process or use another journal path.")
    JOURNAL_CORRUPT = _c("JOURNAL_CORRUPT", _S, False, _NA,
                         "The journal file is not a readable venuekit journal.",
                         "Restore it from a backup; do not trade until it is readable.")
    JOURNAL_TOO_NEW = _c("JOURNAL_TOO_NEW", _S, False, _NA,
                         "The journal was written by a newer venuekit.",
                         "Upgrade venuekit to the version that wrote the journal.")
    JOURNAL_FENCED = _c("JOURNAL_FENCED", _S, False, _NA,
                        "Another process took over this writer's orders in the shared "
                        "journal (its lease lapsed or it was retired): it may not write or "
                        "send anything more.",
                        "Stop this process: it has stopped sending, and its orders are "
                        "recovered by the one that took them over (see them with `venuekit "
                        "orders`; run `venuekit recover` where their venue is served if none "
                        "did). Start it again to join the journal as a new writer.")
    RECONCILIATION_FAILED = _c("RECONCILIATION_FAILED", _S, True, _NA,
                               "Open orders could not be reconciled with the venue.",
                               "Run `venuekit recover` once the venue is reachable.")
    INTERRUPTED = _c("INTERRUPTED", _S, False, _REJ,
                     "The work was interrupted (SIGINT, SIGTERM or cancellation); nothing "
                     "more is sent.",
                     "Run the same command again to resume the run; `venuekit recover` "
                     "names any order still working.")
    INTERNAL_ERROR = _c("INTERNAL_ERROR", _S, False, _NA, "A venuekit bug.",
                        "Report it with the log; the journal keeps the order's history.")

    # connectivity: the request may or may not have reached the venue.
    TIMEOUT = _c("TIMEOUT", _N, True, _UNK, "The request timed out.",
                 "Check that the venue answers; an order is looked up before anything "
                 "is resent.")
    CONNECTION_ERROR = _c("CONNECTION_ERROR", _N, True, _UNK,
                          "The connection failed or was reset.",
                          "Check the network and the venue's address; an order is looked "
                          "up before anything is resent.")
    RATE_LIMITED = _c("RATE_LIMITED", _N, True, _UNK, "The venue's rate limit was hit.",
                      "venuekit backs off; declare the venue's pools to avoid this.")
    IP_BANNED = _c("IP_BANNED", _N, False, _UNK,
                   "The venue banned this IP after repeated rate-limit violations.",
                   "Stop all bots on this IP until the ban expires (see Retry-After).")
    STREAM_DISCONNECTED = _c("STREAM_DISCONNECTED", _N, True, _NA,
                             "The order stream disconnected.",
                             "venuekit polls over REST until the stream is back.")

    # authorization
    AUTHENTICATION_FAILED = _c("AUTHENTICATION_FAILED", _A, False, _REJ,
                               "The venue refused the credentials.",
                               "Check the API key and secret, and paper vs live endpoints.")
    PERMISSION_DENIED = _c("PERMISSION_DENIED", _A, False, _REJ,
                           "The credentials lack a permission the call needs.",
                           "Enable trading permission for the key at the venue.")

    # configuration
    INVALID_CONFIG = _c("INVALID_CONFIG", _G, False, _NA, "A setting is missing or invalid.",
                        "Fix the setting named in the message.")
    UNKNOWN_VENUE = _c("UNKNOWN_VENUE", _G, False, _NA, "No plugin registers this venue.",
                       "Install the venue's plugin; `venuekit venues` lists what is there.")
    UNKNOWN_COMPONENT = _c("UNKNOWN_COMPONENT", _G, False, _NA,
                           "No plugin registers this pricer, policy or reconciler.",
                           "Check the name against `venuekit plugins`.")
    PLUGIN_LOAD_FAILED = _c("PLUGIN_LOAD_FAILED", _G, False, _NA,
                            "A plugin could not be imported or registered.",
                            "Reinstall or disable the plugin (VENUEKIT_DISABLE_PLUGINS).")
    CAPABILITY_NOT_SUPPORTED = _c("CAPABILITY_NOT_SUPPORTED", _G, False, _REJ,
                                  "The venue does not offer this operation.",
                                  "Check the venue's capabilities with `venuekit venues`.")
    LIVE_TRADING_NOT_CONFIRMED = _c(
        "LIVE_TRADING_NOT_CONFIRMED", _G, False, _REJ,
        "Live trading was requested without both opt-ins.",
        "Pass --live and set VENUEKIT_LIVE=1 (or live = true in the config).")


CODES: Mapping[str, ErrorCode] = {
    value.name: value for value in vars(Code).values() if isinstance(value, ErrorCode)
}
"""Every code by name."""


class VenueKitError(Exception):
    """Base of every error venuekit raises. Carries an :class:`ErrorCode`.

    ``details`` holds structured context for logs (never credentials); ``venue`` names the
    venue whose answer caused the error, when there is one. ``action`` replaces the code's
    advice where the raise site knows what fits this error better.
    """

    category: Category | None = None

    def __init__(self, code: ErrorCode, message: str | None = None, *,
                 venue: str | None = None, details: Mapping[str, Any] | None = None,
                 action: str | None = None) -> None:
        self.code = code
        self.message = message or code.summary
        self.venue = venue
        self.details: dict[str, Any] = dict(details or {})
        self._action = action
        super().__init__(self.message)

    @property
    def retryable(self) -> bool:
        return self.code.retryable

    @property
    def outcome(self) -> Outcome:
        return self.code.outcome

    @property
    def action(self) -> str:
        """What to do: the raise site's own advice, else the code's."""
        return self._action or self.code.action

    def log_fields(self) -> dict[str, str]:
        """What a log record about this error carries: its code and its cause (and the
        exception behind it, when one is chained), so that a warning says why."""
        fields = {"code": self.code.name, "cause": self.message}
        if self.__cause__ is not None:
            fields["underlying"] = f"{type(self.__cause__).__name__}: {self.__cause__}"[:300]
        return fields

    def __str__(self) -> str:
        where = f" [{self.venue}]" if self.venue else ""
        return f"{self.code.name}{where}: {self.message} (what to do: {self.action})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code.name!r}, {self.message!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Exception pickling re-calls the class with ``args`` (only the message here), which
        # would lose the code; rebuild from the code's name and restore the attributes.
        state = {key: value for key, value in self.__dict__.items() if key != "code"}
        return (_rebuild, (type(self), self.code.name, self.message), state)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code.name,
            "category": self.code.category.value,
            "outcome": self.code.outcome.value,
            "retryable": self.code.retryable,
            "message": self.message,
            "action": self.action,
            "venue": self.venue,
        }


class ValidationError(VenueKitError):
    category = Category.VALIDATION


class LiquidityError(VenueKitError):
    category = Category.LIQUIDITY


class RiskError(VenueKitError):
    category = Category.RISK


class MarketConditionsError(VenueKitError):
    category = Category.MARKET


class SystemError_(VenueKitError):
    category = Category.SYSTEM


class JournalError(SystemError_):
    pass


class OrderNotFound(SystemError_):
    """A definitive not-found from the venue; transport failures never raise this."""


class ConnectivityError(VenueKitError):
    category = Category.CONNECTIVITY


class RateLimited(ConnectivityError):
    """The venue refused for its rate limits. ``retry_after``: seconds it asked to wait;
    ``pools``: the names of the venue's declared pools the refusal concerns (a venue that
    counts orders apart, such as Binance's ``-1015``, names its order pools), None for all;
    ``limits``: what the venue said it enforces, by pool name, as ``(capacity, period
    seconds)`` (Binance's "current limit is 100 orders per 10 SECOND"): the rate limiter
    adopts a limit tighter than the one declared (``RateLimiter.adopt``)."""

    def __init__(self, code: ErrorCode = Code.RATE_LIMITED, message: str | None = None, *,
                 retry_after: float | None = None, venue: str | None = None,
                 details: Mapping[str, Any] | None = None,
                 pools: tuple[str, ...] | None = None,
                 limits: Mapping[str, tuple[int, float]] | None = None,
                 action: str | None = None) -> None:
        super().__init__(code, message, venue=venue, details=details, action=action)
        self.retry_after = retry_after
        self.pools = pools
        self.limits = limits


class AuthorizationError(VenueKitError):
    category = Category.AUTHORIZATION


class ConfigurationError(VenueKitError):
    category = Category.CONFIGURATION


def _rebuild(cls: type[VenueKitError], code_name: str, message: str) -> VenueKitError:
    """Unpickle an error (see :meth:`VenueKitError.__reduce__`); the code keeps its identity."""
    return cls(CODES[code_name], message)


_BY_CATEGORY: dict[Category, type[VenueKitError]] = {
    Category.VALIDATION: ValidationError,
    Category.LIQUIDITY: LiquidityError,
    Category.RISK: RiskError,
    Category.MARKET: MarketConditionsError,
    Category.SYSTEM: SystemError_,
    Category.CONNECTIVITY: ConnectivityError,
    Category.AUTHORIZATION: AuthorizationError,
    Category.CONFIGURATION: ConfigurationError,
}

_SPECIAL: dict[str, type[VenueKitError]] = {
    Code.RATE_LIMITED.name: RateLimited,
    Code.IP_BANNED.name: RateLimited,
    Code.ORDER_NOT_FOUND.name: OrderNotFound,
    Code.JOURNAL_ERROR.name: JournalError,
    Code.JOURNAL_LOCKED.name: JournalError,
    Code.JOURNAL_CORRUPT.name: JournalError,
    Code.JOURNAL_TOO_NEW.name: JournalError,
    Code.JOURNAL_FENCED.name: JournalError,
}


def error(code: ErrorCode, message: str | None = None, *, venue: str | None = None,
          details: Mapping[str, Any] | None = None, action: str | None = None,
          **extra: Any) -> VenueKitError:
    """Build the exception of the right class for ``code``.

    ``action`` is advice that fits this error better than the code's own; ``extra``
    passes class-specific arguments (``retry_after`` for rate limits).
    """
    cls = _SPECIAL.get(code.name) or _BY_CATEGORY[code.category]
    if cls is RateLimited:
        return RateLimited(code, message, venue=venue, details=details,
                           retry_after=extra.get("retry_after"), action=action)
    return cls(code, message, venue=venue, details=details, action=action)
