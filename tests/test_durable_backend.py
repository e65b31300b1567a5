"""Differential test: the durable-rules backend (engine/backends/durable/) against the engine.

Two independent executors of the same checked policy must reach identical decisions: eligibility
(status and reasons), tier, deadlines, delay reasons, notices, billing and the assumptions relied
on. Inputs: every case of every policy test file, 2,000 generated tickets per bundled policy
(10,000 in all), and every expression of the expression table (tests/cases/expressions.yaml) and
of the translator's own table below, each as `expr` and as `not (expr)`.

Skipped where the `durable` extra is not installed (`.ci/run` installs it).
"""
import copy

import pytest
import yaml

pytest.importorskip("durable.engine", reason="the durable extra is not installed: pip install -e '.[durable]'")

from conftest import BASE_TICKET, FIXTURES, ROOT  # noqa: E402
from slapolicy.api import TicketError, load_policy, policy_ids  # noqa: E402
from slapolicy.backends.durable import DurablePolicy, load  # noqa: E402
from slapolicy.tools.testing import compare, load_cases, policy_for  # noqa: E402
from slapolicy.tools.testing import test_files as _test_files  # noqa: E402

POLICIES = ROOT / "policies"
GENERATED_PER_POLICY = 2000
# the expectation keys a decision without explanation / missing facts / lifecycle can answer
DECISION_KEYS = {"eligibility", "tier", "first_response_due", "first_response_not_before", "delay_reasons",
                 "delay_reasons_include", "delay_reasons_exclude", "notices_include", "notices_exclude", "billing"}


def essentials(decision: dict, lifecycle: bool) -> dict:
    """What both backends decide. With lifecycle (events / as_of) the engine also re-levels and
    adds clocks: then only the first decision is compared."""
    out = {k: decision.get(k) for k in ("ticket", "policy", "eligibility", "tier", "delay_reasons", "notices", "billing")}
    deadlines = decision["deadlines"]
    out["deadlines"] = {"first_response": deadlines.get("first_response")} if lifecycle else deadlines
    if not lifecycle:
        out["assumptions"] = decision["assumptions"]
    return out


_durable_cache = {}


def durable_for(ref, policies_dir=None):
    key = (str(ref), policies_dir)
    if key not in _durable_cache:
        _durable_cache[key] = load(ref, policies_dir)
    return _durable_cache[key]


def both(policy_ref, ticket, as_of=None):
    """(engine decision, durable decision), or ("refused", "refused") when the ticket is invalid."""
    python = load_policy(policy_ref)
    durable = durable_for(policy_ref)
    try:
        a = python.evaluate(copy.deepcopy(ticket), as_of=as_of, explain=False)
    except TicketError:
        with pytest.raises(TicketError):
            durable.evaluate(copy.deepcopy(ticket))
        return "refused", "refused"
    b = durable.evaluate(copy.deepcopy(ticket))
    assert b["backend"] == "durable-rules"
    return a, b


# -- every case of every policy test file ---------------------------------------------------------

TEST_FILES = _test_files([POLICIES])


def test_there_are_policy_cases():
    assert TEST_FILES, "no policies/*.tests.yaml found"


@pytest.mark.parametrize("path", TEST_FILES, ids=[p.name for p in TEST_FILES])
def test_policy_cases_agree(path):
    default_policy = policy_for(path)
    disagreements = []
    for case, line in load_cases(path):
        ref = str(case.get("policy", default_policy))
        ticket = case.get("ticket")
        lifecycle = case.get("as_of") is not None or bool((ticket or {}).get("events"))
        a, b = both(ref, ticket, as_of=case.get("as_of"))
        if a == "refused":
            continue
        if essentials(a, lifecycle) != essentials(b, lifecycle):
            disagreements.append(f"{path.name}:{line}: {case.get('name')}")
            continue
        # the durable decision also meets the case's own expectations (those it can answer)
        expect = {k: v for k, v in (case.get("expect") or {}).items() if k in DECISION_KEYS}
        if not lifecycle:
            problems = compare(b, expect)
            if problems:
                disagreements.append(f"{path.name}:{line}: {case.get('name')}: {problems}")
    assert not disagreements, "\n".join(disagreements)


# -- generated tickets ----------------------------------------------------------------------------

@pytest.mark.parametrize("policy_id", policy_ids(POLICIES))
def test_generated_tickets_agree(policy_id):
    from slapolicy.tools.corpus import generate

    python = load_policy(policy_id)
    tickets = generate(python, GENERATED_PER_POLICY, seed=20260)
    differ = []
    for ticket in tickets:
        a, b = both(policy_id, ticket)
        lifecycle = bool(ticket.get("events"))
        if a != "refused" and essentials(a, lifecycle) != essentials(b, lifecycle):
            differ.append(ticket["id"])
    assert not differ, f"{len(differ)} of {len(tickets)} tickets decided differently, e.g. {differ[:5]}"


# -- expressions: the table of the language and the translator's own cases -----------------------

MINI = (FIXTURES / "mini.yaml").read_text("utf-8")
TABLE = yaml.safe_load((ROOT / "tests" / "cases" / "expressions.yaml").read_text("utf-8"))

# Forms the bundled policies do not (yet) use: quantifier `all`, empty lists, items without the
# field, per-item computed values, two fields compared, stage values, computed booleans.
TRANSLATOR_CASES = [
    'all(a in attachments where a.format == "png")',
    'any(a in attachments where a.format != "png")',
    'all(a in attachments where exists(a.format))',
    'any(a in attachments where not exists(a.format))',
    'any(a in attachments where lower(a.name) == "shot.bmp")',
    'all(a in attachments where len(a.name) > 5 and a.format in ["png", "bmp"])',
    'exists(attachments) and not any(a in attachments where a.format == "bmp")',
    'len(attachments) == 0',
    'topic not in ["billing", "meeting"] or severity >= 3',
    'not (customer.segment in ["partner", "demo"] and problems_count <= 1)',
    'customer.coupon.used > problems_count',
    'customer.coupon.used != problems_count',
    'exists(form.description) and not exists(form.phone)',
    'not exists(form) or form.email == sender_email',
    'lower(sender_email) == lower(customer.license_email) or sender_authorized == true',
    'days_between(customer.license_purchased_at, created_at) > 30 and customer.license_active == true',
    'date(created_at) < customer.license_purchased_at + 2 months',
    'created_at + 2 hours > 2026-03-10T12:30:00+02:00',
    'hours_between(created_at, 2026-03-10T12:30:00+02:00) >= 1.5',
    'is_open(created_at, "office")',
    'not is_open(created_at, "office") and severity == 1',
    'tier == "standard" or eligibility == "out_of_scope"',
    'tier != "special" and accepted == true',
    'eligibility not in ["in_scope"]',
    'coupon_valid or not (special_request == true)',
    'true and problems_count > 1',
    'false or not (abusive_language == false)',
]
TRANSLATOR_TICKETS = [
    {},
    {"attachments": [], "problems_count": 1, "severity": 1, "topic": "billing"},
    {"attachments": [{"name": "shot.BMP", "format": "bmp"}, {"name": "b.png", "format": "png"}], "problems_count": 2,
     "customer": {"segment": "partner", "coupon": {"issued_at": "2026-01-01", "used": 3}}},
    {"attachments": [{"name": "a.png", "format": "png"}, {"name": "notes", "format": "txt"}], "topic": "meeting",
     "sender_email": "A@B.example", "customer": {"segment": "commercial", "license_email": "a@b.example"}},
    {"attachments": [{"name": "longname.png", "format": "png"}], "channel": "email", "sender_authorized": False,
     "form": {"description": "broken", "email": "x@y.example"}, "sender_email": "x@y.example",
     "created_at": "2026-03-14T10:00:00+02:00", "severity": 1},
    {"customer": {"segment": "demo", "license_purchased_at": "2026-01-10", "license_active": True,
                  "coupon": {"issued_at": "2025-01-01", "used": 2}},
     "created_at": "2026-03-10T21:30:00+02:00", "problems_count": 2, "abusive_language": True,
     "special_request": True, "topic": "migration", "form": {"phone": "1"}},
    {"customer": {"segment": "commercial", "license_purchased_at": "2026-02-20", "license_active": False,
                  "coupon": {"issued_at": "2026-03-01", "used": 0}},
     "special_request": True, "product_version_current": False, "escalation": "project_manager_failed",
     "problems_count": 0},
]


def probe_policy(tmp_path, expr: str, name: str):
    """The mini policy with one notice `probe` (every ticket reaches the notices stage)."""
    quoted = expr.replace("\\", "\\\\").replace('"', '\\"')
    text = MINI.replace("notices:\n", f'notices:\n  - id: probe\n    when: "{quoted}"\n    message: probe\n'
                                      f'    source: "t"\n', 1)
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, "utf-8")
    return load_policy(path), DurablePolicy(load_policy(path), [path])


def merged(ticket):
    out = copy.deepcopy(BASE_TICKET)
    for k, v in ticket.items():
        out[k] = copy.deepcopy(v)
    return out


def fired(decision) -> bool:
    return any(n["rule"] == "probe" for n in decision["notices"])


@pytest.mark.parametrize("case", TABLE, ids=[f"{i}:{c['expr']}" for i, c in enumerate(TABLE)])
def test_expression_table(case, tmp_path):
    ticket = merged(case["ticket"])
    for negate in (False, True):
        expr = f"not ({case['expr']})" if negate else case["expr"]
        python, durable = probe_policy(tmp_path, expr, f"probe{int(negate)}")
        want = {True: not negate, False: negate, "unknown": False}[case["want"]]
        assert fired(python.evaluate(ticket, explain=False)) is want  # the table, on the engine
        assert fired(durable.evaluate(ticket)) is want, f"durable: {expr}"


@pytest.mark.parametrize("expr", TRANSLATOR_CASES)
def test_translator_cases(expr, tmp_path):
    outcomes = []
    for negate in (False, True):
        text = f"not ({expr})" if negate else expr
        python, durable = probe_policy(tmp_path, text, f"probe{int(negate)}")
        for i, extra in enumerate(TRANSLATOR_TICKETS):
            ticket = merged(extra)
            a = python.evaluate(ticket, explain=False)
            b = durable.evaluate(ticket)
            assert essentials(a, False) == essentials(b, False), f"{text} on ticket {i}"
            outcomes.append(fired(a))
    # the tickets exercise the expression: it fires on some and does not on others
    assert any(outcomes) and not all(outcomes)


def test_rulesets_are_plain_json():
    import json

    durable = durable_for("bitrix-inc") if "bitrix-inc" in policy_ids(POLICIES) else None
    if durable is None:
        pytest.skip("bitrix-inc is not bundled")
    definitions = durable.definitions()
    text = json.dumps(definitions)
    assert json.loads(text) == definitions
    rules = next(iter(definitions.values()))
    compiled = durable.policy.compiled
    # one durable rule per rule of the policy (a rule that can never fire is left out)
    assert len(rules) == len(compiled.acceptance) + len(compiled.scope) + len(compiled.tier_rules) + \
        len(compiled.delay_reasons) + len(compiled.notices) + len(compiled.billing_rates)


def test_sessions_are_thrown_away():
    """More tickets than durable's 1,024-session cap: each session is deleted after its ticket."""
    durable = durable_for("bitrix-inc")
    ticket = {"id": "S", "created_at": "2026-03-10T10:00:00Z", "channel": "portal",
              "customer": {"segment": "partner"}, "topic": "product_error"}
    for _ in range(1100):
        decision = durable.evaluate(ticket)
    assert decision["tier"]["id"] == "partner"


# -- the command line -----------------------------------------------------------------------------

def test_cli_backend_durable_jsonl(cli):
    import json

    from slapolicy.tools.corpus import generate

    tickets = generate(load_policy("bitrix-inc"), 50, seed=5)
    lines = "".join(json.dumps(t) + "\n" for t in tickets) + "{broken\n"
    code, out, err = cli("evaluate", "--policy", "bitrix-inc", "--jsonl", "--no-explain", "--backend", "durable",
                         input=lines)
    assert code == 2 and "json-syntax" in err  # the bad line is reported in place, nothing dropped
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == len(tickets) + 1 and records[-1]["line"] == len(tickets) + 1
    for ticket, record in zip(tickets, records):
        a = load_policy("bitrix-inc").evaluate(ticket, explain=False)
        assert essentials(record, bool(ticket.get("events"))) == essentials(a, bool(ticket.get("events")))


def test_cli_backend_durable_without_the_extra():
    """Where durable-rules is missing, --backend durable says how to install it and exits 2."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['durable'] = None; sys.modules['durable.engine'] = None; import cli; "
            "sys.argv = ['slapolicy', 'evaluate', '--policy', 'bitrix-inc', '--backend', 'durable', "
            "'samples/bitrix-inc.json']; cli.main()")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2
    assert "pip install 'slapolicy[durable]'" in proc.stderr and "Traceback" not in proc.stderr


def test_cli_backend_durable_refuses_as_of(cli):
    code, out, err = cli("evaluate", "--policy", "bitrix-inc", "--backend", "durable",
                         "--as-of", "2026-03-10T10:00:00Z", "samples/bitrix-inc.json")
    assert code == 2 and "--as-of" in err and not out


def test_cli_backend_durable_and_the_explanation_options(cli):
    """--no-why-not leaves nothing out (the durable backend explains nothing); --unknown-facts is refused, no traceback"""
    import json

    code, out, err = cli("evaluate", "--policy", "bitrix-inc", "--backend", "durable", "--no-why-not",
                         "samples/bitrix-inc.json")
    assert code == 0, err
    plain = cli("evaluate", "--policy", "bitrix-inc", "--backend", "durable", "samples/bitrix-inc.json")[1]
    assert json.loads(out) == json.loads(plain) and "why_not" not in json.loads(out)
    code, out, err = cli("evaluate", "--policy", "bitrix-inc", "--backend", "durable", "--unknown-facts",
                         "samples/bitrix-inc.json")
    assert code == 2 and "--unknown-facts" in err and "Traceback" not in err and not out


def test_editions_agree():
    """Each edition is its own ruleset; the edition in force at created_at decides, as in the engine."""
    path = FIXTURES / "editions" / "mini.yaml"
    python, durable = load_policy(path), durable_for(path)
    assert len(durable.definitions()) == len(python.editions) > 1
    chosen = set()
    for created in ("2024-06-01T10:00:00+00:00", "2025-06-01T10:00:00+00:00", "2026-03-10T10:00:00+00:00"):
        for extra in TRANSLATOR_TICKETS:
            ticket = merged(dict(extra, created_at=created))
            a, b = python.evaluate(ticket, explain=False), durable.evaluate(ticket)
            assert essentials(a, False) == essentials(b, False)
            chosen.add(b["policy"]["edition"])
    assert len(chosen) > 1
