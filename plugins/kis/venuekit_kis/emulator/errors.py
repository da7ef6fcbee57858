"""KIS's answers that are not successes: gateway errors, OAuth errors and order refusals.

Three shapes, as KIS sends them:

* **gateway errors** (``EGW…``): HTTP 500 with ``{"rt_cd": "1", "msg_cd", "msg1"}``. The rate
  limit (``EGW00201``), an expired token (``EGW00123``) and an unknown token (``EGW00121``)
  come this way;
* **OAuth errors** from ``/oauth2/*``: HTTP 403 with ``{"error_description", "error_code"}``
  (a token asked for again within the issuance interval: ``EGW00133``);
* **refusals** of a business request (an order off the tick grid, too little cash, nothing
  left to cancel): HTTP 200 with ``rt_cd`` ``"1"``.

Codes and texts that KIS is known to send are used as KIS words them (see the references
in the package documentation). Every other code and text below is the emulator's own
choice, marked ``# emulator's choice`` where it is defined: a client must treat ``msg_cd``
as opaque and rely on ``rt_cd`` and the HTTP status.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "KisError",
    "Message",
    "gateway",
    "oauth",
    "refusal",
]


class KisError(Exception):
    """One answer that is not a success: its HTTP status and its JSON body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body

    @property
    def code(self) -> str:
        return str(self.body.get("msg_cd") or self.body.get("error_code") or "")

    def __str__(self) -> str:
        message = self.body.get("msg1") or self.body.get("error_description") or ""
        return f"{self.status} {self.code} {message}"


Message = tuple[str, str]
"""``(msg_cd, msg1)``."""


def gateway(message: Message) -> KisError:
    """A gateway error: HTTP 500, ``rt_cd`` ``"1"``."""
    code, text = message
    return KisError(500, {"rt_cd": "1", "msg_cd": code, "msg1": text})


def refusal(message: Message, detail: str | None = None) -> KisError:
    """A refused business request: HTTP 200, ``rt_cd`` ``"1"``; ``detail`` (the emulator's
    own words) is appended to the message."""
    code, text = message
    return KisError(200, {"rt_cd": "1", "msg_cd": code,
                          "msg1": f"{text} ({detail})" if detail else text})


def oauth(message: Message) -> KisError:
    """An ``/oauth2/*`` error: HTTP 403 with KIS's OAuth-style body."""
    code, text = message
    return KisError(403, {"error_description": text, "error_code": code})


# gateway (HTTP 500) ----------------------------------------------------------------------
RATE_LIMITED: Message = ("EGW00201", "초당 거래건수를 초과하였습니다.")
TOKEN_EXPIRED: Message = ("EGW00123", "기간이 만료된 token 입니다.")
TOKEN_INVALID: Message = ("EGW00121", "유효하지 않은 token 입니다.")
# emulator's choice (code and text):
APP_KEY_INVALID: Message = ("EGW00103", "유효하지 않은 AppKey입니다.")
APP_SECRET_INVALID: Message = ("EGW00105", "유효하지 않은 AppSecret입니다.")
REAL_TR_ON_PAPER: Message = ("EGW00205", "모의투자 TR 이 아닙니다.")
UNKNOWN_TR: Message = ("EGW00205", "이 경로에서 사용할 수 없는 TR ID 입니다.")
SERVER_ERROR: Message = ("EGW00500", "서버 내부 오류입니다. 잠시 후 다시 시도하세요.")
NOT_SERVED: Message = ("EGW00404", "에뮬레이터가 제공하지 않는 경로입니다.")

# OAuth (HTTP 403) ------------------------------------------------------------------------
TOKEN_TOO_SOON: Message = ("EGW00133", "접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)")
# emulator's choice (code and text):
GRANT_TYPE_INVALID: Message = ("EGW00102", "grant_type 이 올바르지 않습니다.")

# refusals (HTTP 200, rt_cd "1") ----------------------------------------------------------
CASH: Message = ("40250000", "모의투자 주문가능금액이 부족합니다.")
# KIS's texts, the emulator's choice of code:
TICK: Message = ("40070000", "모의투자 주문처리가 안되었습니다(호가단위 오류)")
NOTHING_TO_AMEND: Message = ("40330000", "모의투자 정정/취소할 수량이 없습니다.")
# emulator's choice (code and text):
ABOVE_UPPER_LIMIT: Message = ("40080000", "모의투자 상한가 초과 주문입니다.")
BELOW_LOWER_LIMIT: Message = ("40080000", "모의투자 하한가 미만 주문입니다.")
SYMBOL: Message = ("40090000", "모의투자 종목코드를 확인하세요.")
QUANTITY: Message = ("40100000", "모의투자 주문수량을 확인하세요.")
PRICE: Message = ("40110000", "모의투자 주문단가를 확인하세요.")
ORDER_KIND: Message = ("40120000", "모의투자에서 지원하지 않는 주문구분입니다.")
ACCOUNT: Message = ("40130000", "모의투자 계좌번호를 확인하세요.")
HALTED: Message = ("40140000", "모의투자 거래정지 종목입니다.")
SHARES: Message = ("40240000", "모의투자 매도가능수량이 부족합니다.")
MODIFY_LIMIT_ONLY: Message = ("40340000", "모의투자 지정가 주문만 정정할 수 있습니다.")
REQUEST: Message = ("40010000", "모의투자 요청값을 확인하세요.")
QUOTE_SYMBOL: Message = ("40090000", "종목코드를 확인하세요.")

# successes -------------------------------------------------------------------------------
BOUGHT: Message = ("40600000", "모의투자 매수주문이 완료 되었습니다.")
SOLD: Message = ("40600000", "모의투자 매도주문이 완료 되었습니다.")
CANCELLED: Message = ("40630000", "모의투자 취소주문이 완료 되었습니다.")
QUOTED: Message = ("MCA00000", "정상처리 되었습니다.")
# KIS's text, the emulator's choice of code:
MODIFIED: Message = ("40640000", "모의투자 정정주문이 완료 되었습니다.")
# emulator's choice (code and text):
INQUIRED: Message = ("20310000", "모의투자 조회가 완료되었습니다.")
