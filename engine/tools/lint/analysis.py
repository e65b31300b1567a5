"""The analysis: first-match lists over the ticket space (gaps, shadowed, never-true, overlaps), topics, sources."""
from __future__ import annotations

import itertools
import random
from collections import Counter

from slapolicy.tools.lint.domains import Domains, _Usage
from slapolicy.tools.lint.findings import DEFAULT_LIMIT, ERROR, INFO, MISSING, WARNING, Finding
from slapolicy.tools.lint.probes import build_ticket, run_stages, ticket_json, topic_scope, truth


class Analysis:
    def __init__(self, checked, compiled, limit=DEFAULT_LIMIT, seed=0):
        self.checked = checked
        self.compiled = compiled
        self.loaded = checked.loaded
        self.usage = _Usage(checked)
        self.domains = Domains(compiled, self.usage)
        self.limit = limit
        self.seed = seed
        self.findings: list[Finding] = []
        self.stats: dict = {}
        self.numbers = itertools.count(1)
        data = compiled.data
        self.paths = {name: [(name, i, "when") for i in range(len(data.get(name) or []))]
                      for name in ("acceptance", "scope", "tier_rules", "delay_reasons", "notices")}
        self.paths["billing"] = [("billing", "rates", i, "when") for i in range(len((data.get("billing") or {}).get("rates") or []))]
        self.accept_facts = self.usage.facts(self.paths["acceptance"])
        self._completion: dict = {}

    # spans
    def rule_span(self, list_name, index):
        base = ("billing", "rates") if list_name == "billing" else (list_name,)
        return self.loaded.span(base + (index, "id"))

    def example(self, ticket):
        t = dict(ticket)
        t["id"] = f"LINT-{next(self.numbers)}"
        return ticket_json(t, self.compiled.timezone)

    # the ticket space of a list
    def space(self, facts):
        facts = sorted(facts)
        doms = [self.domains.values(f) for f in facts]
        size = 1
        for d in doms:
            size *= max(1, len(d))
        return facts, doms, size

    def completion(self, assign: dict):
        """Values for the facts only acceptance reads that let a ticket with `assign` be accepted (or None)."""
        key = tuple(sorted((k, _hashable(v)) for k, v in assign.items() if k in self.accept_facts))
        if key in self._completion:
            return self._completion[key]
        free = sorted(self.accept_facts - set(assign))
        doms = [self.domains.values(f) for f in free]
        base = self.domains.base
        rules = self.compiled.acceptance

        def accepted(values):
            t = build_ticket({**assign, **dict(zip(free, values))}, base)
            return not any(truth(r, t, {}) is True for r in rules)

        found = None
        # first the all-missing / first-value point, then a greedy repair, then a bounded search
        start = [MISSING if MISSING in d else d[0] for d in doms]
        if accepted(start):
            found = start
        else:
            current = list(start)
            for _ in range(3):
                for i, d in enumerate(doms):
                    for v in d:
                        trial = current[:i] + [v] + current[i + 1:]
                        if accepted(trial):
                            found = trial
                            break
                        if _refusals(rules, build_ticket({**assign, **dict(zip(free, trial))}, base)) < \
                                _refusals(rules, build_ticket({**assign, **dict(zip(free, current))}, base)):
                            current = trial
                    if found:
                        break
                if found:
                    break
            if found is None:
                total = 1
                for d in doms:
                    total *= max(1, len(d))
                if total <= 20_000:
                    for values in itertools.product(*doms):
                        if accepted(list(values)):
                            found = list(values)
                            break
                else:
                    rng = random.Random(self.seed)
                    for _ in range(20_000):
                        values = [rng.choice(d) for d in doms]
                        if accepted(values):
                            found = values
                            break
        result = dict(zip(free, found)) if found is not None else None
        self._completion[key] = result
        return result

    def tickets(self, facts, rules_paths):
        """Yield tickets (accepted ones only) over the space of `facts`; records the stats."""
        names, doms, size = self.space(facts)
        exhaustive = size <= self.limit
        if exhaustive:
            assignments = (dict(zip(names, values)) for values in itertools.product(*doms))
        else:
            assignments = self._sample(names, doms, rules_paths)
        count = 0
        for assign in assignments:
            extra = self.completion(assign)
            if extra is None:
                continue
            ticket = build_ticket({**assign, **extra}, self.domains.base)
            count += 1
            yield ticket
        self._last_stats = {"facts": names, "space": size, "tickets": count, "exhaustive": exhaustive}

    def _sample(self, names, doms, rules_paths):
        rng = random.Random(self.seed)
        n = self.limit
        for _ in range(n // 2):
            yield {f: rng.choice(d) for f, d in zip(names, doms)}
        # directed: for every rule, the ways to make its own condition true, completed at random or with "missing"
        per_rule = max(10, (n // 2) // max(1, len(rules_paths)))
        statuses = sorted({r.status for r in self.compiled.scope if r.status}) or [None]
        for path in rules_paths:
            own = sorted(self.usage.facts([path]) & set(names))
            own_doms = [self.domains.values(f) for f in own]
            rule = self._rule_at(path)
            combos = []
            for combo in itertools.islice(itertools.product(*own_doms), 5000):
                ticket = build_ticket(dict(zip(own, combo)), self.domains.base)
                if rule is None or any(truth(rule, ticket, {"accepted": True, "eligibility": st}) is True for st in statuses):
                    combos.append(combo)
            if not combos:
                continue
            rng.shuffle(combos)
            for k in range(per_rule):
                combo = combos[k % len(combos)]
                assign = {f: (MISSING if MISSING in d and k % 3 == 0 else rng.choice(d)) for f, d in zip(names, doms)}
                assign.update(zip(own, combo))
                yield assign

    def _rule_at(self, path):
        name, index = path[0], path[1]
        rules = {"scope": self.compiled.scope, "tier_rules": self.compiled.tier_rules}.get(name)
        return rules[index] if rules is not None and index < len(rules) else None

    def first_match(self, list_name):
        rules = getattr(self.compiled, list_name)
        if not rules:
            return
        paths = self.paths[list_name]
        facts = self.usage.facts(paths)
        if list_name == "tier_rules" and "eligibility" in self.usage.stages_read(paths):
            facts |= self.usage.facts(self.paths["scope"])
        n = len(rules)
        true_count = [0] * n
        fired = [0] * n
        first_true_example = [None] * n
        beaten_by = [Counter() for _ in range(n)]
        beaten_example = [{} for _ in range(n)]
        gaps, gap_example = 0, None
        outcome = [r.status if list_name == "scope" else r.tier for r in rules]
        overlaps: dict = {}
        for ticket in self.tickets(facts, paths + (self.paths["scope"] if list_name == "tier_rules" else [])):
            accepted, scope_i, tier_i, stage = run_stages(self.compiled, ticket)
            if not accepted:
                continue
            if list_name == "scope":
                winner = scope_i
                local = {"accepted": True}
            else:
                winner = tier_i
                local = {"accepted": True, "eligibility": stage["eligibility"]}
            if winner is None:
                gaps += 1
                if gap_example is None:
                    gap_example = ticket
            else:
                fired[winner] += 1
            for i, r in enumerate(rules):
                if i == winner:
                    true_count[i] += 1
                    if first_true_example[i] is None:
                        first_true_example[i] = ticket
                    continue
                if r.fn is None and r.fast is None:
                    continue
                if truth(r, ticket, local) is True:
                    true_count[i] += 1
                    if winner is not None and winner < i:
                        beaten_by[i][winner] += 1
                        beaten_example[i].setdefault(winner, ticket)
                        if outcome[winner] != outcome[i]:
                            key = (winner, i)
                            if key not in overlaps:
                                overlaps[key] = [0, ticket]
                            overlaps[key][0] += 1
        stats = self._last_stats
        self.stats[list_name] = stats
        how = (f"all {stats['tickets']} accepted tickets of the domains" if stats["exhaustive"] else
               f"a sample of {stats['tickets']} accepted tickets (seed {self.seed}) of {stats['space']} combinations")
        what = "status" if list_name == "scope" else "tier"
        if gaps:
            last = len(rules) - 1
            self.findings.append(Finding(
                "gap", ERROR, f"{gaps} of {_n(stats['tickets'], 'accepted ticket')} get no {what}: no rule of "
                f"'{list_name}' decides them (add a last rule without 'when'; checked {how})",
                self.rule_span(list_name, last), rules[last].id, self.example(gap_example), count=gaps))
        for i, r in enumerate(rules):
            if fired[i]:
                continue
            if r.fn is None and r.fast is None:
                continue  # a default that explicit rules make unnecessary is fine
            if true_count[i] == 0:
                self.findings.append(Finding(
                    "never-true", WARNING, f"rule '{r.id}' can never fire: its condition holds for no accepted "
                    f"ticket (checked {how})", self.rule_span(list_name, i), r.id))
                continue
            winners = beaten_by[i].most_common()
            names = ", ".join(f"'{rules[w].id}'" + (f" ({_n(c, 'ticket')})" if len(winners) > 1 else "") for w, c in winners)
            top = winners[0][0]
            same = all(outcome[w] == outcome[i] for w, _ in winners)
            self.findings.append(Finding(
                "shadowed-rule", WARNING, f"rule '{r.id}' never fires: on all {_n(true_count[i], 'ticket')} where its "
                f"condition holds, {'an earlier rule fires' if len(winners) > 1 else 'the earlier rule'} "
                f"{names} first" + (f" with the same {what}, so only its clause is never cited" if same else "")
                + f" (checked {how})", self.rule_span(list_name, i), r.id,
                self.example(beaten_example[i][top]), [rules[w].id for w, _ in winners], true_count[i]))
        shadowed = {f.rule for f in self.findings if f.code == "shadowed-rule"}
        for (w, i), (count, ticket) in sorted(overlaps.items()):
            if rules[i].id in shadowed:
                continue
            self.findings.append(Finding(
                "overlap", INFO, f"rules '{rules[w].id}' ({what} {outcome[w]}) and '{rules[i].id}' ({what} "
                f"{outcome[i]}) both hold on {_n(count, 'ticket')}; '{rules[w].id}' comes first and wins",
                self.rule_span(list_name, i), rules[i].id, self.example(ticket), [rules[w].id], count))

    def all_fire(self, list_name):
        """never-true for rules of lists where every rule that holds fires (acceptance, delay reasons, ...)."""
        rules = getattr(self.compiled, list_name if list_name != "billing" else "billing_rates")
        for i, (rule, path) in enumerate(zip(rules, self.paths[list_name])):
            if rule.fast is None and rule.fn is None:
                continue
            names, doms, size = self.space(self.usage.facts([path]))
            stage_names = sorted(self.usage.stages_read([path]))
            stage_doms = []
            for s in stage_names:
                if s == "accepted":
                    stage_doms.append([True, False])
                elif s == "eligibility":
                    stage_doms.append(sorted({r.status for r in self.compiled.scope}) + ["not_accepted"])
                else:
                    stage_doms.append(sorted(self.compiled.tiers) + [None])
            combos = itertools.product(*doms)
            if size > self.limit:
                rng = random.Random(self.seed)
                combos = (tuple(rng.choice(d) for d in doms) for _ in range(self.limit))
            found = False
            for values in combos:
                ticket = build_ticket(dict(zip(names, values)), self.domains.base)
                for svals in itertools.product(*stage_doms):
                    if truth(rule, ticket, dict(zip(stage_names, svals))) is True:
                        found = True
                        break
                if found:
                    break
            if not found:
                self.findings.append(Finding(
                    "never-true", WARNING, f"rule '{rule.id}' can never fire: its condition holds for no ticket of "
                    f"the domains of {', '.join(names) or 'no fact'}", self.rule_span(list_name, i), rule.id))

    def topics(self):
        """Topics that no scope rule decides by itself: a ticket with only the topic known reaches the default."""
        data = self.compiled.data
        scope = data.get("scope") or []
        if not scope or "when" in scope[-1] or "topic" not in self.usage.facts(self.paths["scope"]):
            return
        decided = topic_scope(self.compiled)
        default = self.compiled.scope[-1]
        left = [t for t, rule in decided.items() if rule is default]
        if not left:
            return
        raw = scope[-1]
        documented = bool(raw.get("assumptions"))
        self.findings.append(Finding(
            "unclassified-topics", INFO if documented else WARNING,
            f"{len(left)} topics are put in or out of scope by no rule of their own, so the default rule "
            f"'{raw['id']}' makes them {raw['status']}"
            + (f" (relying on assumption {', '.join(raw['assumptions'])})" if documented else
               "; name them in a scope rule") + f": {', '.join(left)}",
            self.rule_span("scope", len(scope) - 1), raw["id"], count=len(left)))

    def static(self):
        data = self.compiled.data
        loaded = self.loaded
        for tier_id, tier in (data.get("tiers") or {}).items():
            targets = tier.get("targets") or {}
            if "first_response" not in targets:
                self.findings.append(Finding(
                    "tier-without-targets", WARNING, f"tier '{tier_id}' has no first_response target: its tickets "
                    "get no deadline (write `no_guarantee: true` if the regulation gives none)",
                    loaded.key_span(("tiers", tier_id)), tier_id))
        self.holiday_data()
        for where, items in self._sourced():
            for path, obj in items:
                if not str(obj.get("source", "")).strip():
                    name = obj.get("id") or ".".join(str(p) for p in path[1:] if p != "targets")
                    self.findings.append(Finding("missing-source", WARNING, f"{where} '{name}' cites no clause: its "
                                                 "'source' is blank", loaded.span(path + ("source",)), name))

    def holiday_data(self):
        """holiday-data-limit: a calendar takes holidays the package confirms only up to a year (see
        slapolicy.calendar.holidata); the policy has no end date, so it will decide tickets past it."""
        from slapolicy.calendar import holiday_data_limit

        for name, spec in (self.compiled.data.get("calendars") or {}).items():
            limit = holiday_data_limit(spec.get("holidays"))
            if limit is None or spec.get("holidays_file"):
                continue
            if any(str(day)[:4].isdigit() and int(str(day)[:4]) > limit.last_year for day in spec.get("overrides") or {}):
                continue  # the calendar supplies the later days itself
            self.findings.append(Finding(
                "holiday-data-limit", WARNING, f"calendar '{name}' (holidays: {limit.country}): {limit.message}",
                self.loaded.span(("calendars", name, "holidays")), name))

    def _sourced(self):
        data = self.compiled.data
        out = []
        for name in ("acceptance", "scope", "tier_rules", "delay_reasons", "notices"):
            out.append((f"{name} rule", [((name, i), r) for i, r in enumerate(data.get(name) or [])]))
        out.append(("billing rate", [(("billing", "rates", i), r)
                                       for i, r in enumerate((data.get("billing") or {}).get("rates") or [])]))
        out.append(("tier", [(("tiers", t), v) for t, v in (data.get("tiers") or {}).items()]))
        out.append(("target", [(("tiers", t, "targets", n), v) for t, tv in (data.get("tiers") or {}).items()
                                 for n, v in (tv.get("targets") or {}).items()]))
        out.append(("calendar", [(("calendars", c), v) for c, v in (data.get("calendars") or {}).items()]))
        out.append(("definition", [(("definitions", d), v) for d, v in (data.get("definitions") or {}).items()]))
        return out

    def run(self):
        self.static()
        self.first_match("scope")
        self.first_match("tier_rules")
        for name in ("acceptance", "delay_reasons", "notices", "billing"):
            self.all_fire(name)
        self.topics()
        return self.findings


def _n(count, word):
    return f"{count} {word}{'' if count == 1 else 's'}"


def _hashable(v):
    if isinstance(v, list):
        return tuple(_hashable(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, _hashable(x)) for k, x in v.items()))
    return v


def _refusals(rules, ticket):
    return sum(truth(r, ticket, {}) is True for r in rules)
