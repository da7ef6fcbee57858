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
        raise error(code, f"{side.value} {symbol}: {listed}",
                    details={"fields": where}) from None
