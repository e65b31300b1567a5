"""Live mode: `slapolicy watch`. A JSONL stream of ticket events in, JSONL alerts out.

Input lines:
  {"type": "created", "ticket": {...a full ticket...}}              starts a ticket's clocks
  {"ticket": "T-1", "type": "agent_replied", "at": "..."}           any lifecycle event of that ticket
Output lines: alerts `{"alert": "warning"|"breach"|"relevelled", "ticket": ..., "at": ..., ...}`.

Per ticket a `TicketClock` (slapolicy.decide.lifecycle); one heap of (next instant, ticket) over all of them.
`replay=True`: timers follow event time (an alert fires when the stream's time passes it), so the
same log always gives the same alerts. Live: timers follow the wall clock. A resolved ticket's
state is dropped, so memory stays flat. A malformed line is reported (`on_error(line number, "code:
message")`) and skipped: bad JSON, JSON nested deeper than MAX_DEPTH, integers too long for Python,
lines over MAX_LINE bytes never stop the stream. Order is per ticket: an event older than its own
ticket's last event is refused; other tickets' times never refuse it.

This is the in-memory monitor (`slapolicy watch` without --store); `slapolicy.monitor.durable` is the
same state machine over a store (crash-safe, bounded memory, alert ids, sinks).
"""
from __future__ import annotations

import datetime as dt
import heapq
import itertools
import json


MAX_LINE = 1 << 20  # bytes: a ticket event is a few hundred
MAX_DEPTH = 64  # nesting of objects and lists in one line


def _depth_ok(value, limit=MAX_DEPTH) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            items = item.values()
        elif isinstance(item, list):
            items = item
        else:
            continue
        if depth > limit:
            return False
        stack.extend((v, depth + 1) for v in items if isinstance(v, (dict, list)))
    return True


def parse_line(line: str):
    """(record, None) or (None, "code: message") for one input line; never raises on bad input."""
    from slapolicy.decide.jsonio import loads

    if len(line) > MAX_LINE:
        return None, f"line-too-long: the line has {len(line)} characters; the limit is {MAX_LINE}"
    from slapolicy.language.diagnostics import InputError, TicketError

    try:
        record = loads(line)  # the input limits of every reader (slapolicy.decide.jsonio)
    except json.JSONDecodeError as exc:
        return None, f"json-syntax: {exc.msg} at column {exc.colno}"
    except InputError as exc:
        return None, f"{exc.code}: {exc.message}"
    except TicketError as exc:  # invalid text (a lone surrogate), with its field path
        return None, f"invalid-event: {exc.format('event')}"
    except RecursionError:
        return None, f"input-too-deep: the line nests deeper than {MAX_DEPTH} levels"
    except ValueError as exc:  # Python's limit on the digits of an integer
        return None, f"input-number-too-large: {str(exc).split(';')[0]}"
    if not isinstance(record, dict) or "type" not in record:
        return None, "invalid-event: an event is a JSON object with a 'type'"
    if not _depth_ok(record):
        return None, f"input-too-deep: the line nests deeper than {MAX_DEPTH} levels"
    if ("\\u0000" in line or "\x00" in line) and "\x00" in json.dumps(record, ensure_ascii=False):
        # a NUL in a string or key: PostgreSQL's JSONB (and most consumers) cannot hold it
        return None, "invalid-event: the line holds a NUL character (\\u0000)"
    return record, None


def normalize_event(record: dict, ticket_id, created: dt.datetime) -> dict:
    """The event of a line as TicketClock.apply takes it (`at` parsed, fields checked); TicketError else."""
    from slapolicy.decide.tickets import validate_ticket

    event = {k: v for k, v in record.items() if k not in ("ticket", "event_id")}
    return validate_ticket({"id": ticket_id, "created_at": created.isoformat(), "channel": "portal",
                            "customer": {"segment": "demo"}, "events": [event]})["events"][0]


class Watcher:
    def __init__(self, policy, warning_share: float = 0.8, emit=None, on_error=None):
        self.policy = policy  # slapolicy.api.Policy
        self.share = warning_share
        self.clocks = {}
        self.heap = []  # (instant, seq, ticket id)
        self.seq = itertools.count()
        self.emit = emit or (lambda alert: None)
        self.on_error = on_error or (lambda line, message: None)
        self.now = None
        self.dropped = 0
        self.last_at = {}  # ticket id -> its last event's instant (order is per ticket)

    # -- time -----------------------------------------------------------------------------------
    def _schedule(self, tid):
        clock = self.clocks.get(tid)
        if clock is None:
            return
        nxt = clock.next_instant()
        if nxt is not None:
            heapq.heappush(self.heap, (nxt, next(self.seq), tid))

    def advance(self, until: dt.datetime):
        """Fire every timer due at or before `until`, in time order."""
        while self.heap and self.heap[0][0] <= until:
            instant, _, tid = heapq.heappop(self.heap)
            clock = self.clocks.get(tid)
            if clock is None or clock.next_instant() != instant:
                continue  # stale entry: the clock changed since it was scheduled
            for alert in clock.advance(instant):
                self.emit(alert)
            self._schedule(tid)
        if self.now is None or until > self.now:
            self.now = until

    # -- input ----------------------------------------------------------------------------------
    def feed_line(self, number: int, line: str, replay: bool = True):
        from slapolicy.decide.lifecycle import TicketClock
        from slapolicy.decide.tickets import validate_ticket
        from slapolicy.language.diagnostics import TicketError

        if not line.strip():
            return
        record, problem = parse_line(line)
        if problem:
            self.on_error(number, problem)
            return
        try:
            if record["type"] == "created":
                ticket = validate_ticket(record.get("ticket"), self.policy.compiled.vocabulary)
                if ticket.get("events"):
                    raise TicketError([("ticket.events", "a created ticket starts without events; send them as lines")])
                if ticket["id"] in self.clocks:
                    self.on_error(number, f"duplicate-ticket: ticket {ticket['id']!r} was already created")
                    return
                compiled, _ = self.policy.select(ticket["created_at"])
                if replay:
                    self.advance(ticket["created_at"])
                clock = TicketClock(compiled, ticket, self.share)
                self.clocks[ticket["id"]] = clock
                self._schedule(ticket["id"])
                return
            tid = record.get("ticket")
            clock = self.clocks.get(tid)
            if clock is None:
                self.on_error(number, f"unknown-ticket: unknown ticket {tid!r} (not created, or already resolved)")
                return
            normal = normalize_event(record, tid, clock.created)
            last = self.last_at.get(tid, clock.created)
            if normal["at"] < last:
                self.on_error(number, f"out-of-order: event at {record['at']} is older than ticket {tid!r}'s "
                                      f"last event ({last.isoformat()}); refused")
                return
            self.last_at[tid] = normal["at"]
            if replay:
                self.advance(normal["at"])
            before = len(clock.alerts)
            clock.apply(normal)
            for alert in clock.alerts[before:]:
                self.emit(alert)
            if normal["type"] == "resolved":
                del self.clocks[tid]  # nothing can fire any more: drop the state
                self.last_at.pop(tid, None)
                self.dropped += 1
            else:
                self._schedule(tid)
        except TicketError as exc:
            self.on_error(number, "invalid-event: " + exc.format('event').replace("\n", "; "))
        except (KeyError, TypeError, ValueError) as exc:
            self.on_error(number, f"invalid-event: malformed event: {exc}")
