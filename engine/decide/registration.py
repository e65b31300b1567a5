"""Stage 6: a compiled policy and a normalised ticket -> the registration decision (CONTRACT section 3).

The order is fixed and documented (docs/evaluation.md):
  1 acceptance     every rule that fires makes the request not_accepted (all are reported)
  2 scope          first rule that fires sets the status (in_scope / out_of_scope / consultation_only)
  3 tier           first tier rule that fires picks the tier (none when not accepted)
  4 targets        the tier's targets
  5 deadlines      due / not_before from created_at in the target's calendar
  6 delay reasons  every rule that fires adds its code (accepted requests only)
  7 notices        every rule that fires adds its message
  8 billing        minimum minutes and the largest multiplier of the rates that fire
A rule whose condition is unknown (a missing fact) does not fire; its missing facts are listed.
"""
from __future__ import annotations

import datetime as dt

from slapolicy.calendar.core import local_iso
from slapolicy.language.compile import UNKNOWN, CompiledPolicy, Env
from slapolicy.language.runtime import Stub


def _iso(instant: dt.datetime | None, tz) -> str | None:
    return None if instant is None else local_iso(instant, tz)


class _Run:
    __slots__ = ("env", "explain", "explanation", "assumptions", "pretested", "instants", "scans", "args", "at",
                 "fired", "tier_rule")

    def __init__(self, env, explain, pretested=None, scans=None):
        self.env = env
        self.explain = explain
        self.explanation = []
        self.fired = []  # the explanation's entries of the rules that fired with facts read (annotate.local_facts)
        self.tier_rule = None  # the tier rule that fired (why_not's list of the tier rules before it)
        self.assumptions = {}
        self.pretested = pretested  # the rules tested first by their generated code (`_pretested`)
        self.instants = {}  # deadline name -> its instant (compute_deadlines; the breakdowns count up to them)
        self.at = None  # created_at in the policy's time zone (the deadlines' explanation; their breakdowns too)
        self.scans = scans  # stage attribute -> its generated function (slapolicy.decide.explainscan), with `pretested`
        if scans is not None:  # a stage function's arguments but its last (explainscan)
            self.args = (env.ticket, env.stage, env.missing, env.read, env.defs, self.explanation, self.fired)

    def test(self, rule):
        """True / False / None (unknown) for a rule, through the closures (or their explaining twins); records the
        explanation. (Without explanation, `_fast_test` runs the generated code instead; a stage with a generated
        stage function is tested by it: `_fired`, `_first_fired`.)"""
        env = self.env
        if rule.fn is None:
            if self.explain:
                self.explanation.append({"stage": rule.stage, "rule": rule.id, "source": rule.source,
                                         "result": "fired", "facts": {}, "default": True})
            return True
        pre = self.pretested.get(id(rule)) if self.pretested is not None else None
        mark = len(env.missing)
        read_mark = len(env.read) if env.read is not None else 0
        if pre is not None:
            stub, defs, twin = pre
            if not defs or all(name in env.defs for name in defs):
                value = (stub.fn or stub)(env.ticket, env.stage)  # (the compiled function once it is)
                if value is not UNKNOWN and not value:  # false: the twin would record nothing and leave no trace
                    return False
            # the closure's explaining twin (slapolicy.language.explaining): the same value, missing facts, facts
            # read and memoised definitions
            value = (twin.fn or twin)(env.ticket, env.stage, env.missing, env.read, env.defs) if twin is not None \
                else rule.fn(env)
        else:
            value = rule.fn(env)
        if value is UNKNOWN:
            if self.explain:
                self.explanation.append({"stage": rule.stage, "rule": rule.id, "source": rule.source,
                                         "result": "unknown", "missing": sorted(set(env.missing[mark:]))})
            return None
        del env.missing[mark:]
        if value and self.explain:
            facts = {k: _jsonable(v) for k, v in env.read[read_mark:]}
            entry = {"stage": rule.stage, "rule": rule.id, "source": rule.source, "result": "fired", "facts": facts}
            self.explanation.append(entry)
            self.fired.append(entry)
        return bool(value)

    def rely(self, ids):
        for a in ids:
            self.assumptions[a] = True


_STAGES = (("acceptance", ("acceptance",)), ("scope", ("scope",)), ("tier_rules", ("tier_rules",)),
           ("delay_reasons", ("delay_reasons",)), ("notices", ("notices",)), ("billing_rates", ("billing", "rates")))


def _pretested(policy):
    """With explanation: {id(rule): (its generated function (a Stub), the definitions its condition uses, its
    explaining twin (a Stub: slapolicy.language.explaining))}, from the edition's second explained decision on
    (the first generates no code, as in slapolicy.decide.evaluate._warm_fast). A rule whose definitions are all
    memoised in the run already (or that uses none) is tested first by its generated code, which gives the
    closure's value: when false, as most are, nothing more runs: the closure would record nothing (no
    explanation entry, its missing facts dropped) and leave no trace (no definition memoised anew). Otherwise
    the twin runs, which computes what the closure computes (value, missing facts, facts read, definitions
    memoised) as generated code."""
    got = policy.__dict__.get("_pretested")
    if got is None:
        if not policy.__dict__.get("_explained"):
            policy.__dict__["_explained"] = True
            return None
        got = {}
        if policy._sources is not None and policy.exprs:
            from slapolicy.language.codegen import Lazy
            from slapolicy.language.explaining import PARAMS, sources

            twin_sources = sources(policy.checked, policy.timezone) if policy.checked is not None else None
            lazy = None if twin_sources is None else \
                Lazy(*twin_sources, PARAMS, f"<slapolicy:{policy.id}:explaining>")  # (without the trees: the closures)
            for attr, base in _STAGES:
                for i, rule in enumerate(getattr(policy, attr)):
                    path = base + (i, "when")
                    expr = policy.exprs.get(path)
                    if isinstance(rule.fast, Stub) and expr is not None:
                        got[id(rule)] = (rule.fast, tuple(sorted(expr.defs_used)),
                                        lazy.stub(path) if lazy is not None else None)
            from slapolicy.decide.explainscan import stage_functions

            policy.__dict__["_scans"], policy.__dict__["_scans_shared"] = stage_functions(policy, twin_sources, _STAGES)
        policy.__dict__["_pretested"] = got
    return got or None


def _fired(run, attr, rules) -> list:
    """the rules of a stage (policy.<attr>) that fire, in order, explained: by the stage's generated function when
    it has one (slapolicy.decide.explainscan: it records the entries of the rules that are unknown or fire as
    `_Run.test` does and lists the indices of those that fire), else by `_Run.test` rule by rule"""
    stage = run.scans.get(attr) if run.scans is not None else None
    if stage is None:
        return [rule for rule in rules if run.test(rule)]
    hits = stage(*run.args, [])
    return [rules[i] for i in hits] if hits else hits  # (most stages of most tickets: none fires)


def _first_fired(run, attr, rules):
    """the first rule of a stage that fires, explained (as `_fired`), or None"""
    stage = run.scans.get(attr) if run.scans is not None else None
    if stage is None:
        return _first_tested(run.test, attr, rules)
    i = stage(*run.args, None)
    return rules[i] if i < len(rules) else None


def _tested(test, attr, rules) -> list:
    """the rules of a stage that fire, by test(rule), explanation off"""
    return [rule for rule in rules if test(rule)]


def _first_tested(test, attr, rules):
    """the first rule of a stage that fires by test(rule), or None"""
    for rule in rules:
        if test(rule):
            return rule
    return None


def _fast_test(t, s, missing):
    """test(rule) for explain off: the generated function, and its tracking twin when it is unknown."""
    def test(rule):
        fast = rule.fast
        if fast is None:  # a rule without `when`
            return True
        value = fast(t, s)
        if value is UNKNOWN:
            rule.track(t, s, missing)  # the same code, listing what is missing
            return None
        return value
    return test


def _jsonable(v):
    if isinstance(v, dt.datetime):
        return v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


def compute_deadlines(tier, created: dt.datetime, tz, instants: dict | None = None) -> dict:
    """deadlines of a tier's targets counted from `created` ({"first_response": None} without a tier);
    shared by every executor (slapolicy.backends.durable too). `instants`: also filled with each timed
    target's instant (name -> aware UTC datetime), which the explanation's breakdown counts up to."""
    deadlines = {"first_response": None}
    for d in tier.deadlines if tier is not None else ():
        due = not_before = None
        if d.kind != "none":
            instant = d.calendar.add(created, d.target)
            if instants is not None:
                instants[d.name] = instant
            if d.kind == "within":
                due = local_iso(instant, tz)
            else:
                not_before = local_iso(instant, tz)
        deadlines[d.name] = {"due": due, "not_before": not_before, "target": d.text, "calendar": d.calendar_name,
                             "source": d.source}
    return deadlines


def register(policy: CompiledPolicy, ticket: dict, explain: bool = True, generated: bool = True,
             shared: bool = False) -> tuple:
    """Stages 1-8 (acceptance .. billing) of a validated ticket: (decision without lifecycle and
    explanation, the run that collected the explanation and assumptions, the chosen tier or None).
    Without explanation the rules run as generated code (each rule's function compiled on its first
    call), unless `generated` is false: then by the closures, the same decision (a process that decides
    one ticket does not compile the functions it runs once). The decision's constant parts (reasons, tier,
    policy head, assumptions, each rule's relied assumptions) are the edition's (`_glue`), copied. `shared`: the
    decision is only serialised (slapolicy.api.Policy.decide): the explanation's entries a stage kept
    (slapolicy.decide.stagememo) are handed out themselves, not copies."""
    env = Env(ticket, policy, explain)
    glue = policy.__dict__.get("_glue") or _glue(policy)
    entries = glue.entries
    if explain:
        pretested = policy.__dict__.get("_pretested")
        if pretested is None:
            pretested = _pretested(policy)
        scans = policy.__dict__.get("_scans_shared" if shared else "_scans") if pretested else None
        if shared and scans is not None and scans.off:  # (memos that missed too often: slapolicy.decide.stagememo)
            scans.tick()
        run = _Run(env, True, pretested or None, scans)
        fired, first, by = _fired, _first_fired, run
    else:  # (unknown_facts and the lifecycle decide again this way: plain loops)
        run = _Run(env, False)
        fired, first = _tested, _first_tested
        by = run.test if not generated else _fast_test(ticket, env.stage, env.missing)
    relied = run.assumptions
    stage = env.stage

    # 1 acceptance
    refusals = fired(by, "acceptance", policy.acceptance)
    accepted = not refusals
    stage["accepted"] = accepted
    # 2 scope
    if accepted:
        chosen = first(by, "scope", policy.scope)
        status = chosen.status if chosen is not None else None
        reasons = [chosen]
    else:
        status, reasons = "not_accepted", refusals
    stage["eligibility"] = status
    out_reasons = []
    for r in reasons:
        entry, ids = entries[id(r)] if r is not None else _reason(policy, r)
        out_reasons.append(dict(entry))
        relied.update(ids)
    # 3 tier
    tier = tier_out = None
    if accepted:
        rule = run.tier_rule = first(by, "tier_rules", policy.tier_rules)
        if rule is not None:
            tier, tier_out, ids = entries[id(rule)]  # (the rule's, its tier's and its deadlines' assumptions)
            tier_out = dict(tier_out)
            relied.update(ids)
    stage["tier"] = tier.id if tier else None
    # 4, 5 targets and deadlines
    created = ticket["created_at"]
    deadlines = compute_deadlines(tier, created, policy.timezone, run.instants if explain else None)
    if tier is not None and explain:
        at = run.at = _iso(created, policy.timezone)
        for entry in _deadline_entries(policy, tier):
            run.explanation.append({**entry, "from": at})
    # 6 delay reasons
    delays = []
    if accepted:
        for rule in fired(by, "delay_reasons", policy.delay_reasons):
            output, ids = entries[id(rule)]
            relied.update(ids)
            delays.append(dict(output))
    # 7 notices
    notices = []
    for rule in fired(by, "notices", policy.notices):
        output, ids = entries[id(rule)]
        relied.update(ids)
        notices.append(dict(output))
    decision = {"ticket": ticket.get("id"), "policy": dict(glue.head),
                "eligibility": {"status": status, "reasons": out_reasons}, "tier": tier_out, "deadlines": deadlines,
                "delay_reasons": delays, "notices": notices}
    # 8 billing
    if glue.billing is not None:
        rates = []
        for r in fired(by, "billing_rates", policy.billing_rates) if accepted else ():
            entry, ids = entries[id(r)]
            relied.update(ids)
            rates.append(dict(entry))
        decision["billing"] = {**glue.billing, "rate_multiplier": max([r["multiplier"] for r in rates], default=1),
                               "rates": rates}
    missing = env.missing
    decision["missing_facts"] = sorted(set(missing)) if missing else []
    if not relied:
        decision["assumptions"] = []
    elif shared:  # (only serialised: the list of these assumptions' entries as JSON, kept per edition)
        key = tuple(relied)
        kept = glue.kept.get(key)
        decision["assumptions"] = kept if kept is not None else _keep_assumptions(glue, key)
    else:
        decision["assumptions"] = list(map(dict.copy, map(glue.assumptions.__getitem__, relied)))
    return decision, run, tier


def _keep_assumptions(glue, key: tuple):
    """the `assumptions` of a shared decision that relied on `key` (assumption ids, in order): a
    slapolicy.decide.shared.Entries of each entry's JSON as an orjson.Fragment (its text kept for `plain`), kept
    in glue.kept (up to 1,024 lists: a decision relies on one of a few sets)"""
    from slapolicy.decide.shared import Entries, compact, orjson

    out = Entries()
    for a in key:
        text = compact(orjson.dumps(glue.assumptions[a]))  # (an assumption's id, clause and text: strings of the policy)
        out.append_kept(orjson.Fragment(text), text)
    if len(glue.kept) < 1024:
        glue.kept[key] = out
    return out


class _Glue:
    """an edition's constant parts of a registration decision (`register` copies them into each decision)"""
    __slots__ = ("head", "entries", "assumptions", "billing", "kept")


def _glue(policy) -> _Glue:
    """the edition's _Glue, built on its first decision: `entries`: id(rule) -> (reason entry, relied assumption
    ids as a dict) of acceptance and scope rules; (tier, tier entry, ids of the rule, the tier and its deadlines)
    of tier rules; (output, ids) of delay reasons and notices; (rate entry, ids) of billing rates. The ids are
    those of the edition's assumptions (the decision lists no other), each once, in order."""
    known = _assumption_entries(policy)

    def relied(*groups) -> dict:
        return dict.fromkeys((a for group in groups for a in group if a in known), True)

    glue = _Glue()
    glue.head = {"id": policy.id, "version": policy.version, "hash": policy.content_hash,
                 **({"effective_from": policy.effective_from} if policy.effective_from else {})}
    glue.assumptions = known
    glue.kept = {}  # assumption ids relied on -> their entries as kept JSON (a shared decision's, `_keep_assumptions`)
    entries = glue.entries = {}
    for r in (*policy.acceptance, *policy.scope):
        entries[id(r)] = _reason(policy, r)
    for r in policy.tier_rules:
        tier = policy.tiers.get(r.tier)
        if tier is not None:
            entries[id(r)] = (tier, {"id": tier.id, "name": tier.name, "source": tier.source},
                              relied(r.assumptions, tier.assumptions, *(d.assumptions for d in tier.deadlines)))
    for r in (*policy.delay_reasons, *policy.notices):
        entries[id(r)] = (r.output, relied(r.assumptions))
    for r in policy.billing_rates:
        entries[id(r)] = ({"rule": r.id, "source": r.source, "multiplier": r.multiplier, "message": r.message},
                          relied(r.assumptions))
    glue.billing = None
    if policy.billing_minimum is not None or policy.billing_rates:
        glue.billing = {"minimum_minutes": (policy.billing_minimum or {}).get("value"),
                        "minimum_source": str((policy.billing_minimum or {}).get("source", "")) or None}
    policy.__dict__["_glue"] = glue
    return glue


def _reason(policy, r) -> tuple:
    """(eligibility reason entry, relied assumption ids) of an acceptance or scope rule (None, no scope rule fired:
    AttributeError, as before the entries were the edition's)"""
    known = _assumption_entries(policy)
    ids = dict.fromkeys((a for a in r.assumptions if a in known), True)
    return {"rule": r.id, "source": r.source, "message": r.message or _status_text(r)}, ids


def _deadline_entries(policy, tier) -> tuple:
    """The explanation's entries of a tier's deadlines but their `from` (per edition: the calendar's
    description is the same for every ticket)"""
    cache = policy.__dict__.setdefault("_deadline_entries", {})
    got = cache.get(tier.id)
    if got is None:
        got = cache[tier.id] = tuple(
            {"stage": "deadlines", "target": d.name, "rule": tier.id, "source": d.source, "result": d.kind,
             "text": d.text, "calendar": d.calendar_name,
             "hours": d.calendar.describe() if d.calendar is not None else None} for d in tier.deadlines)
    return got


def _assumption_entries(policy) -> dict:
    """id -> the decision's entry of each assumption of the edition (copied into each decision)"""
    got = policy.__dict__.get("_assumption_entries")
    if got is None:
        got = policy.__dict__["_assumption_entries"] = {
            a: {"id": a, "clause": str(x["clause"]), "text": x["text"]} for a, x in policy.assumptions.items()}
    return got


def _status_text(rule) -> str:
    return {"in_scope": "covered by support", "out_of_scope": "not covered by support",
            "consultation_only": "consultation only"}.get(rule.status or "", rule.id)
