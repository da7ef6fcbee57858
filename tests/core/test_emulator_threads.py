"""Running an emulator on a thread of its own, and handing calls to its loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping

import pytest

from venuekit.emulator import call_on_loop, run_in_thread


class Recorder:
    """A minimal emulator: it records the loop and thread it serves on."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: int | None = None
        self.stopped = False

    async def start(self) -> None:
        if self.fail:
            raise OSError("address already in use")
        self.loop = asyncio.get_running_loop()
        self.thread = threading.get_ident()

    async def stop(self) -> None:
        self.stopped = True

    def endpoints(self) -> Mapping[str, str]:
        return {}

    def client_settings(self) -> Mapping[str, str]:
        return {}


def test_an_emulator_serves_on_its_own_thread_and_calls_reach_its_loop() -> None:
    with run_in_thread(Recorder, name="test emulator") as emulator:
        assert emulator.thread not in (None, threading.get_ident())
        ran_on = call_on_loop(emulator.loop, emulator.thread, threading.get_ident)
        assert ran_on == emulator.thread
        with pytest.raises(ZeroDivisionError):  # the loop's exception, in the caller
            call_on_loop(emulator.loop, emulator.thread, lambda: 1 // 0)
    assert emulator.stopped
    # The loop no longer runs: the call is made here.
    assert call_on_loop(emulator.loop, emulator.thread, threading.get_ident) == \
        threading.get_ident()


def test_an_emulator_that_cannot_start_raises_in_the_caller() -> None:
    with pytest.raises(OSError, match="address already in use"), \
            run_in_thread(lambda: Recorder(fail=True), name="test emulator"):
        pass
