"""``docs/examples/alpaca_bot.py``, unmodified, against ``venuekit emulate alpaca``: two real
processes, the bot knowing nothing of venuekit but the addresses in its environment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..support.processes import first_line, reap, start_emulate

BOT = Path(__file__).resolve().parents[2] / "docs" / "examples" / "alpaca_bot.py"
START_TIMEOUT = 30.0
BOT_TIMEOUT = 90.0
STEPS = ("account", "snapshot", "bars", "bracket", "filled", "activities", "closed")


def test_the_example_bot_runs_against_the_emulator() -> None:
    emulator = start_emulate("alpaca", "--port", "0", "--json", "-o", "seed=7")
    try:
        info: dict[str, Any] = json.loads(first_line(emulator, START_TIMEOUT))
        settings = info["client_settings"]
        environment = {**os.environ, "BOT_SYMBOL": "AAPL",
                       **{key: settings[key] for key in ("APCA_API_KEY_ID",
                                                         "APCA_API_SECRET_KEY",
                                                         "APCA_API_BASE_URL",
                                                         "APCA_API_DATA_URL")}}
        bot = subprocess.run([sys.executable, str(BOT)], env=environment, text=True,
                             capture_output=True, timeout=BOT_TIMEOUT, check=False)
        done = [line.split(":")[0].removeprefix("ok ") for line in bot.stdout.splitlines()
                if line.startswith("ok ")]
        assert bot.returncode == 0, bot.stdout + bot.stderr
        assert done == list(STEPS), bot.stdout
        summary = bot.stdout.splitlines()[-1]
        assert summary.startswith("summary: bought 1 AAPL at ") and "closed" in summary
        emulator.send_signal(signal.SIGTERM)
        assert emulator.wait(timeout=15) == 0
    finally:
        reap(emulator)
