"""``Workers``: threads that run alpaca-py's blocking calls for the event loop.

alpaca-py's REST clients block, so every call runs in a worker thread and the coroutine
waits for it. ``loop.run_in_executor`` on a ``ThreadPoolExecutor`` would do, but each call
then goes through two futures (a ``concurrent.futures.Future`` with its condition variable,
wrapped in an asyncio one), a semaphore, and callbacks that run in the worker while the
event loop, already woken, waits for the GIL. On a submit, where the call itself takes a
millisecond or two, that bookkeeping is a measurable share of venuekit's overhead
(``benchmarks/alpaca_overhead.py``). Here a call is one tuple on a queue, and the worker
wakes the loop as the last thing it does before it waits for the next call.

Threads start on demand, up to ``size``; a call waits in the queue only while every
thread is busy. A call whose coroutine was cancelled before a thread took it never runs
(a create that was never sent stays unsent). :meth:`Workers.close` cancels the calls
still queued and ends each thread once its current call returns; so does dropping the
last reference to the ``Workers``. The threads are daemons: a process that exits without
closing its venue is not held up by a call in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import queue
import threading
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["Workers"]

_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[..., Any],
             tuple[Any, ...]]
_names = itertools.count(1)


class Workers:
    """Up to ``size`` threads running blocking calls for coroutines (``await run(f, ...)``)."""

    def __init__(self, size: int, name: str) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self.name = name
        self._pool = _Pool(size)
        self._closer = weakref.finalize(self, self._pool.stop)

    def __repr__(self) -> str:
        return f"Workers({self.name!r}, threads={self._pool.started}/{self._pool.size})"

    async def run(self, func: Callable[..., Any], *args: Any) -> Any:
        """``func(*args)`` in a worker thread; its result, or the exception it raised."""
        pool = self._pool
        if pool.stopped:
            raise RuntimeError(f"{self.name}: the workers are closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        start = pool.claim()
        pool.jobs.put((loop, future, func, args))
        if start:
            threading.Thread(target=_work, args=(pool,), daemon=True,
                             name=f"{self.name}_{next(_names)}").start()
        return await future

    def close(self) -> None:
        """Cancel the queued calls; each thread ends once its current call returns."""
        self._closer()


class _Pool:
    """What the threads share; they hold no reference to the :class:`Workers` itself."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self.started = 0
        self.stopped = False
        self._idle = 0  # threads waiting for a call that no caller has claimed yet
        self._lock = threading.Lock()

    def claim(self) -> bool:
        """Claim an idle thread for a new call; True when a thread must be started."""
        with self._lock:
            if self._idle:
                self._idle -= 1
                return False
            if self.started < self.size:
                self.started += 1
                return True
            return False  # every thread is busy: the call waits in the queue

    def ready(self) -> None:
        with self._lock:
            self._idle += 1

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        while True:
            try:
                job = self.jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                _deliver(job[0], job[1].cancel)
        with self._lock:
            started = self.started
        for _ in range(started):
            self.jobs.put(None)


def _work(pool: _Pool) -> None:
    jobs = pool.jobs
    while (job := jobs.get()) is not None:
        _run(pool, *job)
        del job  # an idle thread keeps nothing of the call it finished


def _run(pool: _Pool, loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any],
         func: Callable[..., Any], args: tuple[Any, ...]) -> None:
    if future.cancelled():  # the caller gave up before the call started
        pool.ready()
        return
    try:
        result = func(*args)
    except BaseException as exc:  # handed to the caller, whatever it is
        pool.ready()
        _deliver(loop, _fail, future, exc)
    else:
        pool.ready()
        _deliver(loop, _succeed, future, result)


def _deliver(loop: asyncio.AbstractEventLoop, callback: Callable[..., Any],
             *args: Any) -> None:
    with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
        loop.call_soon_threadsafe(callback, *args)


def _succeed(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
