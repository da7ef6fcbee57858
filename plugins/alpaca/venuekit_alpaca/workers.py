"""``Workers``: threads that run alpaca-py's blocking calls for the event loop.

alpaca-py's REST clients block, so every call runs in a worker thread and the coroutine
waits for it. ``loop.run_in_executor`` on a ``ThreadPoolExecutor`` would do, but on a
submit, where the call itself takes a millisecond or two, the way there and back is a
measurable share of venuekit's overhead (``benchmarks/alpaca_overhead.py``):

* there, a call is one tuple on a queue (no ``concurrent.futures.Future`` with its
  condition variable wrapped in an asyncio future, no semaphore);
* back, the worker leaves the result in the loop's inbox and wakes the loop through a
  descriptor of the inbox's own (an ``eventfd`` on Linux, a pipe elsewhere), which the
  loop watches like any reader: one write and one read, where ``call_soon_threadsafe``
  costs a write to the loop's self-pipe socket, two reads, and a turn of the loop more.
  Where the loop cannot watch a descriptor (Windows), the result goes back by
  ``call_soon_threadsafe``.

Threads start on demand, up to ``size``; a call waits in the queue only while every
thread is busy. A call whose coroutine was cancelled before a thread took it never runs
(a create that was never sent stays unsent). :meth:`Workers.close` cancels the calls
still queued and ends each thread once its current call returns; so does dropping the
last reference to the ``Workers``. The inboxes' descriptors are closed when the last
thread has ended, since only the threads write to them. The threads are daemons: a
process that exits without closing its venue is not held up by a call in flight.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import os
import queue
import sys
import threading
import weakref
from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["Workers"]

_names = itertools.count(1)
_Callback = Callable[["asyncio.Future[Any]", Any], None]


class _Inbox(Protocol):
    def deliver(self, callback: _Callback, future: asyncio.Future[Any], value: Any) -> None:
        """From a worker thread: run ``callback(future, value)`` in the loop."""

    def dispose(self) -> None:
        """Once no thread can deliver any more: release what the inbox holds."""


_Job = tuple[_Inbox, "asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...]]


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
        inbox = pool.inbox(loop)
        start = pool.claim()
        pool.jobs.put((inbox, future, func, args))
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
        self.started = 0  # threads started and not ended
        self.stopped = False
        self._idle = 0  # threads waiting for a call that no caller has claimed yet
        self._lock = threading.Lock()
        self._inboxes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Inbox] = \
            weakref.WeakKeyDictionary()
        self._opened: list[_Inbox] = []  # disposed of once the threads have ended

    def inbox(self, loop: asyncio.AbstractEventLoop) -> _Inbox:
        """The inbox of ``loop`` (the running loop), opened on its first call."""
        with self._lock:
            inbox = self._inboxes.get(loop)
            if inbox is None:
                inbox = _open_inbox(loop)
                self._inboxes[loop] = inbox
                self._opened.append(inbox)
            return inbox

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
                job[0].deliver(_cancel, job[1], None)
        with self._lock:
            started = self.started
        for _ in range(started):
            self.jobs.put(None)
        if not started:
            self._dispose()

    def ended(self) -> None:
        """A thread has ended (after :meth:`stop`); the last one releases the inboxes."""
        with self._lock:
            self.started -= 1
            last = self.started == 0
        if last:
            self._dispose()

    def _dispose(self) -> None:
        opened, self._opened = self._opened, []
        for inbox in opened:
            inbox.dispose()


def _work(pool: _Pool) -> None:
    jobs = pool.jobs
    while (job := jobs.get()) is not None:
        _run(pool, *job)
        del job  # an idle thread keeps nothing of the call it finished
    pool.ended()


def _run(pool: _Pool, inbox: _Inbox, future: asyncio.Future[Any],
         func: Callable[..., Any], args: tuple[Any, ...]) -> None:
    if future.cancelled():  # the caller gave up before the call started
        pool.ready()
        return
    try:
        result = func(*args)
    except BaseException as exc:  # handed to the caller, whatever it is
        pool.ready()
        inbox.deliver(_fail, future, exc)
    else:
        pool.ready()
        inbox.deliver(_succeed, future, result)


def _open_inbox(loop: asyncio.AbstractEventLoop) -> _Inbox:
    if os.name == "nt":  # select() there watches sockets only
        return _ThreadsafeInbox(loop)
    try:
        return _DescriptorInbox(loop)
    except (NotImplementedError, OSError):  # a loop that watches no descriptors
        return _ThreadsafeInbox(loop)


class _DescriptorInbox:
    """Finished calls for one loop, and the descriptor (eventfd or pipe) that wakes it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        if hasattr(os, "eventfd"):
            self._read_fd = self._write_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
            self._wake = (1).to_bytes(8, sys.byteorder)  # an eventfd adds 8-byte counts
        else:
            self._read_fd, self._write_fd = os.pipe()
            os.set_blocking(self._read_fd, False)
            os.set_blocking(self._write_fd, False)
            self._wake = b"\0"
        self._loop = weakref.ref(loop)
        self._done: collections.deque[tuple[_Callback, asyncio.Future[Any], Any]] = \
            collections.deque()
        self._closed = False
        try:
            loop.add_reader(self._read_fd, self._drain)
        except BaseException:
            self._close_descriptors()
            raise

    def deliver(self, callback: _Callback, future: asyncio.Future[Any], value: Any) -> None:
        self._done.append((callback, future, value))
        with contextlib.suppress(BlockingIOError):  # a full pipe: a wake-up is pending
            os.write(self._write_fd, self._wake)

    def _drain(self) -> None:
        if not self._closed:
            with contextlib.suppress(BlockingIOError):
                os.read(self._read_fd, 4096)
        done = self._done
        while done:
            callback, future, value = done.popleft()
            callback(future, value)

    def dispose(self) -> None:
        loop = self._loop()
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # closed meanwhile: close here
                loop.call_soon_threadsafe(self._close, loop)
                return
        self._close(None)

    def _close(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """In the loop (or with no loop left): stop watching, then close."""
        if self._closed:
            return
        self._closed = True
        if loop is not None and not loop.is_closed():
            loop.remove_reader(self._read_fd)
            self._drain()  # whatever was delivered with the last wake-up
        self._close_descriptors()

    def _close_descriptors(self) -> None:
        os.close(self._read_fd)
        if self._write_fd != self._read_fd:
            os.close(self._write_fd)


class _ThreadsafeInbox:
    """Results by ``call_soon_threadsafe``, for loops that watch no descriptors."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = weakref.ref(loop)

    def deliver(self, callback: _Callback, future: asyncio.Future[Any], value: Any) -> None:
        loop = self._loop()
        if loop is None:
            return  # the loop is gone: nobody is waiting
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
            loop.call_soon_threadsafe(callback, future, value)

    def dispose(self) -> None:
        pass


def _succeed(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        if isinstance(exc, StopIteration):
            # A future refuses StopIteration (TypeError): the caller would never get an
            # answer, nor would the results delivered after it with the same wake-up.
            # Handed over the way a coroutine's is (PEP 479), with the original as cause.
            wrapped = RuntimeError(f"the call raised StopIteration: {exc!r}")
            wrapped.__cause__ = exc
            exc = wrapped
        future.set_exception(exc)


def _cancel(future: asyncio.Future[Any], _: Any) -> None:
    future.cancel()
