"""The PostgreSQL journal's schema, its migrations, and the book's identity in ``meta``.

The same tables, columns and formats as the SQLite journal (:mod:`.sqlite_schema`, rows in
:mod:`.rows`: Decimals as text, instants as bigint microseconds UTC), plus what several
writers sharing one book need:

* ``writers``: one row per journal opened for writing (host, pid, backends, venues,
  heartbeat, epoch, live); every order has an ``owner`` (a writer) and every run a
  ``writer``;
* ``order_seq_block``: client order numbers are taken in blocks of :data:`SEQ_BLOCK`, one
  ``nextval`` per block, so that processes never hand out the same number; ``run_seq``
  numbers runs;
* ``meta``: ``application``, ``schema_version`` and the book's one ``journal_tag``.

Migrations follow the SQLite journal's rules (append only; a version a reader could
misread is a new version, refused by older releases with ``JOURNAL_TOO_NEW``); pending
ones run in one transaction, under an advisory lock so that processes opening a new
database at once migrate it once.
"""

from __future__ import annotations

from typing import Any

from .ids import new_journal_tag
from .sqlite_schema import APPLICATION, Migration

__all__ = ["LOCK_NAMESPACE", "MIGRATIONS", "SEQ_BLOCK", "latest_version", "migrate"]

SEQ_BLOCK = 1024
"""Client order numbers per ``nextval('order_seq_block')``."""

LOCK_NAMESPACE = 0x76_6B_6A  # "vkj": advisory locks (namespace, key) of the journal
"""First key of the journal's advisory locks: (ns, 0) migrations, (ns, writer id) a lease."""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "the book shared by writers: meta, writers, orders, events, fills, runs", (
        "CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL)",
        """CREATE TABLE writers (
            id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            host         text NOT NULL,
            pid          integer NOT NULL,
            backend_pid  integer NOT NULL,
            journal_pid  integer NOT NULL,
            venues       text[] NOT NULL,
            started_at   timestamptz NOT NULL DEFAULT now(),
            heartbeat_at timestamptz NOT NULL DEFAULT now(),
            epoch        integer NOT NULL DEFAULT 1,
            live         boolean NOT NULL DEFAULT true
        )""",
        "CREATE SEQUENCE order_seq_block",
        "CREATE SEQUENCE run_seq",
        """CREATE TABLE orders (
            seq                 bigint PRIMARY KEY,
            id                  text NOT NULL UNIQUE,
            venue               text NOT NULL,
            symbol              text NOT NULL,
            side                text NOT NULL,
            order_type          text NOT NULL,
            time_in_force       text NOT NULL,
            request_quantity    text,
            request_notional    text,
            request_limit_price text,
            correlation_id      text,
            quantity            text,
            limit_price         text,
            created_at          bigint NOT NULL,
            replaces            text,
            state               text NOT NULL,
            venue_order_id      text,
            filled_quantity     text NOT NULL,
            filled_notional     text NOT NULL,
            fees                text NOT NULL,
            replaced_by         text,
            reason              text,
            resume_state        text,
            updated_at          bigint NOT NULL,
            closed_at           bigint,
            run_id              text,
            run_item            integer,
            request_trigger     text,
            bracket             text,
            owner               bigint NOT NULL REFERENCES writers
        )""",
        "CREATE INDEX orders_open ON orders (venue, owner) WHERE closed_at IS NULL",
        "CREATE INDEX orders_recent ON orders (venue, created_at)",
        "CREATE INDEX orders_run ON orders (run_id) WHERE run_id IS NOT NULL",
        """CREATE TABLE events (
            gid                  bigint GENERATED ALWAYS AS IDENTITY,
            order_id             text NOT NULL,
            seq                  integer NOT NULL,
            kind                 text NOT NULL,
            state                text NOT NULL,
            at                   bigint NOT NULL,
            reason               text,
            data                 text,
            trade_id             text,
            fill_symbol          text,
            fill_side            text,
            fill_quantity        text,
            fill_price           text,
            fill_fee             text,
            fill_fee_currency    text,
            fill_at              bigint,
            fill_venue_order_id  text,
            fill_client_order_id text,
            fill_inferred        integer,
            PRIMARY KEY (order_id, seq)
        )""",
        """CREATE TABLE fills (
            venue           text NOT NULL,
            symbol          text NOT NULL,
            side            text NOT NULL,
            trade_id        text NOT NULL,
            order_id        text NOT NULL,
            quantity        text NOT NULL,
            price           text NOT NULL,
            fee             text NOT NULL,
            fee_currency    text NOT NULL,
            at              bigint NOT NULL,
            venue_order_id  text,
            client_order_id text,
            inferred        integer NOT NULL,
            restated        text NOT NULL DEFAULT '0',
            PRIMARY KEY (venue, symbol, side, trade_id)
        )""",
        """CREATE TABLE runs (
            seq            bigint PRIMARY KEY,
            id             text NOT NULL UNIQUE,
            kind           text NOT NULL,
            venue          text NOT NULL,
            plan_hash      text NOT NULL,
            strategy       text NOT NULL,
            correlation_id text,
            state          text NOT NULL,
            note           text,
            owner          text,
            sessions       integer NOT NULL DEFAULT 1,
            created_at     bigint NOT NULL,
            updated_at     bigint NOT NULL,
            finished_at    bigint,
            writer         bigint REFERENCES writers
        )""",
        "CREATE INDEX runs_plan ON runs (plan_hash, venue, kind)",
        """CREATE TABLE run_items (
            run_id      text NOT NULL,
            item        integer NOT NULL,
            symbol      text NOT NULL,
            action      text NOT NULL,
            quantity    text,
            notional    text,
            limit_price text,
            target      text,
            status      text,
            note        text,
            PRIMARY KEY (run_id, item)
        )""",
    )),
)
"""Every schema version in order; version ``n`` is ``MIGRATIONS[n - 1]``."""


def latest_version() -> int:
    return MIGRATIONS[-1].version


class TooNew(Exception):
    """The database was written by a newer venuekit (its schema version is given)."""


class NotAJournal(Exception):
    """The database holds tables that are not a venuekit journal's."""


def migrate(conn: Any) -> tuple[str, int]:
    """Create or upgrade the journal in ``conn``'s database (autocommit, outside a
    transaction); returns the book's journal tag and the schema version reached."""
    conn.execute("BEGIN")
    try:
        conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (LOCK_NAMESPACE,))
        exists = conn.execute("SELECT to_regclass('meta') IS NOT NULL").fetchone()[0]
        found = 0
        if exists:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            if meta.get("application") != APPLICATION:
                raise NotAJournal("its meta table is not a venuekit journal's")
            found = int(meta.get("schema_version", "0"))
            if found > latest_version():
                raise TooNew(str(found))
        elif conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = "
                          "current_schema() AND tablename IN ('orders', 'events')"
                          ).fetchone()[0]:
            raise NotAJournal("it has orders or events tables but no venuekit meta table")
        for migration in MIGRATIONS:
            if migration.version > found:
                for statement in migration.statements:
                    conn.execute(statement)
                _set(conn, "schema_version", str(migration.version))
        conn.execute("INSERT INTO meta (key, value) VALUES ('application', %s), "
                     "('journal_tag', %s) ON CONFLICT (key) DO NOTHING",
                     (APPLICATION, new_journal_tag()))
        tag = conn.execute("SELECT value FROM meta WHERE key = 'journal_tag'").fetchone()[0]
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return str(tag), max(found, latest_version())


def _set(conn: Any, key: str, value: str) -> None:
    conn.execute("INSERT INTO meta (key, value) VALUES (%s, %s) "
                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))
