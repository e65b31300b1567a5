"""A policy repository of one's own (issue 15): init, the vocabulary extension, paths, formats, schemas."""
import copy
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from slapolicy import cli
from slapolicy.api import load_policy
from slapolicy.decide.tickets import validate_ticket
from slapolicy.language.diagnostics import TicketError
from slapolicy.language.schema import schema_json

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CASES = yaml.safe_load((HERE / "cases" / "vocabulary.yaml").read_text("utf-8"))
SARIF = json.loads((HERE / "fixtures" / "sarif" / "sarif-schema-2.1.0.json").read_text("utf-8"))
RECORD_KEYS = {"code", "severity", "message", "file", "line", "column", "rule"}


def run(*args):
    result = CliRunner().invoke(cli.main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def repo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run("init", "acme", "--id", "acme")
    assert code == 0, err
    return tmp_path / "acme"


def cases_in(path: Path) -> int:
    return len(yaml.safe_load(path.read_text("utf-8")))


# -- init -----------------------------------------------------------------------------------------

def test_init_writes_a_repository_that_checks_lints_and_tests(repo):
    for name in ("acme.yaml", "acme.tests.yaml", "vocabulary.yaml", "README.md", "REGULATION.md",
                 ".pre-commit-config.yaml", ".github/workflows/policies.yml", "schemas/policy.schema.json"):
        assert (repo / name).is_file(), name
    code, out, err = run("check", "acme")
    assert code == 0 and "2 policy file(s) checked, 2 ok, 0 error(s)" in out, out + err
    code, out, err = run("lint", "acme")
    assert code == 0 and "0 error(s), 0 warning(s)" in out, out + err
    n = cases_in(repo / "acme.tests.yaml")
    code, out, _ = run("test", "acme")
    assert code == 0 and out.strip().endswith(f"{n} passed, 0 failed"), out
    code, out, _ = run("test", "--policies", "acme")  # its own cases, not the bundled vendors'
    assert code == 0 and out.strip().endswith(f"{n} passed, 0 failed"), out
    code, _, err = run("fmt", "--check", "acme")
    assert code == 0, err


def test_the_scaffold_uses_the_vocabulary_and_the_ci_recipe_runs_the_commands(repo):
    policy = (repo / "acme.yaml").read_text("utf-8")
    assert 'topic == "hardware_failure"' in policy and "customer.plan" in policy
    workflow = yaml.safe_load((repo / ".github/workflows/policies.yml").read_text("utf-8"))
    steps = " ".join(str(s.get("run", "")) for job in workflow["jobs"].values() for s in job["steps"])
    for command in ("slapolicy check .", "slapolicy lint .", "slapolicy test .", "--format markdown", "gh pr comment"):
        assert command in steps, command
    hooks = {h["id"] for r in yaml.safe_load((repo / ".pre-commit-config.yaml").read_text("utf-8"))["repos"]
             for h in r["hooks"]}
    defined = {h["id"] for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text("utf-8"))}
    assert hooks == defined == {"slapolicy-check", "slapolicy-lint", "slapolicy-fmt", "slapolicy-test"}
    # the $schema lines point at the schemas init wrote
    for name in ("acme.yaml", "vocabulary.yaml"):
        line = (repo / name).read_text("utf-8").splitlines()[0]
        target = repo / line.split("$schema=")[1]
        assert target.is_file(), line


@pytest.mark.parametrize("zone, country", [("Europe/Moscow", "RU"), ("America/New_York", "US"), ("Asia/Tokyo", "JP")])
def test_init_cases_hold_in_any_zone_and_country(tmp_path, monkeypatch, zone, country):
    monkeypatch.chdir(tmp_path)
    assert run("init", "r", "--id", "shop", "--timezone", zone, "--holidays", country)[0] == 0
    n = cases_in(tmp_path / "r" / "shop.tests.yaml")
    code, out, _ = run("test", "r")
    assert code == 0 and out.strip().endswith(f"{n} passed, 0 failed"), out


@pytest.mark.parametrize("args, says", [
    (["--id", "Acme Corp"], "--id"),
    (["--id", "acme", "--timezone", "Mars/Base"], "--timezone"),
    (["--id", "acme", "--holidays", "XX"], "--holidays"),
])
def test_init_refuses_bad_parameters(tmp_path, monkeypatch, args, says):
    monkeypatch.chdir(tmp_path)
    code, _, err = run("init", "r", *args)
    assert code == 2 and says in err and "Traceback" not in err
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_init_never_overwrites(repo):
    before = (repo / "acme.yaml").read_text("utf-8")
    code, _, err = run("init", "acme", "--id", "acme")
    assert code == 2 and "already has" in err
    assert (repo / "acme.yaml").read_text("utf-8") == before


# -- the vocabulary extension ---------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_vocabulary_file_diagnostics(tmp_path, monkeypatch, case):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "vocabulary.yaml").write_text(case["vocabulary"], "utf-8")
    code, out, _ = run("check", "--format", "json", "vocabulary.yaml")
    found = [[f["code"], f["line"]] for f in json.loads(out)["findings"] if f["severity"] == "error"]
    assert found == case["errors"]
    assert code == (2 if case["errors"] else 0)


def test_a_policy_using_an_added_topic_checks_only_with_the_vocabulary(repo):
    assert run("check", "acme/acme.yaml")[0] == 0
    (repo / "vocabulary.yaml").unlink()
    code, out, _ = run("check", "--format", "json", "acme/acme.yaml")
    codes = {f["code"] for f in json.loads(out)["findings"]}
    assert code == 2 and {"unknown-enum-value", "unknown-field"} <= codes


def test_a_broken_repository_vocabulary_is_named_by_the_policy(repo):
    (repo / "vocabulary.yaml").write_text("fields:\n  customer.segment: {type: string, description: x}\n", "utf-8")
    code, out, _ = run("check", "--format", "json", "acme")
    findings = json.loads(out)["findings"]
    assert code == 2
    assert ("vocabulary-redefines", "acme/vocabulary.yaml", 2) in {(f["code"], f["file"], f["line"]) for f in findings}
    assert any(f["code"] == "bad-vocabulary" and f["file"] == "acme/acme.yaml" for f in findings)


def test_a_policy_may_extend_the_vocabulary_itself(tmp_path):
    text = (ROOT / "tests/fixtures/mini.yaml").read_text("utf-8")
    text = text.replace("\ntimezone:", "\nvocabulary:\n  topics: {printer_jam: paper stuck}\n"
                        "  fields: {site_visit: {type: boolean, description: an engineer is on site}}\ntimezone:", 1)
    text = text.replace("tier_rules:\n", "tier_rules:\n  - id: jam\n    when: topic == \"printer_jam\" and site_visit\n"
                        "    tier: standard\n    source: \"1\"\n", 1)
    path = tmp_path / "own.yaml"
    path.write_text(text, "utf-8")
    policy = load_policy(str(path))
    assert policy.compiled.vocabulary.extended
    ticket = {"id": "T", "created_at": "2026-03-10T11:00:00+02:00", "channel": "portal",
              "customer": {"segment": "commercial"}, "topic": "printer_jam", "site_visit": True}
    assert "jam" in {e.get("rule") for e in policy.evaluate(ticket)["explanation"]}
    with pytest.raises(TicketError) as exc:  # the bundled policies keep the contract vocabulary
        load_policy("advantshop").evaluate(ticket)
    assert {p for p, _ in exc.value.problems} >= {"topic", "site_visit"}


def test_extended_validation_accepts_exactly_the_merged_vocabulary(repo):
    policy = load_policy(str(repo / "acme.yaml"))
    vocab = policy.compiled.vocabulary
    good = {"id": "T", "created_at": "2026-03-11T10:00:00Z", "channel": "portal", "topic": "hardware_failure",
            "customer": {"segment": "commercial", "plan": "pro"}}
    assert validate_ticket(copy.deepcopy(good), vocab)["customer"]["plan"] == "pro"
    jsonschema.validate(good, vocab.schema)
    for bad, field in ((dict(good, customer={"segment": "commercial", "plan": "gold"}), "customer.plan"),
                       (dict(good, topic="hardware_failures"), "topic"),
                       (dict(good, created_at="2026-03-11 10:00"), "created_at")):
        with pytest.raises(TicketError) as exc:
            validate_ticket(bad, vocab)
        assert [p for p, _ in exc.value.problems] == [field]
    with pytest.raises(TicketError):  # the contract vocabulary has no plan
        validate_ticket(copy.deepcopy(good))
    base = load_policy("advantshop").compiled.vocabulary  # the base: the unchanged fast path
    assert base is None or base.key == ""  # None when the policy came from the compile cache (base only)


def test_schema_ticket_for_a_policy_is_the_merged_one(repo):
    code, out, err = run("schema", "ticket", "--policy", "acme", "--policies", "acme")
    assert code == 0, err
    merged = json.loads(out)
    assert "hardware_failure" in merged["properties"]["topic"]["enum"]
    assert merged["properties"]["customer"]["properties"]["plan"]["enum"] == ["basic", "pro"]
    assert "plan" not in json.loads(run("schema", "ticket")[1])["properties"]["customer"]["properties"]


def test_edited_vocabulary_is_picked_up(repo):
    ticket = {"id": "T", "created_at": "2026-03-11T10:00:00Z", "channel": "portal",
              "customer": {"segment": "commercial", "plan": "enterprise"}}
    with pytest.raises(TicketError):
        load_policy(str(repo / "acme.yaml")).evaluate(copy.deepcopy(ticket))
    vocab = repo / "vocabulary.yaml"
    vocab.write_text(vocab.read_text("utf-8").replace("      pro: the plan", "      enterprise: big\n      pro: the plan"), "utf-8")
    assert load_policy(str(repo / "acme.yaml")).evaluate(ticket)["tier"]["id"] == "standard"


def test_form_corpus_and_lint_use_the_merged_vocabulary(repo):
    from slapolicy.service.workbench.form import form_fields, ticket_from_form
    from slapolicy.tools.corpus import generate
    from slapolicy.tools.lint import lint_file

    policy = load_policy(str(repo / "acme.yaml"))
    vocab = policy.compiled.vocabulary
    fields = {f.name: f for f in form_fields(vocab)}
    assert fields["customer.plan"].options == ("basic", "pro") and "hardware_failure" in fields["topic"].options
    assert "customer.plan" not in {f.name for f in form_fields()}
    ticket, errors = ticket_from_form({"id": "T", "created_at": "2026-03-11T10:00", "channel": "portal",
                                       "customer.segment": "commercial", "customer.plan": "pro"},
                                      policy.compiled.timezone, vocab)
    assert not errors and ticket["customer"]["plan"] == "pro"
    tickets = generate(policy, 3000, 1)  # extension topics are drawn among all topics (20 % of tickets)
    assert {t["customer"].get("plan") for t in tickets} == {None, "basic", "pro"}
    assert any(t.get("topic") == "hardware_failure" for t in tickets)
    for t in tickets:
        validate_ticket(t, vocab)
    result = lint_file(repo / "acme.yaml")
    assert not result.diagnostics and [f.code for f in result.findings if f.severity != "info"] == []


# -- paths ----------------------------------------------------------------------------------------

def test_test_ids_resolve_beside_the_test_file(repo):
    extra = repo / "more.tests.yaml"
    extra.write_text(yaml.safe_dump([{"name": "by id", "policy": "acme", "ticket": {
        "id": "X", "created_at": "2026-03-11T10:00:00Z", "channel": "portal", "topic": "hardware_failure",
        "customer": {"segment": "commercial"}}, "expect": {"tier": "priority"}}]), "utf-8")
    code, out, _ = run("test", str(extra))
    assert code == 0 and out.strip().endswith("1 passed, 0 failed"), out


def test_check_and_lint_look_only_at_the_paths(repo):
    code, out, _ = run("check", "--format", "json", "acme")
    assert sorted(json.loads(out)["files"]) == ["acme/acme.yaml", "acme/vocabulary.yaml"]
    code, out, _ = run("lint", "--format", "json", "acme")
    assert [f["file"] for f in json.loads(out)["files"]] == ["acme/acme.yaml"]


# -- formats ----------------------------------------------------------------------------------------

def _sarif_valid(text: str) -> dict:
    log = json.loads(text)
    cls = jsonschema.validators.validator_for(SARIF)
    errors = list(cls(SARIF, format_checker=cls.FORMAT_CHECKER).iter_errors(log))
    assert not errors, [e.message for e in errors[:5]]
    return log


def test_check_sarif_validates_against_the_sarif_schema(tmp_path):
    broken = ROOT / "tests/golden/policies/20-several-errors.yaml"
    code, out, _ = run("check", "--format", "sarif", broken)
    log = _sarif_valid(out)
    results = log["runs"][0]["results"]
    _, as_json, _ = run("check", "--format", "json", broken)
    findings = json.loads(as_json)["findings"]
    assert code == 2 and len(results) == len(findings) > 1
    first = results[0]["locations"][0]["physicalLocation"]
    assert (first["region"]["startLine"], results[0]["ruleId"]) == (findings[0]["line"], findings[0]["code"])
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert [rules[r["ruleIndex"]]["id"] for r in results] == [r["ruleId"] for r in results]


def test_lint_sarif_validates_and_relative_paths_have_a_base(repo):
    code, out, _ = run("lint", "--format", "sarif", "--info", "acme")
    log = _sarif_valid(out)
    run_ = log["runs"][0]
    assert {r["level"] for r in run_["results"]} == {"note"}  # the scaffold's two info findings
    assert run_["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "acme/acme.yaml", "uriBaseId": "%SRCROOT%"}
    assert run_["originalUriBaseIds"]["%SRCROOT%"]["uri"].endswith("/")
    _sarif_valid(run("check", "--format", "sarif", "acme")[1])  # no results is a valid log too


def test_check_lint_and_test_findings_share_one_shape(repo):
    (repo / "acme.yaml").write_text((repo / "acme.yaml").read_text("utf-8").replace("customer.plan ==", "customer.plam =="), "utf-8")
    check = json.loads(run("check", "--format", "json", "acme")[1])["findings"]
    lint = json.loads(run("lint", "--format", "json", str(ROOT / "tests/fixtures/mini.yaml"))[1])["findings"]
    tests = json.loads(run("test", "--format", "json", "--coverage", "acme")[1])["findings"]
    for records in (check, lint, tests):
        assert records and all(RECORD_KEYS <= set(r) for r in records)
    assert check[0]["code"] == "unknown-field" and check[0]["file"] == "acme/acme.yaml"
    assert {r["code"] for r in tests} == {"test-failed"}


# -- schemas ----------------------------------------------------------------------------------------

def _properties(node, path=""):
    if isinstance(node, dict):
        for key, sub in (node.get("properties") or {}).items():
            yield f"{path}.{key}", sub
            yield from _properties(sub, f"{path}.{key}")
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                yield from _properties(node[key], f"{path}[]")
        for key in ("oneOf", "anyOf", "allOf"):
            for sub in node.get(key) or ():
                yield from _properties(sub, path)
        for key, sub in (node.get("$defs") or {}).items():
            yield from _properties(sub, f"#{key}")


@pytest.mark.parametrize("name", ["policy", "ticket", "vocabulary"])
def test_every_schema_property_has_a_description(name):
    missing = [p for p, sub in _properties(schema_json(name)) if "description" not in sub]
    assert missing == []


def test_the_policy_schema_embeds_the_vocabulary_schema():
    policy, vocab = schema_json("policy"), schema_json("vocabulary")
    ref = json.dumps(vocab["properties"]).replace("#/$defs/", "#/$defs/vocabulary_")
    assert json.loads(ref) == policy["properties"]["vocabulary"]["properties"]
    for key, sub in vocab["$defs"].items():
        assert json.loads(json.dumps(sub).replace("#/$defs/", "#/$defs/vocabulary_")) == policy["$defs"][f"vocabulary_{key}"]


def test_bundled_policies_schema_line_resolves():
    from importlib import resources

    for path in sorted((ROOT / "policies").glob("*.yaml")):
        first = path.read_text("utf-8").splitlines()[0]
        if "$schema=" not in first:
            continue
        target = path.parent / first.split("$schema=")[1].strip()
        assert json.loads(target.read_text("utf-8")) == schema_json("policy"), path
        # installed, the file sits beside the policies in the package too
        assert resources.files("slapolicy.policies").joinpath(target.name).is_file()


@pytest.mark.parametrize("old, new, words", [
    ("within: 2 business hours", "within: 2 bizness hours", "a duration"),
    ("id: mini", "id: Mini Shop", "an id"),
    ('mon-fri: "09:00-20:00"', 'mon-fry: "09:00-20:00"', "days: mon..sun"),
])
def test_pattern_errors_are_told_in_words(tmp_path, old, new, words):
    text = (ROOT / "tests/fixtures/mini.yaml").read_text("utf-8")
    assert old in text
    (tmp_path / "p.yaml").write_text(text.replace(old, new, 1), "utf-8")
    code, out, _ = run("check", "--format", "json", tmp_path / "p.yaml")
    messages = [f["message"] for f in json.loads(out)["findings"]]
    assert code == 2 and len(messages) == 1 and words in messages[0]
    assert not re.search(r"[\^$\\]|\\d|\[a-z", messages[0]), messages[0]


def test_schema_write_puts_the_schema_where_the_line_points(repo):
    target = repo / "schemas" / "policy.schema.json"
    target.write_text("{}", "utf-8")
    code, _, _ = run("schema", "policy", "--write", target)
    assert code == 0 and json.loads(target.read_text("utf-8")) == schema_json("policy")
