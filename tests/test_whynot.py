"""Why not, unknown facts, deadline breakdowns and policy-time facts (tests/cases/whynot.yaml), the
calendar-level breakdown with pauses and holidays, and the explanation-only keys."""
from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path

import pytest
import yaml

from slapolicy import load_policy
from slapolicy.calendar import Calendar, Target
from slapolicy.calendar.breakdown import breakdown
from slapolicy.decide.explain import render_text
from slapolicy.decide.whynot import leaves

ROOT = Path(__file__).resolve().parent.parent
CASES = yaml.safe_load((Path(__file__).parent / "cases" / "whynot.yaml").read_text("utf-8"))


def _policy(ref: str):
    return load_policy(str(ROOT / ref) if ref.endswith(".yaml") else ref)


def _subset(want, got, where):
    if isinstance(want, dict):
        assert isinstance(got, dict), f"{where}: {got!r} is not an object"
        for k, v in want.items():
            assert k in got, f"{where}: no key {k!r} in {got!r}"
            _subset(v, got[k], f"{where}.{k}")
    elif isinstance(want, list) and want and all(isinstance(x, dict) for x in want):
        for w in want:
            key = "fact" if "fact" in w else "date" if "date" in w else None
            match = [g for g in got if key is None or g.get(key) == w[key]]
            assert match, f"{where}: nothing like {w!r} in {got!r}"
            _subset(w, match[0], f"{where}[{w.get(key)}]")
    else:
        assert want == got, f"{where}: want {want!r}, got {got!r}"


def _check_span(span: dict, text: str):
    """The span names the condition in the policy file: its line, from col to end_col, is the text."""
    lines = Path(ROOT / span["file"]).read_text("utf-8").splitlines() if not Path(span["file"]).is_absolute() else \
        Path(span["file"]).read_text("utf-8").splitlines()
    assert span["line"] == span["end_line"], span
    assert lines[span["line"] - 1][span["col"] - 1:span["end_col"] - 1] == text, (span, text)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_whynot_case(case, monkeypatch):
    monkeypatch.chdir(ROOT)
    policy = _policy(case["policy"])
    decision = policy.evaluate(case["ticket"], unknown_facts=True)
    expect = case["expect"]
    if "eligibility" in expect:
        assert decision["eligibility"]["status"] == expect["eligibility"]
    if "tier" in expect:
        assert (decision["tier"] or {}).get("id") == expect["tier"]
    entries = decision["why_not"]
    if "why_not_rules" in expect:
        assert [e["rule"] for e in entries] == expect["why_not_rules"]
    for want in expect.get("why_not") or []:
        got = next((e for e in entries if e["rule"] == want["rule"]), None)
        assert got is not None, f"no why_not entry for {want['rule']}: {[e['rule'] for e in entries]}"
        _check_span(got["condition"]["span"], got["condition"]["text"])
        for key in ("stage", "would_give", "verdict", "result"):
            if key in want:
                assert got[key] == want[key], (key, got[key])
        if "condition" in want:
            assert got["condition"]["text"] == want["condition"]
        found = leaves(got["failed"])
        for leaf in found:
            _check_span(leaf["span"], leaf["condition"])
        for wl in want.get("leaves") or []:
            match = [x for x in found if x["condition"] == wl["condition"]]
            assert match, f"{want['rule']}: no failing condition {wl['condition']!r} in {[x['condition'] for x in found]}"
            leaf = match[0]
            for key in ("clause", "via"):
                if key in wl:
                    assert leaf[key] == wl[key], (key, leaf[key])
            if "facts" in wl:
                _subset(wl["facts"], leaf["facts"], "facts")
            if "changes" in wl:
                _subset(wl["changes"], leaf["changes"], "changes")
            if "requirement" in wl:
                assert wl["requirement"] in leaf["requirement"], leaf["requirement"]
    unknown = {u["fact"]: u for u in decision["unknown_facts"]}
    assert sorted(unknown) == decision["missing_facts"]
    for fact, what in (expect.get("unknown") or {}).items():
        assert unknown[fact]["could_change"] == what, unknown[fact]
    for fact, texts in (expect.get("unknown_effects") or {}).items():
        for t in texts:
            assert t in [x["text"] for x in unknown[fact]["effects"]], unknown[fact]
    order = [u["fact"] for u in decision["unknown_facts"]]
    for a, b in expect.get("unknown_before") or []:
        assert order.index(a) < order.index(b), order
    for target, want in (expect.get("breakdown") or {}).items():
        b = decision["deadlines"][target]["breakdown"]
        assert b["counted_seconds"] == want["counted_seconds"]
        assert sum(d["counted_seconds"] for d in b["days"]) == b["counted_seconds"]
        days = {d["date"]: d for d in b["days"]}
        for date, seconds in (want.get("days") or {}).items():
            assert days[date]["counted_seconds"] == seconds, days[date]
        for date, kind in (want.get("kinds") or {}).items():
            assert days[date].get("kind") == kind, days[date]
        for date, name in (want.get("names") or {}).items():
            assert days[date].get("name") == name, days[date]
        if "skipped" in want:
            assert [{k: s[k] for k in ("date", "kind")} for s in b["skipped"]] == want["skipped"]
    for rule, facts in (expect.get("explanation_facts") or {}).items():
        entry = next(e for e in decision["explanation"] if e.get("rule") == rule and e["result"] == "fired")
        _subset(facts, entry["facts"], rule)
    text = render_text(decision, policy.compiled)
    for line in expect.get("text") or []:
        assert line in text, f"{line!r} not in:\n{text}"


def test_explain_off_has_no_explanation_only_keys():
    policy = load_policy("bitrix-ua")
    ticket = CASES[0]["ticket"]
    off = policy.evaluate(ticket, explain=False)
    assert "why_not" not in off and "unknown_facts" not in off and off["explanation"] == []
    assert all("breakdown" not in (d or {}) for d in off["deadlines"].values())
    on = policy.evaluate(ticket, explain=True, unknown_facts=True)
    assert on["why_not"] and on["unknown_facts"]
    plain = policy.evaluate(ticket)  # explained, but unknown_facts only when asked for (it re-decides)
    assert plain["why_not"] == on["why_not"] and "unknown_facts" not in plain


def test_unknown_facts_are_asked_for_on_the_cli_and_over_http():
    import json

    from click.testing import CliRunner
    from slapolicy.cli import main
    from slapolicy.service.app import create_app

    ticket = json.dumps(CASES[0]["ticket"], default=str)
    runner = CliRunner()
    plain = json.loads(runner.invoke(main, ["evaluate", "--policy", "bitrix-ua", "-"], input=ticket).output)
    asked = json.loads(runner.invoke(main, ["evaluate", "--policy", "bitrix-ua", "--unknown-facts", "-"],
                                     input=ticket).output)
    assert "unknown_facts" not in plain and asked["unknown_facts"]
    import sys
    import urllib.error
    import urllib.request

    sys.path.insert(0, str(Path(__file__).parent))
    from live import LiveServer

    server = LiveServer(create_app(reload_interval=0))
    try:
        def post(query=""):
            request = urllib.request.Request(f"{server.url}/v1/policies/bitrix-ua/evaluate{query}", data=ticket.encode(),
                                             headers={"Content-Type": "application/json"}, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:
                    return answer.status, json.loads(answer.read())
            except urllib.error.HTTPError as exc:
                return exc.code, json.loads(exc.read())

        assert "unknown_facts" not in post()[1]
        assert post("?unknown_facts=true")[1]["unknown_facts"]
        assert post("?unknown_facts=maybe")[0] == 422
    finally:
        server.stop()


def test_cli_explain_and_json_say_why_the_special_tier_was_not_given(tmp_path):
    """Done-when of issue 18: the text and the JSON both say coupon.used is 15 and must be below 15 (2.4)."""
    import json

    from click.testing import CliRunner

    from slapolicy.cli import main

    path = tmp_path / "t.json"
    path.write_text(json.dumps(CASES[0]["ticket"]), "utf-8")
    runner = CliRunner()
    text = runner.invoke(main, ["explain", "--policy", "bitrix-ua", str(path)])
    assert text.exit_code == 0, text.output
    assert "`customer.coupon.used` is 15; it must be below 15" in text.output
    assert "clause 2.4" in text.output.split("Why not:")[1].split("\n")[2]
    out = runner.invoke(main, ["evaluate", "--policy", "bitrix-ua", str(path)])
    decision = json.loads(out.output)
    leaf = leaves(decision["why_not"][0]["failed"])[0]
    assert decision["why_not"][0]["would_give"] == "special_request"
    assert (leaf["condition"], leaf["clause"], leaf["facts"]) == ("customer.coupon.used < 15", "2.4",
                                                                  {"customer.coupon.used": 15})
    assert leaf["changes"][0]["to"] == 14 and leaf["changes"][0]["bound"] == "at most"


KYIV = zoneinfo.ZoneInfo("Europe/Kyiv")


def _k(text):
    return dt.datetime.fromisoformat(text).astimezone(dt.timezone.utc)


def test_breakdown_skips_a_named_holiday_and_subtracts_pauses():
    # UA 2021: Mon 23 Aug a transferred day off, Tue 24 Aug Independence Day; office Mon-Fri 09:00-18:00.
    cal = Calendar.from_spec({"timezone": "Europe/Kyiv", "week": {"mon-fri": "09:00-18:00"}, "holidays": "UA"})
    start = _k("2021-08-20T16:00:00+03:00")  # Friday
    target = Target("business_hours", 5)
    pauses = [(_k("2021-08-25T09:30:00+03:00"), _k("2021-08-25T10:30:00+03:00"))]
    due = cal.add(start, target, pauses)
    b = breakdown(cal, target, start, due, pauses)
    days = {d["date"]: d for d in b["days"]}
    assert days["2021-08-20"]["counted_seconds"] == 2 * 3600  # 16:00-18:00
    assert days["2021-08-24"]["kind"] == "holiday" and "Independence" in days["2021-08-24"]["name"]
    assert [s["date"] for s in b["skipped"]] == ["2021-08-21", "2021-08-22", "2021-08-23", "2021-08-24"]
    # Wed 25 Aug: 09:00-09:30, paused 09:30-10:30, then 10:30-13:00 -> 3 h, due 13:00
    assert days["2021-08-25"]["counted_seconds"] == 3 * 3600
    assert due.astimezone(KYIV).isoformat() == "2021-08-25T13:00:00+03:00"
    assert b["counted_seconds"] == 5 * 3600 == cal.business_seconds_between(start, due, pauses)
    assert b["pauses"] == [{"from": "2021-08-25T09:30:00+03:00", "to": "2021-08-25T10:30:00+03:00", "open_seconds": 3600}]


def _policy_test_tickets():
    from slapolicy.tools.testing import load_cases

    for tests in sorted((ROOT / "policies").glob("*.tests.yaml")):
        for case, line in load_cases(tests):
            if isinstance(case, dict) and isinstance(case.get("ticket"), dict):
                yield tests.name.split(".tests.")[0], line, case["ticket"]


def _registered(items):
    """(policy id, where, compiled policy, normalised ticket, registration's decision, run, tier) of each
    (policy id, where, ticket) the policy accepts as a ticket"""
    from slapolicy.decide.registration import register
    from slapolicy.decide.tickets import validate_ticket
    from slapolicy.language.diagnostics import TicketError

    for pid, where, ticket in items:
        policy = load_policy(pid).compiled
        try:
            normal = validate_ticket(ticket, policy.vocabulary)
        except TicketError:
            continue
        yield (pid, where, policy, normal, *register(policy, normal, True))


def test_unknown_facts_equal_the_straightforward_computation_on_every_policy_test_ticket():
    """The optimised unknown_facts (readers of the changed facts, stages decided again from the generated
    functions only when one of them moves) gives what deciding every value tried again in full gives."""
    from slapolicy.decide.unknown import unknown_facts, unknown_facts_reference

    compared = with_effects = 0
    for pid, line, policy, normal, decision, run, _ in _registered(_policy_test_tickets()):
        decision = {**decision, "explanation": run.explanation}
        got = unknown_facts(policy, normal, decision, run.env.stage)
        assert got == unknown_facts_reference(policy, normal, decision, run.env.stage), f"{pid} case at line {line}"
        compared += 1
        with_effects += any(e["effects"] for e in got)
    assert compared > 250 and with_effects > 100, (compared, with_effects)


def test_why_not_given_registrations_tier_rule_equals_why_not_testing_the_tier_rules_again():
    """why_not lists the tier rules ranked before the one that fired: told which one by registration (its run's
    `tier_rule`, what an explained decision does) or finding it by testing the chosen tier's rules again, the
    entries are the same, on every policy test ticket and on generated tickets; some stop before the last rule"""
    from slapolicy.api import policy_ids
    from slapolicy.decide.whynot import why_not
    from slapolicy.tools.corpus import generate

    items = list(_policy_test_tickets())
    items += [(pid, i, t) for pid in policy_ids() for i, t in enumerate(generate(load_policy(pid), 150, 17))]
    compared = told = early = 0
    for pid, where, policy, normal, decision, run, tier in _registered(items):
        if tier is None:
            continue
        assert run.tier_rule is not None and run.tier_rule.tier == tier.id
        got = why_not(policy, normal, decision, run.env.stage, False, run.tier_rule)
        assert got == why_not(policy, normal, decision, run.env.stage, False), (pid, where)
        compared += 1
        told += any(e["stage"] == "tier_rules" for e in got)
        early += run.tier_rule is not policy.tier_rules[-1]
    assert compared > 500 and told > 100 and early > 100, (compared, told, early)


def test_a_condition_read_by_local_date_has_one_value_a_date_and_is_evaluated_once_a_date():
    """why_not's search evaluates a condition once per local date when it reads `created_at` only through
    date() / days_between() (slapolicy.decide.dated): every such condition of the bundled policies has the
    same value at the first, a middle and the last second of a local date"""
    from slapolicy.api import policy_ids
    from slapolicy.decide.dated import by_local_date, dated_only
    from slapolicy.decide.tickets import validate_ticket
    from slapolicy.decide.whynot import Analysis, patched, trees, walk_through_definitions
    from slapolicy.language import ast
    from slapolicy.tools.corpus import generate

    def reads_created_at(t, path):
        return any(isinstance(n, ast.Path) and (e.resolved.get(id(n)) or (None, None))[0] == "field"
                   and tuple(e.resolved[id(n)][1]) == ("created_at",) for e, n in walk_through_definitions(t, path))

    kinds = set()
    for pid in policy_ids():
        policy = load_policy(pid)
        compiled, t = policy.compiled, trees(policy.compiled)
        tz = compiled.timezone
        tickets = generate(policy, 12, 3)
        for path in t.paths.values():
            expr = t.checked.exprs.get(path)
            if expr is None or not reads_created_at(t, path):
                continue
            dated = dated_only(t, expr, expr.tree, "created_at")
            kinds.add(dated)
            if not dated:
                continue
            for ticket in tickets:
                d = policy.evaluate(dict(ticket), explain=False)
                status = d["eligibility"]["status"]
                stage = {"accepted": status != "not_accepted", "eligibility": status,
                         "tier": d["tier"]["id"] if d["tier"] else None}
                a = Analysis(compiled, validate_ticket(dict(ticket)), stage)
                day = a.ticket["created_at"].astimezone(tz).date()
                instants = [dt.datetime.combine(day, at, tz).astimezone(dt.timezone.utc)
                            for at in (dt.time(0, 0, 0), dt.time(12, 30), dt.time(23, 59, 59))]
                values = {repr(a.ev(expr, expr.tree, ticket=patched(a.ticket, "created_at", v))) for v in instants}
                assert len(values) == 1, (pid, path, day, values)
    assert kinds == {True, False}  # the bundle has both kinds of condition

    calls = []
    once = by_local_date(lambda v: calls.append(v) or len(calls), zoneinfo.ZoneInfo("Europe/Kyiv"))
    morning = dt.datetime(2026, 3, 10, 5, 0, tzinfo=dt.timezone.utc)  # 07:00 in Kyiv (UTC+2)
    late = dt.datetime(2026, 3, 10, 21, 30, tzinfo=dt.timezone.utc)  # 23:30 in Kyiv: the same local date
    after = dt.datetime(2026, 3, 10, 22, 30, tzinfo=dt.timezone.utc)  # 00:30 on 11 March in Kyiv
    assert [once(morning), once(late), once(after), once(morning)] == [1, 1, 2, 1]
    assert calls == [morning, after]


def _solver_against_probe(monkeypatch, policies, n):
    """Every answer of slapolicy.decide.nearest.solve during the explained decisions of `n` generated tickets of
    each policy, with the probe's answer for the same condition and fact: {shape: [solved, unsolved]}, and
    the disagreements."""
    from slapolicy.decide import closedform, nearest, whynot
    from slapolicy.tools.corpus import generate

    real = nearest.solve
    seen, wrong = {}, []

    def held_to_the_probe(found, value_of, want, dotted, kind, current, holds, base, tz):
        got = real(found, value_of, want, dotted, kind, current, holds, base, tz)
        key = (found[0], tuple(s[0] for s in found[1]))
        counts = seen.setdefault(key, [0, 0])
        if got is nearest.UNSOLVED:
            counts[1] += 1
            return got
        counts[0] += 1
        reference = nearest.probe(kind, dotted, current, holds, base, tz)
        if got != reference:
            wrong.append((dotted, current, want, got, reference))
        return got

    monkeypatch.setattr(whynot, "solve", held_to_the_probe)
    monkeypatch.setattr(closedform, "leaf", lambda *args: None)  # (it answers most of these shapes first)
    for policy in policies:  # (every answer computed: none kept from an earlier ticket)
        monkeypatch.setattr(whynot.trees(policy.compiled), "answers", _NeverKeeps())
        for ticket in generate(policy, n, 5):
            policy.evaluate(ticket, as_of="2026-06-01T00:00:00Z")
    return seen, wrong


def test_the_direct_nearest_change_is_the_probes_answer_on_generated_tickets(monkeypatch):
    """why_not's direct solver (slapolicy.decide.nearest.solve) gives what the probe gives, for every
    comparison it solves, on generated tickets of the five policies and of tests/fixtures/nearest.yaml (the
    shapes it solves and some it leaves to the probe: months added to a timestamp)"""
    from slapolicy.api import policy_ids

    bundled = [load_policy(pid) for pid in policy_ids()]
    seen, wrong = _solver_against_probe(monkeypatch, bundled, 200)
    assert not wrong, wrong[:3]
    solved, unsolved = sum(s for s, _ in seen.values()), sum(u for _, u in seen.values())
    assert solved > 200 and unsolved * 10 < solved, seen  # (all solved today)
    seen, wrong = _solver_against_probe(monkeypatch, [_policy("tests/fixtures/nearest.yaml")], 300)
    assert not wrong, wrong[:3]
    solved = {key for key, (s, _) in seen.items() if s}
    assert {("<=", ("date", "after")), (">", ("before",)), (">=", ("date", "add")), ("<", ("add",)),
            ("<", ()), (">", ("after",))} <= solved, seen
    assert seen[(">", ("add",))][1] > 0  # created_at + 1 month: left to the probe


def test_explained_decisions_are_the_same_with_and_without_the_direct_solver(monkeypatch):
    """The explained decisions of generated tickets (why_not's changes included) with every nearest change
    probed (the solver and the closed form of slapolicy.decide.closedform off) equal those with both on"""
    from slapolicy.api import policy_ids
    from slapolicy.decide import closedform, whynot
    from slapolicy.tools.corpus import generate

    policies = [load_policy(pid) for pid in policy_ids()] + [_policy("tests/fixtures/nearest.yaml")]
    tickets = {p.id: generate(p, 120, 11) for p in policies}
    solved = [p.evaluate(t, as_of="2026-06-01T00:00:00Z") for p in policies for t in tickets[p.id]]
    monkeypatch.setattr(whynot, "shape", lambda *args: None)
    monkeypatch.setattr(closedform, "leaf", lambda *args: None)
    for p in policies:  # (else the kept answers of the first pass would be the second's)
        whynot.trees(p.compiled).answers.clear()
    probed = [p.evaluate(t, as_of="2026-06-01T00:00:00Z") for p in policies for t in tickets[p.id]]
    assert sum(len(d.get("why_not") or []) for d in solved) > 300
    assert solved == probed


def test_explained_decisions_are_the_same_without_the_kept_answers_and_the_generated_pretests(monkeypatch):
    """why_not's kept answers (a rule's answer for the same values of the facts its condition reads) and the
    explained registration's pre-tests by generated code change no explained decision; a kept answer is a
    copy (changing a decision changes no later one)"""
    from slapolicy.api import policy_ids
    from slapolicy.decide import registration, whynot
    from slapolicy.tools.corpus import generate

    policies = [load_policy(pid) for pid in policy_ids()] + [_policy("tests/fixtures/nearest.yaml")]
    tickets = {p.id: generate(p, 150, 13) for p in policies}
    for p in policies:
        p.evaluate(tickets[p.id][0])  # the first explained decision of an edition runs its closures only
    kept = []
    for p in policies:
        whynot.trees(p.compiled).answers.clear()
        for t in tickets[p.id]:
            first = p.evaluate(t, as_of="2026-06-01T00:00:00Z")
            again = p.evaluate(t, as_of="2026-06-01T00:00:00Z")  # its why_not from the kept answers
            assert again == first
            for entry in first.get("why_not") or []:
                entry["failed"], entry["condition"]["span"]["line"] = None, -1
            kept.append(p.evaluate(t, as_of="2026-06-01T00:00:00Z"))
            assert kept[-1] == again
        assert whynot.trees(p.compiled).answers
        assert registration._pretested(p.compiled), p.id
    monkeypatch.setattr(whynot._Trees, "inputs", lambda self, expr, node: None)  # no answer kept
    for p in policies:  # (nor a key function made before; they are back after the test)
        monkeypatch.setattr(whynot.trees(p.compiled), "keys", {})
        monkeypatch.setattr(whynot.trees(p.compiled), "plans", {})
    monkeypatch.setattr(registration, "_pretested", lambda policy: None)  # every condition by its closure
    plain = [p.evaluate(t, as_of="2026-06-01T00:00:00Z") for p in policies for t in tickets[p.id]]
    assert sum(len(d.get("why_not") or []) for d in plain) > 300
    assert kept == plain


@pytest.mark.parametrize("spec,target", [
    ({"timezone": "Europe/Kyiv", "week": {"mon-fri": "09:00-18:00"}, "holidays": "UA"}, Target("business_hours", 200)),
    ({"timezone": "Europe/Kyiv", "week": {"mon-fri": "08:00-24:00", "sat": "00:00-24:00"}}, Target("business_hours", 250)),
    ({"timezone": "Europe/Moscow", "week": "24x7", "holidays": "RU"}, Target("elapsed_days", 30)),
])
def test_a_breakdowns_whole_days_are_the_days_counted_one_by_one(spec, target):
    """The days wholly inside a breakdown without pauses come from a per-day cache; with a pause (here one
    that holds nothing, before the start) every day is counted from the clipped spans: the same rows"""
    cal = Calendar.from_spec(spec)
    for start in ("2025-12-19T16:20:00+02:00", "2026-03-27T23:59:30+02:00", "2026-10-23T00:00:00+03:00",
                  "2026-04-30T10:00:00.250000+03:00"):
        begin = _k(start)
        due = cal.add(begin, target)
        nothing = [(begin - dt.timedelta(days=2), begin - dt.timedelta(days=1))]
        cached, counted = breakdown(cal, target, begin, due), breakdown(cal, target, begin, due, nothing)
        assert len(cached["days"]) > 10
        assert {**cached, "pauses": None} == {**counted, "pauses": None}
        assert [list(r) for r in cached["days"]] == [list(r) for r in counted["days"]]  # keys in order too


def test_the_kept_answers_are_stored_at_their_own_size_and_none_is_keyed_by_an_instant():
    """why_not keys no answer by an instant (no two tickets share one: such answers would only fill memory): a
    condition that reads created_at by its local date only is keyed by that date (its answers templates of the
    instant's text), any other condition on a timestamp is never kept; what it keeps takes about its own size
    (orjson's bytes keep a 4 KiB buffer: 8,192 answers held ~70 MB)"""
    import tracemalloc

    from slapolicy.decide import shared, whynot, whytrees
    from slapolicy.tools.corpus import generate

    policy = load_policy("bitrix-inc")
    tickets = generate(policy, 400, 21)
    policy.evaluate(tickets[0])
    trees = whynot.trees(policy.compiled)
    trees.answers.clear()
    for _, use in trees.stamps.values():  # (an earlier test's tickets may have turned the templates off)
        use[:] = [0, 0, 0]
    tracemalloc.start()
    try:
        for t in tickets:
            policy.evaluate(t)
            policy.evaluate(t, shared=True)  # (its entries kept whole: (orjson.Fragment, JSON))
        snapshot = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    files = [tracemalloc.Filter(True, name) for name in (whynot.__file__, whytrees.__file__, shared.__file__,
                                                          "<slapolicy:why_not:key>")]  # (the generated keys)
    held = sum(s.size for f in files for s in snapshot.filter_traces([f]).statistics("filename"))
    stored = sum(sum(len(x) for x in k if isinstance(x, (bytes, str))) + len(v[1] if isinstance(v, tuple) else v)
                 for k, v in trees.answers.items())
    assert any(isinstance(v, tuple) for v in trees.answers.values())
    assert len(trees.answers) > 50 and held < 3 * stored + 100_000, (len(trees.answers), held, stored)
    read = [inputs for inputs in trees._inputs.values() if inputs is not None]
    kinds = {getattr(whynot.field_type(".".join(f)), "kind", None) for inputs in read for f in inputs[0]}
    assert kinds and "timestamp" not in kinds
    dated = {".".join(inputs[2]) for inputs in read if len(inputs) > 2}  # (keyed by the local date instead)
    assert dated == {"created_at"}, dated

    def instants(value):
        if isinstance(value, tuple):
            return any(instants(v) for v in value)
        return isinstance(value, dt.datetime)
    assert not any(instants(k) for k in trees.answers)
    assert any(isinstance(v, whynot.Dated) for v in trees.answers.values())


def test_an_answer_kept_under_a_local_date_is_what_each_instant_of_that_date_gets_computed():
    """A condition that reads created_at by its local date only (bitrix-ua's and bitrix-inc's coupon validity)
    keeps its why_not answers under that date, as templates of the instant's text: the tickets of one date at
    other instants get the same decisions, byte for byte, as with no answer kept; and templates were used"""
    import orjson

    from slapolicy.decide import whynot

    zone = {"bitrix-ua": "+02:00", "bitrix-inc": "+03:00"}
    times = ("T00:00:00", "T06:15:00", "T12:00:00.250000", "T18:30:00.250000", "T23:59:59")
    variants = []
    for pid, _, ticket in _policy_test_tickets():
        if pid in zone and isinstance(ticket.get("created_at"), str) and not ticket.get("events"):
            day = ticket["created_at"][:10]
            variants += [(pid, {**ticket, "created_at": day + t + zone[pid]}) for t in times]
    policies = {pid: load_policy(pid) for pid in zone}

    def decide_all():
        out = []
        for pid, t in variants:
            for shared in (True, False):
                try:
                    out.append(orjson.dumps(policies[pid].evaluate(t, shared=shared)))
                except Exception as e:  # (a ticket the policy refuses: refused alike both times)
                    out.append(repr(e).encode())
        return out

    for p in policies.values():
        whynot.trees(p.compiled).answers.clear()
        for _, use in whynot.trees(p.compiled).stamps.values():  # (on again, whatever earlier tests did)
            use[:] = [0, 0, 0]
    kept = decide_all()
    checked = sum(isinstance(v, whynot.Dated) and v.checked for p in policies.values()
                  for v in whynot.trees(p.compiled).answers.values())
    for p in policies.values():
        whynot.trees(p.compiled).answers = _NeverKeeps()
    try:
        computed = decide_all()
    finally:
        for p in policies.values():
            whynot.trees(p.compiled).answers = {}
    assert len(variants) > 100 and checked > 20, (len(variants), checked)
    assert kept == computed


class _NeverKeeps(dict):
    """an answers dict that keeps nothing (every why_not answer computed)"""
    def __setitem__(self, key, value):
        pass


def test_a_template_whose_instant_shows_elsewhere_is_not_kept():
    """Dated: the same instant gets the answer as it is; another instant only once a computation for one such
    instant equals the filled template; a computation that differs (the text in a place that is not the instant's)
    makes the key's answers never kept"""
    from slapolicy.decide.whynot import Dated

    use = [0, 0, 0]
    kept = Dated(b'{"facts":{"created_at":"X"},"text":"from X"}', b"X", use)
    assert kept.known(b"X") == b'{"facts":{"created_at":"X"},"text":"from X"}' and kept.known(b"Y") is None
    answers = {"k": kept}
    kept.check(answers, "k", b"Y", b'{"facts":{"created_at":"Y"},"text":"from Y"}')
    assert kept.checked and kept.known(b"Z") == b'{"facts":{"created_at":"Z"},"text":"from Z"}'
    other = Dated(b'{"a":"X","b":"X"}', b"X", use)  # (the second X: a value that is not the instant's)
    answers = {"k": other}
    other.check(answers, "k", b"Y", b'{"a":"Y","b":"X"}')
    assert answers["k"] == b"" and not other.checked
    assert use == [2, 3, 0]  # (made 2; given 3: X as it is, Y checked, Z filled)


def test_templates_seldom_used_are_turned_off_and_their_answers_computed():
    """On tickets that share no local date (generated over years), a node's Dated templates are turned off
    after a trial of DATED_TRIAL of them (its key function gives None: not kept), for DATED_OFF calls, then
    tried again; on the same tickets again and again they stay on. The decisions are the same either way."""
    import orjson

    from slapolicy.decide import whynot
    from slapolicy.tools.corpus import generate

    policy = load_policy("bitrix-ua")
    tickets = generate(policy, 400, 31)
    trees = whynot.trees(policy.compiled)
    trees.answers.clear()
    for _, use in trees.stamps.values():
        use[:] = [0, 0, 0]
    fresh = [orjson.dumps(policy.evaluate(t, shared=True)) for t in tickets]
    assert trees.stamps and any(use[2] for _, use in trees.stamps.values()), trees.stamps
    trees.answers = _NeverKeeps()
    try:
        assert fresh == [orjson.dumps(policy.evaluate(t, shared=True)) for t in tickets]
    finally:
        trees.answers = {}
    for _, use in trees.stamps.values():
        use[:] = [0, 0, 0]
    few = [t for t in _policy_test_tickets() if t[0] == "bitrix-ua" and not t[2].get("events")][:20]
    for _ in range(10):
        for _, _, t in few:
            policy.evaluate(t, shared=True)
    assert not any(use[2] for _, use in trees.stamps.values()) and any(use[1] for _, use in trees.stamps.values())
