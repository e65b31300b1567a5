"""Policy test files: `policies/<id>.tests.yaml`, a list of cases (ticket + expected partial decision).

Used by `slapolicy test` and by the pytest suite. Expectation keys (docs/policy-format.md):
eligibility, tier, first_response_due, first_response_not_before, deadlines (name -> {due, not_before}),
delay_reasons (exact set), delay_reasons_include / _exclude, rules_fired_include / _exclude,
missing_facts_include, assumptions_include, notices_include / _exclude, billing (partial), error.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

KNOWN_KEYS = {"eligibility", "tier", "first_response_due", "first_response_not_before", "deadlines",
              "delay_reasons", "delay_reasons_include", "delay_reasons_exclude", "rules_fired_include",
              "rules_fired_exclude", "missing_facts_include", "missing_facts", "assumptions_include",
              "notices_include", "notices_exclude", "billing", "error", "lifecycle"}
_INSTANT_KEYS = {"due", "not_before", "met_at", "started", "breached_at", "from", "at"}


@dataclass
class CaseResult:
    file: str
    line: int
    name: str
    policy: str
    problems: list = field(default_factory=list)
    fired: set = field(default_factory=set)

    @property
    def passed(self):
        return not self.problems


def _instant(value):
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else None
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def fired_rules(decision: dict) -> set:
    return {e["rule"] for e in decision.get("explanation") or [] if e.get("result") == "fired" and "rule" in e}


def compare(decision: dict, expect: dict) -> list[str]:
    problems = []
    for key in expect:
        if key not in KNOWN_KEYS:
            problems.append(f"unknown expectation key '{key}'")
    if "eligibility" in expect and decision["eligibility"]["status"] != expect["eligibility"]:
        problems.append(f"eligibility {decision['eligibility']['status']!r}, expected {expect['eligibility']!r}")
    if "tier" in expect:
        got = (decision.get("tier") or {}).get("id")
        if got != expect["tier"]:
            problems.append(f"tier {got!r}, expected {expect['tier']!r}")
    wanted_deadlines = dict(expect.get("deadlines") or {})
    for key in ("due", "not_before"):
        if f"first_response_{key}" in expect:
            wanted_deadlines.setdefault("first_response", {})[key] = expect[f"first_response_{key}"]
    for name, want in wanted_deadlines.items():
        got = (decision.get("deadlines") or {}).get(name) or {}
        for key, value in (want or {}).items():
            try:
                same = _instant(got.get(key)) == _instant(value)
            except (ValueError, TypeError):
                same = False
            if not same:
                problems.append(f"{name}.{key} {got.get(key)!r}, expected {value!r}")
    codes = {r["code"] for r in decision.get("delay_reasons") or []}
    if "delay_reasons" in expect and codes != set(expect["delay_reasons"] or []):
        problems.append(f"delay reasons {sorted(codes)}, expected {sorted(expect['delay_reasons'] or [])}")
    for code in expect.get("delay_reasons_include") or []:
        if code not in codes:
            problems.append(f"delay reason {code!r} missing (got {sorted(codes)})")
    for code in expect.get("delay_reasons_exclude") or []:
        if code in codes:
            problems.append(f"delay reason {code!r} should not be there")
    fired = fired_rules(decision)
    for rid in expect.get("rules_fired_include") or []:
        if rid not in fired:
            problems.append(f"rule {rid!r} did not fire (fired: {sorted(fired)})")
    for rid in expect.get("rules_fired_exclude") or []:
        if rid in fired:
            problems.append(f"rule {rid!r} fired but should not")
    missing = set(decision.get("missing_facts") or [])
    for fact in expect.get("missing_facts_include") or []:
        if fact not in missing:
            problems.append(f"missing fact {fact!r} not reported (got {sorted(missing)})")
    if "missing_facts" in expect and missing != set(expect["missing_facts"] or []):
        problems.append(f"missing facts {sorted(missing)}, expected {sorted(expect['missing_facts'] or [])}")
    used = {a["id"] for a in decision.get("assumptions") or []}
    for a in expect.get("assumptions_include") or []:
        if a not in used:
            problems.append(f"assumption {a!r} not named (got {sorted(used)})")
    notices = {n["rule"] for n in decision.get("notices") or []}
    for n in expect.get("notices_include") or []:
        if n not in notices:
            problems.append(f"notice {n!r} missing (got {sorted(notices)})")
    for n in expect.get("notices_exclude") or []:
        if n in notices:
            problems.append(f"notice {n!r} should not be there")
    if "lifecycle" in expect:
        problems.extend(_compare_lifecycle(decision.get("lifecycle"), expect["lifecycle"] or {}))
    if "billing" in expect:
        got = decision.get("billing") or {}
        for key, value in (expect["billing"] or {}).items():
            if got.get(key) != value:
                problems.append(f"billing.{key} {got.get(key)!r}, expected {value!r}")
    return problems


def _compare_lifecycle(life, want) -> list[str]:
    """lifecycle: {tier, tier_history: [ids], relevelled_by: [rule ids], targets: {name: {field: value}}, alerts: [kinds]}"""
    if life is None:
        return ["no lifecycle in the decision (give `as_of` or events)"]
    problems = []
    if "tier" in want and life["tier"] != want["tier"]:
        problems.append(f"lifecycle tier {life['tier']!r}, expected {want['tier']!r}")
    if "tier_history" in want and [h["tier"] for h in life["tier_history"]] != want["tier_history"]:
        problems.append(f"tier history {[h['tier'] for h in life['tier_history']]}, expected {want['tier_history']}")
    if "relevelled_by" in want:
        rules = [h.get("rule") for h in life["tier_history"][1:]]
        if rules != want["relevelled_by"]:
            problems.append(f"re-levelled by {rules}, expected {want['relevelled_by']}")
    for name, fields in (want.get("targets") or {}).items():
        got = (life.get("targets") or {}).get(name)
        if got is None:
            problems.append(f"no lifecycle target {name!r}")
            continue
        for key, value in fields.items():
            same = _instant(got.get(key)) == _instant(value) if key in _INSTANT_KEYS else got.get(key) == value
            if not same:
                problems.append(f"lifecycle {name}.{key} {got.get(key)!r}, expected {value!r}")
    if "alerts" in want and [a["alert"] for a in life.get("alerts") or []] != want["alerts"]:
        problems.append(f"alerts {[a['alert'] for a in life.get('alerts') or []]}, expected {want['alerts']}")
    return problems


def load_cases(path: Path):
    """(case, line) pairs of a test file; raises PolicyError for YAML problems."""
    from slapolicy.language.load import load_yaml, read_policy_file

    text = read_policy_file(path)  # the one safe reader: regular files only, size capped
    loaded = load_yaml(text, str(path), allow_aliases=True, test_file=True)  # cases may share tickets with anchors
    if not isinstance(loaded.data, list):
        from slapolicy.language.diagnostics import Diagnostic, PolicyError

        raise PolicyError([Diagnostic("test-file", "a test file is a list of cases", loaded.span(()))], {str(path): text})
    return [(case, loaded.span((i,)).line) for i, case in enumerate(loaded.data)]


def policy_for(test_file: Path) -> str:
    name = test_file.name
    stem = name.split(".tests.")[0] if ".tests." in name else test_file.stem
    beside = test_file.parent / f"{stem}.yaml"
    return str(beside) if beside.exists() else stem


def _beside(test_file: Path, ref: str) -> str:
    """A case's policy: an id resolves against the test file's directory first, then --policies, then
    the bundled policies; a path is taken as it is."""
    candidate = Path(ref)
    if candidate.suffix in (".yaml", ".yml") or len(candidate.parts) > 1:
        return ref
    beside = test_file.parent / f"{ref}.yaml"
    return str(beside) if beside.is_file() else ref


def run_file(path, policies_dir=None) -> list[CaseResult]:
    from slapolicy.api import PolicyNotFound, load_policy
    from slapolicy.language.diagnostics import PolicyError, TicketError

    path = Path(path)
    results = []
    default_policy = policy_for(path)
    for case, line in load_cases(path):
        name = str(case.get("name", f"case at line {line}"))
        policy_ref = _beside(path, str(case.get("policy", default_policy)))
        result = CaseResult(str(path), line, name, policy_ref)
        expect = case.get("expect") or {}
        try:
            policy = load_policy(policy_ref, policies_dir)
            decision = policy.evaluate(case.get("ticket"), as_of=case.get("as_of"))
        except TicketError as exc:
            if not expect.get("error"):
                result.problems.append(f"ticket refused: {exc.format()}")
        except (PolicyError, PolicyNotFound) as exc:
            result.problems.append(f"policy could not be loaded: {exc}")
        except ValueError as exc:
            result.problems.append(f"bad case: {exc}")
        else:
            if expect.get("error"):
                result.problems.append("expected the ticket to be refused, but it was decided")
            else:
                result.problems.extend(compare(decision, expect))
                result.fired = fired_rules(decision) | {decision["tier"]["id"]} if decision.get("tier") else fired_rules(decision)
        results.append(result)
    return results


def test_files(paths) -> list[Path]:  # noqa: D401 - not a pytest test (see __test__ below)
    out = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(sorted(p.glob("*.tests.yaml")))
        else:
            out.append(p)
    return out


test_files.__test__ = False  # pytest must not collect it where a test module imports it
