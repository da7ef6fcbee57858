"""Plain KIS clients for the emulator tests, written from KIS's public documentation.

Nothing here imports the emulator's own wire code: requests carry exactly the headers and
bodies KIS's official samples send (``content-type``, ``authorization: Bearer``,
``appkey``, ``appsecret``, ``tr_id``, ``custtype: P`` and an empty ``tr_cont``; POST bodies
are ``json.dumps`` strings with upper-case keys and string values), and notices are
decrypted here with the ``cryptography`` primitives (AES-256-CBC, PKCS7, base64), as the
official ``aes_cbc_base64_dec`` does. Every answer is checked against the official
client's parsing constraints: top-level JSON keys usable as namedtuple fields, and the
lower-case ``tr_cont`` header on every inquiry.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections import namedtuple
from collections.abc import AsyncIterator, Callable, Coroutine
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import websockets
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from venuekit_kis.emulator import KisEmulator

T = TypeVar("T")
D = Decimal

TRADING = "/uapi/domestic-stock/v1/trading"
QUOTATIONS = "/uapi/domestic-stock/v1/quotations"
ORDER_CASH = f"{TRADING}/order-cash"
ORDER_RVSECNCL = f"{TRADING}/order-rvsecncl"
DAILY_CCLD = f"{TRADING}/inquire-daily-ccld"
BALANCE = f"{TRADING}/inquire-balance"
PSBL_ORDER = f"{TRADING}/inquire-psbl-order"
PRICE = f"{QUOTATIONS}/inquire-price"
ASKING_PRICE = f"{QUOTATIONS}/inquire-asking-price-exp-ccn"
HTTP_TIMEOUT = 10.0

# The 26 field names of an H0STCNI9 record (current layout) and python-kis's 23.
FIELDS_26 = ("CUST_ID", "ACNT_NO", "ODER_NO", "OODER_NO", "SELN_BYOV_CLS", "RCTF_CLS",
             "ODER_KIND", "ODER_COND", "STCK_SHRN_ISCD", "CNTG_QTY", "CNTG_UNPR",
             "STCK_CNTG_HOUR", "RFUS_YN", "CNTG_YN", "ACPT_YN", "BRNC_NO", "ODER_QTY",
             "ACNT_NAME", "ORD_COND_PRC", "ORD_EXG_GB", "POPUP_YN", "FILLER", "CRDT_CLS",
             "CRDT_LOAN_DATE", "CNTG_ISNM40", "ODER_PRC")
FIELDS_23 = (*FIELDS_26[:17], "ACNT_NAME", "CNTG_ISNM", "CRDT_CLS", "CRDT_LOAN_DATE",
             "CNTG_ISNM40", "ODER_PRC")


def run(coro: Coroutine[Any, Any, T], timeout: float = 20.0) -> T:
    """Run one test scenario, bounded in time."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def check_parsable(body: dict[str, Any]) -> None:
    """The official client turns the body into ``namedtuple("body", keys)``."""
    namedtuple("body", body.keys())


class KisHttp:
    """An httpx client speaking KIS REST as the official samples do."""

    def __init__(self, emulator: KisEmulator, client: httpx.AsyncClient) -> None:
        self.emulator = emulator
        self.client = client
        self.token: str | None = None
        self.app_key = emulator.app_key
        self.app_secret = emulator.app_secret
        self.cano, self.product = emulator.account.split("-")

    async def issue_token(self) -> httpx.Response:
        return await self.client.post("/oauth2/tokenP", content=json.dumps({
            "grant_type": "client_credentials", "appkey": self.app_key,
            "appsecret": self.app_secret}), headers={
            "Content-Type": "application/json", "Accept": "text/plain", "charset": "UTF-8"})

    async def login(self) -> str:
        answer = await self.issue_token()
        assert answer.status_code == 200, answer.text
        self.token = answer.json()["access_token"]
        return self.token

    async def approval_key(self) -> str:
        answer = await self.client.post("/oauth2/Approval", content=json.dumps({
            "grant_type": "client_credentials", "appkey": self.app_key,
            "secretkey": self.app_secret}), headers={"Content-Type": "application/json"})
        assert answer.status_code == 200, answer.text
        return str(answer.json()["approval_key"])

    def headers(self, tr_id: str, tr_cont: str = "") -> dict[str, str]:
        return {"content-type": "application/json; charset=utf-8", "Accept": "text/plain",
                "charset": "UTF-8", "authorization": f"Bearer {self.token}",
                "appkey": self.app_key, "appsecret": self.app_secret, "tr_id": tr_id,
                "custtype": "P", "tr_cont": tr_cont}

    async def get(self, path: str, tr_id: str, params: dict[str, str],
                  tr_cont: str = "") -> httpx.Response:
        answer = await self.client.get(path, params=params,
                                       headers=self.headers(tr_id, tr_cont))
        if answer.headers.get("content-type", "").startswith("application/json"):
            check_parsable(answer.json())
            assert answer.headers.get("tr_cont") in ("M", "D"), answer.headers
        return answer

    async def post(self, path: str, tr_id: str, body: dict[str, str]) -> httpx.Response:
        answer = await self.client.post(path, content=json.dumps(body),
                                        headers=self.headers(tr_id))
        if answer.headers.get("content-type", "").startswith("application/json"):
            check_parsable(answer.json())
        return answer

    # the official samples' requests ----------------------------------------------------
    async def order(self, symbol: str, quantity: int | str, price: int | str = 0, *,
                    side: str = "buy", dvsn: str = "00", tr_id: str | None = None
                    ) -> httpx.Response:
        tr_id = tr_id or ("VTTC0012U" if side == "buy" else "VTTC0011U")
        return await self.post(ORDER_CASH, tr_id, {
            "CANO": self.cano, "ACNT_PRDT_CD": self.product, "PDNO": symbol,
            "ORD_DVSN": dvsn, "ORD_QTY": str(quantity), "ORD_UNPR": str(price),
            "EXCG_ID_DVSN_CD": "KRX", "SLL_TYPE": "", "CNDT_PRIC": ""})

    async def place(self, symbol: str, quantity: int | str, price: int | str = 0,
                    **options: Any) -> str:
        """An order that must be accepted; its ODNO."""
        answer = await self.order(symbol, quantity, price, **options)
        body = answer.json()
        assert answer.status_code == 200 and body["rt_cd"] == "0", answer.text
        assert body["output"]["KRX_FWDG_ORD_ORGNO"] == "00950"
        return str(body["output"]["ODNO"])

    async def amend(self, odno: str, *, cancel: bool = True, quantity: int | None = None,
                    price: int | str = 0, tr_id: str = "VTTC0013U") -> httpx.Response:
        return await self.post(ORDER_RVSECNCL, tr_id, {
            "CANO": self.cano, "ACNT_PRDT_CD": self.product, "KRX_FWDG_ORD_ORGNO": "00950",
            "ORGN_ODNO": odno, "ORD_DVSN": "00", "RVSE_CNCL_DVSN_CD": "02" if cancel else "01",
            "ORD_QTY": "0" if quantity is None else str(quantity), "ORD_UNPR": str(price),
            "QTY_ALL_ORD_YN": "Y" if quantity is None else "N", "EXCG_ID_DVSN_CD": "KRX"})

    def ccld_params(self, **changes: str) -> dict[str, str]:
        return {"CANO": self.cano, "ACNT_PRDT_CD": self.product, "INQR_STRT_DT": "",
                "INQR_END_DT": "", "SLL_BUY_DVSN_CD": "00", "PDNO": "", "CCLD_DVSN": "00",
                "INQR_DVSN": "00", "INQR_DVSN_3": "00", "ORD_GNO_BRNO": "", "ODNO": "",
                "INQR_DVSN_1": "", "CTX_AREA_FK100": "", "CTX_AREA_NK100": "",
                "EXCG_ID_DVSN_CD": "KRX", **changes}

    async def daily_orders(self, *, tr_id: str = "VTTC0081R",
                           **changes: str) -> list[dict[str, str]]:
        """Every row, following the pages as the official sample does."""
        params = self.ccld_params(**changes)
        rows: list[dict[str, str]] = []
        tr_cont = ""
        for _ in range(50):
            answer = await self.get(DAILY_CCLD, tr_id, params, tr_cont)
            body = answer.json()
            assert answer.status_code == 200 and body["rt_cd"] == "0", answer.text
            rows += body["output1"]
            if answer.headers["tr_cont"] not in ("M", "F"):
                return rows
            params = {**params, "CTX_AREA_FK100": body["ctx_area_fk100"],
                      "CTX_AREA_NK100": body["ctx_area_nk100"]}
            tr_cont = "N"
        raise AssertionError("the pages never ended")

    async def row(self, odno: str) -> dict[str, str]:
        rows = [r for r in await self.daily_orders(ODNO=odno) if r["odno"] == odno]
        assert len(rows) == 1, rows
        return rows[0]

    async def balance(self, **changes: str) -> httpx.Response:
        return await self.get(BALANCE, "VTTC8434R", {
            "CANO": self.cano, "ACNT_PRDT_CD": self.product, "AFHR_FLPR_YN": "N",
            "OFL_YN": "", "INQR_DVSN": "02", "UNPR_DVSN": "01", "FUND_STTL_ICLD_YN": "N",
            "FNCG_AMT_AUTO_RDPT_YN": "N", "PRCS_DVSN": "00", "CTX_AREA_FK100": "",
            "CTX_AREA_NK100": "", **changes})

    async def price(self, symbol: str) -> dict[str, str]:
        answer = await self.get(PRICE, "FHKST01010100", {"FID_COND_MRKT_DIV_CODE": "J",
                                                         "FID_INPUT_ISCD": symbol})
        assert answer.status_code == 200 and answer.json()["rt_cd"] == "0", answer.text
        return dict(answer.json()["output"])


@contextlib.asynccontextmanager
async def kis_http(emulator: KisEmulator, *, login: bool = True) -> AsyncIterator[KisHttp]:
    async with httpx.AsyncClient(base_url=emulator.base_url, timeout=HTTP_TIMEOUT) as client:
        http = KisHttp(emulator, client)
        if login:
            await http.login()
        yield http


async def raw_header_names(emulator: KisEmulator, path: str, headers: dict[str, str]
                           ) -> list[str]:
    """The answer's header names exactly as written on the wire (httpx lower-cases them;
    the official client keeps only the names that are all lower case)."""
    reader, writer = await asyncio.open_connection(emulator.host, emulator.port)
    try:
        lines = [f"GET {path} HTTP/1.1", f"Host: {emulator.host}", "Connection: close",
                 *(f"{name}: {value}" for name, value in headers.items()), "", ""]
        writer.write("\r\n".join(lines).encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HTTP_TIMEOUT)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return [line.split(":", 1)[0] for line in head.decode().split("\r\n")[1:] if line]


def decrypt(payload: str, key: str, iv: str) -> str:
    """What the official ``aes_cbc_base64_dec`` does, with ``cryptography``."""
    decryptor = Cipher(algorithms.AES(key.encode()), modes.CBC(iv.encode())).decryptor()
    padded = decryptor.update(base64.b64decode(payload)) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return (unpadder.update(padded) + unpadder.finalize()).decode("utf-8")


def subscribe_frame(approval_key: str, tr_id: str, tr_key: str, tr_type: str = "1") -> str:
    return json.dumps({"header": {"approval_key": approval_key, "custtype": "P",
                                  "tr_type": tr_type, "content-type": "utf-8"},
                       "body": {"input": {"tr_id": tr_id, "tr_key": tr_key}}})


class NoticeSocket:
    """A websocket subscribed to ``H0STCNI9``, decrypting notices as they come."""

    def __init__(self, ws: Any, key: str, iv: str) -> None:
        self.ws = ws
        self.key = key
        self.iv = iv
        self.pings: list[dict[str, Any]] = []

    async def frame(self, timeout: float = 5.0) -> str:
        return str(await asyncio.wait_for(self.ws.recv(), timeout))

    async def notice(self, timeout: float = 5.0) -> list[str]:
        """The next notice's fields (PINGPONG frames are set aside)."""
        while True:
            raw = await self.frame(timeout)
            if raw.startswith("{"):
                message = json.loads(raw)
                assert message["header"]["tr_id"] == "PINGPONG", raw
                self.pings.append(message)
                continue
            encrypted, tr_id, count, payload = raw.split("|", 3)
            assert (encrypted, tr_id, count) == ("1", "H0STCNI9", "001"), raw
            return decrypt(payload, self.key, self.iv).split("^")

    async def notices(self, count: int, timeout: float = 5.0) -> list[dict[str, str]]:
        found = []
        for _ in range(count):
            fields = await self.notice(timeout)
            names = FIELDS_26 if len(fields) == 26 else FIELDS_23
            assert len(fields) == len(names), fields
            found.append(dict(zip(names, fields, strict=True)))
        return found

    async def silent(self, seconds: float) -> None:
        """Nothing but heartbeats for ``seconds``."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                raw = await self.frame(left)
            except TimeoutError:
                return
            message = json.loads(raw) if raw.startswith("{") else None
            assert message is not None and message["header"]["tr_id"] == "PINGPONG", \
                f"unexpected frame {raw[:80]}"
            self.pings.append(message)


@contextlib.asynccontextmanager
async def notice_socket(emulator: KisEmulator, http: KisHttp, *, path: str = "/tryitout"
                        ) -> AsyncIterator[NoticeSocket]:
    approval = await http.approval_key()
    async with websockets.connect(emulator.ws_url + path, open_timeout=5,
                                  close_timeout=1) as ws:
        await ws.send(subscribe_frame(approval, "H0STCNI9", emulator.hts_id))
        ack = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert ack["header"] == {"tr_id": "H0STCNI9", "tr_key": emulator.hts_id,
                                 "encrypt": "Y"}, ack
        assert ack["body"]["msg_cd"] == "OPSP0000", ack
        output = ack["body"]["output"]
        yield NoticeSocket(ws, output["key"], output["iv"])
