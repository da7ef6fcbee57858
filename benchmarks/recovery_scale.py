"""Cost as the journal grows: start-up recovery and ``venuekit orders`` on journals of 10,000
to 1,000,000 orders, each with 1,000 of them open.

What a user's process does at start-up is timed: opening the SQLite journal for writing,
then ``Engine.start()``, whose recovery reconciles every open order with the mock venue
(``venuekit_mock.MockVenue``, which holds the same 1,000 resting limit orders): one lookup
per order by its client order id, and the venue's executions read once. The front door is
timed too: ``AsyncClient(venue, journal=...)`` opened (settings, plugins, the journal, the
engine and its recovery). Then listing, as a user runs it: ``python -m venuekit orders
--journal FILE`` (the default ``--limit 50``), with ``--open`` and with ``--json``, each in
a subprocess of its own (Python's start-up included), and the same listings through the
library in this process (``open_journal(path, readonly=True)`` and ``orders(...)``).

Recovery at start-up is bounded by the open orders, and a listing by its ``--limit``: every
figure should stay flat as the journal grows. Figures (``"figure"``):

* ``startup``: the journal opened for writing and ``Engine.start()`` (``open_seconds`` and
  ``start_seconds`` are the two parts);
* ``client_open``: ``AsyncClient.open()`` on the same journal and venue;
* ``cli_orders``, ``cli_orders_open``, ``cli_orders_json``: the CLI in a subprocess;
* ``lib_orders``, ``lib_orders_open``: the read-only journal opened and the newest 50
  orders read (all, or those not in a final state).

* ``lib_orders_while_writing``: ``lib_orders`` while another journal object has it open for
  writing (a bot running): the reader trusts the check that live writer made at its open.

One more shows what still reads the whole file, by design: opening checks the journal whole
(SQLite's ``quick_check``) unless it is exactly as its last writer closed it, or a live
writer has it open (see ``venuekit.journal.sqlite_file``). ``startup_after_crash`` is
``startup`` after a process that had the journal open for writing died without closing it.
It is listed, and left out of ``--check``.

How each journal is built. The closed orders and their histories are the rows the journal
itself writes: a scratch journal is traded for real (an ``Engine`` on a mock venue: a
market order filled, NEW -> SUBMIT -> ACK -> FILL with its execution in the ledger of
fills; a limit order cancelled, NEW -> SUBMIT -> ACK -> CANCEL_REQUEST -> CANCELLED; a limit
order resting, NEW -> SUBMIT -> ACK), and its rows are copied into the new journal with
SQL (``INSERT ... SELECT``), one copy per order, changing only what makes an order itself:
its sequence number and client order id (``ClientIdRules.client_order_id`` of the new
journal's tag, as the engine names orders), its venue order id, trade id and times (one
order a second). Two closed orders in three are filled, one in three cancelled. The open
orders are spread evenly through the journal's history (resting GTC orders, the oldest as
old as the journal): each is first submitted to the mock venue under its client order id,
and its rows copy the resting one's, with the venue's order id. Then the journal is opened
with ``SQLiteJournal`` (its full open checks) and read back with its own reader: the open
orders (every one, by id), the newest 50, and closed orders at both ends and the middle,
compared with the orders the scratch journal read back. Journals live in a temporary
directory (``--dir``), deleted at the end; nothing is cached between runs.

Each figure is the best of ``--rounds`` (the operating system's page cache holds the file,
as it does on a machine that just ran the bot); every round is listed. A last line per
figure gives the ratio of its largest-journal point to its smallest-journal one;
``"flat"`` is a ratio of at most 1.2 or a growth of at most 10 ms (the noise of a figure of
a few milliseconds), and ``--check`` exits 1 when a figure is not flat (``"checked":
false`` marks the figure above, which is not expected to be)::

    python benchmarks/recovery_scale.py                    # 10,000, 100,000, 1,000,000 orders
    python benchmarks/recovery_scale.py --orders 100000    # 10,000 and 100,000
    python benchmarks/recovery_scale.py --rounds 5 --dir ./scratch --check
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from venuekit.client import AsyncClient
from venuekit.engine import Engine
from venuekit.journal import ClientIdRules, SQLiteJournal, open_journal
from venuekit.model import Order, OrderRequest, OrderState, OrderType, Side
from venuekit.plugins import PluginHost
from venuekit_mock import MockVenue

SIZES = (10_000, 100_000, 1_000_000)
OPEN = 1_000
LIMIT = 50
FLAT = Decimal("1.2")
NOISE = Decimal("0.01")
"""Seconds of growth that count as flat whatever the ratio: the noise of a figure of a few
milliseconds on a shared machine (and the page reads of the open orders' rows, which sit on
shared pages of a small journal and on a page each of a large one)."""
READ_WHOLE = frozenset({"startup_after_crash"})
"""Figures that check the whole file by design (not expected flat, left out of --check)."""

# A writer that dies with the journal open: its note in the lock file is gone.
_CRASH = ("import os, sys\n"
          "from venuekit.journal import SQLiteJournal\n"
          "SQLiteJournal(sys.argv[1])\n"
          "os._exit(9)\n")
SYMBOL = "AAPL"
CHUNK = 50_000  # orders copied per INSERT ... SELECT
STEP_US = 1_000_000  # one order a second
OPEN_STATES = [state for state in OrderState if not state.is_terminal]

# The columns copied with a change, per table: an SQL expression over ``t`` (the template
# row) and ``p`` (the plan row of the new order: seq, id, venue order id, trade id, and
# ``shift``, what is added to the template's times). Every other column is copied as is.
_CHANGES: dict[str, dict[str, str]] = {
    "orders": {"seq": "p.seq", "id": "p.id", "venue_order_id": "p.venue_order_id",
               "created_at": "t.created_at + p.shift", "updated_at": "t.updated_at + p.shift",
               "closed_at": "t.closed_at + p.shift"},
    "events": {"order_id": "p.id", "at": "t.at + p.shift",
               "trade_id": "CASE WHEN t.trade_id IS NULL THEN NULL ELSE p.trade_id END",
               "fill_at": "t.fill_at + p.shift",
               "fill_venue_order_id": "CASE WHEN t.fill_venue_order_id IS NULL THEN NULL "
                                      "ELSE p.venue_order_id END",
               "fill_client_order_id": "CASE WHEN t.fill_client_order_id IS NULL THEN NULL "
                                       "ELSE p.id END"},
    "fills": {"trade_id": "p.trade_id", "order_id": "p.id",
              "venue_order_id": "p.venue_order_id", "client_order_id": "p.id",
              "at": "t.at + p.shift"},
}
_ORDER_KEY = {"orders": "t.seq", "events": "t.seq", "fills": "t.trade_id"}


@dataclass
class Template:
    """The orders a real engine journaled: ``kind`` -> the order as the journal read it."""

    path: Path
    orders: dict[str, Order]


def _limit_below(bid: Decimal) -> Decimal:
    return (bid * Decimal("0.9")).quantize(Decimal("0.01"))


def _venue() -> MockVenue:
    # Enough cash for every resting buy; the market moves only when told to (never here).
    return MockVenue(clock="sim", latency=0.0, cash=Decimal(10) ** 9)


async def _template(directory: Path) -> Template:
    """Trade a scratch journal for real: one order of each kind, read back."""
    path = directory / "template.sqlite3"
    venue = _venue()
    with SQLiteJournal(path) as journal:
        engine = Engine(venue, journal, host=PluginHost(load_entry_points=False))
        await engine.start()
        quote = await engine.quote(SYMBOL)
        price = _limit_below(quote.bid)
        filled = await engine.settle(await engine.submit(
            OrderRequest(symbol=SYMBOL, side=Side.BUY, quantity=Decimal(1))))
        resting = OrderRequest(symbol=SYMBOL, side=Side.BUY, quantity=Decimal(1),
                               order_type=OrderType.LIMIT, limit_price=price)
        cancelled = await engine.cancel(await engine.submit(resting))
        working = await engine.submit(resting)
        for _ in range(1000):  # until the stream's acknowledgement is journaled
            if working.state is OrderState.ACKNOWLEDGED:
                break
            await asyncio.sleep(0.001)
        await engine.close()
        kinds = {"filled": filled.id, "cancelled": cancelled.id, "open": working.id}
        orders = {kind: journal.get(order_id) for kind, order_id in kinds.items()}
    found = {kind: order for kind, order in orders.items() if order is not None}
    states = {kind: order.state for kind, order in found.items()}
    if states != {"filled": OrderState.FILLED, "cancelled": OrderState.CANCELLED,
                  "open": OrderState.ACKNOWLEDGED}:
        raise RuntimeError(f"the template orders ended {states}")
    return Template(path, found)


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def _copy_statements(conn: sqlite3.Connection) -> list[str]:
    statements = []
    for table, changes in _CHANGES.items():
        columns = _columns(conn, table)
        unknown = set(changes) - set(columns)
        if unknown:
            raise RuntimeError(f"the {table} table has no columns {sorted(unknown)}")
        chosen = ", ".join(changes.get(column, f"t.{column}") for column in columns)
        statements.append(
            f"INSERT INTO main.{table} ({', '.join(columns)}) SELECT {chosen} "
            f"FROM temp.plan AS p JOIN template.{table} AS t ON t.{_kind_column(table)} = "
            f"p.template_id WHERE p.seq BETWEEN ? AND ? ORDER BY p.seq, {_ORDER_KEY[table]}")
    return statements


def _kind_column(table: str) -> str:
    return "id" if table == "orders" else "order_id"


async def build(path: Path, total: int, open_count: int, template: Template,
                venue: MockVenue) -> dict[str, Any]:
    """A journal of ``total`` orders at ``path``, ``open_count`` of them resting at ``venue``
    (see the module docstring); returns what it took."""
    started = time.perf_counter()
    with SQLiteJournal(path):
        pass  # a new journal: schema and tag, as the first command that trades writes it
    conn = sqlite3.connect(path, isolation_level=None)
    (tag,) = conn.execute("SELECT value FROM meta WHERE key = 'journal_tag'").fetchone()
    rules = ClientIdRules.from_capabilities(venue.capabilities)
    opened = {round((k + 0.5) * total / open_count) + 1 for k in range(open_count)}
    first = int(time.time() * 1_000_000) - total * STEP_US
    template_conn = sqlite3.connect(template.path)
    created = {kind: template_conn.execute("SELECT created_at FROM orders WHERE id = ?",
                                           (order.id,)).fetchone()[0]
               for kind, order in template.orders.items()}
    template_conn.close()
    price = _limit_below((await venue.quote(SYMBOL)).bid)
    resting = OrderRequest(symbol=SYMBOL, side=Side.BUY, quantity=Decimal(1),
                           order_type=OrderType.LIMIT, limit_price=price)
    conn.execute("PRAGMA journal_mode = DELETE")  # one large transaction, written once
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -262144")
    conn.execute(f"ATTACH DATABASE '{template.path.resolve().as_uri()}?mode=ro' AS template")
    conn.execute("CREATE TEMP TABLE plan (seq INTEGER PRIMARY KEY, id TEXT, template_id TEXT, "
                 "venue_order_id TEXT, trade_id TEXT, shift INTEGER)")
    plan = []
    for seq in range(1, total + 1):
        order_id = rules.client_order_id(tag, seq)
        if seq in opened:
            kind = "open"
            snapshot = await venue.submit(resting, order_id)
            venue_order_id = snapshot.venue_order_id
        else:
            kind = "cancelled" if seq % 3 == 0 else "filled"
            venue_order_id = f"H{seq:09d}"
        at = first + seq * STEP_US
        plan.append((seq, order_id, template.orders[kind].id, venue_order_id,
                     f"HT{seq:09d}", at - created[kind]))
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO temp.plan VALUES (?, ?, ?, ?, ?, ?)", plan)
    statements = _copy_statements(conn)
    for low in range(1, total + 1, CHUNK):
        for statement in statements:
            conn.execute(statement, (low, low + CHUNK - 1))
    conn.execute("COMMIT")
    conn.execute("DETACH DATABASE template")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    built = time.perf_counter() - started
    _verify(path, total, template, {plan[seq - 1][1] for seq in opened},
            [row[1] for row in plan])
    return {"build_seconds": round(built, 1),
            "file_mb": round(path.stat().st_size / 1_000_000, 1)}


def _same(found: Order | None, model: Order, order_id: str) -> None:
    """Raise unless ``found`` is ``model`` under another id, venue order id and times."""
    if found is None or found.id != order_id:
        raise RuntimeError(f"order {order_id} does not read back")
    kinds = [(e.seq, e.kind, e.state) for e in found.history]
    if (found.state, found.quantity, found.limit_price, found.filled_quantity, found.fees,
            found.average_price, kinds, len(found.fills)) != (
            model.state, model.quantity, model.limit_price, model.filled_quantity,
            model.fees, model.average_price,
            [(e.seq, e.kind, e.state) for e in model.history], len(model.fills)):
        raise RuntimeError(f"order {order_id} reads back as {found!r}, not as {model!r}")


def _verify(path: Path, total: int, template: Template, open_ids: set[str],
            ids: Sequence[str]) -> None:
    """Read the journal back with its own reader (see the module docstring)."""
    with SQLiteJournal(path) as journal:  # the full checks of a writer's open
        found = journal.open_orders("mock")
        if {o.id for o in found} != open_ids or len(found) != len(open_ids):
            raise RuntimeError(f"{len(found)} open orders read back, {len(open_ids)} built")
        for order in found:
            _same(order, template.orders["open"], order.id)
        newest = journal.orders(limit=LIMIT)
        if [o.id for o in newest] != list(reversed(ids[-LIMIT:])):
            raise RuntimeError("the newest orders do not read back in order")
        for seq in (1, 2, 3, total // 2, total // 2 + 1, total - 2, total - 1, total):
            order_id = ids[seq - 1]
            if order_id in open_ids:
                continue
            kind = "cancelled" if seq % 3 == 0 else "filled"
            _same(journal.get(order_id), template.orders[kind], order_id)
        (fills,) = journal._conn.execute("SELECT count(*) FROM fills").fetchone()
        if fills != sum(1 for seq in range(1, total + 1)
                        if seq % 3 and ids[seq - 1] not in open_ids):
            raise RuntimeError(f"{fills} executions in the ledger")


@contextlib.contextmanager
def _timer(into: list[float]) -> Iterator[None]:
    started = time.perf_counter()
    yield
    into.append(time.perf_counter() - started)


async def _startup(path: Path, venue: MockVenue, open_count: int) -> tuple[float, float]:
    """Open the journal for writing and start an engine: recovery of every open order."""
    started = time.perf_counter()
    journal = SQLiteJournal(path)
    opened = time.perf_counter()
    try:
        engine = Engine(venue, journal, host=PluginHost(load_entry_points=False))
        report = await engine.start()
        done = time.perf_counter()
        await engine.close()
    finally:
        journal.close()
    if report.checked != open_count or not report.ok or report.changes \
            or len(report.working) != open_count:
        raise RuntimeError(f"recovery found {report.as_dict()}")
    return opened - started, done - opened


async def _client_open(path: Path, venue: MockVenue, open_count: int) -> float:
    started = time.perf_counter()
    client = AsyncClient(venue, journal=path)
    try:
        await client.open()
        elapsed = time.perf_counter() - started
        report = client.recovery()
    finally:
        await client.close()
    if report is None or report.checked != open_count or not report.ok:
        raise RuntimeError(f"the client's recovery found {report}")
    return elapsed


def _cli(path: Path, *options: str) -> Callable[[], None]:
    command = [sys.executable, "-m", "venuekit", "orders", "--journal", str(path), *options]

    def run() -> None:
        done = subprocess.run(command, capture_output=True, text=True, check=False,
                              cwd=path.parent, env={**os.environ, "COLUMNS": "200"})
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command[2:])} exited {done.returncode}: "
                               f"{done.stderr.strip()[-300:]}")
        if "--json" in options and len(json.loads(done.stdout)["orders"]) != LIMIT:
            raise RuntimeError("the CLI listed fewer orders than its limit")
    return run


def _library(path: Path, only_open: bool) -> Callable[[], None]:
    def run() -> None:
        with open_journal(path, readonly=True) as journal:
            found = journal.orders(state=OPEN_STATES if only_open else None, limit=LIMIT)
        if len(found) != LIMIT:
            raise RuntimeError(f"the library listed {len(found)} orders")
    return run


def _point(figure: str, total: int, open_count: int, times: list[float],
           **extra: Any) -> dict[str, Any]:
    return {"benchmark": "recovery_scale", "figure": figure, "orders_total": total,
            "open": open_count, "seconds": round(min(times), 4),
            "rounds_seconds": [round(t, 4) for t in times], **extra}


async def measure(total: int, open_count: int, rounds: int, directory: Path,
                  template: Template) -> list[dict[str, Any]]:
    """Every figure on one journal of ``total`` orders (built, measured, deleted)."""
    path = directory / f"journal-{total}.sqlite3"
    venue = _venue()
    built = await build(path, total, open_count, template, venue)
    points = []
    opens: list[float] = []
    starts: list[float] = []
    startups: list[float] = []
    for _ in range(rounds):
        opened, started = await _startup(path, venue, open_count)
        opens.append(opened)
        starts.append(started)
        startups.append(opened + started)
    best = startups.index(min(startups))
    points.append(_point("startup", total, open_count, startups,
                         open_seconds=round(opens[best], 4),
                         start_seconds=round(starts[best], 4), **built))
    crashed: list[float] = []
    for _ in range(rounds):
        subprocess.run([sys.executable, "-c", _CRASH, str(path)], check=False,
                       capture_output=True)
        crashed.append(sum(await _startup(path, venue, open_count)))
    points.append(_point("startup_after_crash", total, open_count, crashed))
    clients = [await _client_open(path, venue, open_count) for _ in range(rounds)]
    points.append(_point("client_open", total, open_count, clients))
    listings: dict[str, Callable[[], None]] = {
        "cli_orders": _cli(path), "cli_orders_open": _cli(path, "--open"),
        "cli_orders_json": _cli(path, "--json"),
        "lib_orders": _library(path, False), "lib_orders_open": _library(path, True)}
    for figure, run in listings.items():
        times: list[float] = []
        for _ in range(rounds):
            with _timer(times):
                run()
        points.append(_point(figure, total, open_count, times))
    writing: list[float] = []
    with SQLiteJournal(path):
        listing = _library(path, False)
        for _ in range(rounds):
            with _timer(writing):
                listing()
    points.append(_point("lib_orders_while_writing", total, open_count, writing))
    for leftover in path.parent.glob(f"{path.name}*"):
        leftover.unlink()
    return points


def _summary(points: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    lines = []
    for figure in dict.fromkeys(p["figure"] for p in points):
        curve = sorted((p for p in points if p["figure"] == figure),
                       key=lambda p: int(p["orders_total"]))
        smallest, largest = curve[0], curve[-1]
        low, high = Decimal(str(smallest["seconds"])), Decimal(str(largest["seconds"]))
        ratio = high / low
        lines.append({"benchmark": "recovery_scale", "figure": figure, "summary": True,
                      "orders_total": [smallest["orders_total"], largest["orders_total"]],
                      "seconds": [smallest["seconds"], largest["seconds"]],
                      "ratio": float(round(ratio, 3)), "flat_within_20_percent": ratio <= FLAT,
                      "flat": ratio <= FLAT or high - low <= NOISE,
                      "checked": figure not in READ_WHOLE})
    return lines


def _machine() -> dict[str, Any]:
    try:
        load = Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        load = []
    return {"nproc": os.cpu_count(), "loadavg": " ".join(load),
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version}


def _emit(line: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


async def _run(sizes: Sequence[int], open_count: int, rounds: int,
               directory: str | None) -> list[dict[str, Any]]:
    points: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        template = await _template(Path(tmp))
        for total in sizes:
            for point in await measure(total, open_count, rounds, Path(tmp), template):
                point.update(_machine())
                points.append(point)
                _emit(point)
    return points


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-n", "--orders", type=int, default=SIZES[-1],
                        help="orders in the largest journal (default 1,000,000); the "
                             "smaller points are the sizes of 10,000, 100,000 below it")
    parser.add_argument("--open", type=int, default=OPEN, help="open orders in every journal")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per figure (best wins)")
    parser.add_argument("--dir", default=None, help="where to build the journal files")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when a figure's largest point is more than 1.2 times "
                             "its smallest")
    args = parser.parse_args(argv)
    if args.open < 1 or args.rounds < 1:
        parser.error("--open and --rounds must be at least 1")
    sizes = [size for size in SIZES if size < args.orders] + [args.orders]
    if sizes[0] < 2 * args.open:
        parser.error(f"--orders must be at least {2 * args.open:,} (twice --open)")
    points = asyncio.run(_run(sizes, args.open, args.rounds, args.dir))
    flat = True
    for line in _summary(points):
        if line["checked"]:
            flat = flat and bool(line["flat"])
        _emit(line)
    return 1 if args.check and not flat else 0


if __name__ == "__main__":
    raise SystemExit(main())
