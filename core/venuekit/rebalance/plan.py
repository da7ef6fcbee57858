"""The rebalance plan: what to trade, read from a JSON (or YAML) file, and its JSON schema.

A plan is a list of items, each a symbol, an action (``BUY``, ``SELL`` or ``HOLD``) and, for
a trade, exactly one of ``notional`` (an amount in the account currency) or ``quantity``;
``correlation_id`` ties the plan's orders together in the journal and the report; an item may
name its ``venue`` (a plan across venues; without it, the venue the plan runs on)::

    {"correlation_id": "2024-06-rebalance",
     "items": [{"symbol": "AAPL", "action": "BUY", "notional": "10000"},
               {"symbol": "F", "action": "SELL", "quantity": "100"},
               {"symbol": "SPY", "action": "HOLD"}]}

Amounts are decimal strings or integers; a JSON number with a fraction is refused (it
would be a binary float before it reaches us). :func:`load_plan` reports every problem of
a file at once, each with its location (``items[3].notional``), as a :class:`PlanError`.
The schema (:func:`plan_schema`) is published as ``docs/examples/plan.schema.json``;
``venuekit rebalance --schema`` prints it.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import pydantic
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from ..errors import Code, ValidationError
from ..model import _to_decimal

__all__ = ["Action", "Plan", "PlanError", "PlanItem", "PlanProblem", "load_plan", "parse_plan",
           "plan_schema"]

_AMOUNT_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "integer", "exclusiveMinimum": 0},
              {"type": "string", "pattern": r"^\s*[0-9]+(\.[0-9]+)?\s*$"}],
    "description": "A positive decimal amount: a string such as \"1000.50\" or an integer.",
}

Amount = Annotated[Decimal, BeforeValidator(_to_decimal), WithJsonSchema(_AMOUNT_SCHEMA)]

_DUPLICATE = "appears more than once"


class Action(enum.StrEnum):
    BUY = "BUY"
    SELL = "SELL"
    HOLD = "HOLD"


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


class PlanItem(BaseModel):
    """One line of a plan: trade ``symbol`` by ``notional`` or ``quantity``, or hold it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    symbol: str = Field(min_length=1, pattern=r"^\S+$", description="The venue's symbol.")
    action: Annotated[Action, BeforeValidator(_upper)]
    notional: Amount | None = Field(default=None, gt=0,
                                    description="Amount to trade in the account currency.")
    quantity: Amount | None = Field(default=None, gt=0, description="Units to trade.")
    venue: str | None = Field(default=None, min_length=1, pattern=r"^\S+$",
                              description="The venue to trade it on (default: the venue the "
                                          "plan runs on).")

    @pydantic.model_validator(mode="after")
    def _check_amount(self) -> PlanItem:
        has_notional, has_quantity = self.notional is not None, self.quantity is not None
        if self.action is Action.HOLD and (has_notional or has_quantity):
            raise ValueError("HOLD takes no notional or quantity; remove the amount or "
                             "change the action")
        if self.action is not Action.HOLD and has_notional == has_quantity:
            raise ValueError(f"{self.action.value} needs exactly one of notional or quantity")
        return self


class Plan(BaseModel):
    """A rebalance plan: items with distinct symbols on each venue, and an optional
    correlation id."""

    model_config = ConfigDict(frozen=True, extra="forbid",
                              json_schema_extra={"$schema":
                                                 "https://json-schema.org/draft/2020-12/schema"})
    correlation_id: str | None = Field(default=None, min_length=1, max_length=64,
                                       description="Ties the plan's orders together.")
    items: list[PlanItem] = Field(min_length=1)

    @pydantic.model_validator(mode="after")
    def _check_unique(self) -> Plan:
        problems = _duplicates([_key(item.symbol, item.venue) for item in self.items])
        if problems:
            raise ValueError("; ".join(f"{p.location}: {p.message}" for p in problems))
        return self

    def venues(self, default: str | None = None) -> list[str]:
        """The venues the plan trades on, in the order they first appear (``default`` for
        items that name none); raises INVALID_PLAN when an item names none and there is no
        default, or when a symbol appears twice on one venue once the default is applied."""
        missing = [PlanProblem(f"items[{i}].venue", "name the venue: the plan runs on "
                               "several venues and this item names none")
                   for i, item in enumerate(self.items) if item.venue is None and not default]
        if missing:
            raise PlanError(missing)
        problems = _duplicates([_key(item.symbol, item.venue or default)
                                for item in self.items])
        if problems:
            raise PlanError(problems)
        return list(dict.fromkeys(item.venue or default or "" for item in self.items))

    def on(self, venue: str, default: str | None = None) -> Plan:
        """The part of the plan traded on ``venue`` (items naming it, or none when it is the
        ``default``), as a plan of its own."""
        items = [item.model_copy(update={"venue": None}) for item in self.items
                 if (item.venue or default) == venue]
        return Plan(correlation_id=self.correlation_id, items=items)

    def trades(self, action: Action) -> list[tuple[int, PlanItem]]:
        """The items with ``action``, with their index in the plan."""
        return [(i, item) for i, item in enumerate(self.items) if item.action is action]

    def unknown_symbols(self, known: Collection[str]) -> list[PlanProblem]:
        """A problem for every item whose symbol is not in ``known``."""
        return [PlanProblem(f"items[{i}].symbol", f"unknown symbol {item.symbol!r}")
                for i, item in enumerate(self.items) if item.symbol not in known]


@dataclass(frozen=True, slots=True)
class PlanProblem:
    """One thing wrong with a plan, and where (``items[2].notional``, ``line 4 column 9``)."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class PlanError(ValidationError):
    """A plan that cannot run; ``problems`` lists every problem found."""

    def __init__(self, problems: Sequence[PlanProblem], source: str = "the plan") -> None:
        self.problems = list(problems)
        self.source = source
        listed = "; ".join(str(p) for p in self.problems)
        super().__init__(Code.INVALID_PLAN,
                         f"{len(self.problems)} problem(s) in {source}: {listed}",
                         details={"problems": [{"location": p.location, "message": p.message}
                                               for p in self.problems]})

    def __reduce__(self) -> tuple[Any, ...]:
        return (PlanError, (self.problems, self.source))


def _key(symbol: Any, venue: Any) -> Any:
    """What must be unique in a plan: a symbol on a venue (its name alone without one)."""
    if not isinstance(symbol, str):
        return None
    return symbol if not isinstance(venue, str) else f"{symbol} on {venue}"


def _duplicates(symbols: Sequence[Any]) -> list[PlanProblem]:
    first: dict[str, int] = {}
    problems = []
    for i, symbol in enumerate(symbols):
        if not isinstance(symbol, str):
            continue
        if symbol in first:
            problems.append(PlanProblem(f"items[{i}].symbol", f"{symbol!r} {_DUPLICATE} "
                                        f"(first at items[{first[symbol]}])"))
        else:
            first[symbol] = i
    return problems


def _location(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "plan"


def _problems(exc: pydantic.ValidationError) -> list[PlanProblem]:
    problems = []
    for err in exc.errors():
        message = str(err["msg"]).removeprefix("Value error, ")
        if not err["loc"] and _DUPLICATE in message:
            continue  # reported from the raw items, with their locations
        if err["type"] == "float_parsing" or "floats are not accepted" in message:
            message = message.replace("pass a string", "write the amount as a string")
        problems.append(PlanProblem(_location(err["loc"]), message))
    return problems


def parse_plan(data: Any, source: str = "the plan") -> Plan:
    """A :class:`Plan` from parsed JSON or YAML data, or a :class:`PlanError` listing all."""
    try:
        return Plan.model_validate(data)
    except pydantic.ValidationError as exc:
        problems = _problems(exc)
    if isinstance(data, Mapping) and isinstance(data.get("items"), list):
        symbols = [_key(item.get("symbol"), item.get("venue")) if isinstance(item, Mapping)
                   else None for item in data["items"]]
        problems.extend(_duplicates(symbols))
    raise PlanError(problems, source)


def load_plan(path: str | Path) -> Plan:
    """Read and check a plan file (``.json``; ``.yaml`` / ``.yml`` need PyYAML)."""
    path = Path(path)
    source = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanError([PlanProblem(source, "cannot be read: the file does not exist "
                                             f"(looked for {path.absolute()})")],
                        source) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError([PlanProblem(source, f"cannot be read: {exc}")], source) from None
    if path.suffix.lower() in (".yaml", ".yml"):
        data = _load_yaml(text, source)
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PlanError([PlanProblem(f"line {exc.lineno} column {exc.colno}",
                                         f"not valid JSON: {exc.msg}")], source) from None
    return parse_plan(data, source)


def _load_yaml(text: str, source: str) -> Any:
    try:
        import yaml  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        raise PlanError([PlanProblem(source, "YAML plans need PyYAML: pip install "
                                     "'venuekit[yaml]', or write the plan as JSON")],
                        source) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}" if mark else source
        raise PlanError([PlanProblem(where, f"not valid YAML: "
                                     f"{getattr(exc, 'problem', None) or exc}")],
                        source) from None


def plan_schema() -> dict[str, Any]:
    """The plan's JSON schema, as published in ``docs/examples/plan.schema.json``."""
    return Plan.model_json_schema()

