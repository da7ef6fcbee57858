"""Rebalancing: a plan of target trades, executed SELL -> settle -> BUY, and its report.

* :mod:`.plan`: the plan file (JSON, or YAML with PyYAML installed) and its schema;
* :mod:`.executor`: :class:`Rebalancer`, which validates, sells, settles, refreshes the
  account, sizes the buys to the real buying power, buys and reports;
* :mod:`.report`: :class:`RebalanceReport`, per order and per phase, with drift and
  success rates.

The executor consumes a plan and places orders; it never recalculates the portfolio.
"""

from __future__ import annotations

from .executor import Rebalancer
from .plan import (
    Action,
    Plan,
    PlanError,
    PlanItem,
    PlanProblem,
    load_plan,
    parse_plan,
    plan_schema,
)
from .report import ItemReport, ItemStatus, PhaseSummary, PlanReport, RebalanceReport

__all__ = [
    "Action",
    "ItemReport",
    "ItemStatus",
    "PhaseSummary",
    "Plan",
    "PlanError",
    "PlanItem",
    "PlanProblem",
    "PlanReport",
    "RebalanceReport",
    "Rebalancer",
    "load_plan",
    "parse_plan",
    "plan_schema",
]
