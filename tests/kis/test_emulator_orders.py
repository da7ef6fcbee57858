"""order-cash and order-rvsecncl as a client sees them: numbers, refusals, cancels and
modifies, checked against inquire-daily-ccld and the venue's own records."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from venuekit_kis.emulator import KisEmulator

from .emulator_support import PSBL_ORDER, D, kis_http, run

FAST = {"rate_limit": 1000.0}
CASH_SHORT = {"rt_cd": "1", "msg_cd": "40250000", "msg1": "모의투자 주문가능금액이 부족합니다."}
TICK_ERROR = "모의투자 주문처리가 안되었습니다(호가단위 오류)"
NOTHING_LEFT = "모의투자 정정/취소할 수량이 없습니다."


def _kst_now() -> datetime:
    return datetime.now(UTC) + timedelta(hours=9)


def test_both_tr_id_generations_buy_and_sell_with_sequential_order_numbers() -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http:
            emulator.control.set_position("005930", "10", "65000")
            answers = []
            for tr_id, side in (("VTTC0012U", "buy"), ("VTTC0802U", "buy"),
                                ("VTTC0011U", "sell"), ("VTTC0801U", "sell")):
                answer = await http.order("005930", 1, 70000 if side == "buy" else 72000,
                                          side=side, tr_id=tr_id)
                assert answer.status_code == 200
                answers.append(answer.json())
            assert [a["msg1"] for a in answers] == ["모의투자 매수주문이 완료 되었습니다."] * 2 + \
                ["모의투자 매도주문이 완료 되었습니다."] * 2
            assert {a["msg_cd"] for a in answers} == {"40600000"}
            outputs = [a["output"] for a in answers]
            assert [o["ODNO"] for o in outputs] == [f"{n:010d}" for n in range(1, 5)]
            assert {o["KRX_FWDG_ORD_ORGNO"] for o in outputs} == {"00950"}
            now = _kst_now()
            for output in outputs:
                tmd = output["ORD_TMD"]
                assert re.fullmatch(r"\d{6}", tmd)
                seconds = int(tmd[:2]) * 3600 + int(tmd[2:4]) * 60 + int(tmd[4:])
                gap = (now.hour * 3600 + now.minute * 60 + now.second - seconds) % 86400
                assert gap < 60 or gap > 86400 - 60  # KST, now
            rows = {row["odno"]: row for row in await http.daily_orders()}
            venue = {row["odno"]: row for row in emulator.control.orders()}
            for output, side_code in zip(outputs, ("02", "02", "01", "01"), strict=True):
                row = rows[output["ODNO"]]
                assert (row["ord_gno_brno"], row["sll_buy_dvsn_cd"], row["ord_tmd"]) == \
                    ("00950", side_code, output["ORD_TMD"])
                assert row["ord_dt"] == venue[output["ODNO"]]["ord_dt"]
                assert row["ord_dt"] in {(now + timedelta(seconds=d)).strftime("%Y%m%d")
                                         for d in (-60, 0, 60)}
                assert venue[output["ODNO"]]["sll_buy_dvsn_cd"] == side_code
                assert venue[output["ODNO"]]["branch"] == "00950"

    run(scenario())


@pytest.mark.parametrize(("symbol", "off_grid", "on_grid"), [
    ("003530", 3502, 3505),      # 2,000-5,000: 5 won
    ("010140", 9505, 9510),      # 5,000-20,000: 10 won
    ("035720", 45020, 45050),    # 20,000-50,000: 50 won
    ("035720", 50050, 50100),    # across the 50,000 floor: 100 won
    ("005930", 70950, 70900),    # 50,000-200,000: 100 won
    ("000660", 210100, 209500),  # 200,000-500,000: 500 won
    ("069500", 35002, 35005),    # an ETF: a flat 5 won
])
def test_prices_off_the_band_tick_are_refused(symbol: str, off_grid: int,
                                              on_grid: int) -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http:
            refused = await http.order(symbol, 1, off_grid)
            assert refused.status_code == 200
            body = refused.json()
            assert (body["rt_cd"], body["msg1"]) == ("1", TICK_ERROR)
            await http.place(symbol, 1, on_grid)
            assert [row["price"] for row in emulator.control.orders()] == [str(on_grid)]

    run(scenario())


def test_an_etf_price_a_stock_could_not_take_is_accepted_and_the_cheapest_band_is_1_won() -> (
        None):
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http:
            await http.place("069500", 1, 35005)
            assert (await http.order("035720", 1, 45005)).json()["msg1"] == TICK_ERROR
            await http.place("001510", 1, 651)
            fraction = await http.order("001510", 1, "650.5")
            assert fraction.json()["rt_cd"] == "1"
            assert len(emulator.control.orders()) == 2

    run(scenario())


def test_orders_outside_the_daily_limits_are_refused() -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http:
            price = await http.price("005930")
            assert (price["stck_sdpr"], price["stck_mxpr"], price["stck_llam"]) == \
                ("71000", "92300", "49700")
            above = (await http.order("005930", 1, 92400)).json()
            assert above["rt_cd"] == "1" and "상한가" in above["msg1"]
            below = (await http.order("005930", 1, 49600)).json()
            assert below["rt_cd"] == "1" and "하한가" in below["msg1"]
            await http.place("005930", 1, 49700)
            await http.place("005930", 1, 92300)  # marketable: fills at the ask
            rows = {r["ord_unpr"]: r for r in await http.daily_orders()}
            assert rows["92300"]["tot_ccld_qty"] == "1"
            assert rows["92300"]["avg_prvs"] == "71000"
            assert rows["49700"]["rmn_qty"] == "1"

    run(scenario())


def test_a_buy_the_cash_cannot_pay_for_is_refused_and_nothing_is_reserved() -> None:
    async def scenario() -> None:
        async with KisEmulator(cash="1000000", **FAST) as emulator, \
                kis_http(emulator) as http:
            refused = await http.order("005930", 15, 70000)  # 1,050,000 won
            assert (refused.status_code, refused.json()) == (200, CASH_SHORT)
            assert emulator.control.orders() == []
            await http.place("005930", 14, 70000)  # 980,000 won, resting
            again = await http.order("010140", 3, 9500)  # 28,500 > the 20,000 left
            assert again.json() == CASH_SHORT
            power = await http.get(PSBL_ORDER, "VTTC8908R", {
                "CANO": http.cano, "ACNT_PRDT_CD": http.product, "PDNO": "010140",
                "ORD_UNPR": "9500", "ORD_DVSN": "00", "CMA_EVLU_AMT_ICLD_YN": "N",
                "OVRS_ICLD_YN": "N"})
            output = power.json()["output"]
            assert (output["ord_psbl_cash"], output["nrcvb_buy_qty"]) == ("20000", "2")
            await http.place("010140", 2, 9500)

    run(scenario())


@pytest.mark.parametrize(("change", "expected"), [
    ({"symbol": "999999"}, "종목코드"),
    ({"quantity": "0"}, "주문수량"),
    ({"quantity": "1.5"}, "주문수량"),
    ({"quantity": "-3"}, "주문수량"),
    ({"dvsn": "05"}, "주문구분"),
    ({"side": "sell"}, "매도가능수량"),
])
def test_malformed_orders_are_refused_in_korean(change: dict[str, str], expected: str) -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http:
            options = {"symbol": "005930", "quantity": "1", "price": "70000", **change}
            answer = await http.order(options.pop("symbol"), options.pop("quantity"),
                                      options.pop("price"), **options)
            body = answer.json()
            assert answer.status_code == 200 and body["rt_cd"] == "1"
            assert expected in body["msg1"]
            assert emulator.control.orders() == []

    run(scenario())


def test_an_order_for_another_account_is_refused() -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http:
            http.cano = "12345678"
            answer = await http.order("005930", 1, 70000)
            assert answer.json()["rt_cd"] == "1" and "계좌" in answer.json()["msg1"]
            assert emulator.control.orders() == []

    run(scenario())


def test_a_market_order_fills_at_the_touch() -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http:
            emulator.control.set_quote("005930", "70900", "71000")
            odno = await http.place("005930", 10, 0, dvsn="01")
            row = await http.row(odno)
            assert (row["ord_dvsn_cd"], row["ord_unpr"], row["tot_ccld_qty"],
                    row["avg_prvs"], row["tot_ccld_amt"], row["rmn_qty"]) == \
                ("01", "0", "10", "71000", "710000", "0")
            fills = emulator.control.fills()
            assert [(f["odno"], f["quantity"], f["price"]) for f in fills] == \
                [(odno, "10", "71000")]

    run(scenario())


def test_the_real_servers_tr_ids_and_unknown_tr_ids_are_refused() -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http:
            for tr_id in ("TTTC0012U", "TTTC0802U"):
                real = await http.order("005930", 1, 70000, tr_id=tr_id)
                assert real.status_code == 500
                assert real.json() == {"rt_cd": "1", "msg_cd": "EGW00205",
                                       "msg1": "모의투자 TR 이 아닙니다."}
            unknown = await http.order("005930", 1, 70000, tr_id="VTTC8434R")
            assert unknown.status_code == 500 and unknown.json()["rt_cd"] == "1"
            real_inquiry = await http.get("/uapi/domestic-stock/v1/trading/inquire-balance",
                                          "TTTC8434R", {"CANO": http.cano,
                                                        "ACNT_PRDT_CD": http.product})
            assert real_inquiry.status_code == 500
            assert emulator.control.orders() == []

    run(scenario())


def test_a_partial_cancel_then_a_cancel_of_the_rest() -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http:
            odno = await http.place("005930", 10, 70000)
            first = await http.amend(odno, quantity=4)
            assert first.json()["msg1"] == "모의투자 취소주문이 완료 되었습니다."
            cancel_1 = first.json()["output"]["ODNO"]
            rows = {r["odno"]: r for r in await http.daily_orders()}
            assert (rows[odno]["ord_qty"], rows[odno]["rmn_qty"], rows[odno]["cnc_cfrm_qty"],
                    rows[odno]["cncl_yn"], rows[odno]["orgn_odno"]) == ("10", "6", "4", "N", "")
            assert (rows[cancel_1]["orgn_odno"], rows[cancel_1]["ord_qty"],
                    rows[cancel_1]["cnc_cfrm_qty"], rows[cancel_1]["cncl_yn"],
                    rows[cancel_1]["tot_ccld_qty"], rows[cancel_1]["rmn_qty"]) == \
                (odno, "4", "4", "Y", "0", "0")
            rest = await http.amend(odno, tr_id="VTTC0803U")
            cancel_2 = rest.json()["output"]["ODNO"]
            assert [odno, cancel_1, cancel_2] == [f"{n:010d}" for n in range(1, 4)]
            rows = {r["odno"]: r for r in await http.daily_orders()}
            assert (rows[odno]["rmn_qty"], rows[odno]["cnc_cfrm_qty"]) == ("0", "10")
            assert (rows[cancel_2]["ord_qty"], rows[cancel_2]["cnc_cfrm_qty"]) == ("6", "6")
            again = await http.amend(odno)
            assert (again.status_code, again.json()["rt_cd"], again.json()["msg1"]) == \
                (200, "1", NOTHING_LEFT)
            cash = (await http.balance()).json()["output2"][0]["dnca_tot_amt"]
            assert cash == "100000000"
            venue = {r["odno"]: r for r in emulator.control.orders()}
            assert (venue[odno]["cancelled"], venue[odno]["remaining"]) == ("10", "0")
            assert [venue[c]["kind"] for c in (cancel_1, cancel_2)] == ["cancel", "cancel"]

    run(scenario())


def test_a_partly_filled_order_cancels_only_what_is_left() -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http:
            odno = await http.place("005930", 10, 70900)
            emulator.control.set_quote("005930", "70800", "70900", ask_size="4")
            row = await http.row(odno)
            assert (row["tot_ccld_qty"], row["rmn_qty"], row["avg_prvs"]) == ("4", "6", "70900")
            cancel = (await http.amend(odno)).json()["output"]["ODNO"]
            rows = {r["odno"]: r for r in await http.daily_orders()}
            assert (rows[odno]["tot_ccld_qty"], rows[odno]["cnc_cfrm_qty"],
                    rows[odno]["rmn_qty"]) == ("4", "6", "0")
            assert rows[cancel]["cnc_cfrm_qty"] == "6"
            holdings = (await http.balance()).json()["output1"]
            assert [(h["pdno"], h["hldg_qty"], h["pchs_avg_pric"]) for h in holdings] == \
                [("005930", "4", "70900")]

    run(scenario())


def test_nothing_to_cancel_is_refused() -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http:
            filled = await http.place("005930", 2, 71000)  # takes the ask
            assert (await http.row(filled))["tot_ccld_qty"] == "2"
            resting = await http.place("005930", 2, 70000)
            cancel = (await http.amend(resting)).json()["output"]["ODNO"]
            for target in (filled, cancel, "0000000099", "abc"):
                answer = await http.amend(target)
                assert (answer.status_code, answer.json()["rt_cd"], answer.json()["msg1"]) \
                    == (200, "1", NOTHING_LEFT), target
            other = await http.place("005930", 1, 70000)
            http_body = {"CANO": http.cano, "ACNT_PRDT_CD": http.product,
                         "KRX_FWDG_ORD_ORGNO": "00123", "ORGN_ODNO": other, "ORD_DVSN": "00",
                         "RVSE_CNCL_DVSN_CD": "02", "ORD_QTY": "0", "ORD_UNPR": "0",
                         "QTY_ALL_ORD_YN": "Y"}
            wrong_branch = await http.post("/uapi/domestic-stock/v1/trading/order-rvsecncl",
                                           "VTTC0013U", http_body)
            assert wrong_branch.json()["msg1"] == NOTHING_LEFT
            assert [r["kind"] for r in emulator.control.orders()] == \
                ["new", "new", "cancel", "new"]

    run(scenario())


def test_a_modify_moves_the_remainder_to_a_new_order_at_the_new_price() -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http:
            odno = await http.place("005930", 10, 70000)
            answer = await http.amend(odno, cancel=False, price=70500)
            assert answer.json()["msg1"] == "모의투자 정정주문이 완료 되었습니다."
            modify = answer.json()["output"]["ODNO"]
            rows = {r["odno"]: r for r in await http.daily_orders()}
            assert rows[odno]["rmn_qty"] == "0"
            assert (rows[modify]["orgn_odno"], rows[modify]["ord_qty"],
                    rows[modify]["ord_unpr"], rows[modify]["rmn_qty"],
                    rows[modify]["cncl_yn"]) == (odno, "10", "70500", "10", "N")
            emulator.control.set_quote("005930", "70400", "70500")
            filled = await http.row(modify)
            assert (filled["tot_ccld_qty"], filled["avg_prvs"]) == ("10", "70500")
            off_grid = await http.amend(modify, cancel=False, price=70550)
            assert off_grid.json()["msg1"] == TICK_ERROR
            filled_modify = await http.amend(modify, cancel=False, price=70600)
            assert filled_modify.json()["msg1"] == NOTHING_LEFT

    run(scenario())


def test_a_partial_modify_leaves_the_rest_at_the_old_price() -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http:
            odno = await http.place("005930", 10, 70000)
            off_grid = await http.amend(odno, cancel=False, quantity=3, price=70250)
            assert off_grid.json()["msg1"] == TICK_ERROR
            modify = (await http.amend(odno, cancel=False, quantity=3, price=70200)
                      ).json()["output"]["ODNO"]
            rows = {r["odno"]: r for r in await http.daily_orders()}
            assert (rows[odno]["ord_qty"], rows[odno]["rmn_qty"], rows[odno]["ord_unpr"]) == \
                ("10", "7", "70000")
            assert (rows[modify]["ord_qty"], rows[modify]["rmn_qty"],
                    rows[modify]["ord_unpr"]) == ("3", "3", "70200")
            cancel = (await http.amend(modify)).json()["output"]["ODNO"]
            rows = {r["odno"]: r for r in await http.daily_orders()}
            assert (rows[modify]["rmn_qty"], rows[cancel]["orgn_odno"],
                    rows[cancel]["cnc_cfrm_qty"]) == ("0", modify, "3")
            venue = {r["odno"]: r for r in emulator.control.orders()}
            assert (venue[odno]["moved"], venue[odno]["remaining"]) == ("3", "7")
            market = await http.place("005930", 1, 0, dvsn="01")
            refused = await http.amend(market, cancel=False, price=70000)
            assert refused.json()["rt_cd"] == "1"

    run(scenario())


def test_amounts_stay_exact_decimals() -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http:
            emulator.control.set_quote("005930", "70900", "71000", ask_size="1")
            odno = await http.place("005930", 3, 71100)  # takes 1 at 71,000, rests 2
            emulator.control.set_quote("005930", "71000", "71100", ask_size="1")
            emulator.control.set_quote("005930", "71000", "71100", ask_size="5")
            row = await http.row(odno)
            assert (row["tot_ccld_qty"], row["tot_ccld_amt"]) == ("3", "213200")
            assert row["avg_prvs"] == "71066.66666667"  # 213,200 / 3, eight decimals
            fills = [(f["quantity"], f["price"]) for f in emulator.control.fills()]
            assert fills == [("1", "71000"), ("1", "71100"), ("1", "71100")]
            holding = (await http.balance()).json()["output1"][0]
            assert (holding["pchs_amt"], D(holding["pchs_avg_pric"])) == \
                ("213200", D("71066.66666667"))

    run(scenario())
