"""The journal's write lock: one writing process per journal file.

An exclusive, non-blocking OS lock (``flock``; ``msvcrt.locking`` on Windows) on a sibling
file ``<journal>.lock``. The lock belongs to the open descriptor, so the operating system
releases it when the holder exits, however it exits: a killed process never leaves a stale
lock behind. The holder writes its pid into the file so that the error can name it.

A writer that closes the journal cleanly leaves a second line in the file: how the journal
file looked when it let go (see :mod:`.sqlite_file`, which decides whether a later open may
trust it). The next writer reads that line before it writes its own pid. While it has the
journal open, a writer's second line is :data:`WRITING`: it checked the file at its open,
and a reader may trust that check for as long as the process that wrote the line is alive.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
from pathlib import Path
from typing import BinaryIO

from ..errors import Code, error

__all__ = ["WRITING", "leave_note", "lock_journal", "read_note"]

log = logging.getLogger("venuekit.journal")

if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
else:
    import fcntl

    def _try_lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

_HELD = frozenset({errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES, errno.EDEADLK})


WRITING = "writing"
"""The note of a writer that has the journal open and checked the file at its open."""


def _lock_path(journal: Path) -> Path:
    return journal.with_name(journal.name + ".lock")


def lock_journal(journal: Path) -> tuple[BinaryIO, str]:
    """Take the write lock of ``journal``; closing the returned file releases it. Also
    returns the note the previous writer left (:func:`leave_note`), "" when there is none.

    Raises JOURNAL_LOCKED when another process, or another journal object in this one,
    holds it. A journal object dropped without being closed releases the lock when it is
    garbage-collected. The lock file is left in place on purpose: removing it would let two
    processes lock two different files.
    """
    lock_path = _lock_path(journal)
    try:
        # Not append mode: on Windows the lock covers the byte at the current position.
        handle = os.fdopen(os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644), "r+b",
                           buffering=0)
    except OSError as exc:
        raise error(Code.JOURNAL_ERROR, f"journal {journal}: cannot create its lock file: {exc}",
                    details={"journal": str(journal)}) from exc
    fd = handle.fileno()
    try:
        _try_lock(fd)
    except OSError as exc:
        holder = _lock_holder(fd)
        handle.close()
        if exc.errno in _HELD:
            who = "another process"
            if holder:
                who = "this process" if holder == str(os.getpid()) else f"pid {holder}"
            raise error(Code.JOURNAL_LOCKED, f"journal {journal} is already open for writing "
                        f"by {who}", details={"journal": str(journal), "pid": holder}) from None
        raise error(Code.JOURNAL_ERROR, f"journal {journal}: cannot lock it ({exc}); keep the "
                    "journal on a local disk", details={"journal": str(journal)}) from exc
    note = _note(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
    except OSError:
        log.warning("could not note the pid in the journal lock file",
                    extra={"journal": str(journal)})
    return handle, note


def leave_note(handle: BinaryIO, note: str) -> None:
    """Write ``note`` (one line) after the holder's pid, just before the lock is released.
    Best effort: a note that cannot be written is simply missing."""
    try:
        fd = handle.fileno()
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()}\n{note}\n".encode())
    except (OSError, ValueError):
        log.warning("could not leave a note in the journal lock file", exc_info=True)


def read_note(journal: Path) -> str:
    """The note the last writer left in the lock file of ``journal`` (without locking it;
    for read-only opens), "" when there is none. :data:`WRITING` only while the process
    that wrote it is alive: a writer that died left a file its next open must check."""
    try:
        fd = os.open(_lock_path(journal), os.O_RDONLY)
    except OSError:
        return ""
    try:
        note = _note(fd)
        if note == WRITING:
            holder = _lock_holder(fd)
            if holder is None or not _alive(int(holder)):
                return ""
        return note
    finally:
        os.close(fd)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (on this machine: the journal is on a local disk)."""
    if pid == os.getpid():
        return True
    if sys.platform == "win32":  # os.kill would end the process there: not known
        return False
    try:
        os.kill(pid, 0)
    except PermissionError:  # it exists, under another user
        return True
    except OSError:
        return False
    return True


def _note(fd: int) -> str:
    """The second line of the lock file: the note the last writer left, "" if none."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 512).decode("ascii", "replace")
    except OSError:
        return ""
    lines = text.split("\n")
    return lines[1].strip() if len(lines) > 2 else ""


def _lock_holder(fd: int) -> str | None:
    """The pid the lock holder wrote into the lock file, if readable."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").split("\n")[0].strip()
    except (OSError, AttributeError):  # os.pread is missing on Windows
        return None
    return text if text.isdigit() else None
