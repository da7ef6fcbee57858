"""The documented examples run as tests: every ```python block in README.md and docs/**/*.md.

`pytest README.md docs` (the tox env `examples`) collects them through Sybil. Each page's
blocks run in order, in one namespace (a later block uses what an earlier one defined, as a
reader would), in a fresh temporary working directory of its own with no VENUEKIT_* variable
set: the default journal ./.venuekit/journal.sqlite3 and the mock venue's state are the
page's. A page that needs another venue starts the project's emulator of it on 127.0.0.1 in
a hidden block: ``emulate("alpaca")`` (or "binance", "kis") serves it until the page ends and
sets the variables a client reads (APCA_API_BASE_URL, ...); ``ccxt_binance(emulator)`` is a
``ccxt.binance`` pointed at a Binance emulator. Hidden set-up is written in the page as
``<!-- invisible-code-block: python -->``; ``<!-- skip: next "reason" -->`` is for an example
that cannot run here. A block with a top-level ``await`` runs on the page's event loop. The
pages run offline: a connection to anything but a loopback address is refused.

Other runs (`pytest tests/mock`, ...) need not install Sybil: without it this module
collects nothing, and with it a page is parsed only when it was asked for.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import functools
import importlib.util
import inspect
import ipaddress
import os
import shutil
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent
SETUP_STATE = "_docs_state"

_collect: Callable[[Path, pytest.Collector], Any] | None = None


def _documented(file_path: Path) -> bool:
    if file_path.suffix != ".md":
        return False
    try:
        relative = file_path.resolve().relative_to(ROOT)
    except ValueError:
        return False
    return relative == Path("README.md") or relative.parts[0] == "docs"


_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex


def _loopback_only(address: Any) -> None:
    if isinstance(address, tuple) and not ipaddress.ip_address(
            address[0].split("%")[0]).is_loopback:
        raise ConnectionRefusedError(f"the documented examples run offline, on 127.0.0.1: "
                                     f"a connection to {address[0]} was refused")


def _offline_connect(self: socket.socket, address: Any) -> None:
    _loopback_only(address)
    _connect(self, address)


def _offline_connect_ex(self: socket.socket, address: Any) -> int:
    _loopback_only(address)
    return _connect_ex(self, address)


def _setup(namespace: dict[str, Any]) -> None:
    """A page's own working directory and environment, kept until its last block ran."""
    work = Path(tempfile.mkdtemp(prefix="venuekit-docs-"))
    saved_env = dict(os.environ)
    for name in [name for name in os.environ if name.startswith("VENUEKIT_")]:
        del os.environ[name]
    namespace[SETUP_STATE] = (os.getcwd(), saved_env, work, contextlib.ExitStack(),
                              asyncio.new_event_loop())
    namespace["emulate"] = functools.partial(_emulate, namespace)
    namespace["ccxt_binance"] = _ccxt_binance
    os.chdir(work)
    socket.socket.connect = _offline_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _offline_connect_ex  # type: ignore[method-assign]
    from venuekit.plugins import reset_default_host

    reset_default_host()


def _teardown(namespace: dict[str, Any]) -> None:
    cwd, saved_env, work, stack, loop = namespace.pop(SETUP_STATE)
    try:
        stack.close()
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
    socket.socket.connect = _connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign]
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(saved_env)
    from venuekit.plugins import reset_default_host

    reset_default_host()
    shutil.rmtree(work, ignore_errors=True)


def _emulate(namespace: dict[str, Any], name: str, **config: Any) -> Any:
    """Serve the emulator ``name`` until the page ends; its client settings go to the
    environment (where the venues read them)."""
    from venuekit.emulator import run_in_thread
    from venuekit.plugins import default_host

    factory = default_host().emulators().get(name)
    stack: contextlib.ExitStack = namespace[SETUP_STATE][3]
    emulator = stack.enter_context(run_in_thread(
        lambda: factory.from_config(config, host="127.0.0.1", port=0, allow_remote=False),
        name=f"{name} emulator"))
    os.environ.update(emulator.client_settings())
    return emulator


def _ccxt_binance(emulator: Any) -> Any:
    """A ``ccxt.binance`` talking to ``emulator`` (every URL rewritten to it)."""
    import ccxt

    exchange = ccxt.binance({"apiKey": emulator.api_key, "secret": emulator.secret_key,
                             "enableRateLimit": False, "timeout": 10_000,
                             "options": {"fetchMarkets": {"types": ["spot"]},
                                         "fetchCurrencies": False, "fetchMargins": False}})
    base, ws_base = emulator.base_url, emulator.base_url.replace("http://", "ws://", 1)

    def rewrite(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: rewrite(item) for key, item in value.items()}
        if isinstance(value, str):
            for scheme, to in (("https://", base), ("wss://", ws_base)):
                if value.startswith(scheme):
                    rest = value[len(scheme):]
                    return to + (rest[rest.index("/"):] if "/" in rest else "")
        return value

    exchange.urls["api"] = rewrite(exchange.urls["api"])
    return exchange


def _evaluate(example: Any) -> None:
    """Run a block as Python; a block with a top-level ``await`` (as the async examples are
    written: the body of a coroutine) runs on the page's own event loop."""
    __tracebackhide__ = True
    # Padded so that a traceback names the page's own line numbers.
    source = "\n" * (example.line + example.parsed.line_offset) + example.parsed
    code = compile(source, example.path, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
                   dont_inherit=True)
    namespace = example.namespace
    result = eval(code, namespace)
    namespace.pop("__builtins__", None)
    if inspect.iscoroutine(result):
        loop = namespace[SETUP_STATE][4]
        loop.run_until_complete(result)


def _sybil_collector() -> Callable[[Path, pytest.Collector], Any]:
    from sybil import Sybil
    from sybil.parsers.markdown import ClearNamespaceParser, CodeBlockParser, SkipParser

    return Sybil(
        parsers=[CodeBlockParser("python", _evaluate), SkipParser(), ClearNamespaceParser()],
        patterns=["*.md"],  # which pages: _documented
        path=str(ROOT),
        setup=_setup,
        teardown=_teardown,
    ).pytest()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> Any:
    global _collect
    # pytest offers every file of a directory it walks through (README.md for `pytest
    # tests/mock` too) and collects only what was asked for: without Sybil, offer nothing.
    if not _documented(file_path) or importlib.util.find_spec("sybil") is None:
        return None
    if _collect is None:
        _collect = _sybil_collector()
    return _collect(file_path, parent)
