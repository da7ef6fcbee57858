"""KIS's answers mapped into venuekit's taxonomy: a refusal is definite, a gateway answer or
a lost connection leaves a create unknown, the per-second limit waits."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from venuekit.errors import Code, Outcome, RateLimited
from venuekit_kis.errors import from_answer, from_transport


def refusal(msg: str, code: str = "40000000") -> dict[str, Any]:
    return {"rt_cd": "1", "msg_cd": code, "msg1": msg}


@pytest.mark.parametrize(("status", "answer", "expected", "outcome"), [
    (200, refusal("모의투자 주문가능금액이 부족합니다.", "40250000"), Code.INSUFFICIENT_FUNDS,
     Outcome.REJECTED),
    (200, refusal("모의투자 주문처리가 안되었습니다(호가단위 오류)"), Code.INVALID_PRICE,
     Outcome.REJECTED),
    (200, refusal("모의투자 상한가 초과 주문입니다."), Code.PRICE_OUT_OF_BAND, Outcome.REJECTED),
    (200, refusal("모의투자 장종료 입니다.", "40580000"), Code.MARKET_CLOSED, Outcome.REJECTED),
    (200, refusal("모의투자 장시작전 입니다."), Code.MARKET_CLOSED, Outcome.REJECTED),
    (200, refusal("모의투자 잔고가 부족합니다."), Code.INSUFFICIENT_POSITION, Outcome.REJECTED),
    (200, refusal("모의투자 정정/취소할 수량이 없습니다."), Code.ORDER_NOT_FOUND,
     Outcome.NOT_APPLICABLE),
    (200, refusal("알 수 없는 오류"), Code.INVALID_ORDER, Outcome.REJECTED),
    (500, {"rt_cd": "1", "msg_cd": "EGW00201", "msg1": "초당 거래건수를 초과하였습니다."},
     Code.RATE_LIMITED, Outcome.UNKNOWN),
    (500, {"rt_cd": "1", "msg_cd": "EGW00123", "msg1": "기간이 만료된 token 입니다."},
     Code.AUTHENTICATION_FAILED, Outcome.REJECTED),
    (403, {"error_code": "EGW00133", "error_description": "접근토큰 발급 잠시 후 다시 시도하세요"
                                                         "(1분당 1회)"},
     Code.RATE_LIMITED, Outcome.UNKNOWN),
    (500, {"rt_cd": "1", "msg_cd": "EGW00999", "msg1": "?"}, Code.VENUE_ERROR, Outcome.UNKNOWN),
    (502, None, Code.VENUE_ERROR, Outcome.UNKNOWN),
])
def test_each_answer_has_its_code_and_outcome(status: int, answer: dict[str, Any] | None,
                                              expected: Any, outcome: Outcome) -> None:
    mapped = from_answer(status, answer, "submit", "kis")
    assert mapped.code is expected and mapped.outcome is outcome
    if answer is not None:
        assert str(answer.get("msg_cd") or answer.get("error_code")) in mapped.message


def test_the_limit_answers_carry_how_long_to_wait() -> None:
    per_second = from_answer(500, {"rt_cd": "1", "msg_cd": "EGW00201", "msg1": "초당"},
                             "submit", "kis")
    token = from_answer(403, {"error_code": "EGW00133", "error_description": "1분당 1회"},
                        "tokenP", "kis")
    assert isinstance(per_second, RateLimited) and per_second.retry_after == 1.0
    assert isinstance(token, RateLimited) and token.retry_after == 60.0


def test_transport_failures_leave_the_outcome_unknown() -> None:
    request = httpx.Request("POST", "http://127.0.0.1:1/uapi/x")
    timeout = from_transport(httpx.ReadTimeout("slow", request=request), "submit", "kis")
    reset = from_transport(httpx.ConnectError("refused", request=request), "submit", "kis")
    assert timeout.code is Code.TIMEOUT and reset.code is Code.CONNECTION_ERROR
    assert timeout.outcome is reset.outcome is Outcome.UNKNOWN
