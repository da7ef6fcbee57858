"""``venuekit emulate alpaca`` as a user runs it: a real process, a real client, SIGTERM."""

from __future__ import annotations

import json
import signal
from typing import Any

from click.testing import CliRunner

from venuekit.cli import main

from ..support.processes import first_line, reap, start_emulate
from .emulator_clients import TradingClient, market

START_TIMEOUT = 30.0


def test_emulate_serves_a_real_client_then_stops_on_sigterm() -> None:
    process = start_emulate("alpaca", "--port", "0", "--json", "-o", "seed=7",
                            "-o", "cash=25000")
    try:
        line = first_line(process, START_TIMEOUT)
        info: dict[str, Any] = json.loads(line)
        settings = info["client_settings"]
        assert info["endpoints"]["stream"] == settings["APCA_API_STREAM_URL"]
        assert settings["APCA_API_BASE_URL"].startswith("http://127.0.0.1:")
        client = TradingClient(settings["APCA_API_KEY_ID"], settings["APCA_API_SECRET_KEY"],
                               url_override=settings["APCA_API_BASE_URL"])
        client._retry = 0
        assert client.get_account().cash == "25000"
        order = client.submit_order(market("AAPL", 1, cid="from-cli-test"))
        assert client.get_order_by_client_id("from-cli-test").id == order.id
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        reap(process)


def test_emulate_prints_how_to_connect_for_people() -> None:
    process = start_emulate("alpaca", "--port", "0", "-o", "secret_key=my-own-secret")
    try:
        first = first_line(process, START_TIMEOUT)
        assert first.startswith("alpaca emulator running")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
        assert process.stdout is not None
        out = first + process.stdout.read()
        assert "export APCA_API_BASE_URL=http://127.0.0.1:" in out
        assert "my-own-secret" not in first + out  # a chosen secret is not echoed
    finally:
        reap(process)


def test_emulate_refuses_bad_options_with_exit_code_2() -> None:
    runner = CliRunner()
    remote = runner.invoke(main, ["emulate", "alpaca", "--host", "0.0.0.0"])
    assert remote.exit_code == 2 and "loopback" in remote.output
    unknown = runner.invoke(main, ["emulate", "alpaca", "-o", "colour=blue"])
    assert unknown.exit_code == 2 and "colour" in unknown.output
    missing = runner.invoke(main, ["emulate", "nosuchvenue"])
    assert missing.exit_code == 2 and "alpaca" in missing.output


def test_emulate_help_explains_the_command() -> None:
    result = CliRunner().invoke(main, ["emulate", "--help"])
    assert result.exit_code == 0
    for text in ("--port", "--host", "loopback", "-o", "SIGTERM", "venuekit emulate alpaca"):
        assert text in result.output
