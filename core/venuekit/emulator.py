"""The contract of a venue emulator: what ``venuekit emulate NAME`` serves.

An emulator speaks one real venue's wire protocol on a local port, so that the venue's own
client library runs against it unmodified (offline paper trading, tests). Plugins register
emulator factories through ``venuekit_register_emulators``; the factory is usually the
emulator class itself.

Two helpers serve emulators that run on their own event loop in a background thread (for
synchronous clients, which block the thread they run on): :func:`run_in_thread` runs one,
and :func:`call_on_loop` hands a test's call over to that loop. Two more serve every
emulator's listening socket: :func:`is_loopback` (an emulator binds to loopback unless told
otherwise) and :func:`stop_listening`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ipaddress
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol, TypeVar, runtime_checkable

__all__ = ["Emulator", "EmulatorFactory", "call_on_loop", "is_loopback", "run_in_thread",
           "stop_listening"]

T = TypeVar("T")


@runtime_checkable
class Emulator(Protocol):
    """A running (or ready to run) emulator."""

    async def start(self) -> None:
        """Bind the port and start serving; returns once requests are accepted."""

    async def stop(self) -> None:
        """Stop serving and release the port; safe to call twice."""

    def endpoints(self) -> Mapping[str, str]:
        """What is served where, by name (``{"trading": "http://127.0.0.1:8080", ...}``);
        meaningful once started (the port is known then)."""

    def client_settings(self) -> Mapping[str, str]:
        """What a client needs to connect, as environment variables (name to value)."""


class EmulatorFactory(Protocol):
    """What ``venuekit_register_emulators`` registers (usually the emulator class)."""

    def from_config(self, config: Mapping[str, Any], *, host: str, port: int,
                    allow_remote: bool) -> Emulator:
        """Build an emulator from ``-o key=value`` options or a config table; raise
        ``ConfigurationError`` naming the key for a bad option. ``port`` 0 picks a free
        port; a host that is not a loopback address is refused unless ``allow_remote``."""


E = TypeVar("E", bound=Emulator)


@contextlib.contextmanager
def run_in_thread(make: Callable[[], E], *, name: str, timeout: float = 10.0) -> Iterator[E]:
    """Start the emulator ``make()`` builds on a new event loop in a daemon thread named
    ``name``; yield it once it serves, and stop it (and the thread) on exit. A failure to
    build or start it is raised here; ``TimeoutError`` if it has not started in
    ``timeout`` seconds."""
    started = threading.Event()
    failure: list[BaseException] = []
    loop = asyncio.new_event_loop()
    holder: list[E] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)

        async def begin() -> None:
            try:
                instance = make()
                holder.append(instance)
                await instance.start()
            except BaseException as exc:  # handed to the calling thread
                failure.append(exc)
            finally:
                started.set()

        loop.run_until_complete(begin())
        if not failure:
            loop.run_forever()
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    thread = threading.Thread(target=serve, name=name, daemon=True)
    thread.start()
    if not started.wait(timeout):
        raise TimeoutError(f"the {name} did not start within {timeout} s")
    if failure:
        thread.join(timeout)
        raise failure[0]
    instance = holder[0]
    try:
        yield instance
    finally:
        stopping = asyncio.run_coroutine_threadsafe(instance.stop(), loop)
        try:
            stopping.result(timeout)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)


def call_on_loop(loop: asyncio.AbstractEventLoop | None, loop_thread: int | None,
                 fn: Callable[..., T], *args: Any, timeout: float = 30.0) -> T:
    """``fn(*args)`` run on ``loop`` (whose thread is ``loop_thread``) and waited for from
    another thread; called directly on that thread, or when the loop does not run."""
    if loop is None or loop_thread == threading.get_ident() or not loop.is_running():
        return fn(*args)
    done: concurrent.futures.Future[T] = concurrent.futures.Future()

    def call() -> None:
        try:
            done.set_result(fn(*args))
        except BaseException as exc:  # handed to the calling thread
            done.set_exception(exc)

    loop.call_soon_threadsafe(call)
    return done.result(timeout=timeout)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is this machine's loopback."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def stop_listening(listener: asyncio.Server) -> None:
    """Stop accepting, let the connections already accepted attach, then close: a server
    closed between accepting a connection and building its transport leaks the socket
    (CPython issue 109564)."""
    loop = asyncio.get_running_loop()
    for sock in listener.sockets:
        loop.remove_reader(sock.fileno())
    for _ in range(2):  # one turn builds the transport, the next its connection_made
        await asyncio.sleep(0)
    listener.close()
