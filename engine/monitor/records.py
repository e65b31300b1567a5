"""The monitor store's values and helpers: tickets' durable state, clocks, alerts, instants, keys and ids.

Re-exported by `slapolicy.monitor.store` (import them from there).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from dataclasses import dataclass

KINDS = ("warning", "breach", "rule")  # rule: a lifecycle rule's timer (`unless: EVENT within D`)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


# -- values -----------------------------------------------------------------------------------------
@dataclass
class TicketState:
    """A ticket's durable state: the pinned policy, the clock's state as JSON, the last event instant."""
    policy_id: str
    policy_edition: str  # the edition (or content hash) the ticket's clocks were started under
    state: dict
    last_at: dt.datetime | None = None
    ticket_id: str | None = None  # filled in by load_ticket
    version: int = 0  # filled in by load_ticket: pass it back as apply(expected_version=...)


@dataclass
class Clock:
    """One open SLA target: its due (breach) instant and its next alert (a warning, then the breach)."""
    target: str
    due: dt.datetime | None  # None: paused, or a target without a due instant
    next_at: dt.datetime | None = None  # None: no alert left to fire
    next_kind: str | None = None  # "warning" | "breach"
    ticket_id: str | None = None  # filled in when read back

    def __post_init__(self):
        if (self.next_at is None) != (self.next_kind is None):
            raise ValueError("a clock has both next_at and next_kind, or neither")
        if self.next_kind is not None and self.next_kind not in KINDS:
            raise ValueError(f"next_kind is one of {KINDS}, not {self.next_kind!r}")


@dataclass
class Alert:
    """An outbox row. `id` is deterministic (see `alert_id`): the same alert always gets the same id."""
    id: str
    payload: dict
    ticket_id: str | None = None  # defaults to the ticket of the apply / record_timers call
    created: dt.datetime | None = None
    attempts: int = 0
    delivered_at: dt.datetime | None = None
    last_error: str | None = None


# -- helpers for the monitor ------------------------------------------------------------------------
def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def event_key(record: dict) -> str:
    """An event's idempotency key: its `event_id` when the source has one, else a hash of its content
    (ticket, type, `at` and every other field, keys sorted)."""
    if record.get("event_id") not in (None, ""):
        return f"id:{record['event_id']}"
    return "sha256:" + hashlib.sha256(_canonical(record).encode()).hexdigest()


def alert_id(*parts) -> str:
    """A deterministic alert id from its identifying parts, e.g. (ticket, alert, target, index, at)."""
    return hashlib.sha256(_canonical([str(p) for p in parts]).encode()).hexdigest()[:32]


def to_us(instant: dt.datetime | None) -> int | None:
    if instant is None:
        return None
    if instant.tzinfo is None:
        raise ValueError(f"an instant needs a UTC offset: {instant!r}")
    delta = instant - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(us: int | None) -> dt.datetime | None:
    return None if us is None else _EPOCH + dt.timedelta(microseconds=us)


def _now_us() -> int:
    return time.time_ns() // 1000
