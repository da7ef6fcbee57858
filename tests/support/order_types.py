"""The order-types table of ``docs/order-types.md``, read back to check it against what
each venue declares (each plugin's suite checks its own rows)."""

from __future__ import annotations

from pathlib import Path

from venuekit.model import OrderType
from venuekit.venue import Capabilities

PAGE = Path(__file__).resolve().parents[2] / "docs" / "order-types.md"
COLUMNS = ("market", "limit", "stop", "stop-limit", "trailing stop", "bracket")
_WORDS = {True: "native", False: "absent", "emulated": "emulated"}


def documented(venue: str) -> dict[str, str]:
    """The row of ``venue`` in the page's table, by column."""
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells and cells[0] == venue:
            return dict(zip(COLUMNS, cells[1:], strict=True))
    raise AssertionError(f"docs/order-types.md has no row for {venue!r}")


def declared(capabilities: Capabilities) -> dict[str, str]:
    """What ``capabilities`` declare, in the table's words."""
    kinds = (OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT,
             OrderType.TRAILING_STOP)
    row = {column: _WORDS[capabilities.order_type(kind)]
           for column, kind in zip(COLUMNS, kinds, strict=False)}
    row["bracket"] = _WORDS[capabilities.brackets]
    return row
