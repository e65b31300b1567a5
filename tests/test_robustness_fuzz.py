"""Fuzz tests over every reader (issue 12), with hypothesis: random bytes, random deep JSON, random YAML
with anchors, aliases and tags. The property everywhere: a decision, or a refusal with a code (exit 2, a
4xx, an error record in place); never a traceback, a 500, or a run longer than the deadline.

In process (click's CliRunner, the loader and the store directly; one live uvicorn for HTTP) and small
example counts, so that the whole file takes a few seconds.
"""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from conftest import BASE_TICKET, FIXTURES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slapolicy import cli
from slapolicy.api import check_text, load_policy
from slapolicy.decide import jsonio
from slapolicy.language.diagnostics import InputError, PolicyError, TicketError
from slapolicy.language.load import load_yaml

FUZZ = settings(max_examples=60, deadline=3000, suppress_health_check=[HealthCheck.too_slow,
                                                                       HealthCheck.function_scoped_fixture])
POLICY = load_policy(str(FIXTURES / "mini.yaml"))

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=20))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                             st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                           max_leaves=30)


@st.composite
def deep_json(draw):
    """JSON text nested up to 3,000 levels, with huge integers, escapes and surrogates at the bottom."""
    depth = draw(st.integers(0, 3000))
    opener = draw(st.sampled_from(["[", '{"a":']))
    closer = "]" if opener == "[" else "}"
    leaf = draw(st.sampled_from(['1', '"\\ud800"', '"\\udfff x"', "9" * 5000, "-" + "9" * 120, "1e999", "NaN",
                                 '"' + "x" * 10 + '"', "[]", "{}", "", "tru"]))
    text = opener * depth + leaf + closer * draw(st.integers(0, depth))
    return text


hostile_texts = st.one_of(st.binary(max_size=300).map(lambda b: b.decode("utf-8", "replace")),
                          json_values.map(json.dumps), deep_json(),
                          json_values.map(lambda v: json.dumps(dict(BASE_TICKET, x=v))[:-1] + "}"),
                          st.text(max_size=200))


def refusal_or_value(text):
    try:
        return jsonio.loads(text)
    except (json.JSONDecodeError, InputError, TicketError, UnicodeDecodeError):
        return None


@FUZZ
@given(hostile_texts)
def test_the_json_reader_only_refuses_with_its_own_errors(text):
    value = refusal_or_value(text)
    if value is not None:
        jsonio.dumps(value).encode("utf-8")  # whatever loads can be written back out as UTF-8


@FUZZ
@given(hostile_texts)
def test_evaluate_decides_or_exits_2(text):
    result = CliRunner().invoke(cli.main, ["evaluate", "--policy", str(FIXTURES / "mini.yaml")], input=text)
    assert result.exit_code in (0, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.stderr
    if result.exit_code == 0:
        json.loads(result.stdout)


@FUZZ
@given(st.lists(hostile_texts.map(lambda t: t.replace("\n", " ").replace("\r", " ")), min_size=1, max_size=6))
def test_json_lines_out_equal_lines_in(lines):
    result = CliRunner().invoke(cli.main, ["evaluate", "--jsonl", "--policy", str(FIXTURES / "mini.yaml")],
                                input="\n".join(lines) + "\n")
    assert result.exception is None or isinstance(result.exception, SystemExit)
    out = result.stdout.rstrip("\n").split("\n")  # not splitlines: U+2028 inside a JSON string is no line end
    assert len(out) == len(lines)
    for number, line in enumerate(out, start=1):
        record = json.loads(line)
        assert "error" not in record or (record["line"] == number and record["error"]["code"] != "internal-error")


# -- YAML: anchors, aliases, tags ---------------------------------------------------------------------
TAGS = ["", "!!str ", "!!int ", "!!float ", "!!python/name:os.system ", "!!python/object/apply:os.system ",
        "!!binary ", "!foo ", "!!set ", "!!omap ", "!!timestamp ", "!<tag:yaml.org,2002:python/none> "]
YAML_SCALARS = ["1", "x", '"s"', ".nan", "-.inf", "9" * 60, "2026-02-30", "0x" + "f" * 50, "~", "true", "[]", "{}",
                "<<"]


@st.composite
def hostile_yaml(draw):
    n = draw(st.integers(1, 8))
    lines = ["id: x"]
    for i in range(n):
        tag = draw(st.sampled_from(TAGS))
        if i and draw(st.booleans()):  # a list of aliases of the previous anchor: billion laughs in small
            value = "[" + ", ".join([f"*a{i - 1}"] * draw(st.integers(1, 9))) + "]"
        else:
            value = draw(st.sampled_from(YAML_SCALARS))
        lines.append(f"k{i}: &a{i} {tag}{value}")
    if draw(st.booleans()):
        lines.append("m: {<<: *a0}")
    text = "\n".join(lines) + "\n"
    if draw(st.booleans()):
        text = "- " + text.replace("\n", "\n  ")  # a test file's shape: a list
    return text


@FUZZ
@given(hostile_yaml())
def test_the_policy_loader_only_reports_diagnostics(text):
    for aliases in (False, True):
        try:
            load_yaml(text, "f.yaml", allow_aliases=aliases)
        except PolicyError as exc:
            assert exc.diagnostics and all(d.span.line >= 1 and d.span.col >= 1 for d in exc.diagnostics)
    result = check_text(text, "f.yaml")
    assert result.errors  # none of these is a policy


@FUZZ
@given(st.binary(max_size=400))
def test_check_on_random_bytes_is_exit_2(data):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.yaml"
        path.write_bytes(data)
        result = CliRunner().invoke(cli.main, ["check", str(path)])
        assert result.exit_code == 2, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)


# -- HTTP ---------------------------------------------------------------------------------------------
pytest.importorskip("uvicorn")


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    import shutil

    from live import LiveServer
    from slapolicy.service.app import create_app

    directory = tmp_path_factory.mktemp("fuzz")
    shutil.copy(FIXTURES / "mini.yaml", directory / "mini.yaml")
    server = LiveServer(create_app(directory, reload_interval=0))
    yield server
    server.stop()


def post(port, path, body: bytes, content_type: str):
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": content_type})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


@FUZZ
@given(st.one_of(hostile_texts.map(lambda t: t.encode("utf-8", "surrogatepass")), st.binary(max_size=300)),
       st.sampled_from(["/v1/policies/mini/evaluate", "/v1/policies/mini/evaluate-batch"]),
       st.sampled_from(["application/json", "application/x-ndjson"]))
def test_the_api_never_answers_500(live, body, path, content_type):
    status, out = post(live.port, path, body, content_type)
    assert status < 500, out[:300]
    if status >= 400:
        assert json.loads(out)["error"]["code"]
    elif content_type == "application/x-ndjson":  # JSON Lines out: a record per line in, errors in place
        records = [json.loads(line) for line in out.decode("utf-8").split("\n")[:-1]]
        assert all(r["error"]["code"] != "internal-error" for r in records if "error" in r)
    else:
        json.loads(out)
