"""The bundled policies: they check clean, their own test cases pass, their clause coverage lists
name only rules that exist, and every rule cites its clause."""
from pathlib import Path

import pytest
import yaml
from slapolicy.api import check_file, load_policy
from slapolicy.tools.coverage import all_rule_ids
from slapolicy.tools.testing import load_cases, run_file

ROOT = Path(__file__).resolve().parents[1]
POLICY_DIR = ROOT / "policies"
EXPECTED_IDS = ["advantshop", "bitrix-inc", "bitrix-ua", "martinsoft-b24", "procrm-b24"]
POLICIES = sorted(p for p in POLICY_DIR.glob("*.yaml") if p.name.count(".") == 1)
TEST_FILES = sorted(POLICY_DIR.glob("*.tests.yaml"))


def _cases():
    for f in TEST_FILES:
        for case, line in load_cases(f):
            yield pytest.param(f, line, id=f"{f.name.split('.')[0]}:{line}:{case.get('name', '')[:60]}")


@pytest.mark.parametrize("path", POLICIES, ids=[p.stem for p in POLICIES])
def test_policy_checks_clean(path):
    result = check_file(path)
    assert not result.errors, "\n".join(d.format(result.text) for d in result.errors)


@pytest.mark.parametrize("path, line", list(_cases()))
def test_policy_case(path, line):
    results = [r for r in run_file(path) if r.line == line]
    assert results and results[0].passed, "\n".join(results[0].problems if results else ["case not run"])


@pytest.mark.parametrize("policy_id", EXPECTED_IDS)
def test_every_contract_policy_is_bundled_with_tests_and_coverage(policy_id):
    assert (POLICY_DIR / f"{policy_id}.yaml").exists()
    tests = POLICY_DIR / f"{policy_id}.tests.yaml"
    assert tests.exists() and len(load_cases(tests)) >= 25
    assert (POLICY_DIR / f"{policy_id}.coverage.yaml").exists()


@pytest.mark.parametrize("policy_id", EXPECTED_IDS)
def test_coverage_list_names_existing_rules(policy_id):
    cov_path = POLICY_DIR / f"{policy_id}.coverage.yaml"
    if not cov_path.exists():
        pytest.skip("no coverage file")
    policy = load_policy(policy_id)
    data = policy.compiled.data
    known = set(all_rule_ids(policy)) | set(data.get("calendars") or {}) | set(data.get("definitions") or {}) \
        | {a["id"] for a in data.get("assumptions") or []}
    entries = yaml.safe_load(cov_path.read_text("utf-8"))
    assert isinstance(entries, list) and entries
    for entry in entries:
        assert "clause" in entry, entry
        assert ("rules" in entry) != ("not_modelled" in entry), f"clause {entry['clause']}: rules or not_modelled"
        for rid in entry.get("rules") or []:
            assert rid in known, f"clause {entry['clause']} names unknown rule '{rid}'"


@pytest.mark.parametrize("policy_id", EXPECTED_IDS)
def test_every_rule_cites_its_clause_and_is_covered(policy_id):
    policy = load_policy(policy_id)
    c = policy.compiled
    for group in (c.acceptance, c.scope, c.tier_rules, c.delay_reasons, c.notices, c.billing_rates):
        for rule in group:
            assert rule.source.strip(), f"rule {rule.id} has no source"
    cov_path = POLICY_DIR / f"{policy_id}.coverage.yaml"
    named = {rid for e in yaml.safe_load(cov_path.read_text("utf-8")) for rid in e.get("rules") or []}
    rules = [r.id for g in (c.acceptance, c.scope, c.tier_rules, c.delay_reasons, c.notices, c.billing_rates) for r in g]
    uncovered = [r for r in rules if r not in named]
    assert not uncovered, f"rules not named by any clause in the coverage list: {uncovered}"


@pytest.mark.parametrize("path", TEST_FILES, ids=[p.name.split(".")[0] for p in TEST_FILES])
def test_fast_path_decides_like_the_explained_path(path):
    """explain off runs generated code; explain on runs the closures: the decisions must be equal, but for
    the explanation-only keys (explanation, why_not, unknown_facts, deadlines.<name>.breakdown)."""
    from slapolicy.decide.annotate import without_explanation

    policy_id = path.name.split(".")[0]
    policy = load_policy(policy_id)
    compared = 0
    for case, _ in load_cases(path):
        if (case.get("expect") or {}).get("error"):
            continue
        slow = policy.evaluate(case["ticket"], as_of=case.get("as_of"), explain=True, unknown_facts=True)
        fast = policy.evaluate(case["ticket"], as_of=case.get("as_of"), explain=False)
        assert "explanation" in slow and "why_not" in slow and "unknown_facts" in slow
        assert fast["explanation"] == [] and not {"why_not", "unknown_facts"} & set(fast)
        assert not any("breakdown" in (d or {}) for d in fast["deadlines"].values())
        fast.pop("explanation", None)
        assert fast == without_explanation(slow), case.get("name")
        compared += 1
    assert compared
