"""The live monitor over a store (issue 13): crash-safe clocks, idempotent events, alerts with ids.

`Monitor(store, policies)` runs the same per-ticket state machine as `evaluate --as-of`
(`slapolicy.decide.lifecycle.TicketClock`), but no clock lives in memory between two events: each
event loads its ticket's state from the store, applies the event, and writes back, in ONE transaction
(`store.apply`), the event's key and content, the ticket's new state, its open clocks (next due
instant, indexed) and the alerts it produced (the outbox). Passing time is data as well: `advance(T)`
asks the store for the clocks due at or before T (`due_clocks`), advances each of those tickets to T
and writes state, clocks and alerts back in one transaction per ticket (`record_timers`).

Idempotence: an event's key is its `event_id`, else a hash of its content (`store.event_key`); a key
applied already is skipped, so feeding a stream again after a crash applies nothing twice. An alert's
id is a hash of (ticket, alert, target, at, due, tier, to) (`alert_id`): the same alert gets the same
id whoever computes it, so the outbox (INSERT ... ON CONFLICT DO NOTHING) records it once.

Restart: `start()` delivers what the outbox still holds, then catches up every due instant that passed
while the monitor was down (to the store's high-water mark when replaying, to the wall clock when live);
those alerts carry `"late": true`. Live, an alert fired more than `late_grace` after its instant is late
as well.

Order is per ticket: an event older than its own ticket's last event is refused (`out-of-order`); other
tickets' times never refuse it. If the monitor's time already passed its instant (timers of that
ticket fired), the event is still applied at its own instant: the state is right (a reply before the
due instant meets the target) though an alert sent meanwhile is not withdrawn.

Policy editions are pinned: a ticket's state names the edition (content hash) it started under, and
the edition's text is kept in the store (`monitor_policies`), so a policy file that changes does not
change running clocks. `recalculate()` re-applies each open ticket's stored history under the edition
the current policy selects for it; alerts this produces that were not recorded before are added with
`"recalculated": true` (an alert the old edition recorded with the same id is not sent again).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from slapolicy.decide.lifecycle import TicketClock, from_state, to_state
from slapolicy.monitor.records import Alert, Clock, TicketState, alert_id, event_key
from slapolicy.monitor.store import StaleTicket
from slapolicy.monitor.watch import normalize_event, parse_line

UTC = dt.timezone.utc
RETRIES = 5  # StaleTicket: another monitor wrote the ticket meanwhile; reload and recompute


def now_utc() -> dt.datetime:
    return dt.datetime.now(UTC)


def alert_key(alert: dict) -> str:
    """The deterministic id of an alert computed by a TicketClock."""
    return alert_id(alert.get("ticket"), alert.get("alert"), alert.get("target"), alert.get("at"),
                    alert.get("due"), alert.get("tier"), alert.get("to"))


def clock_rows(tc: TicketClock) -> list[Clock]:
    """The open clocks of a ticket as store rows: due instant and next alert per open target, and one
    `rule:` row for the earliest lifecycle-rule timer. min(next_at) is `tc.next_instant()`."""
    rows = []
    for t in tc.open_targets():
        due = t.due()
        next_at = kind = None
        if due is not None:
            if not t.warned:
                w = t.warning_at(tc.share)
                if w is not None:
                    next_at, kind = w, "warning"
            if next_at is None and not t.breach_alerted:
                next_at, kind = due, "breach"
        rows.append(Clock(t.name, due, next_at, kind))
    if tc.timers:
        rows.append(Clock("rule:" + min(tc.timers)[2].id, None, min(tc.timers)[0], "rule"))
    return rows


class MonitorError(Exception):
    """One input the monitor refuses: `code` and a message (reported with its line; the stream goes on)."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


class Monitor:
    """policies: a callable policy id -> slapolicy.api.Policy (or None); `default_policy` is the id a
    `created` line without a `policy` field starts under."""

    def __init__(self, store, policies, *, default_policy: str | None = None, warning_share: float = 0.8,
                 on_error=None, replay: bool = True, wall_clock=now_utc,
                 late_grace: dt.timedelta = dt.timedelta(seconds=60)):
        self.store = store
        self.policies = policies
        self.default_policy = default_policy
        self.share = warning_share
        self.on_error = on_error or (lambda number, message: None)
        self.replay = replay
        self.wall_clock = wall_clock
        self.late_grace = late_grace
        self.now = store.high_water() if replay else None
        self._editions: dict = {}  # content hash -> CompiledPolicy (the few editions in use)
        self._saved: set = set()  # editions whose text this process has put in the store
        self.counts = {"applied": 0, "duplicates": 0, "refused": 0, "alerts": 0}

    # -- policy editions ----------------------------------------------------------------------------
    def _policy(self, pid):
        policy = self.policies(pid) if pid else None
        if policy is None:
            raise MonitorError("unknown-policy", f"unknown policy {pid!r}")
        return policy

    def _pin(self, compiled) -> str:
        """The edition id a new clock is pinned to (the content hash); its text is kept in the store."""
        edition = compiled.content_hash
        self._editions.setdefault(edition, compiled)
        if edition not in self._saved:
            text = _edition_text(compiled)
            if text is not None:
                self.store.save_policy(edition, compiled.id, text)
            self._saved.add(edition)
        return edition

    def edition(self, policy_id: str, edition: str):
        """The compiled edition a ticket is pinned to: loaded, or compiled from the text kept in the store."""
        compiled = self._editions.get(edition)
        if compiled is not None:
            return compiled
        policy = self.policies(policy_id)
        for _, c in (policy.editions if policy is not None else ()):
            if c.content_hash == edition:
                self._editions[edition] = c
                return c
        kept = self.store.policy_text(edition)
        if kept is None:
            raise MonitorError("unknown-edition", f"the ticket's clocks are pinned to edition {edition} of policy "
                               f"{policy_id!r}, which is neither loaded nor kept in the store; run "
                               "`slapolicy watch --recalculate` to move the tickets to the current policy")
        from slapolicy.api import compile_text

        compiled = compile_text(kept[1], f"<store:{policy_id}@{edition}>")
        self._editions[edition] = compiled
        return compiled

    def restore(self, state: TicketState) -> TicketClock:
        return from_state(self.edition(state.policy_id, state.policy_edition), state.state)

    # -- alerts -------------------------------------------------------------------------------------
    def _late(self, alert) -> bool:
        if self.replay:
            return False
        at = dt.datetime.fromisoformat(alert["at"])
        return self.wall_clock() - at > self.late_grace

    def _outbox(self, alerts, *, late=False, **flags) -> list[Alert]:
        out = []
        for a in alerts:
            payload = dict(a)
            if late or self._late(a):
                payload["late"] = True
            payload.update(flags)
            out.append(Alert(alert_key(a), payload))
        return out

    # -- time ---------------------------------------------------------------------------------------
    def advance(self, until: dt.datetime, *, late: bool = False) -> int:
        """Fire every clock due at or before `until` (one transaction per ticket); returns new outbox rows."""
        added, done = 0, set()
        for row in self.store.due_clocks(until):
            if row.ticket_id in done:
                continue
            if len(done) > 10_000:
                done.clear()  # bounded: a ticket met again is skipped below (nothing due any more)
            done.add(row.ticket_id)
            added += self._advance_ticket(row.ticket_id, until, late)
        if self.now is None or until > self.now:
            self.now = until
        return added

    def _advance_ticket(self, tid, until, late) -> int:
        for _ in range(RETRIES):
            state = self.store.load_ticket(tid)
            if state is None:
                return 0
            tc = self.restore(state)
            nxt = tc.next_instant()
            if nxt is None or nxt > until:
                return 0
            alerts = tc.advance(until)
            new = TicketState(state.policy_id, state.policy_edition, to_state(tc), state.last_at)
            try:
                n = self.store.record_timers(tid, new, clock_rows(tc), self._outbox(alerts, late=late),
                                             expected_version=state.version)
            except StaleTicket:
                continue
            self.counts["alerts"] += n
            return n
        raise MonitorError("contention", f"ticket {tid!r} kept changing under another monitor")

    def start(self) -> int:
        """After a restart: catch up every due instant that passed while down (alerts marked late)."""
        until = (self.store.high_water() if self.replay else self.wall_clock())
        return self.advance(until, late=True) if until is not None else 0

    # -- input --------------------------------------------------------------------------------------
    def feed_line(self, number: int, line: str) -> dict | None:
        """One input line: applied, a duplicate, or reported (on_error) and skipped. Returns the outcome
        {"status": "applied"|"duplicate", "ticket", "alerts": [ids]} or None when refused."""
        if not line.strip():
            return None
        record, problem = parse_line(line)
        if problem:
            self.counts["refused"] += 1
            self.on_error(number, problem)
            return None
        return self.feed(record, number)

    def feed(self, record: dict, number: int | None = None) -> dict | None:
        from slapolicy.api import TicketError

        try:
            return self._feed(record)
        except MonitorError as exc:
            message = str(exc)
        except TicketError as exc:
            message = "invalid-event: " + exc.format("event").replace("\n", "; ")
        except (KeyError, TypeError, ValueError) as exc:
            message = f"invalid-event: malformed event: {exc}"
        self.counts["refused"] += 1
        self.on_error(number, message)
        return None

    def _feed(self, record):
        key = event_key(record)
        tid = record["ticket"]["id"] if record["type"] == "created" and isinstance(record.get("ticket"), dict) \
            else record.get("ticket")
        if self.store.was_applied(key):
            self.counts["duplicates"] += 1
            return {"status": "duplicate", "ticket": tid, "alerts": []}
        for _ in range(RETRIES):
            try:
                outcome = self._created(key, record) if record["type"] == "created" else self._event(key, record)
            except StaleTicket:
                continue
            if outcome["status"] == "applied":
                self.counts["applied"] += 1
            else:
                self.counts["duplicates"] += 1
            return outcome
        raise MonitorError("contention", f"ticket {tid!r} kept changing under another monitor")

    def _created(self, key, record):
        from slapolicy.api import TicketError
        from slapolicy.decide.tickets import validate_ticket

        ticket = validate_ticket(record.get("ticket"))
        if ticket.get("events"):
            raise TicketError([("ticket.events", "a created ticket starts without events; send them as lines")])
        tid = ticket["id"]
        if tid is None or not isinstance(tid, str):
            raise MonitorError("invalid-event", "a created ticket needs a string `id`")
        policy = self._policy(record.get("policy") or self.default_policy)
        compiled, _ = policy.select(ticket["created_at"])
        if self.replay and (self.now is None or ticket["created_at"] > self.now):
            self.advance(ticket["created_at"])
        if self.store.load_ticket(tid) is not None:
            raise MonitorError("duplicate-ticket", f"ticket {tid!r} was already created")
        tc = TicketClock(compiled, {k: v for k, v in ticket.items() if k != "events"}, self.share)
        alerts = [] if self.replay else tc.advance(self.wall_clock())
        state = TicketState(compiled.id, self._pin(compiled), to_state(tc), ticket["created_at"])
        outbox = self._outbox(alerts)
        ok = self.store.apply(key, tid, state, clock_rows(tc), outbox, expected_version=0,
                              at=ticket["created_at"], record=record)
        return {"status": "applied" if ok else "duplicate", "ticket": tid, "alerts": [a.id for a in outbox]}

    def _event(self, key, record):
        tid = record.get("ticket")
        if not isinstance(tid, str):
            raise MonitorError("invalid-event", "an event names its ticket: a string `ticket`")
        state = self.store.load_ticket(tid)
        if state is None:
            raise MonitorError("unknown-ticket", f"unknown ticket {tid!r} (not created)")
        tc = self.restore(state)
        normal = normalize_event(record, tid, tc.created)
        at = normal["at"]
        if state.last_at is not None and at < state.last_at:
            raise MonitorError("out-of-order", f"event at {record['at']} is older than ticket {tid!r}'s last event "
                               f"({state.last_at.isoformat()}); refused")
        if self.replay and (self.now is None or at > self.now):
            self.advance(at)
            state = self.store.load_ticket(tid)  # its own timers may have fired
            tc = self.restore(state)
        before = len(tc.alerts)
        tc.apply(normal)
        if not self.replay:
            tc.advance(self.wall_clock())
        alerts = tc.alerts[before:]
        new = TicketState(state.policy_id, state.policy_edition, to_state(tc), at)
        outbox = self._outbox(alerts)
        ok = self.store.apply(key, tid, new, clock_rows(tc), outbox, expected_version=state.version, at=at,
                              record=record)
        if ok:
            self.counts["alerts"] += len(outbox)
        return {"status": "applied" if ok else "duplicate", "ticket": tid, "alerts": [a.id for a in outbox]}

    # -- history ------------------------------------------------------------------------------------
    def rebuild(self, tid: str, compiled=None, until: dt.datetime | None = None) -> TicketClock | None:
        """The ticket's clock replayed from its stored events (under `compiled`, default its pinned
        edition), events after `until` left out; None for a ticket the store has no history of."""
        from slapolicy.decide.tickets import validate_ticket

        records = self.store.ticket_events(tid)
        if not records or records[0].get("type") != "created":
            return None
        ticket = validate_ticket(records[0]["ticket"])
        if compiled is None:
            state = self.store.load_ticket(tid)
            compiled = self.edition(state.policy_id, state.policy_edition)
        tc = TicketClock(compiled, {k: v for k, v in ticket.items() if k != "events"}, self.share)
        for record in records[1:]:
            normal = normalize_event(record, tid, tc.created)
            if until is not None and normal["at"] > until:
                break
            tc.apply(normal)
        return tc

    def snapshot(self, tid: str, as_of: dt.datetime) -> dict | None:
        """The ticket's clocks at `as_of`, as `evaluate --as-of` reports them (`lifecycle`); None if unknown.
        Nothing is written: an alert due by then appears in the snapshot but not in the outbox."""
        state = self.store.load_ticket(tid)
        if state is None:
            return None
        tc = self.restore(state)
        if as_of < tc.now:  # before the stored state: replay the history up to then
            tc = self.rebuild(tid, until=as_of) or tc
        tc.advance(as_of)
        return {"ticket": tid, "policy": state.policy_id, "edition": state.policy_edition,
                "last_event_at": state.last_at.isoformat() if state.last_at else None,
                "lifecycle": tc.snapshot(as_of)}

    def recalculate(self, until: dt.datetime | None = None, *, force: bool = False) -> dict:
        """Re-apply every open ticket's stored history under the edition the current policy selects for it
        (all of them with `force`, else those pinned to another edition). Returns counts."""
        report = {"tickets": 0, "recalculated": 0, "unchanged": 0, "resolved": 0, "alerts": 0, "errors": []}
        until = until or (self.store.high_water() if self.replay else self.wall_clock())
        for state in self.store.tickets():
            report["tickets"] += 1
            if state.state.get("resolved"):
                report["resolved"] += 1
                continue
            try:
                policy = self._policy(state.policy_id)
                created = dt.datetime.fromisoformat(state.state["created"])
                compiled, _ = policy.select(created)
                if compiled.content_hash == state.policy_edition and not force:
                    report["unchanged"] += 1
                    continue
                tc = self.rebuild(state.ticket_id, compiled)
                if tc is None:
                    raise MonitorError("no-history", f"ticket {state.ticket_id!r} has no stored history")
                tc.advance(max(until, tc.now))
                new = TicketState(compiled.id, self._pin(compiled), to_state(tc), state.last_at)
                n = self.store.record_timers(state.ticket_id, new, clock_rows(tc),
                                             self._outbox(tc.alerts, recalculated=True),
                                             expected_version=state.version)
            except (MonitorError, StaleTicket, ValueError) as exc:
                report["errors"].append({"ticket": state.ticket_id, "message": str(exc)})
                continue
            report["recalculated"] += 1
            report["alerts"] += n
        return report

    def at_risk(self, now: dt.datetime, within: dt.timedelta, limit: int = 100) -> list[dict]:
        """The open clocks nearest to breach: due within `within` of `now`, nearest first."""
        out = []
        for c in self.store.at_risk(now, within, limit=limit):
            out.append({"ticket": c.ticket_id, "target": c.target, "due": c.due.isoformat(),
                        "remaining_seconds": round((c.due - now).total_seconds()),
                        "next_alert": c.next_kind, "next_at": c.next_at.isoformat() if c.next_at else None})
        return out

    def next_due(self) -> dt.datetime | None:
        """The earliest instant at which a stored clock has something to do."""
        far = dt.datetime(9999, 1, 1, tzinfo=UTC)
        row = next(iter(self.store.due_clocks(far, page_size=1)), None)
        return row.next_at if row else None


def _edition_text(compiled) -> str | None:
    """The text a compiled edition came from (its file, if it still holds that text), else None."""
    import hashlib

    try:
        text = Path(compiled.file).read_text("utf-8")
    except (OSError, TypeError, ValueError):
        return None
    return text if hashlib.sha256(text.encode("utf-8")).hexdigest()[:16] == compiled.content_hash else None


def drain(store, sink, *, limit: int = 500, now: dt.datetime | None = None, retry_base: float = 30.0,
          retry_cap: float = 3600.0) -> tuple[int, int]:
    """Deliver every due undelivered alert to `sink`, oldest first; a page's deliveries are marked in one
    transaction after the page (a crash redelivers at most that page, with the same ids). (delivered, failed)."""
    from slapolicy.monitor.sinks import alert_body, backoff

    delivered = failed = 0
    while True:
        when = now or now_utc()
        page = store.pending_alerts(limit, now=when)
        if not page:
            return delivered, failed
        ok = []
        for alert in page:
            try:
                sink.send(alert, alert_body(alert))
            except Exception as exc:  # any sink failure: counted on the alert, retried later
                store.mark_failed(alert.id, str(exc),
                                  when + dt.timedelta(seconds=backoff(alert.attempts, retry_base, retry_cap)))
                failed += 1
                continue
            ok.append(alert.id)
        if ok:
            store.mark_delivered(ok)
        delivered += len(ok)
        if len(page) < limit:
            return delivered, failed
