"""How the commands that send orders report a price or quantity the instrument's grids
changed ("limit 190.001 rounded to 190.00 (tick 0.01)"): on the console, and as a
``rounded`` list in ``--json``. The roundings come from the library
(:func:`venuekit.preview.preview`), which did them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..quantize import Rounding
from .output import error_console

__all__ = ["print_rounded", "rounded_dicts"]


def print_rounded(rounded: Iterable[Rounding]) -> None:
    err = error_console()
    for rounding in rounded:
        err.print(f"[yellow]note[/] {rounding.describe()}", highlight=False)


def rounded_dicts(rounded: Iterable[Rounding]) -> list[dict[str, Any]]:
    return [rounding.as_dict() for rounding in rounded]
