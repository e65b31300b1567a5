"""slapolicy test: text / json / junit / github reports, --coverage with reasons, --min-coverage."""
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from slapolicy import cli
from slapolicy.tools.coverage import coverage_report
from slapolicy.tools.testing import load_cases, run_file

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "tests" / "fixtures" / "tools"
SHOP_TESTS = TOOLS / "shop.tests.yaml"
BUNDLED_TESTS = sorted((ROOT / "policies").glob("*.tests.yaml"))


def _run(*args):
    res = CliRunner().invoke(cli.main, ["test", *map(str, args)])
    return res.exit_code, res.stdout, res.stderr


def _failing_case():
    cases = load_cases(SHOP_TESTS)
    (case, line), = [(c, ln) for c, ln in cases if "wrong on purpose" in c["name"]]
    return case, line, len(cases)


def test_junit_is_valid_xml_with_one_failure():
    case, line, total = _failing_case()
    code, out, _ = _run("--format", "junit", SHOP_TESTS)
    assert code == 1
    root = ET.fromstring(out)
    assert root.tag == "testsuites" and root.get("tests") == str(total) and root.get("failures") == "1"
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == total and suite.get("failures") == "1"
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == [case["name"]]
    assert failed[0].get("line") == str(line) and failed[0].get("file").endswith("shop.tests.yaml")
    assert "tier 'commercial', expected 'partner'" in failed[0].find("failure").text


def test_github_annotations_at_the_case_line():
    case, line, _ = _failing_case()
    code, out, _ = _run("--format", "github", SHOP_TESTS)
    assert code == 1
    errors = [x for x in out.splitlines() if x.startswith("::error ")]
    assert len(errors) == 1
    head, message = errors[0][len("::error "):].split("::", 1)
    props = dict(p.split("=", 1) for p in head.split(","))
    assert props["file"].endswith("shop.tests.yaml") and props["line"] == str(line)
    assert props["title"] == "policy test failed%3A " + case["name"]  # ':' escaped in a property
    assert message == "tier 'commercial', expected 'partner'"


def test_coverage_lists_what_never_fired_and_why():
    code, out, _ = _run("--coverage", SHOP_TESTS)
    assert code == 1  # one case fails on purpose
    assert "coverage shop:" in out and "never fired: vip-partners, vip" in out
    assert "vip-partners: shadowed-rule:" in out and "'partners'" in out
    assert "vip: assigned only by tier rules that never fire: vip-partners" in out


def test_min_coverage(tmp_path):
    shutil.copy(TOOLS / "shop.yaml", tmp_path / "shop.yaml")
    passing = [c for c, _ in load_cases(SHOP_TESTS) if "wrong on purpose" not in c["name"]]
    import yaml

    (tmp_path / "shop.tests.yaml").write_text(yaml.safe_dump(passing, allow_unicode=True), "utf-8")
    results = run_file(tmp_path / "shop.tests.yaml")
    (entry,) = coverage_report(results)
    assert 0 < entry["percent"] < 100 and "vip-partners" in entry["missed"]
    code, out, err = _run("--min-coverage", f"{entry['percent'] - 1:.1f}", tmp_path / "shop.tests.yaml")
    assert code == 0, out + err
    code, out, err = _run("--min-coverage", f"{entry['percent'] + 1:.1f}", tmp_path / "shop.tests.yaml")
    assert code == 1 and "below --min-coverage" in err
    code, out, _ = _run("--format", "json", "--coverage", tmp_path / "shop.tests.yaml")
    report = json.loads(out)
    assert report["coverage"][0]["missed"] == entry["missed"] and all(c["passed"] for c in report["cases"])


def test_json_keeps_its_list_shape_without_coverage():
    code, out, _ = _run("--format", "json", SHOP_TESTS)
    cases = json.loads(out)
    assert isinstance(cases, list) and sum(not c["passed"] for c in cases) == 1


def test_unreadable_test_file_is_bad_input(tmp_path):
    bad = tmp_path / "x.tests.yaml"
    bad.write_text("- name: [\n", "utf-8")
    code, out, _ = _run("--format", "junit", bad)
    assert code == 2
    root = ET.fromstring(out)
    assert root.get("errors") == "1" and root.find("testsuite/testcase/error") is not None


@pytest.mark.parametrize("tests_file", BUNDLED_TESTS, ids=[p.name.split(".")[0] for p in BUNDLED_TESTS])
def test_bundled_policies_are_fully_covered_or_say_why(tests_file):
    results = run_file(tests_file)
    for entry in coverage_report(results):
        assert not entry.get("error")
        untested = [r for r in entry["missed"] if entry["why"][r] == "no test case makes it fire"]
        assert not untested, f"{entry['policy']}: rules no test makes fire although they can: {untested}"
