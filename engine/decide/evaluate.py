"""A decision: the registration decision (slapolicy.decide.registration), then the SLA clocks at `as_of`
when the ticket has events or a time is asked for (slapolicy.decide.lifecycle)."""
from __future__ import annotations

import datetime as dt

from slapolicy.decide.registration import _iso, register
from slapolicy.language.compile import CompiledPolicy


class _Relied:
    """the assumptions the fast path relied on, as the lifecycle stage extends them (no explanation)"""
    __slots__ = ("assumptions", "explanation")

    def __init__(self, ids):
        self.assumptions = dict.fromkeys(ids)
        self.explanation = []

    def rely(self, ids):
        for a in ids:
            self.assumptions[a] = True


def fast_decider(policy: CompiledPolicy):
    """The policy's one generated function (slapolicy.decide.fastpath), built on first use; None for a
    policy compiled without its expression sources."""
    def build(policy):
        from slapolicy.decide.fastpath import build

        return build(policy)
    return built_once(policy, "_fast", build)


def built_once(policy: CompiledPolicy, name: str, build):
    """policy.<name>: build(policy) on first use (a generated function of the edition), with the garbage
    collector paused as while compiling (slapolicy.api: many long-lived objects, no cycles to free); None
    for a policy compiled without its expression sources."""
    made = policy.__dict__.get(name)
    if made is None and policy.sources is not None:
        import gc

        paused = gc.isenabled()
        gc.disable()
        try:
            made = policy.__dict__[name] = build(policy)
        finally:
            if paused:
                gc.enable()
    return made


def _warm_fast(policy: CompiledPolicy):
    """The generated function from a policy edition's second unexplained decision in this process on; the
    first is made by the reference (the closures, the same decision): building the generated function, or
    compiling the generated code of each rule it runs, costs more than one decision, so a one-ticket
    `evaluate --no-explain` pays for neither."""
    fast = policy.__dict__.get("_fast")
    if fast is None:
        if not policy.__dict__.get("_decided"):
            policy.__dict__["_decided"] = True
            return None
        fast = fast_decider(policy)
    return fast


_annotate = None  # slapolicy.decide.annotate.annotate, imported by the first explained decision


def _import_annotate():
    """annotate, imported once: a start that decides unexplained does not import it (nor whynot), and an
    explained decision does not pay a function-local import each time (in Python 3.11 ~7 k instructions:
    the import machinery's module lookups and two AttributeErrors formatted and dropped)"""
    global _annotate
    from slapolicy.decide.annotate import annotate

    _annotate = annotate
    return annotate


def evaluate(policy: CompiledPolicy, ticket: dict, as_of: dt.datetime | None = None, explain: bool = True,
             unknown_facts: bool = False, why_not: bool = True, shared: bool = False) -> dict:
    """Decide a validated ticket (slapolicy.decide.tickets.validate_ticket) with a compiled policy.
    `unknown_facts` and `why_not` (explanation on only): the annotate blocks asked for. `shared`: the decision
    is only serialised by orjson, never changed: parts kept from earlier decisions may be orjson.Fragment
    (their JSON, shared) instead of copies, and the generated function's constant fragments are shared
    (slapolicy.api.Policy.decide)."""
    if explain:
        fast = out = None
    else:  # (the generated function read here, not by a call a decision: _warm_fast only until it is built)
        fast = policy.__dict__.get("_fast") or _warm_fast(policy)
        whole = as_of is None and not ticket.get("events")  # (its decision is the generated function's as it is)
        out = None if fast is None else fast.shared(ticket) if shared and whole else fast(ticket)
        if out is not None and whole:
            return out[0]  # (its explanation: empty; shared: the policy's constant fragments in it, not copies)
    if out is None:  # (the first unexplained decision: by the closures, see _warm_fast)
        decision, run, tier = register(policy, ticket, explain, generated=fast is not None, shared=shared)
    else:
        decision, relied, tier = out
        del decision["explanation"]  # (set again below, after the lifecycle stage's keys)
        run = _Relied(relied)
    if explain:  # why_not, unknown_facts, deadline breakdowns (slapolicy.decide.annotate); explanation only
        (_annotate or _import_annotate())(policy, ticket, decision, run, tier, unknown_facts, why_not, shared)
    tz = policy.timezone
    deadlines = decision["deadlines"]
    if as_of is not None or ticket.get("events"):
        now = as_of or dt.datetime.now(dt.timezone.utc)
        decision["as_of"] = _iso(now, tz)
        if tier is not None:
            from slapolicy.decide.lifecycle import replay  # only for a ticket with a life (a start does not pay)

            life = replay(policy, ticket, now)
            decision["lifecycle"] = life
            for name, entries in life["history"].items():
                if name != "first_response":
                    deadlines[name] = _lifecycle_deadline(entries[-1])
            if policy.next_response is not None:
                deadlines.setdefault("next_response", None)
                run.rely(policy.next_response.get("assumptions") or ())
            for rel in life["tier_history"][1:]:
                if rel.get("rule"):
                    rule = next(r for r in policy.lifecycle_rules if r.id == rel["rule"])
                    run.rely(rule.assumptions)
                    if explain:
                        run.explanation.append({"stage": "lifecycle", "rule": rule.id, "source": rule.source,
                                                "result": "fired", "at": rel["from"], "tier": rel["tier"]})
            decision["assumptions"] = [{"id": a, "clause": str(policy.assumptions[a]["clause"]),
                                        "text": policy.assumptions[a]["text"]}
                                       for a in run.assumptions if a in policy.assumptions]
    decision["explanation"] = run.explanation
    return decision


def _lifecycle_deadline(entry: dict) -> dict | None:
    """deadlines.<name> for a lifecycle target: the open one (null once it is met or stopped)."""
    if entry["status"] in ("met", "stopped"):
        return None
    return {"due": entry["due"], "not_before": entry.get("not_before"), "target": entry["target"],
            "calendar": entry["calendar"], "source": entry["source"], "started": entry["started"],
            "status": entry["status"]}
