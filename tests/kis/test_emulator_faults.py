"""Injected faults act at the wire as a KIS client sees them, and the venue's records tell
the truth about what happened."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import websockets

from venuekit_kis.emulator import KisEmulator
from venuekit_mock.sim import FaultPlan

from .emulator_support import PRICE, kis_http, notice_socket, run

FAST = {"rate_limit": 1000.0}
SERVER_ERROR = "EGW00500"


def test_a_dropped_response_leaves_an_order_to_find_in_daily_ccld() -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http:
            emulator.control.script_fault("drop_response", 1)
            started = time.monotonic()
            with pytest.raises(httpx.RemoteProtocolError):
                await http.order("005930", 3, 70000)
            assert time.monotonic() - started < 2
            rows = await http.daily_orders()
            assert [(r["odno"], r["ord_qty"], r["rmn_qty"]) for r in rows] == \
                [("0000000001", "3", "3")]
            assert [f.kind for f in emulator.control.ledger.faults] == ["drop_response"]
            assert emulator.control.statistics().unanswered == 1

    run(scenario())


def test_a_timeout_holds_the_request_and_the_venue_does_not_act() -> None:
    async def scenario() -> None:
        async with KisEmulator(stall=0.6, **FAST) as emulator, kis_http(emulator) as http:
            emulator.control.script_fault("timeout", 1, 2)
            with pytest.raises(httpx.ReadTimeout):
                await http.client.post(
                    "/uapi/domestic-stock/v1/trading/order-cash", timeout=0.2,
                    headers=http.headers("VTTC0012U"), content=(
                        '{"CANO":"50000000","ACNT_PRDT_CD":"01","PDNO":"005930",'
                        '"ORD_DVSN":"01","ORD_QTY":"1","ORD_UNPR":"0"}'))
            started = time.monotonic()
            with pytest.raises(httpx.RemoteProtocolError):  # closed after the stall
                await http.order("005930", 1, 0, dvsn="01")
            assert 0.5 < time.monotonic() - started < 5
            assert emulator.control.orders() == [] and await http.daily_orders() == []
            assert [f.kind for f in emulator.control.ledger.faults] == ["timeout", "timeout"]
            await http.place("005930", 1, 0, dvsn="01")  # the third order goes through

    run(scenario())


@pytest.mark.parametrize("after_accept", [False, True])
def test_server_errors_before_and_after_the_venue_acts(after_accept: bool) -> None:
    async def scenario() -> None:
        plan = FaultPlan(schedule={"server_error": [1]}, server_error_after_accept=after_accept)
        async with KisEmulator(faults=plan, **FAST) as emulator, kis_http(emulator) as http:
            answer = await http.order("005930", 2, 70000)
            assert answer.status_code == 500
            assert answer.json()["rt_cd"] == "1" and answer.json()["msg_cd"] == SERVER_ERROR
            rows = await http.daily_orders()
            assert len(rows) == (1 if after_accept else 0)
            assert len(emulator.control.orders()) == (1 if after_accept else 0)

    run(scenario())


def test_an_injected_rate_limit_answers_egw00201_and_does_nothing() -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http:
            emulator.control.script_fault("rate_limit", 1)
            answer = await http.order("005930", 1, 70000)
            assert answer.status_code == 500
            assert answer.json() == {"rt_cd": "1", "msg_cd": "EGW00201",
                                     "msg1": "초당 거래건수를 초과하였습니다."}
            assert emulator.control.orders() == []
            assert emulator.control.statistics().egw00201 == 1
            assert (await http.place("005930", 1, 70000)) == "0000000001"

    run(scenario())


def test_a_cancel_whose_answer_is_lost_still_cancelled() -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http:
            odno = await http.place("005930", 5, 70000)
            emulator.control.set_fault("drop_response", 1)
            with pytest.raises(httpx.RemoteProtocolError):
                await http.amend(odno)
            emulator.control.clear_faults()
            rows = {r["odno"]: r for r in await http.daily_orders()}
            assert rows[odno]["rmn_qty"] == "0" and rows[odno]["cnc_cfrm_qty"] == "5"
            cancel, = (r for r in rows.values() if r["cncl_yn"] == "Y")
            assert cancel["orgn_odno"] == odno and cancel["odno"] == "0000000002"
            again = await http.amend(odno)
            assert again.json()["msg1"] == "모의투자 정정/취소할 수량이 없습니다."

    run(scenario())


def test_reads_are_faulted_too() -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http:
            emulator.control.set_fault("server_error", 1)
            answer = await http.get(PRICE, "FHKST01010100", {"FID_COND_MRKT_DIV_CODE": "J",
                                                             "FID_INPUT_ISCD": "005930"})
            assert answer.status_code == 500 and answer.headers["tr_cont"] == "D"
            emulator.control.clear_faults()
            assert (await http.price("005930"))["stck_prpr"]

    run(scenario())


def test_an_injected_authentication_failure_refuses_the_token() -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http:
            emulator.control.fail_authentication()
            answer = await http.order("005930", 1, 70000)
            assert answer.status_code == 500 and answer.json()["msg_cd"] == "EGW00121"
            emulator.control.fail_authentication(False)
            await http.place("005930", 1, 70000)

    run(scenario())


def test_a_stream_disconnect_drops_the_connection_and_rest_keeps_the_truth() -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http, \
                notice_socket(emulator, http) as socket:
            emulator.control.script_fault("stream_disconnect", 1)
            odno = await http.place("005930", 1, 70000)
            with pytest.raises(websockets.ConnectionClosed):
                await socket.notices(1)
            assert [r["odno"] for r in await http.daily_orders()] == [odno]
            assert [f.kind for f in emulator.control.ledger.faults] == ["stream_disconnect"]

    run(scenario())


def test_duplicated_and_lost_notices() -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http, \
                notice_socket(emulator, http) as socket:
            emulator.control.script_fault("duplicate_event", 1)
            emulator.control.script_fault("lose_final_fill", 2)
            first = await http.place("005930", 1, 70000)
            twice = await socket.notices(2)
            assert [n["ODER_NO"] for n in twice] == [first, first]
            assert twice[0] == twice[1]
            second = await http.place("005930", 2, 71000)  # fills at once
            accepted, = await socket.notices(1)
            assert (accepted["ODER_NO"], accepted["CNTG_YN"]) == (second, "1")
            await socket.silent(0.2)  # the fill's notice is lost ...
            assert (await http.row(second))["tot_ccld_qty"] == "2"  # ... not the fill

    run(scenario())


def test_latency_and_stream_delay() -> None:
    async def scenario() -> None:
        async with KisEmulator(latency=0.1, stream_delay=0.3, **FAST) as emulator, \
                kis_http(emulator) as http, notice_socket(emulator, http) as socket:
            started = time.monotonic()
            odno = await http.place("005930", 1, 70000)
            assert time.monotonic() - started >= 0.1
            notice, = await socket.notices(1)
            assert notice["ODER_NO"] == odno
            assert time.monotonic() - started >= 0.3

    run(scenario())


def test_disconnect_stream_drops_every_websocket() -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http, \
                notice_socket(emulator, http) as socket:
            assert emulator.control.stream_connections == 1
            emulator.control.disconnect_stream()
            with pytest.raises(websockets.ConnectionClosed):
                await socket.notice(5)
            for _ in range(100):
                if emulator.control.stream_connections == 0:
                    break
                await asyncio.sleep(0.01)
            assert emulator.control.stream_connections == 0

    run(scenario())
