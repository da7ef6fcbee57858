"""The H0STCNI9 websocket as KIS's clients use it: subscribe, ack with a key, decrypt the
notices (here, with cryptography's own primitives), 26- and 23-field records, PINGPONG."""

from __future__ import annotations

import asyncio
import json
import re

import websockets

from venuekit_kis.emulator import KisEmulator

from .emulator_support import (
    FIELDS_23,
    kis_http,
    notice_socket,
    run,
    subscribe_frame,
)

FAST = {"rate_limit": 1000.0}
COMMON = {"CUST_ID": "venuekit", "ACNT_NO": "5000000001", "BRNC_NO": "00950",
          "RFUS_YN": "0", "ODER_COND": "0"}


def _has(notice: dict[str, str], **expected: str) -> None:
    assert {key: notice[key] for key in expected} == expected, notice


def test_acceptance_fill_and_cancel_notices_agree_with_the_order_numbers() -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http, \
                notice_socket(emulator, http) as socket:
            odno = await http.place("005930", 10, 70000)
            accepted, = await socket.notices(1)
            _has(accepted, **COMMON, ODER_NO=odno, OODER_NO="", SELN_BYOV_CLS="02",
                 RCTF_CLS="0", ODER_KIND="00", STCK_SHRN_ISCD="005930", CNTG_QTY="10",
                 CNTG_UNPR="70000", CNTG_YN="1", ACPT_YN="1", ODER_QTY="10",
                 ORD_EXG_GB="KRX", CNTG_ISNM40="삼성전자", ODER_PRC="70000")
            assert re.fullmatch(r"\d{6}", accepted["STCK_CNTG_HOUR"])
            emulator.control.set_quote("005930", "69900", "70000", ask_size="4")
            filled, = await socket.notices(1)
            _has(filled, **COMMON, ODER_NO=odno, CNTG_YN="2", ACPT_YN="2", CNTG_QTY="4",
                 CNTG_UNPR="70000", ODER_QTY="10", ODER_PRC="70000", RCTF_CLS="0")
            partial = (await http.amend(odno, quantity=2)).json()["output"]["ODNO"]
            cancelled, = await socket.notices(1)
            _has(cancelled, **COMMON, ODER_NO=partial, OODER_NO=odno, RCTF_CLS="2",
                 CNTG_YN="1", ACPT_YN="2", CNTG_QTY="2", ODER_QTY="2", ODER_PRC="70000")
            rest = (await http.amend(odno)).json()["output"]["ODNO"]
            cancelled, = await socket.notices(1)
            _has(cancelled, ODER_NO=rest, OODER_NO=odno, RCTF_CLS="2", CNTG_QTY="4")
            rows = {r["odno"]: r for r in await http.daily_orders()}
            assert (rows[odno]["tot_ccld_qty"], rows[odno]["cnc_cfrm_qty"]) == ("4", "6")
            assert rows[partial]["cnc_cfrm_qty"] == "2" and rows[rest]["cnc_cfrm_qty"] == "4"
            await socket.silent(0.2)

    run(scenario())


def test_python_kis_gets_23_field_records() -> None:
    async def scenario() -> None:
        async with KisEmulator(record_fields=23, **FAST) as emulator, \
                kis_http(emulator) as http, notice_socket(emulator, http) as socket:
            emulator.control.set_position("000660", "3", "200000")
            odno = await http.place("000660", 2, 0, side="sell", dvsn="01",
                                    tr_id="VTTC0801U")
            accepted, filled = await socket.notices(2)
            assert list(accepted) == list(FIELDS_23)
            _has(accepted, **COMMON, ODER_NO=odno, SELN_BYOV_CLS="01", ODER_KIND="01",
                 CNTG_YN="1", ACPT_YN="1", CNTG_QTY="2", CNTG_UNPR="0", ODER_QTY="2",
                 ACNT_NAME="모의투자", CNTG_ISNM="SK하이닉스", CNTG_ISNM40="SK하이닉스",
                 ODER_PRC="0")
            _has(filled, ODER_NO=odno, CNTG_YN="2", CNTG_QTY="2", CNTG_UNPR="209500")
            resting = await http.place("000660", 1, 230000, side="sell")
            cancel = (await http.amend(resting)).json()["output"]["ODNO"]
            accepted, cancelled = await socket.notices(2)
            assert list(cancelled) == list(FIELDS_23)
            _has(accepted, ODER_NO=resting, CNTG_YN="1", ACPT_YN="1", ODER_PRC="230000")
            _has(cancelled, **COMMON, ODER_NO=cancel, OODER_NO=resting, RCTF_CLS="2",
                 CNTG_YN="1", ACPT_YN="2", CNTG_QTY="1", ODER_QTY="1", ODER_PRC="230000",
                 SELN_BYOV_CLS="01")

    run(scenario())


def test_a_modify_is_confirmed_with_its_own_number_and_fills_under_it() -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http, \
                notice_socket(emulator, http) as socket:
            odno = await http.place("005930", 5, 70000)
            await socket.notices(1)
            modify = (await http.amend(odno, cancel=False, price=70500)).json()
            number = modify["output"]["ODNO"]
            confirmed, = await socket.notices(1)
            _has(confirmed, ODER_NO=number, OODER_NO=odno, RCTF_CLS="1", CNTG_YN="1",
                 ACPT_YN="2", CNTG_QTY="5", CNTG_UNPR="70500", ODER_PRC="70500")
            emulator.control.set_quote("005930", "70400", "70500")
            filled, = await socket.notices(1)
            _has(filled, ODER_NO=number, OODER_NO=odno, CNTG_YN="2", CNTG_QTY="5",
                 CNTG_UNPR="70500")

    run(scenario())


def test_every_subscription_gets_a_fresh_key_and_unsubscribing_stops_notices() -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http, \
                notice_socket(emulator, http) as first, \
                notice_socket(emulator, http, path="/") as second:
            assert (first.key, first.iv) != (second.key, second.iv)
            assert len(first.key) == 32 and len(first.iv) == 16
            odno = await http.place("005930", 1, 70000)
            assert (await first.notices(1))[0]["ODER_NO"] == odno
            assert (await second.notices(1))[0]["ODER_NO"] == odno
            approval = await http.approval_key()
            await second.ws.send(subscribe_frame(approval, "H0STCNI9", emulator.hts_id))
            twice = json.loads(await second.frame())
            assert twice["body"]["msg_cd"] == "OPSP0002"
            await second.ws.send(subscribe_frame(approval, "H0STCNI9", emulator.hts_id, "2"))
            gone = json.loads(await second.frame())
            assert (gone["body"]["rt_cd"], gone["body"]["msg_cd"], gone["body"]["msg1"]) == \
                ("0", "OPSP0001", "UNSUBSCRIBE SUCCESS")
            await http.place("005930", 1, 70000)
            await first.notices(1)
            await second.silent(0.2)
            await second.ws.send(subscribe_frame(approval, "H0STCNI9", emulator.hts_id))
            again = json.loads(await second.frame())
            assert again["body"]["msg_cd"] == "OPSP0000"
            assert again["body"]["output"]["key"] != second.key

    run(scenario())


def test_pingpong_heartbeats_arrive_and_echoes_or_pongs_are_welcome() -> None:
    async def scenario() -> None:
        async with KisEmulator(heartbeat=0.1, **FAST) as emulator, \
                kis_http(emulator) as http, notice_socket(emulator, http) as socket:
            while not socket.pings:
                await socket.silent(0.15)
            ping = socket.pings[0]
            assert ping["header"]["tr_id"] == "PINGPONG"
            assert re.fullmatch(r"\d{14}", ping["header"]["datetime"])
            await socket.ws.send(json.dumps(ping))  # python-kis echoes it as text
            await socket.ws.pong(json.dumps(ping).encode())  # the official client pongs
            await asyncio.wait_for(socket.ws.ping(), 5)  # and pings are answered
            odno = await http.place("005930", 1, 70000)
            assert (await socket.notices(1))[0]["ODER_NO"] == odno

    run(scenario())


def test_refused_subscriptions() -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http:
            approval = await http.approval_key()
            async with websockets.connect(emulator.ws_url + "/tryitout") as ws:
                for frame in (subscribe_frame(approval, "H0STCNI0", emulator.hts_id),
                              subscribe_frame(approval, "H0STCNI9", "someone-else"),
                              "not json"):
                    await ws.send(frame)
                    answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
                    assert answer["body"]["rt_cd"] == "1", answer
                await ws.send(subscribe_frame(approval, "H0GSCNI9", emulator.hts_id))
                overseas = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert overseas["header"]["encrypt"] == "Y"
                assert overseas["body"]["msg_cd"] == "OPSP0000"
                await http.place("005930", 1, 70000)
                try:
                    extra = await asyncio.wait_for(ws.recv(), 0.3)
                except TimeoutError:
                    extra = None
                assert extra is None  # the overseas notices never carry data
            async with websockets.connect(emulator.ws_url + "/tryitout") as ws:
                await ws.send(subscribe_frame("not-issued", "H0STCNI9", emulator.hts_id))
                answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert answer["body"]["rt_cd"] == "1"
                await asyncio.wait_for(ws.wait_closed(), 5)

    run(scenario())
