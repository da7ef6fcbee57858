"""inquire-daily-ccld, inquire-balance, inquire-psbl-order and the quotations, as the
official client and python-kis read them: pages, cursors, filters, totals, the ``tr_cont``
header and the order book."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from venuekit_kis.emulator import KisEmulator
from venuekit_mock import KRX_TICK_TABLE
from venuekit_mock.sim import SymbolSpec

from .emulator_support import (
    ASKING_PRICE,
    BALANCE,
    DAILY_CCLD,
    PRICE,
    PSBL_ORDER,
    D,
    kis_http,
    raw_header_names,
    run,
)

FAST = {"rate_limit": 1000.0}


def test_daily_ccld_pages_hold_fifteen_rows_and_follow_their_cursor() -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http:
            placed = [await http.place("005930", 1, 60000 + 100 * n) for n in range(20)]
            params = http.ccld_params()
            first = await http.get(DAILY_CCLD, "VTTC0081R", params)
            body = first.json()
            assert first.headers["tr_cont"] == "M" and len(body["output1"]) == 15
            assert [r["odno"] for r in body["output1"]] == placed[::-1][:15]
            assert body["ctx_area_nk100"] and body["ctx_area_fk100"]
            late = await http.place("005930", 1, 50000)  # newest: not on a later page
            second = await http.get(DAILY_CCLD, "VTTC0081R", {
                **params, "CTX_AREA_FK100": body["ctx_area_fk100"],
                "CTX_AREA_NK100": body["ctx_area_nk100"]}, tr_cont="N")
            assert second.headers["tr_cont"] == "D"
            assert [r["odno"] for r in second.json()["output1"]] == placed[::-1][15:]
            assert late == f"{21:010d}"
            totals = second.json()["output2"]
            assert totals["tot_ord_qty"] == "21" and totals["tot_ccld_qty"] == "0"
            all_rows = await http.daily_orders()
            assert [r["odno"] for r in all_rows] == [late, *placed[::-1]]

    run(scenario())


def test_python_kis_style_pages_oldest_first_with_lower_case_cursors() -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http:
            placed = [await http.place("035720", 1, 40000 + 50 * n) for n in range(17)]
            params = {"INQR_STRT_DT": "", "INQR_END_DT": "", "SLL_BUY_DVSN_CD": "00",
                      "INQR_DVSN": "01", "PDNO": "", "CCLD_DVSN": "00", "ORD_GNO_BRNO": "",
                      "ODNO": "", "INQR_DVSN_3": "00", "INQR_DVSN_1": "", "CANO": http.cano,
                      "ACNT_PRDT_CD": http.product, "ctx_area_fk100": "",
                      "ctx_area_nk100": ""}
            headers = {"tr_id": "VTTC8001R", "appkey": http.app_key,
                       "appsecret": http.app_secret, "Authorization": f"Bearer {http.token}"}
            seen: list[str] = []
            statuses = []
            for _ in range(5):
                answer = await http.client.get(DAILY_CCLD, params=params, headers=headers)
                body = answer.json()
                assert body["rt_cd"] == "0", body
                seen += [row["odno"] for row in body["output1"]]
                statuses.append(answer.headers["tr_cont"])
                if answer.headers["tr_cont"] == "D":
                    break
                params = {**params, "ctx_area_fk100": body["ctx_area_fk100"],
                          "ctx_area_nk100": body["ctx_area_nk100"]}
                headers = {**headers, "tr_cont": "N"}
            assert statuses == ["M", "D"] and seen == placed

    run(scenario())


def test_every_inquiry_answers_a_lower_case_tr_cont_header() -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http:
            base = {"authorization": f"Bearer {http.token}", "appkey": http.app_key,
                    "appsecret": http.app_secret, "custtype": "P", "tr_cont": ""}
            account = f"CANO={http.cano}&ACNT_PRDT_CD={http.product}"
            for path, tr_id in ((f"{DAILY_CCLD}?{account}", "VTTC0081R"),
                                (f"{BALANCE}?{account}", "VTTC8434R"),
                                (f"{PSBL_ORDER}?{account}&PDNO=005930&ORD_UNPR=70000",
                                 "VTTC8908R"),
                                (f"{PRICE}?FID_COND_MRKT_DIV_CODE=J&FID_INPUT_ISCD=005930",
                                 "FHKST01010100"),
                                (f"{ASKING_PRICE}?FID_COND_MRKT_DIV_CODE=J"
                                 "&FID_INPUT_ISCD=005930", "FHKST01010200"),
                                (f"{DAILY_CCLD}?CANO=1", "VTTC0081R")):  # a refusal too
                names = await raw_header_names(emulator, path, {**base, "tr_id": tr_id})
                assert "tr_cont" in names, (path, names)

    run(scenario())


def test_daily_ccld_filters() -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http:
            emulator.control.set_position("000660", "5", "200000")
            buy = await http.place("005930", 2, 71000)  # fills at the ask
            rest = await http.place("005930", 3, 70000)
            sell = await http.place("000660", 1, 215000, side="sell")
            cancel = (await http.amend(rest, quantity=1)).json()["output"]["ODNO"]

            async def odnos(**changes: str) -> list[str]:
                return [r["odno"] for r in await http.daily_orders(**changes)]

            assert await odnos(INQR_DVSN="01") == [buy, rest, sell, cancel]
            assert await odnos(SLL_BUY_DVSN_CD="01") == [sell]
            assert await odnos(SLL_BUY_DVSN_CD="02", INQR_DVSN="01") == [buy, rest, cancel]
            assert await odnos(PDNO="000660") == [sell]
            assert await odnos(CCLD_DVSN="01") == [buy]
            assert await odnos(CCLD_DVSN="02", INQR_DVSN="01") == [rest, sell]
            assert await odnos(ODNO=rest) == [rest]
            assert await odnos(ORD_GNO_BRNO="00950", INQR_DVSN="01") == \
                [buy, rest, sell, cancel]
            assert await odnos(INQR_STRT_DT="20000101", INQR_END_DT="20000102") == []
            bad = await http.get(DAILY_CCLD, "VTTC0081R",
                                 http.ccld_params(INQR_STRT_DT="2024-01-01"))
            assert bad.status_code == 200 and bad.json()["rt_cd"] == "1"
            totals = (await http.get(DAILY_CCLD, "VTTC0081R", http.ccld_params())
                      ).json()["output2"]
            assert (totals["tot_ord_qty"], totals["tot_ccld_qty"], totals["tot_ccld_amt"],
                    totals["pchs_avg_pric"]) == ("6", "2", "142000", "71000")

    run(scenario())


def test_balance_pages_of_twenty_holdings_and_totals() -> None:
    async def scenario() -> None:
        specs = [SymbolSpec(f"9{n:05d}", Decimal(10_000), tick_size=Decimal(1),
                            currency="KRW", tick_table=KRX_TICK_TABLE, min_quantity=Decimal(1))
                 for n in range(25)]
        names = {spec.symbol: f"테스트{n}" for n, spec in enumerate(specs)}
        async with KisEmulator(symbols=specs, names=names, cash="5000000", **FAST) as emulator, \
                kis_http(emulator) as http:
            for n, spec in enumerate(specs):
                emulator.control.set_position(spec.symbol, str(n + 1), "9000")
            first = await http.balance()
            body = first.json()
            assert first.headers["tr_cont"] == "M" and len(body["output1"]) == 20
            assert body["output1"][0] == {
                "pdno": "900000", "prdt_name": "테스트0", "trad_dvsn_name": "현금",
                "hldg_qty": "1", "ord_psbl_qty": "1", "pchs_avg_pric": "9000",
                "pchs_amt": "9000", "prpr": "10000", "evlu_amt": "10000",
                "evlu_pfls_amt": "1000", "evlu_pfls_rt": "11.11", "thdt_buyqty": "0",
                "thdt_sll_qty": "0"}
            second = await http.balance(CTX_AREA_FK100=body["ctx_area_fk100"],
                                        CTX_AREA_NK100=body["ctx_area_nk100"])
            assert second.headers["tr_cont"] == "D"
            codes = [h["pdno"] for h in body["output1"] + second.json()["output1"]]
            assert codes == [spec.symbol for spec in specs]
            totals = second.json()["output2"]
            held = sum(range(1, 26))
            assert totals == [{
                "dnca_tot_amt": "5000000", "nxdy_excc_amt": "5000000",
                "prvs_rcdl_excc_amt": "5000000", "scts_evlu_amt": str(held * 10_000),
                "tot_evlu_amt": str(5_000_000 + held * 10_000),
                "nass_amt": str(5_000_000 + held * 10_000),
                "pchs_amt_smtl_amt": str(held * 9_000), "evlu_amt_smtl_amt": str(held * 10_000),
                "evlu_pfls_smtl_amt": str(held * 1_000)}]

    run(scenario())


def test_a_sell_order_reserves_shares_and_todays_quantities_show() -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http:
            await http.place("005930", 5, 71000)  # bought at the ask
            await http.place("005930", 2, 75000, side="sell")  # resting
            await http.place("005930", 1, 70900, side="sell")  # sold at the bid
            holding = (await http.balance()).json()["output1"][0]
            assert (holding["hldg_qty"], holding["ord_psbl_qty"], holding["thdt_buyqty"],
                    holding["thdt_sll_qty"]) == ("4", "2", "5", "1")

    run(scenario())


def test_buying_power_for_limit_and_market_orders() -> None:
    async def scenario() -> None:
        async with KisEmulator(cash="1000000", **FAST) as emulator, \
                kis_http(emulator) as http:
            emulator.control.set_quote("005930", "70900", "71000")

            async def power(price: str, dvsn: str) -> dict[str, str]:
                answer = await http.get(PSBL_ORDER, "VTTC8908R", {
                    "CANO": http.cano, "ACNT_PRDT_CD": http.product, "PDNO": "005930",
                    "ORD_UNPR": price, "ORD_DVSN": dvsn, "CMA_EVLU_AMT_ICLD_YN": "N",
                    "OVRS_ICLD_YN": "N"})
                assert answer.json()["rt_cd"] == "0"
                return dict(answer.json()["output"])

            limit = await power("60000", "00")
            assert (limit["ord_psbl_cash"], limit["nrcvb_buy_amt"], limit["nrcvb_buy_qty"],
                    limit["max_buy_qty"], limit["psbl_qty_calc_unpr"]) == \
                ("1000000", "1000000", "16", "16", "60000")
            market = await power("0", "01")
            assert (market["nrcvb_buy_qty"], market["psbl_qty_calc_unpr"]) == ("14", "71000")
            await http.place("005930", 14, 0, dvsn="01")
            assert (await power("0", "01"))["nrcvb_buy_qty"] == "0"

    run(scenario())


def test_the_current_price_follows_the_quote() -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http:
            emulator.control.set_quote("005930", "71900", "72000")
            price = await http.price("005930")
            assert {k: price[k] for k in ("stck_prpr", "prdy_vrss", "prdy_vrss_sign",
                                          "prdy_ctrt", "stck_sdpr", "aspr_unit",
                                          "hts_deal_qty_unit_val", "iscd_stat_cls_code",
                                          "temp_stop_yn")} == {
                "stck_prpr": "72000", "prdy_vrss": "1000", "prdy_vrss_sign": "2",
                "prdy_ctrt": "1.41", "stck_sdpr": "71000", "aspr_unit": "100",
                "hts_deal_qty_unit_val": "1", "iscd_stat_cls_code": "55",
                "temp_stop_yn": "N"}
            await http.place("005930", 3, 72000)
            price = await http.price("005930")
            assert (price["acml_vol"], price["acml_tr_pbmn"], price["stck_hgpr"],
                    price["stck_lwpr"]) == ("3", "216000", "72000", "71000")
            emulator.control.set_quote("005930", "92200", "92300")
            assert (await http.price("005930"))["prdy_vrss_sign"] == "1"  # the upper limit
            emulator.control.set_quote("005930", "99900", "100000")  # beyond: a new base
            moved = await http.price("005930")
            assert (moved["stck_sdpr"], moved["stck_mxpr"], moved["aspr_unit"]) == \
                ("100000", "130000", "100")
            unknown = await http.get(PRICE, "FHKST01010100", {"FID_COND_MRKT_DIV_CODE": "J",
                                                              "FID_INPUT_ISCD": "999999"})
            assert unknown.json()["rt_cd"] == "1"

    run(scenario())


def test_the_order_book_steps_by_the_band_tick_and_stops_at_the_limits() -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http:
            emulator.control.set_quote("035720", "49900", "49950", "300", "200")
            answer = await http.get(ASKING_PRICE, "FHKST01010200", {
                "FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "035720"})
            book = answer.json()["output1"]
            asks = [int(book[f"askp{n}"]) for n in range(1, 11)]
            bids = [int(book[f"bidp{n}"]) for n in range(1, 11)]
            assert asks == [49950, 50000, 50100, 50200, 50300, 50400, 50500, 50600, 50700,
                            50800]
            assert bids == [49900 - 50 * n for n in range(10)]
            assert (book["askp_rsqn1"], book["bidp_rsqn1"]) == ("200", "300")
            assert answer.json()["output2"]["stck_prpr"] == "49950"
            emulator.control.set_quote("001510", "843", "844")
            top = (await http.get(ASKING_PRICE, "FHKST01010200", {
                "FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "001510"})).json()["output1"]
            assert [top[f"askp{n}"] for n in range(1, 5)] == ["844", "845", "0", "0"]
            assert top["askp_rsqn3"] == "0"
            assert D(top["total_askp_rsqn"]) > 0

    run(scenario())


def test_a_new_order_is_listed_only_after_the_visibility_delay() -> None:
    async def scenario() -> None:
        async with KisEmulator(visibility_delay=0.3, **FAST) as emulator, \
                kis_http(emulator) as http:
            odno = await http.place("005930", 1, 70000)
            assert await http.daily_orders() == []
            hidden = await http.amend(odno)
            assert hidden.json()["msg1"] == "모의투자 정정/취소할 수량이 없습니다."
            await asyncio.sleep(0.35)
            assert [r["odno"] for r in await http.daily_orders()] == [odno]
            assert (await http.amend(odno)).json()["rt_cd"] == "0"

    run(scenario())


def test_python_kis_overseas_calls_get_empty_valid_answers() -> None:
    async def scenario() -> None:
        async with KisEmulator(**FAST) as emulator, kis_http(emulator) as http:
            account = {"CANO": http.cano, "ACNT_PRDT_CD": http.product}
            for path, tr_id, listed in (
                    ("inquire-present-balance", "VTRP6504R", "output1"),
                    ("inquire-balance", "VTTS3012R", "output1"),
                    ("inquire-ccnl", "VTTS3035R", "output"),
                    ("inquire-nccs", "VTTS3018R", "output")):
                answer = await http.get(f"/uapi/overseas-stock/v1/trading/{path}", tr_id,
                                        account)
                assert answer.status_code == 200 and answer.headers["tr_cont"] == "D"
                assert answer.json()["rt_cd"] == "0" and answer.json()[listed] == []

    run(scenario())
