"""Runs: a job of several orders journaled with its intent, resumed instead of traded twice.

* :mod:`.book`: starting a run, or resuming the unfinished one of the same plan, and what
  each item has left to trade;
* :mod:`.single`: one order as a run (``venuekit order``).

The records (the run, its items, its state, and the link from an order to its item) are
the journal's (:mod:`venuekit.journal.runs`), re-exported here.

See docs/after-a-crash.md.
"""

from __future__ import annotations

from ..journal.runs import Run, RunItem, RunKind, RunLink, RunState, current_link, linked

__all__ = ["Run", "RunItem", "RunKind", "RunLink", "RunState", "current_link", "linked"]
