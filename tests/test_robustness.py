"""Bad input never crashes, hangs or silently changes what is decided (issue 12): the CLI readers and
the policy loader. Every case is an attack that gave a traceback, a hang or a leak before; each must
now be exit 2 with a diagnostic code (README "Input limits", docs/diagnostics.md).

Cases that could hang (a FIFO, a device, a billion laughs) run the CLI as a subprocess with a timeout,
so that a regression fails the test instead of blocking the suite.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import BASE_TICKET, FIXTURES, ROOT
from slapolicy import cli
from slapolicy.decide import jsonio
from slapolicy.language import load

CLI = [sys.executable, "-m", "slapolicy.cli"]
LAUGHS = "id: x\n" + "a0: &a0 [" + ",".join(['"lol"'] * 9) + "]\n" + "".join(
    f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]\n" for i in range(1, 8))


def run_cli(*args, stdin: str | None = None, timeout: float = 60):
    """The CLI as a subprocess: (exit code, stdout, stderr); a hang is a test failure, not a stuck suite."""
    try:
        p = subprocess.run(CLI + [str(a) for a in args], input=stdin, capture_output=True, text=True,
                           timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"slapolicy {' '.join(map(str, args))} did not finish within {timeout} s")
    return p.returncode, p.stdout, p.stderr


def invoke(*args, stdin: str | None = None):
    result = CliRunner().invoke(cli.main, [str(a) for a in args], input=stdin)
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), \
        "".join(__import__("traceback").format_exception(result.exception))
    return result


def ticket_text(**extra) -> str:
    return json.dumps(dict(BASE_TICKET, **extra))[:-1]


# -- the CLI's ticket readers -----------------------------------------------------------------------
SINGLE = [
    ("nested 1,100 deep", ticket_text() + ', "x": ' + "[" * 1100 + "]" * 1100 + "}", "input-too-deep"),
    ("an integer of 5,000 digits", ticket_text() + ', "problems_count": ' + "9" * 5000 + "}", "input-number-too-large"),
    ("a lone surrogate", ticket_text() + ', "sender_email": "\\ud800"}', "sender_email: not valid Unicode"),
    ("a lone surrogate in a key", ticket_text() + ', "\\udc00": 1}', "not valid Unicode"),
    ("a string of 200,000 characters", ticket_text() + ', "sender_email": "' + "a" * 200_000 + '"}',
     "input-string-too-long"),
    ("NaN", ticket_text() + ', "problems_count": NaN}', "json-syntax"),
    ("1e999", ticket_text() + ', "problems_count": 1e999}', "input-number-too-large"),
]


@pytest.mark.parametrize("name,text,expected", SINGLE, ids=[c[0] for c in SINGLE])
def test_a_hostile_ticket_is_exit_2_with_a_code(name, text, expected):
    result = invoke("evaluate", "--policy", FIXTURES / "mini.yaml", stdin=text)
    assert result.exit_code == 2, result.output
    assert expected in result.stderr and "Traceback" not in result.output + result.stderr
    assert result.stdout == ""


def test_json_lines_lose_no_line_and_say_what_each_bad_one_is():
    good = json.dumps(BASE_TICKET)
    lines = [good, SINGLE[2][1], good, SINGLE[0][1], SINGLE[1][1], "{", good, SINGLE[4][1]]
    result = invoke("evaluate", "--policy", FIXTURES / "mini.yaml", "--jsonl", stdin="\n".join(lines) + "\n")
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == len(lines)  # lines out == lines in, always
    codes = [r["error"]["code"] if "error" in r else "ok" for r in out]
    assert codes == ["ok", "invalid-ticket", "ok", "input-too-deep", "input-number-too-large", "json-syntax", "ok",
                     "input-string-too-long"]
    assert out[1]["error"]["problems"][0]["field"] == "sender_email" and out[1]["line"] == 2


def test_a_json_lines_line_longer_than_the_limit_is_one_error_record(monkeypatch):
    monkeypatch.setattr(jsonio, "MAX_DOCUMENT_CHARS", 1000)
    good = json.dumps(BASE_TICKET)
    text = good + "\n" + '{"id": "' + "x" * 5000 + '"}\n' + good + "\n"
    lines = list(jsonio.read_lines(__import__("io").StringIO(text), 1000))
    assert [line is None for line in lines] == [False, True, False]


@pytest.mark.parametrize("as_of", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2201-01-01T00:00:00Z",
                                   "1969-12-31T23:00:00Z", "yesterday"])
def test_as_of_at_the_limits_is_exit_2(as_of):
    result = invoke("evaluate", "--policy", FIXTURES / "mini.yaml", "--as-of", as_of, stdin=json.dumps(BASE_TICKET))
    assert result.exit_code == 2 and "--as-of" in result.stderr, result.output


def test_watch_reports_a_hostile_event_and_goes_on():
    created = json.dumps({"type": "created", "ticket": BASE_TICKET})
    lines = [created, '{"type": "created", "ticket": ' + "[" * 2000 + "]" * 2000 + "}",
             '{"ticket": "T-1", "type": "agent_replied", "at": "\\ud800"}',
             json.dumps({"ticket": "T-1", "type": "resolved", "at": "2026-03-10T12:00:00+02:00"})]
    result = invoke("watch", "--policy", FIXTURES / "mini.yaml", "--replay", stdin="\n".join(lines) + "\n")
    assert result.exit_code == 0 and "Traceback" not in result.stderr
    assert ":2: input-too-deep" in result.stderr and ":3: invalid-event: event: at: not valid Unicode" in result.stderr


# -- hostile policy files -----------------------------------------------------------------------------
def mini_with(old: str, new: str) -> str:
    text = (FIXTURES / "mini.yaml").read_text("utf-8")
    assert old in text
    return text.replace(old, new, 1)


def definition_chain(n: int) -> str:
    defs = "definitions:\n  coupon_valid:\n    expr: customer.coupon.used < 15\n    source: \"2.4\"\n" \
           "  d0:\n    expr: channel == \"portal\"\n    source: \"1\"\n" + "".join(
               f"  d{i}:\n    expr: d{i - 1} and channel == \"portal\"\n    source: \"1\"\n" for i in range(1, n))
    text = (FIXTURES / "mini.yaml").read_text("utf-8")
    a, b = text.index("definitions:\n"), text.index("acceptance:\n")
    return text[:a] + defs + text[b:].replace("when: sender_authorized == false",
                                              f"when: sender_authorized == false and d{n - 1}", 1)


HOSTILE = [
    ("billion laughs", LAUGHS, "yaml-alias"),
    ("python tag", "id: !!python/name:os.system x\n", "yaml-tag"),
    ("python object tag on a mapping", "id: x\nx: !!python/object:os.system {a: 1}\n", "yaml-tag"),
    ("binary tag", "id: x\nx: !!binary aGVsbG8=\n", "yaml-tag"),
    ("merge key", "id: x\nb: {<<: {a: 1}}\n", "yaml-tag"),
    ("10,000-digit integer", "id: x\nversion: " + "9" * 10_000 + "\n", "yaml-number"),
    ("an impossible date", "id: x\nversion: 2026-02-30\n", "yaml-value"),
    ("nested 200 deep", "id: x\nx: " + "".join(f"\n{'  ' * (i + 1)}k{i}:" for i in range(200)) + " 1\n",
     "yaml-too-deep"),
    (".nan", mini_with("minimum_minutes: {value: 20,", "minimum_minutes: {value: .nan,"), "yaml-number"),
    (".inf", mini_with("minimum_minutes: {value: 20,", "minimum_minutes: {value: .inf,"), "yaml-number"),
    ("a chain of 1,500 definitions", definition_chain(1500), "definition-too-deep"),
    ("a chain of 300 definitions", definition_chain(300), "definition-too-deep"),
    ("plain text", "root:x:0:0:SECRET-MARKER:/root:/bin/bash\n", "not-a-policy"),
]


@pytest.mark.parametrize("name,text,code", HOSTILE, ids=[c[0] for c in HOSTILE])
def test_a_hostile_policy_is_a_diagnostic_for_every_command(tmp_path, name, text, code):
    path = tmp_path / "x.yaml"
    path.write_text(text, "utf-8")
    commands = [["check", path], ["lint", path], ["render", path.stem, "--policies", tmp_path],
                ["evaluate", "--policy", path]]
    if code != "definition-too-deep":  # fmt only loads the YAML: a long chain of definitions is its business
        commands.append(["fmt", "--check", path])
    for command in commands:
        result = invoke(*command, stdin=json.dumps(BASE_TICKET))
        assert result.exit_code == 2, (command, result.output)
        out = result.stdout + result.stderr
        assert code in out and "Traceback" not in out and "SECRET-MARKER" not in out, (command, out[:2000])
        assert all(len(line) < 400 for line in out.splitlines()), "an excerpt must not echo a huge line"


def test_billion_laughs_is_refused_quickly_even_in_a_test_file(tmp_path):
    (tmp_path / "mini.yaml").write_text((FIXTURES / "mini.yaml").read_text("utf-8"), "utf-8")
    (tmp_path / "mini.tests.yaml").write_text("- name: laughs\n  ticket:\n    " + LAUGHS.replace("\n", "\n    ")
                                              .replace("id: x", "x: &top 1") + "\n", "utf-8")
    # test files may use aliases (to share tickets), but what they expand to is capped
    code, out, err = run_cli("test", tmp_path / "mini.tests.yaml", timeout=60)
    assert code == 2 and "yaml-too-large" in out + err, out + err
    code, out, err = run_cli("check", _write(tmp_path / "l.yaml", LAUGHS))
    assert code == 2 and "yaml-alias" in err


def _write(path: Path, text: str) -> Path:
    path.write_text(text, "utf-8")
    return path


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_named_like_a_policy_never_hangs_a_command(tmp_path):
    shutil.copy(FIXTURES / "mini.yaml", tmp_path / "mini.yaml")
    os.mkfifo(tmp_path / "x.yaml")
    for command in (["check", tmp_path], ["lint", tmp_path], ["fmt", "--check", tmp_path],
                    ["evaluate", "--policy", tmp_path / "x.yaml"]):
        code, out, err = run_cli(*command, stdin="{}", timeout=60)
        assert code == 2 and "not-a-regular-file" in out + err, (command, out + err)
        assert "Traceback" not in err


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_links_out_of_the_directory_are_refused_and_never_read(tmp_path):
    home, outside = tmp_path / "policies", tmp_path / "outside"
    home.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text("password: SECRET-MARKER\n", "utf-8")
    (home / "zero.yaml").symlink_to("/dev/zero")
    (home / "secret.yaml").symlink_to(outside / "secret.txt")
    code, out, err = run_cli("check", home, timeout=60)
    assert code == 2 and err.count("unsafe-symlink") == 2 and "SECRET-MARKER" not in out + err, out + err
    # a link inside its own directory tree (a Kubernetes ConfigMap's ..data/) is followed
    (home / "zero.yaml").unlink()
    (home / "secret.yaml").unlink()
    (home / "..data").mkdir()
    shutil.copy(FIXTURES / "mini.yaml", home / "..data" / "mini.yaml")
    (home / "mini.yaml").symlink_to(Path("..data") / "mini.yaml")
    code, out, err = run_cli("check", home / "mini.yaml", timeout=60)
    assert code == 0, out + err


def test_the_safe_reader_refuses_what_is_not_a_regular_file(tmp_path):
    with pytest.raises(load.PolicyError) as info:
        load.read_policy_file(tmp_path)
    assert info.value.diagnostics[0].code == "not-a-regular-file"
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * (load.MAX_BYTES + 10) + "\n", "utf-8")
    with pytest.raises(load.PolicyError) as info:
        load.read_policy_file(big)
    assert info.value.diagnostics[0].code == "file-too-large"
    bad = _write(tmp_path / "bad.yaml", "id: x\n")
    bad.write_bytes(b"id: x\nname: \xff\xfe\n")
    with pytest.raises(load.PolicyError) as info:
        load.read_policy_file(bad)
    d = info.value.diagnostics[0]
    assert (d.code, d.span.line, d.span.col) == ("unreadable", 2, 7)


def test_a_nan_in_a_policy_never_reaches_a_decision():
    # before: `.nan` passed check and the CLI printed NaN, which is not JSON
    text = mini_with("minimum_minutes: {value: 20,", "minimum_minutes: {value: .nan,")
    from slapolicy.api import check_text

    result = check_text(text, "x.yaml")
    assert [d.code for d in result.errors] == ["yaml-number"]


# -- Markdown output ----------------------------------------------------------------------------------
def test_render_markdown_writes_policy_text_as_text_not_html(tmp_path):
    text = mini_with("title: Mini regulation for engine tests",
                     'title: "Mini <script>alert(1)</script> & <img src=x onerror=alert(2)>"')
    text = text.replace('text: A coupon is valid for one year from its issue date.',
                        'text: "A coupon <iframe src=//evil.example></iframe> is valid"')
    _write(tmp_path / "mini.yaml", text)
    result = invoke("render", "mini", "--policies", tmp_path, "--format", "md")
    assert result.exit_code == 0, result.output
    md = result.stdout
    assert "<script>" not in md and "<img" not in md and "<iframe" not in md
    assert "&lt;script>alert(1)&lt;/script> &amp; &lt;img" in md


def test_the_markdown_diff_writes_policy_text_as_text_not_html(tmp_path):
    old = _write(tmp_path / "old.yaml", (FIXTURES / "mini.yaml").read_text("utf-8"))
    new = _write(tmp_path / "new.yaml", mini_with("    name: Standard\n", '    name: "Std <script>x()</script> & co"\n'))
    result = invoke("diff", old, new, "--format", "markdown", "--n", "50")
    assert result.exit_code == 0, result.output
    assert "<script>" not in result.stdout and "'Std &lt;script>x()&lt;/script> &amp; co'" in result.stdout


@pytest.mark.parametrize("number", ["18446744073709551616", "-9223372036854775809", "9" * 100,
                                    "123456789012345678901234567890"])
def test_an_integer_beyond_64_bits_stays_an_exact_integer(number):
    """orjson turns such an integer into a float without a word; the reader must not"""
    from slapolicy.decide import jsonio

    for text in ('{"n": %s}' % number, '[1, {"a": [%s]}]' % number):
        value = jsonio.loads(text)
        got = value["n"] if isinstance(value, dict) else value[1]["a"][0]
        assert type(got) is int and got == int(number)
    assert jsonio.loads('{"id": "x%s"}' % number) == {"id": "x" + number}  # digits in a string: unchanged
