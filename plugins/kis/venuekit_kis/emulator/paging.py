"""KIS's continued inquiries: pages, the ``ctx_area_*`` cursors and the ``tr_cont`` header.

An inquiry answers at most one page (15 orders for ``inquire-daily-ccld``, 20 holdings for
``inquire-balance`` on paper). The body carries ``ctx_area_fk100`` (the search: the
emulator writes the account and the filters, ``^``-separated) and ``ctx_area_nk100`` (the
key of the last row sent); the lower-case response header ``tr_cont`` is ``M`` when more
rows follow and ``D`` on the last page. The client asks for the next page by sending the
two cursors back (``CTX_AREA_FK100``/``CTX_AREA_NK100``, upper- or lower-case, with the
request header ``tr_cont: N``).

Rows are ordered by their keys, and the next page starts after the last key sent, by key
rather than by position: a row that stops matching between two pages (filled meanwhile)
or one that appears (a new order) does not shift the pages. The emulator reads the
``NK100`` cursor whenever it is sent; ``FK100`` is informative only (the emulator's
choices).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from . import errors
from .messages import KisRequest

__all__ = ["BALANCE_PAGE", "DAILY_CCLD_PAGE", "Page", "paginate"]

T = TypeVar("T")

DAILY_CCLD_PAGE = 15
BALANCE_PAGE = 20


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    more: bool
    next_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"tr_cont": "M" if self.more else "D"}


def paginate(request: KisRequest, keyed: Sequence[tuple[str, T]], size: int, *,
             descending: bool, valid: Callable[[str], bool]) -> Page[T]:
    """The page of ``keyed`` (``(key, row)`` in the answer's order) after the request's
    ``CTX_AREA_NK100`` cursor (refused when malformed, as ``valid`` says)."""
    after = request.get("CTX_AREA_NK100")
    if after and not valid(after):
        raise errors.refusal(errors.REQUEST, "CTX_AREA_NK100")
    if after:
        keyed = [(key, row) for key, row in keyed
                 if (key < after if descending else key > after)]
    chunk = list(keyed[:size])
    return Page([row for _, row in chunk], len(keyed) > size,
                chunk[-1][0] if chunk else after)
