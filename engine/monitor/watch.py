"""Live mode: `slapolicy watch`. A JSONL stream of ticket events in, JSONL alerts out.

Input lines:
  {"type": "created", "ticket": {...a full ticket...}}              starts a ticket's clocks
  {"ticket": "T-1", "type": "agent_replied", "at": "..."}           any lifecycle event of that ticket
Output lines: alerts `{"alert": "warning"|"breach"|"relevelled", "ticket": ..., "at": ..., ...}`.

Per ticket a `TicketClock` (slapolicy.decide.lifecycle); one heap of (next instant, ticket) over all of them.
`replay=True`: timers follow event time (an alert fires when the stream's time passes it), so the
same log always gives the same alerts. Live: timers follow the wall clock. A resolved ticket's
state is dropped, so memory stays flat. A malformed line is reported (`on_error`) and skipped.
"""
from __future__ import annotations

import datetime as dt
import heapq
import itertools
import json


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
        from slapolicy.decide import jsonio
        from slapolicy.language.diagnostics import InputError

        try:
            record = jsonio.loads(line)  # the input limits of every reader (slapolicy.decide.jsonio)
        except json.JSONDecodeError as exc:
            self.on_error(number, f"json-syntax: {exc.msg} at column {exc.colno}")
            return
        except TicketError as exc:
            self.on_error(number, exc.format("event"))
            return
        except InputError as exc:
            self.on_error(number, f"{exc.code}: {exc.message}")
            return
        if not isinstance(record, dict) or "type" not in record:
            self.on_error(number, "an event is a JSON object with a 'type'")
            return
        try:
            if record["type"] == "created":
                ticket = validate_ticket(record.get("ticket"), self.policy.compiled.vocabulary)
                if ticket.get("events"):
                    raise TicketError([("ticket.events", "a created ticket starts without events; send them as lines")])
                compiled, _ = self.policy.select(ticket["created_at"])
                if replay:
                    self.advance(ticket["created_at"])
                if ticket["id"] in self.clocks:
                    self.on_error(number, f"ticket {ticket['id']!r} was already created")
                    return
                clock = TicketClock(compiled, ticket, self.share)
                self.clocks[ticket["id"]] = clock
                self._schedule(ticket["id"])
                return
            tid = record.get("ticket")
            clock = self.clocks.get(tid)
            if clock is None:
                self.on_error(number, f"unknown ticket {tid!r} (not created, or already resolved)")
                return
            event = {k: v for k, v in record.items() if k != "ticket"}
            normal = validate_ticket({"id": tid, "created_at": clock.created.isoformat(), "channel": "portal",
                                      "customer": {"segment": "demo"}, "events": [event]})["events"][0]
            if normal["at"] < clock.now:
                self.on_error(number, f"event at {record['at']} is older than the ticket's last event")
                return
            if replay:
                self.advance(normal["at"])
            before = len(clock.alerts)
            clock.apply(normal)
            for alert in clock.alerts[before:]:
                self.emit(alert)
            if normal["type"] == "resolved":
                del self.clocks[tid]  # nothing can fire any more: drop the state
                self.dropped += 1
            else:
                self._schedule(tid)
        except TicketError as exc:
            self.on_error(number, exc.format("event"))
        except (KeyError, TypeError, ValueError) as exc:
            self.on_error(number, f"malformed event: {exc}")
