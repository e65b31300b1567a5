"""Hand-written full decisions, one module a bundled policy (bench/floor.py checks and measures them).

Each module's `make_floor(compiled)` returns `full_floor(t)`: the policy's registration decision of a
validated ticket (explanation off) written by hand in plain Python from the policy's text: direct ifs,
dict lookups, prebuilt output fragments. What a hand-written service would keep in a table is read from
the compiled policy once (`Tables`: rule ids, sources, messages, delay / notice entries, tier entries,
assumption texts, the topic lists of `topic in [...]` rules); business-time deadlines use the engine's
calendar (slapolicy.calendar), as a hand-written service would use a calendar library. Nothing calls the
engine's rule evaluation or its generated code.

Missing facts follow the language's three-valued logic (docs/evaluation.md): a rule whose condition is
unknown lists the facts it lacked, `false and x` / `true or x` decide without them.
"""
import datetime as dt
import importlib
import re

POLICIES = ("advantshop", "bitrix-inc", "bitrix-ua", "martinsoft-b24", "procrm-b24")
UTC = dt.timezone.utc


def make_floor(policy_id, compiled):
    """full_floor(t) of a bundled policy"""
    return importlib.import_module("bench.floors." + policy_id.replace("-", "_")).make_floor(compiled)


def _status_text(rule):
    return {"in_scope": "covered by support", "out_of_scope": "not covered by support",
            "consultation_only": "consultation only"}.get(rule.status or "", rule.id)


class Tables:
    """the compiled policy's texts, as prebuilt fragments"""

    def __init__(self, compiled):
        groups = (compiled.acceptance, compiled.scope, compiled.tier_rules, compiled.delay_reasons,
                  compiled.notices, compiled.billing_rates)
        self.rules = {r.id: r for g in groups for r in g}
        self.assume = {a: {"id": a, "clause": str(v["clause"]), "text": v["text"]}
                       for a, v in compiled.assumptions.items()}
        self.reason = {r.id: {"rule": r.id, "source": r.source, "message": r.message or _status_text(r)}
                       for g in (compiled.acceptance, compiled.scope) for r in g}
        self.rely = {rid: r.assumptions for rid, r in self.rules.items()}
        self.out = {rid: r.output for rid, r in self.rules.items() if r.output is not None}
        self.status = {r.id: r.status for r in compiled.scope}
        self.head = {"id": compiled.id, "version": compiled.version, "hash": compiled.content_hash}
        if compiled.effective_from:
            self.head["effective_from"] = compiled.effective_from
        self.tier = {tid: {"id": t.id, "name": t.name, "source": t.source} for tid, t in compiled.tiers.items()}
        # a tier rule's assumptions, then its tier's, then its targets' (the order the engine relies on them)
        self.tier_rely = {r.id: tuple(r.assumptions) + compiled.tiers[r.tier].assumptions
                          + tuple(a for d in compiled.tiers[r.tier].deadlines for a in d.assumptions)
                          for r in compiled.tier_rules}
        self.tier_of = {r.id: r.tier for r in compiled.tier_rules}
        self.data = {r["id"]: r for k in ("acceptance", "scope", "tier_rules", "delay_reasons", "notices")
                     for r in compiled.data.get(k) or ()}

    def topics(self, rid):
        """the topics of a rule's (first) `topic in [...]` or `topic == "..."`"""
        when = self.data[rid]["when"]
        head = re.search(r'\btopic\s*(==\s*"[a-z_]+"|in\s*\[[^\]]*\])', when)
        return frozenset(re.findall(r'"([a-z_]+)"', head.group(1)))

    def first_topic(self, ids):
        """topic -> the first of the rules `ids` (plain topic lists) that names it"""
        out = {}
        for rid in ids:
            for topic in self.topics(rid):
                out.setdefault(topic, rid)
        return out

    def assumptions(self, relied):
        assume = self.assume
        return [dict(assume[a]) for a in dict.fromkeys(relied) if a in assume]


def deadline_maker(compiled):
    """deadlines(tier id, created_at): the `deadlines` object of a tier, due / not_before in the policy's zone"""
    tz = compiled.timezone
    specs = {}
    for tid, tier in compiled.tiers.items():
        specs[tid] = tuple((d.name, d.kind, d.calendar, d.target,
                            {"target": d.text, "calendar": d.calendar_name, "source": d.source})
                           for d in tier.deadlines)

    def deadlines(tier, created):
        out = {"first_response": None}
        for name, kind, calendar, target, rest in specs[tier]:
            if kind == "within":
                out[name] = {"due": calendar.add(created, target).astimezone(tz).isoformat(), "not_before": None, **rest}
            elif kind == "from":
                out[name] = {"due": None, "not_before": calendar.add(created, target).astimezone(tz).isoformat(), **rest}
            else:
                out[name] = {"due": None, "not_before": None, **rest}
        return out
    return deadlines


def flag_delays(t, flags, out, rely, delays, relied, missing):
    """the delay reasons of `flags` ((rule id, flag, the value that fires it), in order) appended to `delays`,
    their assumptions to `relied`; an absent flag is listed missing"""
    for rid, flag, want in flags:
        v = t.get(flag)
        if v is None:
            missing.add(flag)
        elif v is want:
            delays.append(out[rid])
            relied += rely[rid]


def attachment_notice(t, formats, missing):
    """any(a in attachments where a.format in formats) of an accepted request: True, False, or None (unknown,
    `a.format` listed missing)"""
    attachments = t.get("attachments")
    if not attachments:
        return False
    lost = False
    for a in attachments:
        f = a.get("format")
        if f is None:
            lost = True
        elif f in formats:
            return True
    if lost:
        missing.add("a.format")
        return None
    return False
