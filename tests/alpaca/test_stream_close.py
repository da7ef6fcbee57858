"""Closing the ``trade_updates`` stream never loses a cancellation: the engine's stream task,
cancelled by ``Engine.close()``, must end, whatever moment the cancel arrives at.

Real alpaca-py against the emulator on 127.0.0.1; the only thing arranged is when the cancel
lands: the moment the stream's own close finishes, which Python 3.11's ``asyncio.wait_for``
(returning the result of what it waited for) would let pass unnoticed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from venuekit.errors import Code, VenueKitError
from venuekit_alpaca.emulator import AlpacaEmulator
from venuekit_alpaca.stream import TradeUpdateStream
from venuekit_alpaca.venue import AlpacaVenue

WAIT = 10.0  # seconds a step may take before the test fails instead of hanging


def run(body: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(body(), 30))


def venue_for(emulator: AlpacaEmulator) -> AlpacaVenue:
    return AlpacaVenue(api_key=emulator.api_key, secret_key=emulator.secret_key,
                       base_url=emulator.base_url, stream_url=emulator.stream_url,
                       data_url=emulator.data_url, timeout=3, stream_timeout=3)


async def connected(emulator: AlpacaEmulator, venue: AlpacaVenue) -> TradeUpdateStream:
    stream = venue.order_updates()
    assert isinstance(stream, TradeUpdateStream)
    async with asyncio.timeout(WAIT):
        while emulator.stream.connections == 0:
            await asyncio.sleep(0.01)
    return stream


def test_a_disconnect_ends_the_stream_with_stream_disconnected() -> None:
    """The baseline the next test relies on: a dropped connection surfaces as the typed
    error, and the stream's own close runs on the way."""
    async def body() -> None:
        async with AlpacaEmulator(seed=3) as emulator:
            venue = venue_for(emulator)
            try:
                stream = await connected(emulator, venue)
                await emulator.stream.close_all()
                with pytest.raises(VenueKitError) as caught:
                    await asyncio.wait_for(stream.__anext__(), WAIT)
                assert caught.value.code is Code.STREAM_DISCONNECTED
            finally:
                await venue.close()
    run(body)


def test_a_cancel_arriving_as_the_closing_handshake_ends_is_not_lost() -> None:
    """The consumer is cancelled at the moment the disconnected stream's close returns: it
    must end cancelled, not raise STREAM_DISCONNECTED (which the engine's stream task takes
    as a reason to reconnect, while ``Engine.close()`` waits for it forever)."""
    async def body() -> None:
        async with AlpacaEmulator(seed=3) as emulator:
            venue = venue_for(emulator)
            try:
                stream = await connected(emulator, venue)
                client = stream._client
                real_close = client.close
                consumer: asyncio.Task[object] | None = None

                async def close_then_cancel() -> None:
                    await real_close()
                    assert consumer is not None
                    asyncio.get_running_loop().call_soon(consumer.cancel)

                client.close = close_then_cancel  # type: ignore[method-assign]
                await emulator.stream.close_all()
                consumer = asyncio.ensure_future(stream.__anext__())
                done, _ = await asyncio.wait({consumer}, timeout=WAIT)
                assert done, "the consumer did not end"
                assert consumer.cancelled(), f"the cancel was lost: {consumer.exception()!r}"
            finally:
                await venue.close()
    run(body)
