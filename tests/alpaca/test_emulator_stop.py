"""Stopping the emulator closes every connection, including one accepted as it stops."""

from __future__ import annotations

import asyncio
import gc
import socket
import warnings

import pytest

from venuekit_alpaca.emulator import AlpacaEmulator


async def _connect_then_stop(turns: int) -> socket.socket:
    emulator = AlpacaEmulator(seed=1)
    await emulator.start()
    client = socket.create_connection(("127.0.0.1", emulator.port), timeout=2)
    for _ in range(turns):
        await asyncio.sleep(0)
    await emulator.stop()
    return client


@pytest.mark.parametrize("turns", range(6))
def test_a_connection_arriving_as_the_emulator_stops_is_closed(turns: int) -> None:
    """The client connects, the loop turns a few times, the emulator stops.

    Whichever step of accepting the connection the loop had reached, the client sees the
    connection closed, and no socket is left open for the garbage collector to find (on
    Python 3.11 a server closed between accepting a connection and building its transport
    leaks the socket: CPython issue 109564).
    """
    client = asyncio.run(_connect_then_stop(turns))
    with client:
        try:
            assert client.recv(1) == b""
        except ConnectionResetError:
            pass  # closed as well
        except TimeoutError:
            pytest.fail(f"the connection stayed open after stop() ({turns} turns)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        gc.collect()
    assert [str(w.message) for w in caught if w.category is ResourceWarning] == []
