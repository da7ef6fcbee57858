"""The worker threads that run alpaca-py's blocking calls: results, failures, width,
cancellation and closing, with each way results go back to the loop (an eventfd, a pipe,
``call_soon_threadsafe``)."""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from venuekit_alpaca import workers as workers_module
from venuekit_alpaca.workers import Workers

WAIT = 5.0  # seconds any one step may take before the test fails instead of hanging
INBOXES = ["eventfd", "pipe", "threadsafe"]


@pytest.fixture(params=INBOXES, autouse=True)
def inbox(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Every test runs with each way back to the loop this platform has."""
    kind = request.param
    if kind == "eventfd" and not hasattr(os, "eventfd"):
        pytest.skip("os.eventfd exists on Linux only")
    if kind == "pipe":
        monkeypatch.delattr(os, "eventfd", raising=False)
    if kind == "threadsafe":
        monkeypatch.setattr(workers_module, "_open_inbox", workers_module._ThreadsafeInbox)
    yield kind


def unique(label: str) -> str:
    """A pool name no other test (or variant) uses: a thread that ends only after the test
    that started it is never counted by the next one."""
    return f"{label}.{next(_pools)}"


_pools = itertools.count()


def threads_named(name: str) -> list[threading.Thread]:
    """The live threads of the pool named ``name`` (its threads are ``name_N``)."""
    return [t for t in threading.enumerate() if t.name.startswith(f"{name}_")]


def wait_until(condition: Callable[[], bool]) -> bool:
    """Whether ``condition`` holds within WAIT seconds (threads end on their own time)."""
    deadline = time.monotonic() + WAIT
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def test_calls_run_off_the_loop_and_return_results_and_errors() -> None:
    def fail() -> None:
        raise ConnectionResetError("peer went away")

    async def main() -> None:
        pool_results = unique("t-results")
        workers = Workers(4, pool_results)
        try:
            loop_thread = threading.get_ident()
            assert await workers.run(threading.get_ident) != loop_thread
            assert await workers.run(pow, 2, 10) == 1024
            with pytest.raises(ConnectionResetError, match="peer went away"):
                await workers.run(fail)
            # One call at a time: the thread that finished takes the next, none is added.
            assert len(threads_named(pool_results)) == 1
        finally:
            workers.close()

    asyncio.run(main())


def test_a_call_that_raises_stopiteration_still_gets_its_answer() -> None:
    """A future refuses StopIteration: handed over as such, the caller would wait forever
    and the results delivered after it in the same wake-up would be held back. It arrives
    as a RuntimeError (as from a coroutine), its cause kept, and the others arrive too."""
    def exhausted() -> object:
        return next(iter(()))

    async def main() -> None:
        pool_stop = unique("t-stop")
        workers = Workers(2, pool_stop)
        try:
            first, second = await asyncio.wait_for(asyncio.gather(
                workers.run(exhausted), workers.run(pow, 2, 5), return_exceptions=True),
                WAIT)
            assert isinstance(first, RuntimeError) and "StopIteration" in str(first)
            assert isinstance(first.__cause__, StopIteration)
            assert second == 32
        finally:
            workers.close()

    asyncio.run(main())


def test_concurrent_calls_each_get_a_thread_up_to_the_size() -> None:
    """Calls admitted together go out together; beyond the size they wait their turn."""
    barrier = threading.Barrier(3, timeout=WAIT)
    order: list[str] = []

    def meet(name: str) -> str:
        barrier.wait()  # only returns once three calls run at the same time
        order.append(name)
        return name

    async def main() -> None:
        pool_width = unique("t-width")
        workers = Workers(3, pool_width)
        try:
            together = await asyncio.wait_for(asyncio.gather(
                *(workers.run(meet, f"call-{i}") for i in range(3))), WAIT)
            assert sorted(together) == ["call-0", "call-1", "call-2"]
            assert len(threads_named(pool_width)) == 3
            # Three threads are idle now: three more calls reuse them, none is started.
            again = await asyncio.wait_for(asyncio.gather(
                *(workers.run(meet, f"again-{i}") for i in range(3))), WAIT)
            assert len(again) == 3 and len(threads_named(pool_width)) == 3
        finally:
            workers.close()

    asyncio.run(main())


def test_a_call_cancelled_before_it_started_never_runs() -> None:
    release = threading.Event()
    ran: list[str] = []

    def block() -> None:
        release.wait(WAIT)

    async def main() -> None:
        pool_cancel = unique("t-cancel")
        workers = Workers(1, pool_cancel)
        try:
            busy = asyncio.ensure_future(workers.run(block))
            queued = asyncio.ensure_future(workers.run(ran.append, "sent"))
            await asyncio.sleep(0.05)
            queued.cancel()
            release.set()
            await asyncio.wait_for(busy, WAIT)
            assert await workers.run(ran.append, "later") is None
        finally:
            workers.close()

    asyncio.run(main())
    assert ran == ["later"]


def test_close_cancels_queued_calls_and_ends_the_threads() -> None:
    release = threading.Event()
    pool_close = unique("t-close")

    async def main() -> None:
        workers = Workers(1, pool_close)
        busy = asyncio.ensure_future(workers.run(release.wait, WAIT))
        queued = asyncio.ensure_future(workers.run(time.sleep, 0))
        await asyncio.sleep(0.05)
        workers.close()
        await asyncio.wait([queued], timeout=WAIT)
        assert queued.cancelled()
        release.set()
        assert await asyncio.wait_for(busy, WAIT) is True  # the call in flight completes
        with pytest.raises(RuntimeError, match="closed"):
            await workers.run(time.sleep, 0)

    asyncio.run(main())
    assert wait_until(lambda: threads_named(pool_close) == [])


def test_dropped_workers_end_their_threads() -> None:
    pool_dropped = unique("t-dropped")

    async def main() -> None:
        workers = Workers(2, pool_dropped)
        await asyncio.gather(workers.run(time.sleep, 0.01), workers.run(time.sleep, 0.01))
        assert len(threads_named(pool_dropped)) == 2

    asyncio.run(main())  # the Workers object is garbage once main returns
    assert wait_until(lambda: threads_named(pool_dropped) == [])


def test_one_workers_serves_one_loop_after_another() -> None:
    """A venue may be driven by several ``asyncio.run`` calls in turn."""
    pool_loops = unique("t-loops")
    workers = Workers(2, pool_loops)
    try:
        for n in range(3):
            assert asyncio.run(workers.run(pow, 2, n)) == 2 ** n
    finally:
        workers.close()


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc")
def test_closed_workers_leave_no_descriptor_open(inbox: str) -> None:
    def open_descriptors() -> int:
        return len(os.listdir("/proc/self/fd"))

    before = open_descriptors()
    pool_fds = unique("t-fds")
    workers = Workers(2, pool_fds)
    for n in range(3):  # one inbox per loop
        assert asyncio.run(workers.run(pow, 3, n)) == 3 ** n
    if inbox != "threadsafe":
        assert open_descriptors() > before  # the inboxes hold descriptors while in use
    workers.close()
    assert wait_until(lambda: threads_named(pool_fds) == [])
    assert wait_until(lambda: open_descriptors() <= before)
