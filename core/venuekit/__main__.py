"""``python -m venuekit`` and the ``venuekit`` script: the command line.

The command line is imported inside :func:`run`, so that an interrupt that arrives while
Python is still importing it ends the command as any other interrupt does (exit 130, no
traceback), not with a ``KeyboardInterrupt`` traceback.
"""

from __future__ import annotations

import sys


def run() -> None:
    try:
        from venuekit.cli import main

        main(prog_name="venuekit")
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)


if __name__ == "__main__":
    run()
