"""The journal's write lock: one writing process per journal file.

An exclusive, non-blocking OS lock (``flock``; ``msvcrt.locking`` on Windows) on a sibling
file ``<journal>.lock``. The lock belongs to the open descriptor, so the operating system
releases it when the holder exits, however it exits: a killed process never leaves a stale
lock behind. The holder writes its pid into the file so that the error can name it.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
from pathlib import Path
from typing import BinaryIO

from ..errors import Code, error

__all__ = ["lock_journal"]

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


def lock_journal(journal: Path) -> BinaryIO:
    """Take the write lock of ``journal``; closing the returned file releases it.

    Raises JOURNAL_LOCKED when another process, or another journal object in this one,
    holds it. A journal object dropped without being closed releases the lock when it is
    garbage-collected. The lock file is left in place on purpose: removing it would let two
    processes lock two different files.
    """
    lock_path = journal.with_name(journal.name + ".lock")
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
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
    except OSError:
        log.warning("could not note the pid in the journal lock file",
                    extra={"journal": str(journal)})
    return handle


def _lock_holder(fd: int) -> str | None:
    """The pid the lock holder wrote into the lock file, if readable."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except (OSError, AttributeError):  # os.pread is missing on Windows
        return None
    return text if text.isdigit() else None
