"""Persistence of the whole simulated venue, so that a killed process restarts onto the
same venue (crash tests).

The simulator (orders, fills, ledger, account, market and its random generator, clock, id
counters) is pickled to a temporary file in the same directory, flushed to disk, and
renamed over the state file: a reader sees the old state or the new one, never half of
one. The file is a test fixture written by this process; like any pickle, load only files
you wrote.
"""

from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path

from venuekit.errors import Code, error

from .sim import Simulator

__all__ = ["FORMAT", "load", "save"]

log = logging.getLogger("venuekit_mock.state")

FORMAT = 5
"""Bumped whenever the pickled layout changes; an older file is refused, not misread."""


def save(path: Path, sim: Simulator) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as handle:
        pickle.dump({"format": FORMAT, "simulator": sim}, handle,
                    protocol=pickle.HIGHEST_PROTOCOL)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def load(path: Path, venue: str) -> Simulator | None:
    """The simulator saved at ``path``, or None when there is no file yet."""
    try:
        with open(path, "rb") as handle:
            data = pickle.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError,
            TypeError, ValueError) as exc:
        raise error(Code.INVALID_CONFIG, f"state_path {path.name!r} is not a readable "
                    f"{venue} state file ({type(exc).__name__})", venue=venue) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT \
            or not isinstance(data.get("simulator"), Simulator):
        raise error(Code.INVALID_CONFIG, f"state_path {path.name!r} was written by another "
                    f"version of the {venue} venue; delete it to start afresh", venue=venue)
    sim: Simulator = data["simulator"]
    log.info("restored simulated venue state",
             extra={"venue": venue, "orders": sim.ledger.order_count,
                    "fills": len(sim.ledger.fills), "step": sim.step_index})
    return sim
