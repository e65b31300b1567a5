"""Ticket lifecycle: SLA clocks over a ticket's events, pauses, re-levelling, breaches, alerts.

One `TicketClock` per ticket is a plain state machine, shared by `evaluate --as-of` (replay the
events up to T, then `snapshot(T)`) and `slapolicy watch` (many clocks and a heap of their next
instants). Time is always event time handed in by the caller: the clock never reads the wall clock.

Events (docs/lifecycle.md): agent_replied, customer_replied, status_changed{status},
escalated{to}, severity_changed{severity}, resolved, reopened.

* first_response starts at created_at and is met by the first agent reply.
* next_response (when the policy's `lifecycle.next_response` is declared): a customer message
  after the first response opens one, met by the next agent reply; its target is the tier's
  `next_response` target, else its `first_response` target.
* pauses: while the status is one a policy pause lists for a target, that target's clock stops.
* re-levelling: `escalated` sets the fact `escalation` (engineer -> project_manager_failed),
  `severity_changed` sets `severity`, a lifecycle rule's `set` sets facts; the tier is decided
  again from the changed facts and, if it changed, every open target restarts from that instant
  with the new tier's target.
* a lifecycle rule with `unless: EVENT within D` fires D after its trigger unless EVENT came first.
* alerts: `warning` at a share of a target (default 0.8), `breach` at the due instant,
  `relevelled` when the tier changes.
"""
from __future__ import annotations

import datetime as dt
import heapq
import itertools

from slapolicy.calendar import Calendar, Target
from slapolicy.decide.registration import _iso, register
from slapolicy.language.compile import UNKNOWN, CompiledPolicy, Env

ESCALATION_FACT = {"development": "development", "consulting": "consulting", "engineer": "project_manager_failed"}


def status_and_tier(policy: CompiledPolicy, facts: dict) -> tuple | None:
    """(eligibility status, tier or None) of a validated ticket's facts as registration.register decides them
    (explanation off: each rule's generated code, `rule.fast`, compiled on its first call): the first acceptance
    rule that fires refuses, the first scope rule that fires sets the status, the first tier rule that fires
    picks the tier; a rule whose condition is unknown does not fire. Only stages 1-3, nothing listed, no
    decision built (the lifecycle re-decides the tier after each event that changes a fact). None when no scope
    rule fires: register then decides (and says so)."""
    stage = {}
    for rule in policy.acceptance:
        if _fires(rule, facts, stage):
            return "not_accepted", None
    stage["accepted"] = True
    for rule in policy.scope:
        if _fires(rule, facts, stage):
            status = stage["eligibility"] = rule.status
            break
    else:
        return None
    for rule in policy.tier_rules:
        if _fires(rule, facts, stage):
            return status, policy.tiers[rule.tier]
    return status, None


def _fires(rule, facts, stage) -> bool:
    fast = rule.fast
    if fast is None:  # (a rule without `when`)
        return True
    value = fast(facts, stage)
    return value is not UNKNOWN and bool(value)


class TargetClock:
    """One running SLA target: start, deadline definition, pauses, met instant."""

    __slots__ = ("name", "start", "deadline", "pauses", "paused_since", "met_at", "stopped", "stopped_at", "index",
                 "_due", "_warning", "warned", "breach_alerted")

    def __init__(self, name, start, deadline, index=0):
        self.name, self.start, self.deadline, self.index = name, start, deadline, index
        self.pauses = []
        self.paused_since = None
        self.met_at = None
        self.stopped = False
        self.stopped_at = None
        self._due = self._warning = False  # False = not computed yet
        self.warned = self.breach_alerted = False

    @property
    def open(self):
        return self.met_at is None and not self.stopped

    def invalidate(self):
        self._due = self._warning = False

    def due(self):
        """The due instant given the pauses so far; None if the target has no due or is paused."""
        if self.deadline is None or self.deadline.kind != "within" or self.paused_since is not None:
            return None
        if self._due is False:
            self._due = self.deadline.calendar.add(self.start, self.deadline.target, self.pauses)
        return self._due

    def warning_at(self, share):
        if self._warning is False:
            due = self.due()
            if due is None:
                self._warning = None
            else:
                cal = self.deadline.calendar
                total = cal.business_seconds_between(self.start, due, self.pauses)
                if self.deadline.target.unit.startswith("elapsed"):
                    self._warning = self.start + dt.timedelta(seconds=(due - self.start).total_seconds() * share)
                else:
                    self._warning = cal.add(self.start, Target("business_minutes", total * share / 60.0), self.pauses)
        return self._warning

    def finish(self, at, met=True):
        """Met (or stopped) at `at`; a pause still open ends there."""
        if self.paused_since is not None:
            self.pauses.append((self.paused_since, at))
            self.paused_since = None
            self.invalidate()
        if met:
            self.met_at = at
        else:
            self.stopped, self.stopped_at = True, at

    def elapsed(self, now):
        end = min(now, self.met_at) if self.met_at else now
        if self.deadline is None or self.deadline.calendar is None or end <= self.start:
            return 0.0
        pauses = self.pauses + ([(self.paused_since, end)] if self.paused_since is not None else [])
        return self.deadline.calendar.business_seconds_between(self.start, end, pauses)


class TicketClock:
    def __init__(self, policy: CompiledPolicy, ticket: dict, warning_share: float = 0.8):
        self.policy = policy
        self.tz = policy.timezone
        self.share = warning_share
        self.facts = {k: v for k, v in ticket.items() if k != "events"}
        self.id = ticket.get("id")
        self.eligibility, self.tier, _ = self._registered(True)
        self.created = ticket["created_at"]
        self.now = self.created
        self.tier_history = [{"tier": self.tier, "from": self.created, "rule": None, "source": None}]
        self.status = "open"
        self.resolved = False
        self.targets = []  # every TargetClock, oldest first
        self.timers = []  # (due, seq, rule, trigger instant)
        self._seq = itertools.count()
        self.alerts = []
        self.relevels = []
        if self.tier is not None:
            for d in self.policy.tiers[self.tier].deadlines:
                if d.name != "next_response":
                    self._open(d.name, self.created)

    def _registered(self, validated: bool) -> tuple:
        """(eligibility status, tier id or None, tier source or None) of the facts now: the registration's
        (registration.register, explanation off), by `status_and_tier` when they are a validated ticket's (the
        ticket's own, and after the events that set escalation / severity: values validated as the ticket's
        facts); the facts a lifecycle rule sets (the policy's values) by register itself"""
        out = status_and_tier(self.policy, self.facts) if validated else None
        if out is None:
            decision, _, tier = register(self.policy, self.facts, explain=False)
            out = decision["eligibility"]["status"], tier
        status, tier = out
        return status, None if tier is None else tier.id, None if tier is None else tier.source

    # -- targets --------------------------------------------------------------------------------
    def _deadline(self, name):
        tier = self.policy.tiers.get(self.tier) if self.tier else None
        if tier is None:
            return None
        by_name = {d.name: d for d in tier.deadlines}
        if name == "next_response":
            return by_name.get("next_response") or by_name.get("first_response")
        return by_name.get(name)

    def _open(self, name, start):
        deadline = self._deadline(name)
        if deadline is None:
            return None
        index = sum(1 for t in self.targets if t.name == name)
        clock = TargetClock(name, start, deadline, index)
        if any(name == target and self.status in statuses for target, statuses, _, _ in self.policy.pauses):
            clock.paused_since = start
        self.targets.append(clock)
        return clock

    def open_targets(self, name=None):
        return [t for t in self.targets if t.open and (name is None or t.name == name)]

    # -- time -----------------------------------------------------------------------------------
    def next_instant(self):
        """The earliest future instant at which this clock has something to do (None: nothing)."""
        candidates = [due for due, _, _, _ in self.timers]
        for t in self.open_targets():
            due = t.due()
            if due is None:
                continue
            if not t.breach_alerted:
                candidates.append(due)
            if not t.warned:
                w = t.warning_at(self.share)
                if w is not None:
                    candidates.append(w)
        return min(candidates) if candidates else None

    def advance(self, until):
        """Fire everything due at or before `until`, in time order; returns the new alerts."""
        start = len(self.alerts)
        while True:
            nxt = self.next_instant()
            if nxt is None or nxt > until:
                break
            self._fire(nxt)
        self.now = max(self.now, until)
        return self.alerts[start:]

    def _fire(self, instant):
        while self.timers and self.timers[0][0] <= instant:
            due, _, rule, trigger = heapq.heappop(self.timers)
            self._apply_rule(rule, due, trigger)
        for t in self.open_targets():
            due = t.due()
            if due is None:
                continue
            if not t.warned:
                w = t.warning_at(self.share)
                if w is not None and w <= instant:
                    t.warned = True
                    if w < due:
                        self._alert("warning", w, t, share=self.share)
            if not t.breach_alerted and due <= instant:
                t.breach_alerted = True
                t.warned = True
                self._alert("breach", due, t)

    def _alert(self, kind, at, target=None, **extra):
        alert = {"alert": kind, "ticket": self.id, "at": _iso(at, self.tz)}
        if target is not None:
            alert.update({"target": target.name, "due": _iso(target.due(), self.tz), "tier": self.tier})
        alert.update(extra)
        self.alerts.append(alert)

    # -- events ---------------------------------------------------------------------------------
    def apply(self, event: dict):
        """Apply one event (its `at` is an aware datetime); timers due before it fire first."""
        at = event["at"]
        self.advance(at)
        kind = event["type"]
        if kind == "agent_replied":
            for t in self.open_targets():
                if t.name in ("first_response", "next_response"):
                    t.finish(at)
        elif kind == "customer_replied":
            if self.resolved:
                pass
            elif self.policy.next_response and not self.open_targets("first_response") \
                    and not self.open_targets("next_response") and self.tier is not None:
                self._open("next_response", at)
        elif kind == "status_changed":
            self.status = event["status"]
            for t in self.open_targets():
                paused = any(t.name == target and self.status in statuses for target, statuses, _, _ in self.policy.pauses)
                if paused and t.paused_since is None:
                    t.paused_since = at
                    t.invalidate()
                elif not paused and t.paused_since is not None:
                    t.pauses.append((t.paused_since, at))
                    t.paused_since = None
                    t.invalidate()
        elif kind == "escalated":
            self._set({"escalation": ESCALATION_FACT[event["to"]]}, at, rule=None, source=None, cause="escalated")
        elif kind == "severity_changed":
            self._set({"severity": event["severity"]}, at, rule=None, source=None, cause="severity_changed")
        elif kind == "resolved":
            self.resolved = True
            for t in self.open_targets():
                # the resolution answers the open message; other targets stop
                t.finish(at, met=t.name in ("next_response", "resolution"))
            self.timers = []
        elif kind == "reopened":
            self.resolved = False
        # lifecycle rules: cancel the ones waiting for this event, start the ones it triggers
        if self.timers:
            kept = [tm for tm in self.timers if not (tm[2].unless and tm[2].unless[0] == kind and tm[3] < at)]
            if len(kept) != len(self.timers):
                self.timers = kept
                heapq.heapify(self.timers)
        for rule in self.policy.lifecycle_rules:
            if rule.on == kind and self._when(rule):
                if rule.unless:
                    due = self._timer_due(at, rule.unless[1])
                    heapq.heappush(self.timers, (due, next(self._seq), rule, at))
                else:
                    self._apply_rule(rule, at, at)
        self.now = max(self.now, at)

    def _timer_due(self, at, target):
        if target.unit.startswith("elapsed"):
            return Calendar.from_spec({"week": "24x7"}, default_timezone="UTC").add(at, target)
        deadline = self._deadline("first_response")
        calendar = deadline.calendar if deadline is not None and deadline.calendar is not None else None
        if calendar is None:
            calendar = Calendar.from_spec({"week": "24x7"}, default_timezone="UTC")
        return calendar.add(at, target)

    def _when(self, rule):
        if rule.fn is None:
            return True
        env = Env(self.facts, self.policy)
        env.stage.update(accepted=self.eligibility != "not_accepted", eligibility=self.eligibility, tier=self.tier)
        value = rule.fn(env)
        return value is not UNKNOWN and bool(value)

    def _apply_rule(self, rule, at, trigger):
        if self._when(rule):
            self._set(rule.set, at, rule=rule.id, source=rule.source, cause=rule.on, message=rule.message)

    def _set(self, facts, at, rule, source, cause, message=None):
        for key, value in facts.items():
            parts = key.split(".")
            target = self.facts
            for part in parts[:-1]:
                target = target.setdefault(part, {})
            target[parts[-1]] = value
        self.eligibility, new_tier, tier_source = self._registered(rule is None)  # (a rule's facts: the policy's)
        if new_tier == self.tier:
            return
        old = self.tier
        self.tier = new_tier
        if source is None and new_tier is not None:
            source = tier_source
        entry = {"tier": new_tier, "from": at, "rule": rule, "source": source, "cause": cause}
        self.tier_history.append(entry)
        self.relevels.append(entry)
        self._alert("relevelled", at, None, **{"from": old, "to": new_tier, "rule": rule, "source": source,
                                              "cause": cause, **({"message": message} if message else {})})
        open_now = self.open_targets()
        for t in open_now:  # the new level's target applies from the re-levelling on
            t.finish(at, met=False)
        names = [t.name for t in open_now]
        for name in names:
            self._open(name, at)

    # -- reporting ------------------------------------------------------------------------------
    def snapshot(self, as_of):
        tz = self.tz
        report = {}
        breaches = []
        for t in self.targets:
            due = t.due()
            if t.met_at is not None:
                status = "met" if due is None or t.met_at <= due else "breached"
            elif t.stopped:
                status = "breached" if due is not None and due <= t.stopped_at else "stopped"
            elif t.paused_since is not None:
                status = "paused"
            elif due is not None and due <= as_of:
                status = "breached"
            else:
                status = "running"
            entry = {
                "status": status, "started": _iso(t.start, tz), "due": _iso(due, tz),
                "target": t.deadline.text, "calendar": t.deadline.calendar_name, "source": t.deadline.source,
                "elapsed_seconds": round(t.elapsed(as_of)),
                "remaining_seconds": (round(t.deadline.calendar.business_seconds_between(as_of, due, t.pauses))
                                      if due is not None and status == "running" else (0 if status == "breached" else None)),
                "met_at": _iso(t.met_at, tz),
                "breached_at": _iso(due, tz) if status == "breached" else None,
                "paused_seconds": round(sum((e - s).total_seconds() for s, e in t.pauses)
                                        + ((as_of - t.paused_since).total_seconds() if t.paused_since else 0)),
            }
            if status == "breached":
                breaches.append({"target": t.name, "index": t.index, "due": entry["due"]})
            if t.deadline.kind == "from":
                entry["not_before"] = _iso(t.deadline.calendar.add(t.start, t.deadline.target, t.pauses), tz)
            report.setdefault(t.name, []).append(entry)
        return {
            "as_of": _iso(as_of, tz),
            "tier": self.tier,
            "tier_history": [{**h, "from": _iso(h["from"], tz)} for h in self.tier_history],
            "targets": {name: entries[-1] for name, entries in report.items()},
            "history": report,
            "breaches": breaches,
            "alerts": list(self.alerts),
        }


def replay(policy: CompiledPolicy, ticket: dict, as_of: dt.datetime, warning_share: float = 0.8) -> dict:
    """The lifecycle part of a decision at `as_of`: replay the ticket's events up to then."""
    clock = TicketClock(policy, ticket, warning_share)
    for event in ticket.get("events") or []:
        if event["at"] > as_of:
            break
        clock.apply(event)
    clock.advance(as_of)
    return clock.snapshot(as_of)


# -- durable state (the live monitor's store, issue 13) -------------------------------------------
STATE_FORMAT = 1


def _enc(value):
    """Facts to JSON: instants and dates tagged, everything else as it is (tickets are JSON already)."""
    if isinstance(value, dt.datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, dict):
        return {k: _enc(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_enc(v) for v in value]
    return value


def _dec(value):
    if isinstance(value, dict):
        if len(value) == 1 and "$dt" in value:
            return dt.datetime.fromisoformat(value["$dt"])
        if len(value) == 1 and "$date" in value:
            return dt.date.fromisoformat(value["$date"])
        return {k: _dec(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dec(v) for v in value]
    return value


def _ts(instant):
    return None if instant is None else instant.isoformat()


def _dt(text):
    return None if text is None else dt.datetime.fromisoformat(text)


def _cached(value):
    """A TargetClock cache slot: False (not computed), None or an instant."""
    return False if value is False else _ts(value)


def _uncached(value):
    return False if value is False else _dt(value)


def to_state(clock: TicketClock) -> dict:
    """The clock as plain JSON (the monitor store keeps it between events); `from_state` restores it.
    Deadlines and lifecycle rules are stored by name (tier id, deadline name, rule id): they are looked
    up again in the same compiled policy (the store pins the policy edition a ticket started under)."""
    where = {id(d): (tid, d.name) for tid, tier in clock.policy.tiers.items() for d in tier.deadlines}
    targets = []
    for t in clock.targets:
        tier_id, name = where.get(id(t.deadline), (None, None)) if t.deadline is not None else (None, None)
        targets.append({
            "name": t.name, "start": _ts(t.start), "deadline": [tier_id, name], "index": t.index,
            "pauses": [[_ts(s), _ts(e)] for s, e in t.pauses], "paused_since": _ts(t.paused_since),
            "met_at": _ts(t.met_at), "stopped": t.stopped, "stopped_at": _ts(t.stopped_at),
            "due": _cached(t._due), "warning": _cached(t._warning), "warned": t.warned,
            "breach_alerted": t.breach_alerted})
    return {
        "format": STATE_FORMAT, "policy": clock.policy.id, "hash": clock.policy.content_hash, "share": clock.share,
        "id": clock.id, "facts": _enc(clock.facts), "eligibility": clock.eligibility, "tier": clock.tier,
        "created": _ts(clock.created), "now": _ts(clock.now), "status": clock.status, "resolved": clock.resolved,
        "tier_history": [{**h, "from": _ts(h["from"])} for h in clock.tier_history],
        "targets": targets,
        "timers": [[_ts(due), seq, rule.id, _ts(trigger)] for due, seq, rule, trigger in sorted(clock.timers)],
        "alerts": clock.alerts,
    }


def from_state(policy: CompiledPolicy, state: dict) -> TicketClock:
    """The TicketClock that `to_state` wrote, on `policy` (the edition it was written under)."""
    if state.get("format") != STATE_FORMAT:
        raise ValueError(f"unknown ticket clock state format {state.get('format')!r} (this version reads {STATE_FORMAT})")
    clock = TicketClock.__new__(TicketClock)
    clock.policy, clock.tz, clock.share = policy, policy.timezone, state["share"]
    clock.facts, clock.id = _dec(state["facts"]), state["id"]
    clock.eligibility, clock.tier = state["eligibility"], state["tier"]
    clock.created, clock.now = _dt(state["created"]), _dt(state["now"])
    clock.status, clock.resolved = state["status"], state["resolved"]
    clock.tier_history = [{**h, "from": _dt(h["from"])} for h in state["tier_history"]]
    clock.relevels = clock.tier_history[1:]
    clock.targets = []
    for s in state["targets"]:
        tier_id, name = s["deadline"]
        deadline = None
        if tier_id is not None:
            deadline = next((d for d in policy.tiers[tier_id].deadlines if d.name == name), None)
            if deadline is None:
                raise ValueError(f"tier {tier_id!r} of policy {policy.id!r} has no deadline {name!r}")
        t = TargetClock(s["name"], _dt(s["start"]), deadline, s["index"])
        t.pauses = [(_dt(a), _dt(b)) for a, b in s["pauses"]]
        t.paused_since, t.met_at = _dt(s["paused_since"]), _dt(s["met_at"])
        t.stopped, t.stopped_at = s["stopped"], _dt(s["stopped_at"])
        t._due, t._warning = _uncached(s["due"]), _uncached(s["warning"])
        t.warned, t.breach_alerted = s["warned"], s["breach_alerted"]
        clock.targets.append(t)
    rules = {rule.id: rule for rule in policy.lifecycle_rules}
    clock.timers = [(_dt(due), seq, rules[rid], _dt(trigger)) for due, seq, rid, trigger in state["timers"]]
    heapq.heapify(clock.timers)
    clock._seq = itertools.count(max((seq for _, seq, _, _ in clock.timers), default=-1) + 1)
    clock.alerts = list(state["alerts"])
    return clock
