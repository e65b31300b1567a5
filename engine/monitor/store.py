"""The live monitor's durable state (issue 13): tickets, open clocks, applied events, an outbox of alerts.

One small interface, `MonitorStore`, two implementations chosen by URL (`open_store`):

    sqlite:///monitor.db         a file path relative to the working directory (the embedded default)
    sqlite:////var/lib/x.db      an absolute path;  sqlite:///:memory: for a throwaway store
    postgresql://user@host/db    PostgreSQL through psycopg 3 (also postgres://); for several monitors

Both run the same SQL (written with `?` placeholders; PostgreSQL gets `%s`), on the same tables
(schema version 1, created on first use; a store written by a newer version is refused):

    monitor_schema(version)                            one row: the schema version
    monitor_tickets(ticket_id PK, policy_id, policy_edition, state JSON, last_at, version)
    monitor_clocks(ticket_id, target, due_at, next_at, next_kind, PK (ticket_id, target))
        index (next_at, ticket_id, target): the timers;  index (due_at): the at-risk list
    monitor_applied_events(event_key PK, ticket_id, at, applied_at, record JSON)
        index (at): the high-water mark;  index (ticket_id, at): a ticket's history (--recalculate)
    monitor_outbox(alert_id PK, ticket_id, payload JSON, created_at, delivered_at, attempts,
                   next_attempt_at, last_error)        partial index on the undelivered rows
    monitor_policies(edition PK, policy_id, text, added_at)   the text of every edition a clock was pinned to

Instants are integers, UTC microseconds since the epoch (exact, and the same in both databases; the API
takes and returns aware datetimes). JSON is TEXT in SQLite, JSONB in PostgreSQL; both are written with
`allow_nan=False`, so a state that is not JSON fails the same way in both.

Transactions. `apply` and `record_timers` each write in ONE transaction: the event key (apply), the
ticket's new state, all its clocks (replaced), and the outbox rows (INSERT ... ON CONFLICT (alert_id)
DO NOTHING). `apply` inserts the event key first; a key applied already makes it return False with
nothing changed. SQLite: autocommit connection, `BEGIN IMMEDIATE` (the database write lock is taken at
the start, so two writers never deadlock on a lock upgrade; `busy_timeout` waits), WAL journal, and
`synchronous=NORMAL` by default: a killed process loses no committed transaction; a power loss may lose
the last few, which the monitor then re-applies from its input (`?synchronous=full` to sync every commit).

Several monitors on one PostgreSQL database: row locks, not advisory locks. The new state is computed
outside the database (no lock held while the policy is evaluated); `apply(..., expected_version=v)`
then takes `SELECT version ... FOR UPDATE` on the ticket's row and raises `StaleTicket` (rolled back,
nothing written) when another monitor committed a newer version since the caller's `load_ticket`: the
caller reloads and recomputes. A new ticket (no row to lock) is guarded by its primary key: the second
concurrent INSERT waits for the first, then conflicts, and raises `StaleTicket` too. The same event
applied by two monitors at once: the second INSERT of the event key waits for the first transaction
and, once it commits, inserts nothing: one wins, the other gets False. Row locks were chosen over
advisory locks because they need no hash of ticket ids into a shared 64-bit space, they are released by
the transaction whatever happens, and SQLite's single write lock gives the same contract with the same
statements (`FOR UPDATE` is the only PostgreSQL-only suffix). `pending_alerts(lease=...)` claims rows
with `FOR UPDATE SKIP LOCKED`, so two deliverers rarely send the same alert (delivery stays at least once).

Memory: `due_clocks` pages with a keyset (next_at, ticket_id, target) > last, `page_size` rows at a
time; nothing holds a server-side cursor or a transaction between pages. A clock that a caller
reschedules while iterating to a later instant still <= `until` is met again further on.

Not thread-safe: one store object per thread (each holds one connection).
"""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
from contextlib import contextmanager
from typing import Iterable, Iterator, Protocol, runtime_checkable
from urllib.parse import parse_qsl

from slapolicy.monitor.records import (  # noqa: F401  (re-exported: the store's values and helpers)
    KINDS,
    Alert,
    Clock,
    TicketState,
    _canonical,
    _now_us,
    alert_id,
    event_key,
    from_us,
    to_us,
)

SCHEMA_VERSION = 1
_MIN_US = -(2 ** 62)


class StoreError(ValueError):
    """A store that cannot be used as asked."""


class SchemaVersionError(StoreError):
    """The store's schema is newer than this code understands."""


class StaleTicket(StoreError):
    """The ticket changed since the caller loaded it (another monitor committed first): reload, recompute."""

    def __init__(self, ticket_id, expected, found):
        super().__init__(f"ticket {ticket_id!r} changed since it was loaded: version {expected} expected, "
                         f"{found} found (another monitor wrote it); reload it and apply again")
        self.ticket_id, self.expected, self.found = ticket_id, expected, found


# -- the interface ----------------------------------------------------------------------------------
@runtime_checkable
class MonitorStore(Protocol):
    url: str

    def apply(self, event_key: str, ticket_id: str, new_state: TicketState | None, clocks: Iterable[Clock] = (),
              alerts: Iterable[Alert] = (), *, expected_version: int | None = None,
              at: dt.datetime | None = None, record: dict | None = None) -> bool: ...

    def record_timers(self, ticket_id: str, new_state: TicketState | None, clocks: Iterable[Clock] = (),
                      alerts: Iterable[Alert] = (), *, expected_version: int | None = None) -> int: ...

    def load_ticket(self, ticket_id: str) -> TicketState | None: ...

    def ticket_clocks(self, ticket_id: str) -> list[Clock]: ...

    def due_clocks(self, until: dt.datetime, *, page_size: int = 500) -> Iterator[Clock]: ...

    def at_risk(self, now: dt.datetime, within: dt.timedelta, *, limit: int = 100) -> list[Clock]: ...

    def pending_alerts(self, limit: int = 100, *, now: dt.datetime | None = None,
                       lease: dt.timedelta | None = None) -> list[Alert]: ...

    def mark_delivered(self, ids: Iterable[str], *, at: dt.datetime | None = None) -> int: ...

    def mark_failed(self, alert_id: str, error: str, retry_at: dt.datetime) -> None: ...

    def was_applied(self, event_key: str) -> bool: ...

    def high_water(self) -> dt.datetime | None: ...

    def ticket_events(self, ticket_id: str) -> list[dict]: ...

    def tickets(self, *, page_size: int = 500) -> Iterator[TicketState]: ...

    def save_policy(self, edition: str, policy_id: str, text: str) -> None: ...

    def policy_text(self, edition: str) -> tuple[str, str] | None: ...

    def stats(self) -> dict: ...

    def close(self) -> None: ...


class _Rollback(Exception):
    """Leaves a transaction block, rolling it back, without an error for the caller."""


# -- the shared SQL ---------------------------------------------------------------------------------
_DDL = [
    "CREATE TABLE IF NOT EXISTS monitor_schema (version INTEGER NOT NULL, created_at BIGINT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS monitor_tickets (
         ticket_id TEXT PRIMARY KEY, policy_id TEXT NOT NULL, policy_edition TEXT NOT NULL,
         state {json} NOT NULL, last_at BIGINT, version BIGINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS monitor_clocks (
         ticket_id TEXT NOT NULL, target TEXT NOT NULL, due_at BIGINT, next_at BIGINT,
         next_kind TEXT CHECK (next_kind IN ('warning', 'breach', 'rule')), PRIMARY KEY (ticket_id, target))""",
    "CREATE INDEX IF NOT EXISTS monitor_clocks_next ON monitor_clocks (next_at, ticket_id, target) WHERE next_at IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS monitor_clocks_due ON monitor_clocks (due_at) WHERE due_at IS NOT NULL",
    """CREATE TABLE IF NOT EXISTS monitor_applied_events (
         event_key TEXT PRIMARY KEY, {seq}ticket_id TEXT NOT NULL, at BIGINT, applied_at BIGINT NOT NULL,
         record {json})""",
    "CREATE INDEX IF NOT EXISTS monitor_applied_events_at ON monitor_applied_events (at)",
    "CREATE INDEX IF NOT EXISTS monitor_applied_events_ticket ON monitor_applied_events (ticket_id, at)",
    """CREATE TABLE IF NOT EXISTS monitor_policies (
         edition TEXT PRIMARY KEY, policy_id TEXT NOT NULL, text TEXT NOT NULL, added_at BIGINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS monitor_outbox (
         alert_id TEXT PRIMARY KEY, {seq}ticket_id TEXT NOT NULL, payload {json} NOT NULL,
         created_at BIGINT NOT NULL, delivered_at BIGINT, attempts INTEGER NOT NULL DEFAULT 0,
         next_attempt_at BIGINT NOT NULL DEFAULT 0, last_error TEXT)""",
    "CREATE INDEX IF NOT EXISTS monitor_outbox_pending ON monitor_outbox (next_attempt_at) WHERE delivered_at IS NULL",
]

_CLOCK_COLUMNS = "ticket_id, target, due_at, next_at, next_kind"
_ALERT_COLUMNS = "alert_id, ticket_id, payload, created_at, attempts, delivered_at, last_error"
_SQL = {
    "insert_event": "INSERT INTO monitor_applied_events (event_key, ticket_id, at, applied_at, record) "
                    "VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (event_key) DO NOTHING",
    "was_applied": "SELECT 1 FROM monitor_applied_events WHERE event_key = ?",
    "lock_ticket": "SELECT version FROM monitor_tickets WHERE ticket_id = ?{for_update}",
    "insert_ticket": "INSERT INTO monitor_tickets (ticket_id, policy_id, policy_edition, state, last_at, version) "
                     "VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (ticket_id) DO NOTHING",
    "update_ticket": "UPDATE monitor_tickets SET policy_id = ?, policy_edition = ?, state = ?, last_at = ?, "
                     "version = version + 1 WHERE ticket_id = ?",
    "delete_ticket": "DELETE FROM monitor_tickets WHERE ticket_id = ?",
    "load_ticket": "SELECT policy_id, policy_edition, state, last_at, version FROM monitor_tickets WHERE ticket_id = ?",
    "delete_clocks": "DELETE FROM monitor_clocks WHERE ticket_id = ?",
    "insert_clock": f"INSERT INTO monitor_clocks ({_CLOCK_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
    "ticket_clocks": f"SELECT {_CLOCK_COLUMNS} FROM monitor_clocks WHERE ticket_id = ? ORDER BY target",
    "due_clocks": f"SELECT {_CLOCK_COLUMNS} FROM monitor_clocks WHERE next_at IS NOT NULL AND next_at <= ? "
                  "AND (next_at, ticket_id, target) > (?, ?, ?) ORDER BY next_at, ticket_id, target LIMIT ?",
    "at_risk": f"SELECT {_CLOCK_COLUMNS} FROM monitor_clocks WHERE due_at IS NOT NULL AND due_at >= ? AND due_at <= ? "
               "ORDER BY due_at, ticket_id, target LIMIT ?",
    "insert_alert": "INSERT INTO monitor_outbox (alert_id, ticket_id, payload, created_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (alert_id) DO NOTHING",
    "pending": f"SELECT {_ALERT_COLUMNS} FROM monitor_outbox WHERE delivered_at IS NULL AND next_attempt_at <= ? "
               "ORDER BY {seq} LIMIT ?",
    "claim": f"SELECT {_ALERT_COLUMNS} FROM monitor_outbox WHERE delivered_at IS NULL AND next_attempt_at <= ? "
             "ORDER BY {seq} LIMIT ?{skip_locked}",
    "lease": "UPDATE monitor_outbox SET next_attempt_at = ? WHERE alert_id = ? AND delivered_at IS NULL",
    "delivered": "UPDATE monitor_outbox SET delivered_at = ? WHERE alert_id = ? AND delivered_at IS NULL",
    "failed": "UPDATE monitor_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? "
              "WHERE alert_id = ? AND delivered_at IS NULL",
    "high_water": "SELECT max(at) FROM monitor_applied_events",
    "ticket_events": "SELECT record FROM monitor_applied_events WHERE ticket_id = ? ORDER BY at, {seq}",
    "tickets_page": "SELECT ticket_id, policy_id, policy_edition, state, last_at, version FROM monitor_tickets "
                    "WHERE ticket_id > ? ORDER BY ticket_id LIMIT ?",
    "insert_policy": "INSERT INTO monitor_policies (edition, policy_id, text, added_at) VALUES (?, ?, ?, ?) "
                     "ON CONFLICT (edition) DO NOTHING",
    "policy_text": "SELECT policy_id, text FROM monitor_policies WHERE edition = ?",
    "schema_version": "SELECT max(version) FROM monitor_schema",
    "insert_schema": "INSERT INTO monitor_schema (version, created_at) VALUES (?, ?)",
    "count": "SELECT count(*) FROM {table}",
    "undelivered": "SELECT count(*) FROM monitor_outbox WHERE delivered_at IS NULL",
}


class _SQLStore:
    """The shared implementation; a dialect sets the class attributes and the connection hooks."""

    JSON_TYPE = "TEXT"
    SEQ_COLUMN = ""  # an outbox column that orders the rows by insertion ("" where the table has a rowid)
    SEQ = "rowid"
    FOR_UPDATE = ""
    SKIP_LOCKED = ""
    PARAM = "?"

    def __init__(self, url: str):
        self.url = url
        self._sql = {name: self._prepare(text) for name, text in _SQL.items()}
        self._ensure_schema()

    # dialect hooks
    def _execute(self, sql, params=()):
        raise NotImplementedError

    @contextmanager
    def _transaction(self):
        raise NotImplementedError
        yield

    def _table_exists(self, name) -> bool:
        raise NotImplementedError

    def _json_param(self, value):
        return _canonical(value)

    @staticmethod
    def _json_value(value):
        return json.loads(value) if isinstance(value, (str, bytes)) else value

    def _schema_lock(self):
        pass

    def close(self):
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # plumbing
    def _prepare(self, text):
        text = text.replace("{for_update}", self.FOR_UPDATE).replace("{skip_locked}", self.SKIP_LOCKED)
        text = text.replace("{seq}", self.SEQ)
        return text if self.PARAM == "?" else text.replace("?", self.PARAM)

    def _q(self, name, params=()):
        return self._execute(self._sql[name], params)

    def _ensure_schema(self):
        with self._transaction():
            self._schema_lock()
            found = self._q("schema_version").fetchone()[0] if self._table_exists("monitor_schema") else None
            if found is not None and found > SCHEMA_VERSION:
                raise SchemaVersionError(
                    f"the monitor store {self.url} has schema version {found}; this slapolicy understands "
                    f"version {SCHEMA_VERSION} at most: upgrade slapolicy (the store was left as it is)")
            for statement in _DDL:
                self._execute(self._prepare(statement.format(json=self.JSON_TYPE, seq=self.SEQ_COLUMN)))
            if found is None:
                self._q("insert_schema", (SCHEMA_VERSION, _now_us()))
            # found < SCHEMA_VERSION: migrations go here, inside this transaction

    def schema_version(self) -> int:
        return self._q("schema_version").fetchone()[0]

    # writes
    def _write(self, ticket_id, new_state, clocks, alerts, expected_version) -> int:
        row = self._q("lock_ticket", (ticket_id,)).fetchone()
        current = row[0] if row else 0
        if expected_version is not None and current != expected_version:
            raise StaleTicket(ticket_id, expected_version, current)
        self._q("delete_clocks", (ticket_id,))
        if new_state is None:
            self._q("delete_ticket", (ticket_id,))
        else:
            values = (new_state.policy_id, new_state.policy_edition, self._json_param(new_state.state),
                      to_us(new_state.last_at))
            if row is None:
                if self._q("insert_ticket", (ticket_id, *values)).rowcount == 0:
                    raise StaleTicket(ticket_id, expected_version or 0, "a row created concurrently")
            else:
                self._q("update_ticket", (*values, ticket_id))
            for clock in clocks:
                self._q("insert_clock", (ticket_id, clock.target, to_us(clock.due), to_us(clock.next_at),
                                         clock.next_kind))
        created = _now_us()
        inserted = 0
        for alert in alerts:
            params = (alert.id, alert.ticket_id or ticket_id, self._json_param(alert.payload),
                      to_us(alert.created) if alert.created else created)
            inserted += self._q("insert_alert", params).rowcount
        return inserted

    def apply(self, event_key, ticket_id, new_state, clocks=(), alerts=(), *, expected_version=None, at=None,
              record=None):
        """Apply one event in one transaction: the event key, the ticket's new state (None deletes the ticket),
        its clocks (all of them: they replace the stored ones) and the alerts it produced. False, with nothing
        changed, when the key was applied already. `at` (default new_state.last_at) is the event's instant:
        the high-water mark. StaleTicket (nothing written) when `expected_version` is given and the stored
        version differs, or when another connection created the same new ticket meanwhile. `record` (JSON)
        is the event's content, kept with its key: `ticket_events` gives it back (for --recalculate)."""
        if at is None and new_state is not None:
            at = new_state.last_at
        try:
            with self._transaction():
                body = None if record is None else self._json_param(record)
                if self._q("insert_event", (event_key, ticket_id, to_us(at), _now_us(), body)).rowcount == 0:
                    raise _Rollback
                self._write(ticket_id, new_state, clocks, alerts, expected_version)
        except _Rollback:
            return False
        return True

    def record_timers(self, ticket_id, new_state, clocks=(), alerts=(), *, expected_version=None):
        """Alerts produced by passing time, with the ticket's state and clocks after them, in one transaction.
        Idempotent by alert id (an alert recorded already is skipped); returns the number of new outbox rows."""
        with self._transaction():
            return self._write(ticket_id, new_state, clocks, alerts, expected_version)

    # reads
    def load_ticket(self, ticket_id):
        row = self._q("load_ticket", (ticket_id,)).fetchone()
        if row is None:
            return None
        policy_id, edition, state, last_at, version = row
        return TicketState(policy_id, edition, self._json_value(state), from_us(last_at), ticket_id, version)

    @staticmethod
    def _clock(row):
        ticket_id, target, due, next_at, kind = row
        return Clock(target, from_us(due), from_us(next_at), kind, ticket_id)

    def ticket_clocks(self, ticket_id):
        return [self._clock(row) for row in self._q("ticket_clocks", (ticket_id,)).fetchall()]

    def due_clocks(self, until, *, page_size=500):
        """Every clock whose next alert is due at or before `until`, by (next_at, ticket, target), fetched
        `page_size` rows at a time."""
        if page_size < 1:
            raise ValueError("page_size is at least 1")
        limit = to_us(until)
        key = (_MIN_US, "", "")
        while True:
            rows = self._q("due_clocks", (limit, *key, page_size)).fetchall()
            for row in rows:
                yield self._clock(row)
            if len(rows) < page_size:
                return
            last = rows[-1]
            key = (last[3], last[0], last[1])

    def at_risk(self, now, within, *, limit=100):
        """Open clocks not breached at `now` whose due instant falls within `within`, nearest first."""
        start = to_us(now)
        end = start + int(within.total_seconds() * 1_000_000)
        return [self._clock(row) for row in self._q("at_risk", (start, end, limit)).fetchall()]

    def _alert(self, row):
        alert_id_, ticket_id, payload, created, attempts, delivered, error = row
        return Alert(alert_id_, self._json_value(payload), ticket_id, from_us(created), attempts,
                     from_us(delivered), error)

    def pending_alerts(self, limit=100, *, now=None, lease=None):
        """Undelivered alerts whose next attempt is due, oldest first. With `lease`, the rows are claimed:
        other callers do not see them again before now + lease (a crashed deliverer's claim runs out)."""
        now_us = to_us(now) if now is not None else _now_us()
        if lease is None:
            return [self._alert(row) for row in self._q("pending", (now_us, limit)).fetchall()]
        with self._transaction():
            alerts = [self._alert(row) for row in self._q("claim", (now_us, limit)).fetchall()]
            until = now_us + int(lease.total_seconds() * 1_000_000)
            for alert in alerts:
                self._q("lease", (until, alert.id))
        return alerts

    def mark_delivered(self, ids, *, at=None):
        """Mark alerts delivered (a sink confirmed them); returns how many were not marked already."""
        at_us = to_us(at) if at is not None else _now_us()
        with self._transaction():
            return sum(self._q("delivered", (at_us, i)).rowcount for i in ids)

    def mark_failed(self, alert_id, error, retry_at):
        """One failed delivery attempt: counted, the error kept, the next attempt not before `retry_at`."""
        with self._transaction():
            self._q("failed", (str(error)[:2000], to_us(retry_at), alert_id))

    def was_applied(self, event_key):
        return self._q("was_applied", (event_key,)).fetchone() is not None

    def high_water(self):
        """The latest event instant applied so far (the monitor's "now" when it replays), or None."""
        return from_us(self._q("high_water").fetchone()[0])

    def ticket_events(self, ticket_id):
        """The content of the events applied to a ticket (those applied with a `record`), oldest first."""
        rows = self._q("ticket_events", (ticket_id,)).fetchall()
        return [self._json_value(row[0]) for row in rows if row[0] is not None]

    def tickets(self, *, page_size=500):
        """Every stored ticket, by id, `page_size` rows at a time (keyset paging; nothing held between pages)."""
        last = ""
        while True:
            rows = self._q("tickets_page", (last, page_size)).fetchall()
            for ticket_id, policy_id, edition, state, last_at, version in rows:
                yield TicketState(policy_id, edition, self._json_value(state), from_us(last_at), ticket_id, version)
            if len(rows) < page_size:
                return
            last = rows[-1][0]

    def save_policy(self, edition, policy_id, text):
        """Keep the text of a policy edition (by its content hash) so that a pinned clock can be restored
        after the file changed; a text kept already is left as it is."""
        with self._transaction():
            self._q("insert_policy", (edition, policy_id, text, _now_us()))

    def policy_text(self, edition):
        """(policy id, text) of a kept edition, or None."""
        row = self._q("policy_text", (edition,)).fetchone()
        return None if row is None else (row[0], row[1])

    def stats(self):
        out = {}
        for table in ("tickets", "clocks", "applied_events", "outbox"):
            out[table] = self._execute(self._sql["count"].format(table="monitor_" + table)).fetchone()[0]
        out["undelivered"] = self._q("undelivered").fetchone()[0]
        return out


# -- SQLite -----------------------------------------------------------------------------------------
class SQLiteStore(_SQLStore):
    """The embedded store: one file, WAL journal, `BEGIN IMMEDIATE` write transactions."""

    def __init__(self, path: str, *, synchronous: str = "NORMAL", timeout: float = 30.0, url: str | None = None):
        self.path = path
        self._conn = sqlite3.connect(path, isolation_level=None, timeout=timeout, check_same_thread=False)
        self._conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        if path != ":memory:":
            mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise StoreError(f"{path}: SQLite refused WAL mode (journal_mode is {mode})")
        if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError(f"synchronous is off, normal, full or extra, not {synchronous!r}")
        self._conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
        self._depth = 0
        super().__init__(url or f"sqlite:///{path}")

    def _execute(self, sql, params=()):
        return self._conn.execute(sql, params)

    @contextmanager
    def _transaction(self):
        if self._depth:
            yield
            return
        self._conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        else:
            self._conn.execute("COMMIT")
        finally:
            self._depth = 0

    def _table_exists(self, name):
        return self._execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None

    def close(self):
        self._conn.close()


# -- PostgreSQL -------------------------------------------------------------------------------------
class PostgresStore(_SQLStore):
    """PostgreSQL through psycopg 3: autocommit connection, one `conn.transaction()` per write."""

    JSON_TYPE = "JSONB"
    SEQ_COLUMN = "seq BIGINT GENERATED ALWAYS AS IDENTITY, "
    SEQ = "seq"
    FOR_UPDATE = " FOR UPDATE"
    SKIP_LOCKED = " FOR UPDATE SKIP LOCKED"
    PARAM = "%s"
    SCHEMA_LOCK = 0x736C61706F6C6963  # pg_advisory_xact_lock key while the schema is created ("slapolic")

    def __init__(self, url: str):
        try:
            import psycopg
            from psycopg.types.json import Jsonb
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise StoreError(f"a postgresql:// store needs psycopg 3 (pip install 'psycopg[binary]'): {exc}") from None
        self._jsonb = Jsonb
        try:
            self._conn = psycopg.connect(url, autocommit=True)
        except psycopg.OperationalError as exc:
            raise StoreError(f"cannot connect to {_redact(url)}: {str(exc).strip()}") from None
        super().__init__(_redact(url))

    def _execute(self, sql, params=()):
        return self._conn.execute(sql, params)

    @contextmanager
    def _transaction(self):
        with self._conn.transaction():
            yield

    def _json_param(self, value):
        return self._jsonb(value, dumps=_canonical)

    def _schema_lock(self):
        # two monitors starting at once on an empty database: the second waits here, then finds the schema
        self._execute("SELECT pg_advisory_xact_lock(%s)", (self.SCHEMA_LOCK,))

    def _table_exists(self, name):
        return self._execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()[0]

    def close(self):
        self._conn.close()


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    if "://" in url and "@" in url.split("://", 1)[1].split("/", 1)[0]:
        scheme, rest = url.split("://", 1)
        creds, host = rest.split("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}@{host}"
    return url


def open_store(url: str) -> MonitorStore:
    """The store for a URL: sqlite:///relative.db, sqlite:////absolute.db, sqlite:///:memory:, postgresql://..."""
    if url.startswith("sqlite://"):
        rest, _, query = url[len("sqlite://"):].partition("?")
        if not rest.startswith("/") or rest == "/":
            raise ValueError(f"a SQLite store URL is sqlite:///relative/path.db or sqlite:////absolute/path.db, not {url!r}")
        options = dict(parse_qsl(query))
        unknown = set(options) - {"synchronous", "timeout"}
        if unknown:
            raise ValueError(f"unknown SQLite store option(s) {', '.join(sorted(unknown))} in {url!r}")
        return SQLiteStore(rest[1:], synchronous=options.get("synchronous", "NORMAL"),
                           timeout=float(options.get("timeout", 30)), url=url)
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresStore(url)
    raise ValueError(f"unknown store URL {url!r}: sqlite:///file.db or postgresql://...")
