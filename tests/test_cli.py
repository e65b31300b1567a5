"""The command line as other systems use it: CONTRACT section 1."""
import json

from conftest import BASE_TICKET

MINI = "tests/fixtures/mini.yaml"


def test_evaluate_one_ticket(cli):
    ticket = dict(BASE_TICKET, topic="billing", problems_count=2)
    code, out, err = cli("evaluate", "--policy", MINI, "-", input=json.dumps(ticket))
    assert code == 0, err
    decision = json.loads(out)
    assert decision["ticket"] == "T-1"
    assert decision["eligibility"]["status"] == "in_scope"
    assert decision["tier"]["id"] == "standard"
    assert decision["deadlines"]["first_response"]["due"] == "2026-03-10T13:00:00+02:00"
    assert [r["code"] for r in decision["delay_reasons"]] == ["multiple_problems"]


def test_jsonl_keeps_every_line_and_reports_bad_ones(cli):
    good = json.dumps(dict(BASE_TICKET, topic="billing"))
    bad_type = json.dumps(dict(BASE_TICKET, problems_count="two"))
    lines = [good, "{not json", bad_type, good, ""]
    code, out, err = cli("evaluate", "--policy", MINI, "--jsonl", "-", input="\n".join(lines) + "\n")
    assert code == 2
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == len(lines)
    assert records[0]["tier"]["id"] == "standard" and records[3]["tier"]["id"] == "standard"
    assert records[1] == {"line": 2, "error": records[1]["error"]} and records[1]["error"]["code"] == "json-syntax"
    assert records[2]["line"] == 3 and records[2]["error"]["problems"][0]["field"] == "problems_count"
    assert records[4]["line"] == 5
    assert "<stdin>:3: problems_count:" in err and "Traceback" not in err


def test_jsonl_syntax_error_is_reported_where_it_is(cli):
    """the column of the error in its line, not the line's end of line (once reported at column 1)"""
    lines = ['{"id": "a", "x": }', '{"id": 1,']
    code, out, err = cli("evaluate", "--policy", MINI, "--jsonl", "-", input="\n".join(lines) + "\n")
    assert code == 2
    records = [json.loads(line) for line in out.splitlines()]
    assert records[0]["error"]["message"].endswith("at column 18") and "<stdin>:1:18: error: json-syntax" in err
    assert records[1]["error"]["message"].endswith("at column 10") and "<stdin>:2:10: error: json-syntax" in err


def test_unknown_policy_is_bad_input(cli):
    code, out, err = cli("evaluate", "--policy", "no-such-policy", "-", input=json.dumps(BASE_TICKET))
    assert code == 2 and out == ""
    assert "unknown policy 'no-such-policy'" in err


def test_broken_policy_names_file_line_col(cli):
    code, out, err = cli("evaluate", "--policy", "tests/golden/policies/04-unknown-enum-value.yaml", "-",
                         input=json.dumps(BASE_TICKET))
    assert code == 2
    assert "tests/golden/policies/04-unknown-enum-value.yaml:36:21: error: unknown-enum-value" in err
    assert "did you mean 'installation_work'?" in err


def test_bad_as_of(cli):
    code, _, err = cli("evaluate", "--policy", MINI, "--as-of", "yesterday", "-", input=json.dumps(BASE_TICKET))
    assert code == 2 and "--as-of" in err


def test_check_reports_errors_and_exit_code(cli):
    code, _, err = cli("check", "tests/golden/policies/07-unknown-tier.yaml")
    assert code == 2 and "unknown-tier" in err
    code, out, err = cli("check", MINI)
    assert code == 0, err


def test_check_json_format(cli):
    code, out, _ = cli("check", "--format", "json", "tests/golden/policies/20-several-errors.yaml")
    assert code == 2
    report = json.loads(out)
    codes = [d["code"] for d in report["diagnostics"] if d["severity"] == "error"]
    assert codes.count("unknown-enum-value") == 2 and "unknown-tier" in codes and "unknown-field" in codes
    lines = [d["line"] for d in report["diagnostics"]]
    assert lines == sorted(lines)


def test_explain_reads_like_a_lead_would(cli):
    ticket = dict(BASE_TICKET, topic="installation_work")
    code, out, err = cli("explain", "--policy", MINI, "-", input=json.dumps(ticket))
    assert code == 0, err
    assert "Eligibility: out_of_scope" in out
    assert "Tier: consulting" in out
    assert "no guaranteed time" in out
    assert "Unknown facts" in out and "special_request" in out.split("Unknown facts")[1]


def test_schema_command(cli):
    code, out, _ = cli("schema", "ticket")
    assert code == 0 and json.loads(out)["properties"]["channel"]["enum"][0] == "portal"
