"""`venuekit emulate kis` as a user runs it: a real process that prints where it listens
and what a client needs, serves KIS's REST API, and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from typing import Any

import httpx

from ..support.processes import first_line, reap, start_emulate

START_TIMEOUT = 30.0


def test_venuekit_emulate_kis_serves_until_sigterm() -> None:
    process = start_emulate("kis", "--port", "0", "--json", "-o", "seed=5")
    try:
        info: dict[str, Any] = json.loads(first_line(process, START_TIMEOUT))
        assert info["emulator"] == "kis"
        settings = info["client_settings"]
        assert set(settings) == {"KIS_BASE_URL", "KIS_WS_URL", "KIS_APP_KEY",
                                 "KIS_APP_SECRET", "KIS_ACCOUNT", "KIS_HTS_ID"}
        assert info["endpoints"]["websocket"] == f"{settings['KIS_WS_URL']}/tryitout"
        with httpx.Client(base_url=settings["KIS_BASE_URL"], timeout=10) as client:
            token = client.post("/oauth2/tokenP", json={
                "grant_type": "client_credentials", "appkey": settings["KIS_APP_KEY"],
                "appsecret": settings["KIS_APP_SECRET"]})
            assert token.status_code == 200
            price = client.get(
                "/uapi/domestic-stock/v1/quotations/inquire-price",
                params={"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"},
                headers={"authorization": f"Bearer {token.json()['access_token']}",
                         "appkey": settings["KIS_APP_KEY"],
                         "appsecret": settings["KIS_APP_SECRET"], "tr_id": "FHKST01010100",
                         "custtype": "P", "tr_cont": ""})
            assert price.status_code == 200 and price.headers["tr_cont"] == "D"
            output = price.json()["output"]
            assert price.json()["rt_cd"] == "0" and int(output["stck_prpr"]) > 0
            assert output["stck_sdpr"] == "71000"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        reap(process)


def test_a_bad_option_exits_with_status_2_naming_it() -> None:
    done = subprocess.run([sys.executable, "-m", "venuekit", "emulate", "kis", "--port", "0",
                           "-o", "record_fields=24"], capture_output=True, text=True,
                          timeout=START_TIMEOUT)
    assert done.returncode == 2
    assert "record_fields" in done.stderr + done.stdout
