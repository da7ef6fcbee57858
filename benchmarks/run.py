"""Run every benchmark in this folder, one after the other, each in its own process.

Each benchmark prints one JSON line per figure; this runner passes them through unchanged,
so its output is the JSON lines of all of them. A benchmark that fails is reported as a
JSON line of its own (``"benchmark"``, ``"error"``) and the runner exits with status 1
after the others ran. Each benchmark runs at its published size.

A benchmark that needs what `tox -e bench` does not install is listed in ``OWN_ENVIRONMENT``
with the tox environment it runs in: the default run skips it with a JSON line of its own
(``"benchmark"``, ``"skipped"``), and naming it runs it here anyway (with whatever this
interpreter has installed).

    python benchmarks/run.py                        # everything (what `tox -e bench` runs)
    python benchmarks/run.py engine_throughput memory_per_order
    python benchmarks/run.py --list                 # every benchmark, its own-environment ones too
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Benchmarks outside the default run, each with the tox environment that installs what it
# needs (NautilusTrader is large and no dependency of venuekit).
OWN_ENVIRONMENT = {"nautilus_compare": "bench-nautilus"}


def available() -> list[str]:
    """Every benchmark script next to this one, by name, in alphabetical order."""
    return sorted(p.stem for p in HERE.glob("*.py")
                  if p.stem != Path(__file__).stem and not p.stem.startswith("_"))


def run(name: str, timeout: float) -> bool:
    try:
        done = subprocess.run([sys.executable, str(HERE / f"{name}.py")], stdout=sys.stdout,
                              stderr=subprocess.PIPE, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        error = f"did not finish within {timeout:g} seconds"
    else:
        if done.returncode == 0:
            return True
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        error = f"exit status {done.returncode}: {last}"
    sys.stdout.write(json.dumps({"benchmark": name, "error": error}) + "\n")
    sys.stdout.flush()
    return False


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="seconds each benchmark may take (default 1800)")
    args = parser.parse_args(argv)
    names = available()
    if args.list:
        sys.stdout.write("\n".join(names) + "\n")
        return 0
    unknown = sorted(set(args.names) - set(names))
    if unknown:
        parser.error(f"no benchmark named {', '.join(unknown)} (known: {', '.join(names)})")
    ok = True
    for name in args.names or names:
        if not args.names and name in OWN_ENVIRONMENT:
            sys.stdout.write(json.dumps({
                "benchmark": name,
                "skipped": f"runs in its own environment: tox -e {OWN_ENVIRONMENT[name]}"}) + "\n")
            continue
        sys.stdout.flush()
        ok = run(name, args.timeout) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
