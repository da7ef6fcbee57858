"""The requests of the client's ``buy`` and ``sell``: amounts as given, errors typed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pydantic

from ..errors import Code, error
from ..model import OrderRequest, OrderType, Side

__all__ = ["Amount", "shortcut_request"]

Amount = Decimal | int | str
"""An amount as a shortcut takes it: a Decimal, an integer or a decimal string."""


def shortcut_request(side: Side, symbol: str, quantity: Amount,
                     limit: Amount | None) -> OrderRequest:
    """A market request, or a limit one at ``limit``; bad input raises the taxonomy's
    validation error (INVALID_QUANTITY, INVALID_PRICE or INVALID_ORDER) naming each
    problem."""
    fields: dict[str, Any] = {"symbol": symbol, "side": side, "quantity": quantity}
    if limit is not None:
        fields.update(order_type=OrderType.LIMIT, limit_price=limit)
    try:
        return OrderRequest.model_validate(fields)
    except pydantic.ValidationError as exc:
        problems = exc.errors()
        where = [".".join(str(part) for part in p["loc"]) or "order" for p in problems]
        code = {"quantity": Code.INVALID_QUANTITY, "limit_price": Code.INVALID_PRICE}.get(
            where[0], Code.INVALID_ORDER)
        listed = "; ".join(f"{name}: {p['msg']}" for name, p in zip(where, problems,
                                                                      strict=True))
        # The code's own advice is about a value the venue refused; this is the input.
        action = ("Pass the quantity and the limit as decimal strings (\"1.5\") or "
                  "decimal.Decimal, never floats; the message names each field to fix.")
        raise error(code, f"{side.value} {symbol}: {listed}", details={"fields": where},
                    action=action) from None
