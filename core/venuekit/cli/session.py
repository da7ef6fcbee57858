"""Running a command's async work: its journal, its errors, and its interrupts.

Interrupts (SIGINT, which Ctrl-C sends, and SIGTERM) while a command trades:

* the **first** stops trading: every engine the command watches is halted (no order is
  sent any more, and the orders it sent that still work are cancelled, each cancel
  confirmed by the venue); the work then ends on its own, so the command prints its
  (partial) report and exits 130 (SIGINT) or 143 (SIGTERM);
* the **second** exits at once with the same code: the journal is committed first and
  stays consistent (every order in it is either final or open for recovery), and a run
  left unfinished is resumed by running the same command again.

Before anything trades (while the venue connects, or recovery runs) the first interrupt
ends the command at once. No interrupt prints a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, NoReturn, TypeVar

import click
from rich.markup import escape

from ..client import AsyncClient
from ..engine import Engine
from ..errors import Category, VenueKitError
from ..journal import base as journal_base
from ..journal import target as journal_target
from .output import emit_json, error_console

T = TypeVar("T")

log = logging.getLogger("venuekit.cli")

EXIT_OK, EXIT_INCOMPLETE, EXIT_INVALID = 0, 1, 2

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def exit_code_for_signal(signum: int) -> int:
    """The shell's convention: 128 plus the signal's number (130 SIGINT, 143 SIGTERM)."""
    return 128 + signum


def open_journal(place: journal_target.JournalTarget, *,
                 readonly: bool = False) -> journal_base.Journal:
    """The journal file or PostgreSQL URL ``place`` (see :func:`venuekit.journal.open_journal`)."""
    return journal_target.open_journal(place, readonly=readonly)


_INPUT_ERRORS = {Category.VALIDATION, Category.CONFIGURATION, Category.AUTHORIZATION}


def exit_code_for(exc: VenueKitError) -> int:
    """2 when the input or configuration is wrong, 1 when the work could not complete."""
    return EXIT_INVALID if exc.code.category in _INPUT_ERRORS else EXIT_INCOMPLETE


def fail(exc: VenueKitError, code: int | None = None, *, action: str | None = None,
         lines: Sequence[str] = (), extra: Mapping[str, Any] | None = None) -> NoReturn:
    """Print ``exc`` for a person (code, message, ``lines``, what to do) and exit; under
    ``--json`` the error is also written to stdout as JSON (``{"error": {code, category,
    outcome, retryable, message, action, venue, **extra}}``), with the same exit code.
    ``action`` replaces the code's own advice where the command knows better."""
    todo = action or exc.action
    if json_requested():
        emit_json({"error": exc.to_dict() | {"action": todo} | dict(extra or {})})
    err = error_console()
    err.print(f"[red]error[/] {exc.code.name}: {escape(exc.message)}")
    for line in lines:
        err.print(line, markup=False)
    err.print(f"[dim]what to do:[/] {escape(todo)}")
    sys.exit(exit_code_for(exc) if code is None else code)


def usage_error_json(exc: click.UsageError) -> dict[str, Any]:
    """A usage error (an unknown option, a missing argument) in ``fail``'s JSON shape, so
    that ``--json`` means JSON on stdout even when click refuses the command line."""
    where = exc.ctx.command_path if exc.ctx is not None else "venuekit"
    return {"error": {"code": "USAGE_ERROR", "category": "usage", "outcome": "not_applicable",
                      "retryable": False, "message": exc.format_message(),
                      "action": f"fix the command line; `{where} --help` lists what it takes",
                      "venue": None}}


def json_requested() -> bool:
    """True when the running command (or a group around it) was given ``--json``."""
    ctx = click.get_current_context(silent=True)
    while ctx is not None:
        if ctx.params.get("as_json"):
            return True
        ctx = ctx.parent
    return False


class Interrupts:
    """The first and second SIGINT or SIGTERM of a command that trades (module docstring).

    Give it the engines the command trades on with :meth:`watch`, and the journals it
    writes with :meth:`keep`; :func:`run` installs it for the duration of the work.
    """

    def __init__(self) -> None:
        self.signal: int | None = None
        self._engines: list[Engine] = []
        self._journals: list[journal_base.Journal] = []
        self._halts: list[asyncio.Task[Any]] = []
        self._main: asyncio.Task[Any] | None = None

    @property
    def name(self) -> str:
        return signal.Signals(self.signal).name if self.signal is not None else ""

    @property
    def exit_code(self) -> int | None:
        return None if self.signal is None else exit_code_for_signal(self.signal)

    def watch(self, engine: Engine) -> Engine:
        """Halt ``engine`` on the first interrupt (at once if one came already)."""
        self._engines.append(engine)
        if self.signal is not None:
            self._halt(engine)
        return engine

    def follow(self, client: AsyncClient) -> AsyncClient:
        """Watch every engine of an open ``client`` and keep its journal."""
        if client.journal is not None:
            self.keep(client.journal)
        for name in client.venues:
            status = client.status(name)
            if status.engine is not None:
                self.watch(status.engine)
        return client

    def keep(self, journal: journal_base.Journal) -> journal_base.Journal:
        """Commit ``journal``'s pending events before a second interrupt exits."""
        self._journals.append(journal)
        return journal

    def install(self, loop: asyncio.AbstractEventLoop, main: asyncio.Task[Any]) -> None:
        self._main = main
        for signum in _SIGNALS:
            loop.add_signal_handler(signum, self._on_signal, signum)

    def uninstall(self, loop: asyncio.AbstractEventLoop) -> None:
        for signum in _SIGNALS:
            loop.remove_signal_handler(signum)

    async def settle(self) -> None:
        """Wait for the halts started by an interrupt (their cancels confirmed)."""
        if self._halts:
            await asyncio.gather(*self._halts, return_exceptions=True)

    def _on_signal(self, signum: int) -> None:
        err = error_console()
        if self.signal is not None:
            self._exit_now(signum)
        self.signal = signum
        if not self._engines:
            err.print(f"[yellow]interrupted[/] ({self.name}) before anything was sent")
            if self._main is not None:
                self._main.cancel()
            return
        err.print(f"[yellow]interrupted[/] ({self.name}): no new order is sent; cancelling "
                  "the working orders and waiting for the venue to confirm (interrupt "
                  "again to exit at once)")
        for engine in self._engines:
            self._halt(engine)

    def _halt(self, engine: Engine) -> None:
        reason = f"interrupted by {self.name}"
        self._halts.append(asyncio.ensure_future(engine.halt(reason)))

    def _exit_now(self, signum: int) -> NoReturn:
        for journal in self._journals:
            with contextlib.suppress(Exception):
                journal.flush()
        error_console().print(
            f"[red]interrupted again[/] ({signal.Signals(signum).name}): exiting now. The "
            "journal is consistent; orders may still be working. Run the same command "
            "again to resume, or `venuekit recover` to see what is open.")
        sys.stderr.flush()
        sys.stdout.flush()
        os._exit(exit_code_for_signal(self.signal or signum))


def run(factory: Callable[[], Coroutine[Any, Any, T]],
        interrupts: Interrupts | None = None) -> T:
    """Run async work, turning venuekit errors into a clear message and exit code, and
    interrupts into a clean stop (see the module docstring)."""

    async def main() -> T:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        if interrupts is not None and task is not None:
            interrupts.install(loop, task)
        try:
            return await factory()
        finally:
            if interrupts is not None:
                await interrupts.settle()
                interrupts.uninstall(loop)

    try:
        return asyncio.run(main())
    except VenueKitError as exc:
        if interrupts is not None and interrupts.exit_code is not None:
            fail(exc, interrupts.exit_code)
        fail(exc)
    except (asyncio.CancelledError, KeyboardInterrupt):
        code = interrupts.exit_code if interrupts is not None else None
        sys.exit(code if code is not None else exit_code_for_signal(signal.SIGINT))
