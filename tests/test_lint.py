"""slapolicy lint: findings derived from running the compiled rules over the fact domains."""
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from slapolicy import cli
from slapolicy.decide.evaluate import evaluate
from slapolicy.decide.tickets import validate_ticket
from slapolicy.language.compile import Env
from slapolicy.tools.lint import lint_file, lint_text

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "tests" / "fixtures" / "tools"
CASES = yaml.safe_load((TOOLS / "lint-cases.yaml").read_text("utf-8"))
BUNDLED = sorted(p for p in (ROOT / "policies").glob("*.yaml") if p.name.count(".") == 1)


def _matches(finding, want):
    if finding.code != want["code"]:
        return False
    if "severity" in want and finding.severity != want["severity"]:
        return False
    if "rule" in want and finding.rule != want["rule"]:
        return False
    if any(r not in finding.related for r in want.get("related_include", [])):
        return False
    return want.get("message_include", "") in finding.message


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_lint_case_table(case):
    result = lint_file(TOOLS / case["file"])
    assert not result.diagnostics, [d.format() for d in result.diagnostics]
    for want in case["expect"]:
        assert any(_matches(f, want) for f in result.findings), \
            f"no finding like {want}; got:\n" + "\n".join(f.format() for f in result.findings)
    codes = {f.code for f in result.findings}
    for code in case.get("absent", []):
        assert code not in codes, [f.format() for f in result.findings if f.code == code]
    bad = {"gap", "shadowed-rule", "never-true"}
    for rule in case.get("not_flagged", []):
        assert not [f for f in result.findings if f.rule == rule and f.code in bad]


def test_findings_point_at_the_rule_id():
    result = lint_file(TOOLS / "planted.yaml")
    lines = (TOOLS / "planted.yaml").read_text("utf-8").splitlines()
    for f in result.findings:
        if f.code in ("gap", "shadowed-rule", "never-true", "overlap"):
            line = lines[f.span.line - 1]
            assert f"id: {f.rule}" in line, (f.code, f.rule, line)
            assert line[f.span.col - 1:].startswith(f.rule)


def test_gap_example_is_a_real_ticket_the_evaluator_leaves_without_tier():
    result = lint_file(TOOLS / "planted.yaml")
    gap = next(f for f in result.findings if f.code == "gap")
    ticket = validate_ticket(gap.example)
    decision = evaluate(result.compiled, ticket)
    assert decision["eligibility"]["status"] == "in_scope"
    assert decision["tier"] is None
    assert gap.count > 0 and gap.example["customer"]["segment"] in ("non_commercial", "demo")


def test_shadowed_example_shows_the_rule_holding_and_an_earlier_rule_winning():
    result = lint_file(TOOLS / "planted.yaml")
    shadowed = next(f for f in result.findings if f.code == "shadowed-rule")
    ticket = validate_ticket(shadowed.example)
    decision = evaluate(result.compiled, ticket)
    fired = {e["rule"] for e in decision["explanation"] if e.get("result") == "fired"}
    assert fired & set(shadowed.related) and shadowed.rule not in fired
    rule = next(r for r in result.compiled.tier_rules if r.id == shadowed.rule)
    env = Env(ticket, result.compiled)
    env.stage.update({"accepted": True, "eligibility": decision["eligibility"]["status"]})
    assert rule.fn(env) is True  # its own condition holds on the example


def test_every_example_ticket_is_valid():
    for path in [TOOLS / "planted.yaml", TOOLS / "shop.yaml", *BUNDLED]:
        for f in lint_file(path).findings:
            if f.example is not None:
                validate_ticket(f.example)


def test_sampling_still_finds_the_planted_defects():
    text = (TOOLS / "planted.yaml").read_text("utf-8")
    result = lint_text(text, "planted.yaml", limit=20, seed=3)
    assert result.stats["tier_rules"]["exhaustive"] is False
    codes = {(f.code, f.rule) for f in result.findings}
    assert ("gap", "commercial") in codes and ("shadowed-rule", "partner-critical") in codes
    assert "sample" in next(f for f in result.findings if f.code == "gap").message


def test_a_removed_default_is_a_gap_and_a_restored_one_is_not():
    text = (TOOLS / "shop.yaml").read_text("utf-8")
    broken = text.replace("  - id: everyone-else\n    tier: commercial\n", "  - id: everyone-else\n    when: customer.segment == \"commercial\"\n    tier: commercial\n")
    assert broken != text
    gaps = [f for f in lint_text(broken, "shop.yaml").findings if f.code == "gap"]
    assert gaps and gaps[0].example["customer"]["segment"] in ("non_commercial", "demo")
    assert not [f for f in lint_text(text, "shop.yaml").findings if f.code == "gap"]


@pytest.mark.parametrize("path", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_bundled_policies_have_no_lint_errors(path):
    result = lint_file(path)
    assert not result.diagnostics
    assert not result.errors, "\n".join(f.format(result.text) for f in result.errors)
    assert all(s["tickets"] > 0 for s in result.stats.values())


def run(*args):
    result = CliRunner().invoke(cli.main, list(args))
    return result.exit_code, result.stdout


def test_cli_exit_codes_and_formats():
    code, out = run("lint", str(TOOLS / "planted.yaml"))
    assert code == 1 and ": error: gap:" in out and "example ticket:" in out
    code, out = run("lint", "--format", "json", str(TOOLS / "planted.yaml"))
    assert code == 1
    report = json.loads(out)
    findings = report["files"][0]["findings"]
    assert {"gap", "shadowed-rule"} <= {f["code"] for f in findings}
    assert all({"file", "line", "col", "severity", "message"} <= set(f) for f in findings)
    code, out = run("lint", "--format", "github", str(TOOLS / "planted.yaml"))
    gap = next(f for f in findings if f["code"] == "gap")
    assert f"::error file={gap['file']},line={gap['line']},col={gap['col']},title=gap::" in out
    code, out = run("lint", str(TOOLS / "shop.yaml"))
    assert code == 0 and "shadowed-rule" in out
    code, _ = run("lint", "--strict", str(TOOLS / "shop.yaml"))
    assert code == 1


def test_cli_policy_that_does_not_check_is_bad_input():
    result = CliRunner().invoke(cli.main, ["lint", str(ROOT / "tests/golden/policies/07-unknown-tier.yaml")])
    assert result.exit_code == 2 and "unknown-tier" in result.stderr
