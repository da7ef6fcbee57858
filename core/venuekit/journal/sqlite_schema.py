"""The SQLite journal's schema and its migrations.

The schema evolves only by appending a :class:`Migration` to :data:`MIGRATIONS`; a released
migration is never edited. Rules (see docs/journal.md):

* a new column gets a default, so that rows written before it stay valid;
* a stored column never changes meaning or format (Decimals are TEXT, instants are integer
  microseconds since the epoch in UTC, states and sides are their enum values);
* anything a reader of the previous version could misread needs a new schema version,
  which older venuekit releases then refuse to open (``JOURNAL_TOO_NEW``) instead of
  guessing.

Pending migrations run in one transaction together with the version bump, so an upgrade
either completes or leaves the file exactly as it was.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "APPLICATION",
    "MIGRATIONS",
    "REQUIRED_TABLES",
    "Migration",
    "latest_version",
    "migrate",
    "set_meta",
]

APPLICATION = "venuekit-journal"
"""The ``application`` value in the meta table that marks a file as a venuekit journal."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One step of the schema: SQL statements that take version ``version - 1`` to it."""

    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "meta, orders, events and the fills ledger", (
        """CREATE TABLE meta (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) WITHOUT ROWID""",
        # seq is the sequence number the client order id was built from; rows are never
        # deleted, so the next number is one past the largest. closed_at is set when the
        # order reaches a terminal state, so that the open-orders index changes twice in
        # an order's life instead of at every event.
        """CREATE TABLE orders (
            seq                 INTEGER PRIMARY KEY,
            id                  TEXT NOT NULL UNIQUE,
            venue               TEXT NOT NULL,
            symbol              TEXT NOT NULL,
            side                TEXT NOT NULL,
            order_type          TEXT NOT NULL,
            time_in_force       TEXT NOT NULL,
            request_quantity    TEXT,
            request_notional    TEXT,
            request_limit_price TEXT,
            correlation_id      TEXT,
            quantity            TEXT,
            limit_price         TEXT,
            created_at          INTEGER NOT NULL,
            replaces            TEXT,
            state               TEXT NOT NULL,
            venue_order_id      TEXT,
            filled_quantity     TEXT NOT NULL,
            filled_notional     TEXT NOT NULL,
            fees                TEXT NOT NULL,
            replaced_by         TEXT,
            reason              TEXT,
            resume_state        TEXT,
            updated_at          INTEGER NOT NULL,
            closed_at           INTEGER
        )""",
        "CREATE INDEX orders_open ON orders (venue) WHERE closed_at IS NULL",
        # One row per lifecycle event. A fill event carries its execution in full, so an
        # order's history (and its fills) are rebuilt from this table alone.
        """CREATE TABLE events (
            order_id             TEXT NOT NULL,
            seq                  INTEGER NOT NULL,
            kind                 TEXT NOT NULL,
            state                TEXT NOT NULL,
            at                   INTEGER NOT NULL,
            reason               TEXT,
            data                 TEXT,
            trade_id             TEXT,
            fill_symbol          TEXT,
            fill_side            TEXT,
            fill_quantity        TEXT,
            fill_price           TEXT,
            fill_fee             TEXT,
            fill_fee_currency    TEXT,
            fill_at              INTEGER,
            fill_venue_order_id  TEXT,
            fill_client_order_id TEXT,
            fill_inferred        INTEGER,
            PRIMARY KEY (order_id, seq)
        ) WITHOUT ROWID""",
        # The ledger of executions, each stored once. Symbol and side are part of the key:
        # some venues number trades per symbol (Binance), and a self-trade reports one
        # trade id on both sides.
        """CREATE TABLE fills (
            venue           TEXT NOT NULL,
            symbol          TEXT NOT NULL,
            side            TEXT NOT NULL,
            trade_id        TEXT NOT NULL,
            order_id        TEXT NOT NULL,
            quantity        TEXT NOT NULL,
            price           TEXT NOT NULL,
            fee             TEXT NOT NULL,
            fee_currency    TEXT NOT NULL,
            at              INTEGER NOT NULL,
            venue_order_id  TEXT,
            client_order_id TEXT,
            inferred        INTEGER NOT NULL,
            PRIMARY KEY (venue, symbol, side, trade_id)
        ) WITHOUT ROWID""",
    )),
    # An inferred fill is a placeholder for executions the venue had not itemized yet; the
    # venue executions that arrive later restate it. restated is how much of its quantity
    # they took over: the fill stands for quantity - restated. A release that knew only
    # version 1 would count both, hence a new version.
    Migration(2, "inferred fills restated by venue executions", (
        "ALTER TABLE fills ADD COLUMN restated TEXT NOT NULL DEFAULT '0'",
    )),
    # Runs: a job of several orders (a rebalance plan, one CLI order), its items' intent,
    # and each order's run and item, so that a re-run resumes instead of trading twice.
    # A release that knew only version 2 would not keep the links, hence a new version.
    Migration(3, "runs, their items, and the run item of each order", (
        # seq numbers the run ids, as orders.seq numbers the client order ids.
        """CREATE TABLE runs (
            seq            INTEGER PRIMARY KEY,
            id             TEXT NOT NULL UNIQUE,
            kind           TEXT NOT NULL,
            venue          TEXT NOT NULL,
            plan_hash      TEXT NOT NULL,
            strategy       TEXT NOT NULL,
            correlation_id TEXT,
            state          TEXT NOT NULL,
            note           TEXT,
            owner          TEXT,
            sessions       INTEGER NOT NULL DEFAULT 1,
            created_at     INTEGER NOT NULL,
            updated_at     INTEGER NOT NULL,
            finished_at    INTEGER
        )""",
        "CREATE INDEX runs_plan ON runs (plan_hash, venue, kind)",
        """CREATE TABLE run_items (
            run_id      TEXT NOT NULL,
            item        INTEGER NOT NULL,
            symbol      TEXT NOT NULL,
            action      TEXT NOT NULL,
            quantity    TEXT,
            notional    TEXT,
            limit_price TEXT,
            target      TEXT,
            status      TEXT,
            note        TEXT,
            PRIMARY KEY (run_id, item)
        ) WITHOUT ROWID""",
        "ALTER TABLE orders ADD COLUMN run_id TEXT",
        "ALTER TABLE orders ADD COLUMN run_item INTEGER",
        "CREATE INDEX orders_run ON orders (run_id) WHERE run_id IS NOT NULL",
    )),
    # Stop, stop-limit and trailing-stop orders, held orders and brackets. request_trigger
    # is the request's stop price or trail (JSON), bracket an entry's exits or an exit's
    # entry and leg (JSON). A release that knew only version 3 would read a stop order's
    # request without its trigger, and a held order as never sent, hence a new version.
    Migration(4, "order triggers, held orders and brackets", (
        "ALTER TABLE orders ADD COLUMN request_trigger TEXT",
        "ALTER TABLE orders ADD COLUMN bracket TEXT",
    )),
)
"""Every schema version in order; version ``n`` is ``MIGRATIONS[n - 1]``."""

REQUIRED_TABLES = frozenset({"meta", "orders", "events", "fills", "runs", "run_items"})
"""Tables a journal of the latest version must have."""


def latest_version(migrations: Sequence[Migration] | None = None) -> int:
    """The version the migrations lead to (:data:`MIGRATIONS` by default)."""
    migrations = MIGRATIONS if migrations is None else migrations
    return migrations[-1].version if migrations else 0


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))


def migrate(conn: sqlite3.Connection, found: int,
            migrations: Sequence[Migration] | None = None, *,
            meta: Mapping[str, str] | None = None) -> int:
    """Bring a journal at schema version ``found`` up to the last of ``migrations``.

    Every pending migration, the version bump and the ``meta`` entries (a new journal's
    identity) are committed in one transaction; on any error it is rolled back and the
    error raised. Returns the version reached. ``conn`` must be in autocommit mode
    (``isolation_level=None``) and outside a transaction.
    """
    migrations = MIGRATIONS if migrations is None else migrations
    pending = [m for m in migrations if m.version > found]
    if not pending and not meta:
        return found
    conn.execute("BEGIN IMMEDIATE")
    try:
        for migration in pending:
            for statement in migration.statements:
                conn.execute(statement)
            set_meta(conn, "schema_version", str(migration.version))
        for key, value in (meta or {}).items():
            set_meta(conn, key, value)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return pending[-1].version if pending else found
