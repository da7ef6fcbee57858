"""Empty but valid overseas-stock answers, for python-kis's account-level calls.

python-kis's ``account.balance()`` and ``account.daily_orders()`` also ask the overseas
endpoints, and raise when those fail. The emulator trades no overseas stock, so each
answers an account with nothing in it: ``inquire-present-balance`` (``VTRP6504R``),
``inquire-balance`` (``VTTS3012R``), ``inquire-ccnl`` (``VTTS3035R``) and ``inquire-nccs``
(``VTTS3018R``), each with ``tr_cont`` ``D`` and empty ``ctx_area_*200`` cursors.
"""

from __future__ import annotations

from . import errors
from .messages import Answer, KisRequest, success
from .orders import OrderDesk

__all__ = ["OverseasStubs"]

_LAST = {"tr_cont": "D"}


class OverseasStubs:
    def __init__(self, desk: OrderDesk) -> None:
        self.desk = desk

    async def present_balance(self, request: KisRequest) -> Answer:
        self.desk.check_account(request)
        return success(errors.INQUIRED, dict(_LAST), output1=[], output2=[], output3={})

    async def balance(self, request: KisRequest) -> Answer:
        self.desk.check_account(request)
        return success(errors.INQUIRED, dict(_LAST), ctx_area_fk200="", ctx_area_nk200="",
                       output1=[], output2={})

    async def executions(self, request: KisRequest) -> Answer:
        self.desk.check_account(request)
        return success(errors.INQUIRED, dict(_LAST), ctx_area_fk200="", ctx_area_nk200="",
                       output=[])
