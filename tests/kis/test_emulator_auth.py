"""Access tokens, approval keys, the hashkey and the credential checks, as a client sees
them on the wire."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import uuid
from datetime import UTC, datetime, timedelta

from venuekit_kis.emulator import KisEmulator

from .emulator_support import PRICE, kis_http, run

PRICE_QUERY = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
TOO_SOON = {"error_description": "접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)",
            "error_code": "EGW00133"}
KST = timedelta(hours=9)


def test_a_token_is_issued_once_then_the_same_token_answers_after_the_interval() -> None:
    async def scenario() -> None:
        async with KisEmulator(token_interval=0.3) as emulator, \
                kis_http(emulator, login=False) as http:
            first = await http.issue_token()
            assert first.status_code == 200
            body = first.json()
            assert body["token_type"] == "Bearer" and body["expires_in"] == 86400
            expiry = datetime.strptime(body["access_token_token_expired"],
                                       "%Y-%m-%d %H:%M:%S")
            expected = (datetime.now(UTC) + KST + timedelta(days=1)).replace(tzinfo=None)
            assert abs(expiry - expected) < timedelta(minutes=1)
            again = await http.issue_token()
            assert again.status_code == 403 and again.json() == TOO_SOON
            await asyncio.sleep(0.35)
            later = await http.issue_token()
            assert later.status_code == 200
            assert later.json()["access_token"] == body["access_token"]
            statistics = emulator.control.statistics()
            assert (statistics.tokens_issued, statistics.egw00133) == (1, 1)
            assert statistics.responses == {200: 2, 403: 1}

    run(scenario())


def test_an_expired_token_is_refused_and_a_new_one_is_issued() -> None:
    async def scenario() -> None:
        async with KisEmulator(token_interval=0, token_lifetime=0.4) as emulator, \
                kis_http(emulator) as http:
            first = http.token
            assert (await http.get(PRICE, "FHKST01010100", PRICE_QUERY)).status_code == 200
            await asyncio.sleep(0.45)
            expired = await http.get(PRICE, "FHKST01010100", PRICE_QUERY)
            assert expired.status_code == 500
            assert expired.json() == {"rt_cd": "1", "msg_cd": "EGW00123",
                                      "msg1": "기간이 만료된 token 입니다."}
            assert await http.login() != first
            assert (await http.get(PRICE, "FHKST01010100", PRICE_QUERY)).status_code == 200
            assert emulator.control.statistics().egw00123 == 1

    run(scenario())


def test_expire_tokens_lets_a_client_test_its_reissue_at_once() -> None:
    async def scenario() -> None:
        async with KisEmulator() as emulator, kis_http(emulator) as http:  # 60 s interval
            first = http.token
            emulator.control.expire_tokens()
            expired = await http.get(PRICE, "FHKST01010100", PRICE_QUERY)
            assert (expired.status_code, expired.json()["msg_cd"]) == (500, "EGW00123")
            assert await http.login() != first  # no EGW00133: the interval was forgotten
            assert (await http.get(PRICE, "FHKST01010100", PRICE_QUERY)).status_code == 200
            too_soon = await http.issue_token()
            assert too_soon.status_code == 403 and too_soon.json() == TOO_SOON

    run(scenario())


def test_unknown_missing_and_revoked_tokens_are_refused() -> None:
    async def scenario() -> None:
        async with KisEmulator() as emulator, kis_http(emulator) as http:
            token = http.token
            invalid = {"rt_cd": "1", "msg_cd": "EGW00121", "msg1": "유효하지 않은 token 입니다."}
            for bearer in ("Bearer not-a-token", "", f"Basic {token}"):
                headers = {**http.headers("FHKST01010100"), "authorization": bearer}
                answer = await http.client.get(PRICE, params=PRICE_QUERY, headers=headers)
                assert (answer.status_code, answer.json()) == (500, invalid)
            revoked = await http.client.post("/oauth2/revokeP", content=json.dumps({
                "appkey": http.app_key, "appsecret": http.app_secret, "token": token}),
                headers={"Content-Type": "application/json"})
            assert revoked.status_code == 200
            answer = await http.get(PRICE, "FHKST01010100", PRICE_QUERY)
            assert (answer.status_code, answer.json()) == (500, invalid)

    run(scenario())


def test_wrong_credentials_are_refused_everywhere() -> None:
    async def scenario() -> None:
        async with KisEmulator(token_interval=0) as emulator, kis_http(emulator) as http:
            for body in ({"grant_type": "client_credentials", "appkey": http.app_key,
                          "appsecret": "wrong"},
                         {"grant_type": "client_credentials", "appkey": "wrong",
                          "appsecret": http.app_secret},
                         {"appkey": http.app_key, "appsecret": http.app_secret}):
                answer = await http.client.post("/oauth2/tokenP", json=body)
                assert answer.status_code == 403, body
                assert set(answer.json()) == {"error_description", "error_code"}
            approval = await http.client.post("/oauth2/Approval", json={
                "grant_type": "client_credentials", "appkey": http.app_key,
                "secretkey": "wrong"})
            assert approval.status_code == 403
            for header, value in (("appkey", "wrong"), ("appsecret", "wrong")):
                headers = {**http.headers("FHKST01010100"), header: value}
                answer = await http.client.get(PRICE, params=PRICE_QUERY, headers=headers)
                assert answer.status_code == 500 and answer.json()["rt_cd"] == "1"
                assert answer.json()["msg_cd"] in ("EGW00103", "EGW00105")
            assert emulator.control.statistics().tokens_issued == 1

    run(scenario())


def test_approval_keys_are_fresh_on_every_call() -> None:
    async def scenario() -> None:
        async with KisEmulator() as emulator, kis_http(emulator, login=False) as http:
            keys = {await http.approval_key() for _ in range(3)}
            assert len(keys) == 3
            for key in keys:
                uuid.UUID(key)
            assert emulator.control.statistics().approval_keys_issued == 3

    run(scenario())


def test_the_hashkey_is_the_sha256_of_the_body() -> None:
    async def scenario() -> None:
        async with KisEmulator() as emulator, kis_http(emulator, login=False) as http:
            order = json.dumps({"CANO": "50000000", "ACNT_PRDT_CD": "01", "PDNO": "005930",
                                "ORD_DVSN": "00", "ORD_QTY": "1", "ORD_UNPR": "70000"})
            answer = await http.client.post("/uapi/hashkey", content=order, headers={
                "content-type": "application/json", "appkey": http.app_key,
                "appsecret": http.app_secret})
            assert answer.status_code == 200
            body = answer.json()
            assert body["HASH"] == hashlib.sha256(order.encode()).hexdigest()
            assert re.fullmatch("[0-9a-f]{64}", body["HASH"])
            assert body["BODY"] == json.loads(order)
            refused = await http.client.post("/uapi/hashkey", content=order, headers={
                "content-type": "application/json", "appkey": http.app_key,
                "appsecret": "wrong"})
            assert refused.status_code == 500

    run(scenario())


def test_tokens_need_no_rate_budget_and_unknown_paths_answer_404() -> None:
    async def scenario() -> None:
        async with KisEmulator(rate_limit=1.0, token_interval=0) as emulator, \
                kis_http(emulator) as http:
            for _ in range(3):
                assert (await http.issue_token()).status_code == 200
            assert (await http.get(PRICE, "FHKST01010100", PRICE_QUERY)).status_code == 200
            missing = await http.client.get("/uapi/domestic-stock/v1/trading/nothing",
                                            headers=http.headers("VTTC0081R"))
            assert missing.status_code == 404 and missing.json()["rt_cd"] == "1"

    run(scenario())
