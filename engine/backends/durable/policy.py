"""The executor: a policy's editions as durable-rules rulesets, deciding tickets one session at a time."""
from __future__ import annotations

import copy
import hashlib
import itertools
import threading
from pathlib import Path

try:
    import durable.engine as _durable
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("the durable backend needs the durable-rules package: "
                      f"pip install 'slapolicy[durable]' ({exc})") from exc

from slapolicy.backends.durable.evaluator import (
    _NONE,
    BACKEND,
    MISSING,
    DurableBackendError,
    _Evaluator,
    _Host,
    _to_json,
)
from slapolicy.backends.durable.translate import ruleset_definition
from slapolicy.decide.registration import _status_text, compute_deadlines


def _checked_for(compiled, files=()):
    """Re-run stages 1-4 on the file of a compiled edition (the compiled policy keeps no trees)."""
    from slapolicy.language.check import check_policy
    from slapolicy.language.load import load_yaml

    candidates = [Path(f) for f in files] + [Path(compiled.file)]
    for path in candidates:
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if compiled.content_hash and hashlib.sha256(text.encode("utf-8")).hexdigest()[:16] != compiled.content_hash:
            continue
        checked = check_policy(load_yaml(text, compiled.file))
        if checked.errors:
            raise DurableBackendError(f"{compiled.file}: the policy no longer checks")
        return checked
    raise DurableBackendError(f"cannot re-read the policy file of '{compiled.id}' ({compiled.file}) "
                              "with the content that was compiled")


class _Edition:
    """One compiled edition as a registered durable ruleset."""

    def __init__(self, host, name, compiled, checked):
        self.compiled = compiled
        self.name = name
        definition, self.rules, tr = ruleset_definition(compiled, checked)
        self.definition = copy.deepcopy(definition)
        self.fired = []
        for rule_name in definition:
            definition[rule_name]["run"] = self._action(rule_name)
        try:
            host.register_rulesets({name: definition})
        except Exception as exc:  # durable refuses the definition: a translation defect, named
            raise DurableBackendError(f"durable-rules refused the ruleset of '{compiled.id}': {exc}") from exc
        self.fields = sorted(tr.fields)
        self.evaluator = _Evaluator(tr.resolved, tr.defs, compiled.calendars, compiled.timezone)
        self.plain = [d for d in tr.derived if d.item_of is None and not d.staged]
        self.staged = [d for d in tr.derived if d.item_of is None and d.staged]
        per_item = {}
        for d in tr.derived:
            if d.item_of is not None:
                per_item.setdefault(d.item_of, []).append(d)
        self.per_item = sorted(per_item.items())

    def _action(self, rule_name):
        fired = self.fired

        def action(c):
            fired.append(rule_name)
        return action

    def base_fact(self, ticket):
        t = {k: _to_json(ticket[k]) for k in self.fields if ticket.get(k) is not None}
        ev = self.evaluator
        for parts, entries in self.per_item:
            items, converted = ticket, t
            for part in parts:
                items = items.get(part) if isinstance(items, dict) else None
                converted = converted.get(part) if isinstance(converted, dict) else None
            if not isinstance(items, list):
                continue
            for item, out in zip(items, converted):
                for d in entries:
                    value = ev.value(d.node, ticket, {}, {d.var: item})
                    if value is not MISSING:
                        out[d.key] = _to_json(value)
        fact = {"t": t}
        for d in self.plain:
            value = ev.value(d.node, ticket, {}, {})
            if value is not MISSING:
                fact[d.key] = _to_json(value)
        return fact


class DurablePolicy:
    """A policy (slapolicy.api.Policy, all its editions) decided by durable-rules.

    `evaluate(ticket, as_of=None, explain=True, edition=None)` has the signature of
    Policy.evaluate, validates the ticket the same way (TicketError) and returns the decision
    without explanation, missing facts or lifecycle. Thread-safe (one lock: durable's state is
    not)."""

    _names = itertools.count()

    def __init__(self, policy, files=()):
        self.policy = policy
        self.host = _Host()
        self._lock = threading.Lock()
        self._sids = itertools.count(1)
        self.editions = {}
        for _, compiled in policy.editions:
            name = f"slapolicy_{next(self._names)}"
            self.editions[id(compiled)] = _Edition(self.host, name, compiled, _checked_for(compiled, files))

    def definitions(self) -> dict:
        """The durable-rules ruleset definitions (plain JSON), by ruleset name."""
        return {e.name: e.definition for e in self.editions.values()}

    def evaluate(self, ticket: dict, as_of=None, explain: bool = True, edition: str | None = None) -> dict:
        from slapolicy.decide.tickets import validate_ticket

        normal = validate_ticket(ticket)
        compiled, why = self.policy.select(normal["created_at"], edition)
        with self._lock:
            decision = self._decide(self.editions[id(compiled)], normal)
        if len(self.policy.editions) > 1 or edition is not None:
            decision["policy"]["edition"] = compiled.effective_from or "current"
            decision["policy"]["edition_chosen"] = why
        return decision

    def _run_stage(self, edition, sid, stage, base, stage_values):
        fact = dict(base)
        fact.update(sid=sid, id=stage, _st=stage)
        for key, value in stage_values.items():
            fact["_" + key] = _NONE if value is None else value
        for d in edition.staged:
            value = edition.evaluator.value(d.node, self._ticket, stage_values, {})
            if value is not MISSING:
                fact[d.key] = _to_json(value)
        del edition.fired[:]
        try:
            self.host.assert_fact(edition.name, fact)
        except _durable.MessageNotHandledException:
            pass
        except _durable.MessageObservedException:  # pragma: no cover - each stage's fact has its own id
            raise DurableBackendError(f"durable-rules saw the {stage} fact twice")
        except MemoryError as exc:  # the 1,024-session cap
            raise DurableBackendError(f"durable-rules is out of sessions: {exc!r}") from None
        # a set: durable splits an `$or` into branches and runs the action once per matching branch
        return sorted({edition.rules[name][1] for name in edition.fired})

    def eligibility_and_tier(self, ticket: dict, edition: str | None = None) -> tuple:
        """(eligibility status, tier id) only: the acceptance, scope and tier stages (bench/peers.py)."""
        from slapolicy.decide.tickets import validate_ticket

        normal = validate_ticket(ticket)
        compiled, _ = self.policy.select(normal["created_at"], edition)
        chosen = self.editions[id(compiled)]
        with self._lock:
            self._ticket = normal
            sid = str(next(self._sids))
            try:
                _, status, _, tier = self._first_stages(chosen, sid, chosen.base_fact(normal), {}, lambda ids: None)
            finally:
                self._delete(chosen, sid)
        return status, tier.id if tier else None

    def _first_stages(self, edition, sid, base, stage, rely):
        """Stages 1-3 (acceptance, scope, tier): (accepted, status, reasons, tier); fills `stage`."""
        compiled = edition.compiled
        refusals = [compiled.acceptance[i] for i in self._run_stage(edition, sid, "acceptance", base, stage)]
        accepted = not refusals
        stage["accepted"] = accepted
        if accepted:
            fired = self._run_stage(edition, sid, "scope", base, stage)
            chosen = compiled.scope[fired[0]] if fired else None
            status, reasons = (chosen.status if chosen else None), [chosen]
        else:
            status, reasons = "not_accepted", refusals
        for r in reasons:
            if r is not None:
                rely(r.assumptions)
        stage["eligibility"] = status
        tier = None
        if accepted:
            fired = self._run_stage(edition, sid, "tier_rules", base, stage)
            if fired:
                rule = compiled.tier_rules[fired[0]]
                tier = compiled.tiers[rule.tier]
                rely(rule.assumptions)
                rely(tier.assumptions)
        stage["tier"] = tier.id if tier else None
        return accepted, status, reasons, tier

    def _delete(self, edition, sid):
        try:
            self.host.delete_state(edition.name, sid)
        except Exception:  # no fact reached the session (durable creates it on the first assert)
            pass

    def _decide(self, edition, ticket):
        compiled = edition.compiled
        tz = compiled.timezone
        self._ticket = ticket
        sid = str(next(self._sids))
        base = edition.base_fact(ticket)
        relied = {}

        def rely(ids):
            for a in ids:
                relied[a] = True
        try:
            stage = {}
            accepted, status, reasons, tier = self._first_stages(edition, sid, base, stage, rely)
            deadlines = compute_deadlines(tier, ticket["created_at"], tz)  # the engine's: the calendar is shared
            for d in tier.deadlines if tier is not None else ():
                rely(d.assumptions)
            delays = []
            if accepted:
                for i in self._run_stage(edition, sid, "delay_reasons", base, stage):
                    rule = compiled.delay_reasons[i]
                    rely(rule.assumptions)
                    delays.append({"code": rule.code, "rule": rule.id, "source": rule.source,
                                   "message": rule.message or rule.code.replace("_", " ")})
            notices = []
            if compiled.notices:
                for i in self._run_stage(edition, sid, "notices", base, stage):
                    rule = compiled.notices[i]
                    rely(rule.assumptions)
                    notices.append({"rule": rule.id, "source": rule.source, "message": rule.message})
            billing = None
            if compiled.billing_minimum is not None or compiled.billing_rates:
                rates = []
                if accepted and compiled.billing_rates:
                    rates = [compiled.billing_rates[i] for i in self._run_stage(edition, sid, "billing", base, stage)]
                for r in rates:
                    rely(r.assumptions)
                minimum = compiled.billing_minimum or {}
                billing = {"minimum_minutes": minimum.get("value"),
                           "minimum_source": str(minimum.get("source", "")) or None,
                           "rate_multiplier": max([r.multiplier for r in rates], default=1),
                           "rates": [{"rule": r.id, "source": r.source, "multiplier": r.multiplier, "message": r.message}
                                     for r in rates]}
        finally:
            self._delete(edition, sid)
        decision = {
            "ticket": ticket.get("id"),
            "policy": {"id": compiled.id, "version": compiled.version, "hash": compiled.content_hash,
                       **({"effective_from": compiled.effective_from} if compiled.effective_from else {})},
            "eligibility": {"status": status,
                            "reasons": [{"rule": r.id, "source": r.source, "message": r.message or _status_text(r)}
                                        for r in reasons if r is not None]},
            "tier": {"id": tier.id, "name": tier.name, "source": tier.source} if tier else None,
            "deadlines": deadlines,
            "delay_reasons": delays,
            "notices": notices,
        }
        if billing is not None:
            decision["billing"] = billing
        decision["assumptions"] = [{"id": a, "clause": str(compiled.assumptions[a]["clause"]),
                                    "text": compiled.assumptions[a]["text"]}
                                   for a in relied if a in compiled.assumptions]
        decision["explanation"] = []
        decision["backend"] = BACKEND
        return decision






def load(id_or_path: str, policies_dir=None) -> DurablePolicy:
    """load_policy + the durable rulesets of every edition."""
    from slapolicy.api import edition_files, load_policy, resolve_policy_path

    policy = load_policy(id_or_path, policies_dir)
    path = resolve_policy_path(str(id_or_path), policies_dir)
    return DurablePolicy(policy, [path] + edition_files(path))
