"""The same decision in slapolicy and in the engines a user would pick instead, side by side.

    python bench/peers.py [--n 10000] [--seed 7] [--repeat 3]

The decision: eligibility (acceptance, then the first scope rule) and tier (the first tier rule)
of the bitrix-inc policy (policies/bitrix-inc.yaml, edition 1.0.0), on generated tickets
(slapolicy.tools.corpus, the generator of `slapolicy corpus generate`). Implemented as:

  slapolicy, full      slapolicy.api Policy.evaluate(ticket, explain=False): validation, eligibility,
                       tier, deadlines, delay reasons, notices (more work than the peers do)
  slapolicy, explain   the same with the explanation on
  slapolicy, bare      the engine's answer-only function (slapolicy.decide.classify, Policy.classify_validated)
                       on tickets validated beforehand: status and tier only, the first refusal ends it
  slapolicy, elig+tier the fused eligibility + tier function the generated decision starts with: with every
                       refusal and the missing facts
  hand-written Python  the floor: one function written for bitrix-inc, on validated tickets
  GoRules ZEN          zen-engine, a JDM graph of two decision tables (hit policy first)
  Rego                 regopy (rego-cpp), a compiled bundle queried per ticket
  durable-rules        slapolicy.backends.durable (the rules as a durable ruleset), stages 1-3 only

All of them must agree on every ticket (eligibility status and tier id) before anything is timed;
disagreements are printed and the script exits 1. A peer that is not installed or does not run on
this Python is reported and skipped. Timing: one core, best of --repeat runs over all tickets.
"""
from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402

from bench._common import fmt_rate, fmt_us, generated_tickets, machine, optional, table, timed  # noqa: E402

POLICY = "bitrix-inc"

# -- the bitrix-inc tier table, written by hand once per peer (edition 1.0.0) ----------------------
OFFICIAL_CHANNELS = ("portal", "email")
# scope rules in order: (segments or None, topics, status); the default is in_scope
SCOPE = [
    (None, ("project_maintenance", "previous_integrator_rework", "minor_fixes"), "out_of_scope"),
    (None, ("third_party_software", "third_party_failure"), "out_of_scope"),
    (None, ("web_design", "site_development", "application_development", "custom_development",
            "business_process_development", "hosting"), "out_of_scope"),
    (None, ("installation_work", "server_tuning", "sysadmin"), "out_of_scope"),
    (("non_commercial", "demo"), ("design_integration", "api_usage"), "out_of_scope"),
    (None, ("migration", "server_diagnostics"), "out_of_scope"),
    (None, ("load_testing", "code_optimization"), "out_of_scope"),
    (None, ("update_connectivity",), "out_of_scope"),
    (None, ("installation_error", "database_error", "server_software_error"), "out_of_scope"),
    (None, ("general_programming", "payment_integration"), "out_of_scope"),
    (None, ("meeting", "staff_training"), "out_of_scope"),
    (None, ("billing", "presales"), "in_scope"),
    (None, ("product_error",), "in_scope"),
    (None, ("installation_consulting", "performance_consulting"), "in_scope"),
    (None, ("update_license_key", "update_failure"), "in_scope"),
    (None, ("design_integration", "api_usage"), "in_scope"),
    (None, ("functionality", "licensing", "security_settings", "feature_request"), "in_scope"),
    (None, ("basic_usage", "implementation_consulting", "portal_admin"), "in_scope"),
]
VIP_EDITIONS = ("premium", "ultimate")


# -- the floor: a hand-written function -----------------------------------------------------------

def _plus_year(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


_DAY = dt.timedelta(days=30)
_SCOPE_BY_TOPIC = {}  # topic -> [(segments or None, status)] in rule order
for _segments, _topics, _status in SCOPE:
    for _topic in _topics:
        _SCOPE_BY_TOPIC.setdefault(_topic, []).append((_segments, _status))


def floor(t: dict) -> tuple:
    """bitrix-inc eligibility and tier, on a validated ticket (slapolicy.decide.tickets.validate_ticket)."""
    channel = t["channel"]
    if channel not in OFFICIAL_CHANNELS:
        return "not_accepted", None
    c = t.get("customer") or {}
    segment = c.get("segment")
    purchased = c.get("license_purchased_at")
    if segment == "commercial":
        if c.get("license_active") is False or (purchased is not None and
                                                 t["created_at"].date() >= _plus_year(purchased)):
            return "not_accepted", None  # bitrix-inc counts in UTC; validated instants are UTC
    elif segment in ("non_commercial", "demo") and purchased is not None and t["created_at"].date() >= purchased + _DAY:
        return "not_accepted", None
    status = "in_scope"
    for segments, value in _SCOPE_BY_TOPIC.get(t.get("topic"), ()):
        if segments is None or segment in segments:
            status = value
            break
    escalation = t.get("escalation")
    if escalation == "consulting" or status == "out_of_scope":
        return status, "consulting"
    sender, licence = t.get("sender_email"), c.get("license_email")
    identified = (channel != "email" or t.get("sender_authorized") is True
                  or (sender is not None and licence is not None and sender.lower() == licence.lower()))
    vip_customer = segment == "commercial" and c.get("edition") in VIP_EDITIONS and identified
    if vip_customer:
        issued = (c.get("coupon") or {}).get("issued_at")
        if t.get("special_request") is True and issued is not None and t["created_at"].date() < _plus_year(issued):
            return status, "vip_request"
        return status, "vip"
    if escalation == "development" and segment in ("partner", "commercial") and identified:
        return status, "development"
    if identified and segment == "partner":
        return status, "partner"
    if identified and segment == "commercial":
        return status, "commercial"
    return status, "non_commercial"


# -- slapolicy, bare: the engine's generated rule functions in the stage order ---------------------

def slapolicy_bare(compiled):
    """eligibility and tier by the engine's answer-only function, classify (slapolicy.decide.classify, what
    Policy.classify_validated runs): one generated function per policy edition, the decision trees over topic,
    segment..., acceptance stopping at the first refusal, no missing facts, no reasons, no output; on validated
    tickets. It measures what the floor computes: the status and the tier id, nothing else."""
    from slapolicy.decide.classify import classifier

    return classifier(compiled)


def slapolicy_eligibility_tier(compiled):
    """eligibility and tier by the fused eligibility + tier function the policy's generated decision starts with
    (slapolicy.decide.fastpath): more than the floor does, every acceptance rule that refuses (the floor stops at
    the first) and the missing facts a decision must report (the floor lists none)"""
    from slapolicy.decide.evaluate import fast_decider

    head = fast_decider(compiled).eligibility_tier
    statuses = tuple(r.status for r in compiled.scope) + (None,)  # index -1 (no rule fired): None
    tiers = tuple(r.tier for r in compiled.tier_rules) + (None,)

    def decide(t):
        hits, i, j, m = head(t)
        if hits:
            return "not_accepted", None
        return statuses[i], tiers[j]
    return decide


def slapolicy_rule_functions(compiled):
    """the same from the per-rule generated functions (Rule.fast) in stage order, without dispatch"""
    acceptance = tuple(r.fast for r in compiled.acceptance)
    scope = tuple((r.fast, r.status) for r in compiled.scope)
    tiers = tuple((r.fast, r.tier) for r in compiled.tier_rules)

    def decide(t):
        s = {}
        for f in acceptance:
            if f is None or f(t, s) is True:
                return "not_accepted", None
        s["accepted"] = True
        status = None
        for f, value in scope:
            if f is None or f(t, s) is True:
                status = value
                break
        s["eligibility"] = status
        for f, tier in tiers:
            if f is None or f(t, s) is True:
                return status, tier
        return status, None
    return decide


# -- GoRules ZEN: a JDM graph of two decision tables, hit policy first ------------------------------

def _zen_list(values) -> str:
    return ", ".join(json.dumps(v) for v in values)


def zen_jdm() -> dict:
    over_year = ('customer.license_purchased_at != null and d(created_at).startOf("day") >= '
                 'd(customer.license_purchased_at).add(1, "y")')
    over_30 = ('customer.license_purchased_at != null and d(created_at).startOf("day") >= '
               'd(customer.license_purchased_at).add(30, "d")')
    identified = ('channel != "email" or sender_authorized == true or (sender_email != null and '
                  'customer.license_email != null and lower(sender_email) == lower(customer.license_email))')
    coupon = ('customer.coupon.issued_at != null and d(created_at).startOf("day") < '
              'd(customer.coupon.issued_at).add(1, "y")')
    blank = {"ch": "", "seg": "", "topic": "", "active": "", "y1": "", "d30": ""}
    rows = [dict(blank, ch=f"not ($ in [{_zen_list(OFFICIAL_CHANNELS)}])", out='"not_accepted"'),
            dict(blank, seg='"commercial"', y1="true", out='"not_accepted"'),
            dict(blank, seg='"commercial"', active="false", out='"not_accepted"'),
            dict(blank, seg='"non_commercial", "demo"', d30="true", out='"not_accepted"')]
    for segments, topics, status in SCOPE:
        rows.append(dict(blank, seg=_zen_list(segments) if segments else "", topic=_zen_list(topics),
                         out=json.dumps(status)))
    rows.append(dict(blank, out='"in_scope"'))
    tier_blank = {"el": "", "esc": "", "seg": "", "sr": "", "vip": "", "cpn": "", "idf": ""}
    tier_rows = [dict(tier_blank, el='"not_accepted"', tier="null"),
                 dict(tier_blank, esc='"consulting"', tier='"consulting"'),
                 dict(tier_blank, el='"out_of_scope"', tier='"consulting"'),
                 dict(tier_blank, sr="true", vip="true", cpn="true", tier='"vip_request"'),
                 dict(tier_blank, vip="true", tier='"vip"'),
                 dict(tier_blank, esc='"development"', seg='"partner", "commercial"', idf="true", tier='"development"'),
                 dict(tier_blank, seg='"partner"', idf="true", tier='"partner"'),
                 dict(tier_blank, seg='"commercial"', idf="true", tier='"commercial"'),
                 dict(tier_blank, tier='"non_commercial"')]

    def node(node_id, name, inputs, output, rules, x):
        return {"id": node_id, "type": "decisionTableNode", "name": name, "position": {"x": x, "y": 0},
                "content": {"hitPolicy": "first", "passThrough": True, "inputField": None, "outputPath": None,
                            "executionMode": "single",
                            "inputs": [{"id": k, "name": k, "field": f} for k, f in inputs],
                            "outputs": [{"id": output[0], "name": output[0], "field": output[1]}],
                            "rules": [dict({"_id": f"{node_id}-{i}"}, **r) for i, r in enumerate(rules)]}}
    return {"nodes": [
        {"id": "in", "type": "inputNode", "name": "ticket", "position": {"x": 0, "y": 0}},
        node("eligibility", "eligibility",
             [("ch", "channel"), ("seg", "customer.segment"), ("topic", "topic"), ("active", "customer.license_active"),
              ("y1", over_year), ("d30", over_30)], ("out", "eligibility"), rows, 200),
        node("tier", "tier",
             [("el", "eligibility"), ("esc", "escalation"), ("seg", "customer.segment"), ("sr", "special_request"),
              ("vip", f'customer.segment == "commercial" and customer.edition in [{_zen_list(VIP_EDITIONS)}] '
                      f'and ({identified})'),
              ("cpn", coupon), ("idf", identified)], ("tier", "tier"), tier_rows, 400),
        {"id": "out", "type": "outputNode", "name": "decision", "position": {"x": 600, "y": 0}}],
        "edges": [{"id": "e1", "sourceId": "in", "targetId": "eligibility", "type": "edge"},
                  {"id": "e2", "sourceId": "eligibility", "targetId": "tier", "type": "edge"},
                  {"id": "e3", "sourceId": "tier", "targetId": "out", "type": "edge"}]}


def zen_decider(zen):
    decision = zen.ZenEngine().create_decision(json.dumps(zen_jdm()))

    def decide(t):
        result = decision.evaluate(t)["result"]
        return result.get("eligibility"), result.get("tier")

    def engine_seconds(tickets):
        """ZEN's own `performance` figure per evaluation (the graph inside Rust, without the binding)."""
        total = 0.0
        for t in tickets:
            text = decision.evaluate(t)["performance"]
            number = float(text.rstrip("µnmsu").replace(",", "."))
            unit = text[len(text.rstrip("µnmsu")):]
            total += number * {"s": 1, "ms": 1e-3, "µs": 1e-6, "us": 1e-6, "ns": 1e-9}[unit]
        return total / len(tickets)
    decide.engine_seconds = engine_seconds
    return decide


# -- Rego: a compiled bundle --------------------------------------------------------------------

def rego_module() -> str:
    def rset(values):
        return "{" + ", ".join(json.dumps(v) for v in values) + "}"
    scope = []
    for segments, topics, status in SCOPE:
        body = f"input.topic in {rset(topics)}"
        if segments:
            body = f"input.customer.segment in {rset(segments)}\n  {body}"
        scope.append(f'else := "{status}" if {{\n  {body}\n}}')
    scope_chain = " ".join(scope)
    return f'''package bitrix

import rego.v1

day_of(ns) := floor(ns / 86400000000000)

# rego-cpp 1.5.2 leaves time.parse_rfc3339_ns undefined for a "Z" offset: spell it +00:00
created_day := day_of(time.parse_rfc3339_ns(replace(replace(input.created_at, "Z", "+00:00"), "z", "+00:00")))

plus(date, y, d) := day_of(time.add_date(time.parse_ns("2006-01-02", date), y, 0, d))

official if input.channel in {rset(OFFICIAL_CHANNELS)}

refused if not official

refused if {{
  input.customer.segment == "commercial"
  created_day >= plus(input.customer.license_purchased_at, 1, 0)
}}

refused if {{
  input.customer.segment == "commercial"
  input.customer.license_active == false
}}

refused if {{
  input.customer.segment in {{"non_commercial", "demo"}}
  created_day >= plus(input.customer.license_purchased_at, 0, 30)
}}

identified if input.channel != "email"

identified if input.sender_authorized == true

identified if lower(input.sender_email) == lower(input.customer.license_email)

vip_customer if {{
  input.customer.segment == "commercial"
  input.customer.edition in {rset(VIP_EDITIONS)}
  identified
}}

vip_coupon_valid if created_day < plus(input.customer.coupon.issued_at, 1, 0)

eligibility := "not_accepted" if {{
  refused
}} {scope_chain} else := "in_scope"

tier := null if {{
  eligibility == "not_accepted"
}} else := "consulting" if {{
  input.escalation == "consulting"
}} else := "consulting" if {{
  eligibility == "out_of_scope"
}} else := "vip_request" if {{
  input.special_request == true
  vip_customer
  vip_coupon_valid
}} else := "vip" if {{
  vip_customer
}} else := "development" if {{
  input.escalation == "development"
  input.customer.segment in {{"partner", "commercial"}}
  identified
}} else := "partner" if {{
  input.customer.segment == "partner"
  identified
}} else := "commercial" if {{
  input.customer.segment == "commercial"
  identified
}} else := "non_commercial"

decision := [eligibility, tier]
'''


def rego_decider(regopy):
    rego = regopy.Interpreter()
    rego.add_module("bitrix", rego_module())
    bundle = rego.build("x = data.bitrix.decision")
    Input = regopy.Input

    def decide(t):
        rego.set_input(Input(t))
        out = rego.query_bundle(bundle)
        if not out.ok():
            raise RuntimeError(str(out))
        return tuple(json.loads(str(out))["bindings"]["x"])
    return decide


# -- the run ------------------------------------------------------------------------------------

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="generated tickets (default 10000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per engine; the best counts")
    args = parser.parse_args(argv)

    from slapolicy.api import load_policy
    from slapolicy.decide.tickets import validate_ticket

    policy = load_policy(POLICY)
    raw = generated_tickets(policy, args.n, args.seed)
    raw = [json.loads(json.dumps(t)) for t in raw]  # plain JSON objects, as a caller holds them
    normal = [validate_ticket(t) for t in raw]
    print(f"# peers: the {POLICY} eligibility + tier decision (policy {policy.version}, hash {policy.content_hash})")
    print(f"{machine()}; {len(raw)} generated tickets (seed {args.seed}); one core, best of {args.repeat} runs\n")

    def full(t):
        d = policy.evaluate(t, explain=False)
        return d["eligibility"]["status"], (d["tier"] or {}).get("id")

    def full_explained(t):
        d = policy.evaluate(t, explain=True)
        return d["eligibility"]["status"], (d["tier"] or {}).get("id")

    engines = [  # (name, input, what it computes, decide function, tickets)
        ("slapolicy, full decision", "JSON object", "validation + eligibility, tier, deadlines, delay reasons, notices",
         full, raw),
        ("slapolicy, full, explanation on", "JSON object", "the same + explanation", full_explained, raw),
        ("slapolicy, bare tier decision", "validated", "classify: the generated answer-only function, stages 1-3",
         slapolicy_bare(policy.compiled), normal),
        ("slapolicy, eligibility + tier", "validated", "the fused function: every refusal and missing facts",
         slapolicy_eligibility_tier(policy.compiled), normal),
        ("hand-written Python (floor)", "validated", "one function for bitrix-inc", floor, normal),
    ]
    skipped = []
    zen, why = optional("zen", "zen-engine")
    if zen is not None:
        try:
            engines.append(("GoRules ZEN (zen-engine)", "JSON object", "JDM: 2 decision tables, hit policy first",
                            zen_decider(zen), raw))
        except Exception as exc:
            skipped.append(f"zen-engine: {exc}")
    else:
        skipped.append(why)
    regopy, why = optional("regopy", "regopy")
    if regopy is not None:
        try:
            engines.append(("Rego (regopy, rego-cpp)", "JSON object", "compiled bundle, else-chains", rego_decider(regopy), raw))
        except Exception as exc:
            skipped.append(f"regopy: {exc}")
    else:
        skipped.append(why)
    durable, why = optional("slapolicy.backends.durable", "durable-rules")
    if durable is not None:
        try:
            backend = durable.load(POLICY)
            engines.append(("durable-rules (slapolicy.backends.durable)", "JSON object",
                            "generated ruleset, stages 1-3, a session per ticket", backend.eligibility_and_tier, raw))
        except Exception as exc:
            skipped.append(f"durable-rules: {exc}")
    else:
        skipped.append(why)

    # 1. agreement on every ticket, before any timing
    reference = [floor(t) for t in normal]
    results, failed = {}, False
    for name, _, _, decide, tickets in engines:
        try:
            got = [decide(t) for t in tickets]
        except Exception as exc:
            print(f"{name}: failed: {exc.__class__.__name__}: {exc}")
            failed = True
            continue
        bad = [i for i, (a, b) in enumerate(zip(reference, got)) if a != b]
        results[name] = len(bad)
        if bad:
            failed = True
            print(f"{name}: {len(bad)} disagreement(s) with the hand-written function, e.g.:")
            for i in bad[:3]:
                print(f"    {json.dumps(raw[i], ensure_ascii=False)}\n      floor {reference[i]}, {name} {got[i]}")
    counts = {}
    for status, tier in reference:
        counts[status] = counts.get(status, 0) + 1
    print("agreement: " + ", ".join(f"{name}: {'all agree' if n == 0 else f'{n} differ'}" for name, n in results.items()))
    print("decisions in the sample: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + "\n")
    if failed:
        print("not timed: the engines disagree")
        return 1

    # 2. throughput
    timings = {}
    for name, _, _, decide, tickets in engines:
        seconds, _ = timed(lambda: [decide(t) for t in tickets], repeat=args.repeat)
        timings[name] = seconds / len(tickets)
    base, bare = timings[engines[0][0]], timings[engines[2][0]]
    rows = []
    for name, kind, what, _, _ in engines:
        per = timings[name]
        rows.append((name, kind, what, fmt_rate(1 / per), fmt_us(per), f"{per / base:.2f}x", f"{per / bare:.2f}x"))
    print(table(["engine", "input", "computes", "decisions/s", "us/decision", "time vs slapolicy full",
                 "time vs slapolicy bare"], rows, ["l", "l", "l", "r", "r", "r", "r"]))
    for name, _, _, decide, tickets in engines:
        if hasattr(decide, "engine_seconds"):
            inner = decide.engine_seconds(tickets)
            print(f"\n{name}: its own `performance` figure is {fmt_us(inner)} us per evaluation on average "
                  f"({inner / base:.2f}x slapolicy full); the rest of the {fmt_us(timings[name])} us is the Python binding")
    for line in skipped:
        print(f"\nskipped: {line}")

    # 3. the targets of issue 7
    print("\ntargets:")
    zen_name = next((n for n, *_ in engines if n.startswith("GoRules")), None)
    checks = [(f"full decision >= 250 k/s ({fmt_rate(1 / base)}/s)", 1 / base >= 250_000),
              (f"bare tier decision within 1.5x of the floor ({bare / timings[engines[4][0]]:.2f}x)",
               bare <= 1.5 * timings[engines[4][0]]),
              (f"explanation on at most 2x explanation off ({timings[engines[1][0]] / base:.2f}x)",
               timings[engines[1][0]] <= 2 * base)]
    if zen_name:
        checks.insert(1, (f"full decision >= 2x ZEN's table ({timings[zen_name] / base:.2f}x)",
                          timings[zen_name] >= 2 * base))
    for text, ok in checks:
        print(f"  {'met    ' if ok else 'NOT met'}  {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
