"""The venue's real-time clock: the running event loop's, so it agrees with the SDK's timers.

Latency, stream delay, rate-limit windows and eventual consistency are measured in real
seconds (the SDK's grace windows are real seconds), never on the simulator's stepped clock.
"""

from __future__ import annotations

import asyncio
import time

__all__ = ["monotonic"]


def monotonic() -> float:
    """The running loop's time, or the monotonic clock it is based on outside a loop."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()
