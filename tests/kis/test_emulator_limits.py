"""KIS paper's request rate: two REST requests a second per app key, HTTP 500 EGW00201
beyond, and a refused request does nothing."""

from __future__ import annotations

import asyncio
import time

from venuekit_kis.emulator import KisEmulator

from .emulator_support import PRICE, kis_http, run

PRICE_QUERY = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
TOO_FAST = {"rt_cd": "1", "msg_cd": "EGW00201", "msg1": "초당 거래건수를 초과하였습니다."}


def test_a_third_request_within_a_second_gets_egw00201_then_the_window_slides() -> None:
    async def scenario() -> None:
        async with KisEmulator() as emulator, kis_http(emulator) as http:
            started = time.monotonic()
            answers = [await http.get(PRICE, "FHKST01010100", PRICE_QUERY) for _ in range(3)]
            assert time.monotonic() - started < 0.9
            assert [a.status_code for a in answers] == [200, 200, 500]
            assert answers[2].json() == TOO_FAST
            assert answers[2].headers["tr_cont"] == "D"
            await asyncio.sleep(max(0.0, started + 1.05 - time.monotonic()))
            assert (await http.get(PRICE, "FHKST01010100", PRICE_QUERY)).status_code == 200
            statistics = emulator.control.statistics()
            assert statistics.egw00201 == 1
            assert statistics.responses == {200: 4, 500: 1}  # the token's answer included

    run(scenario())


def test_an_order_refused_for_the_rate_does_nothing() -> None:
    async def scenario() -> None:
        async with KisEmulator() as emulator, kis_http(emulator) as http:
            first = await http.place("005930", 1, 70000)
            second = await http.place("005930", 1, 70100)
            refused = await http.order("005930", 1, 70200)
            assert (refused.status_code, refused.json()) == (500, TOO_FAST)
            assert [r["odno"] for r in emulator.control.orders()] == [first, second]
            emulator.control.set_rate_limit(reset=True)
            third = await http.place("005930", 1, 70200)
            assert third == f"{3:010d}"  # the refused order took no number

    run(scenario())


def test_token_and_approval_calls_are_not_counted() -> None:
    async def scenario() -> None:
        async with KisEmulator(token_interval=0) as emulator, kis_http(emulator) as http:
            for _ in range(3):
                assert (await http.issue_token()).status_code == 200
                await http.approval_key()
            answers = [await http.get(PRICE, "FHKST01010100", PRICE_QUERY) for _ in range(2)]
            assert [a.status_code for a in answers] == [200, 200]
            assert emulator.control.statistics().egw00201 == 0

    run(scenario())


def test_the_rate_is_an_option_and_can_change_while_running() -> None:
    async def scenario() -> None:
        async with KisEmulator(rate_limit=4.0) as emulator, kis_http(emulator) as http:
            answers = [await http.get(PRICE, "FHKST01010100", PRICE_QUERY) for _ in range(5)]
            assert [a.status_code for a in answers] == [200, 200, 200, 200, 500]
            emulator.control.set_rate_limit(1.0, reset=True)
            answers = [await http.get(PRICE, "FHKST01010100", PRICE_QUERY) for _ in range(2)]
            assert [a.status_code for a in answers] == [200, 500]

    run(scenario())


def test_a_fractional_rate_spaces_requests_out() -> None:
    async def scenario() -> None:
        async with KisEmulator(rate_limit=2.5) as emulator, kis_http(emulator) as http:
            started = time.monotonic()
            answers = [await http.get(PRICE, "FHKST01010100", PRICE_QUERY) for _ in range(3)]
            assert [a.status_code for a in answers] == [200, 200, 500]
            await asyncio.sleep(max(0.0, started + 0.85 - time.monotonic()))  # 2 per 0.8 s
            assert (await http.get(PRICE, "FHKST01010100", PRICE_QUERY)).status_code == 200

    run(scenario())
