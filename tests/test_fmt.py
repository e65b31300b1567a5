"""slapolicy fmt: canonical layout, comments kept, idempotent, same meaning; --check, --stdout, textconv."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from slapolicy import cli
from slapolicy.language.load import load_yaml
from slapolicy.tools.fmt import RULE, TOP, FormatError, format_text

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "tests" / "fixtures" / "tools"
FMT = TOOLS / "fmt"
GOLDEN = ROOT / "tests" / "golden" / "policies"
PARSEABLE = [p for p in sorted(GOLDEN.glob("*.yaml")) if p.stem not in ("01-yaml-syntax", "02-duplicate-key")]
FILES = sorted(p for p in (ROOT / "policies").glob("*.yaml") if p.name.count(".") == 1) + [ROOT / "tests/fixtures/mini.yaml", TOOLS / "planted.yaml",
                                                       TOOLS / "shop.yaml", FMT / "messy.yaml"] + PARSEABLE


def _comments(text):
    return sorted(line.strip() for line in text.splitlines() if line.strip().startswith("#")) + \
        sorted(line.split(" #", 1)[1].strip() for line in text.splitlines()
               if " #" in line and not line.strip().startswith("#") and '"' not in line.split(" #", 1)[1])


def test_golden_messy_policy():
    text = (FMT / "messy.yaml").read_text("utf-8")
    assert format_text(text, "messy.yaml") == (FMT / "messy.expected.yaml").read_text("utf-8")


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_idempotent_same_meaning_comments_kept(path):
    text = path.read_text("utf-8")
    once = format_text(text, path.name)
    assert format_text(once, path.name) == once
    assert load_yaml(once, path.name).data == load_yaml(text, path.name).data
    assert _comments(once) == _comments(text)
    assert once.endswith("\n") and not once.endswith("\n\n")


def test_key_order_is_canonical():
    text = format_text((FMT / "messy.yaml").read_text("utf-8"), "messy.yaml")
    data = load_yaml(text, "messy.yaml").data
    assert list(data) == [k for k in TOP if k in data]
    for name in ("scope", "tier_rules", "delay_reasons"):
        for rule in data[name]:
            assert list(rule) == [k for k in RULE if k in rule]


def test_a_comment_moves_with_the_key_it_introduces():
    text = ("id: x\ntitle: T\nversion: '1'\ntimezone: UTC\ncalendars: {c: {week: 24x7, source: '1'}}\n"
            "tiers: {t: {name: T, source: '1', targets: {first_response: {no_guarantee: true, source: '1'}}}}\n"
            "tier_rules:\n  - source: '2'\n    # why this tier\n    tier: t\n    id: all\n"
            "scope:\n  - id: s\n    status: in_scope  # the default\n    source: '3'\n")
    out = format_text(text, "x.yaml")
    lines = out.splitlines()
    assert lines.index("    # why this tier") + 1 == lines.index("    tier: t")
    assert "    status: in_scope  # the default" in lines
    assert out.index("scope:") < out.index("tiers:") < out.index("tier_rules:")


def test_files_that_are_not_policies_pass_through_unchanged():
    for path in sorted((ROOT / "policies").glob("*.tests.yaml")) + sorted((ROOT / "policies").glob("*.coverage.yaml")):
        text = path.read_text("utf-8")
        try:
            assert format_text(text, path.name) == text
        except FormatError as exc:  # a test file may use anchors, which a policy may not
            assert exc.diagnostics[0].code == "yaml-alias"


def test_bad_yaml_is_an_error_with_a_position():
    with pytest.raises(FormatError) as info:
        format_text("id: x\nscope: [\n", "bad.yaml")
    d = info.value.diagnostics[0]
    assert d.code == "yaml-syntax" and d.span.file == "bad.yaml" and d.span.line >= 2


def _run(*args):
    result = CliRunner().invoke(cli.main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_cli_check_rewrite_and_stdout(tmp_path):
    messy = tmp_path / "messy.yaml"
    shutil.copy(FMT / "messy.yaml", messy)
    code, out, _ = _run("fmt", "--check", str(messy))
    assert code == 1 and "would reformat" in out and "messy.yaml" in out
    assert messy.read_text("utf-8") == (FMT / "messy.yaml").read_text("utf-8")  # --check changes nothing
    code, out, _ = _run("fmt", "--stdout", str(messy))
    assert code == 0 and out == (FMT / "messy.expected.yaml").read_text("utf-8")
    code, out, _ = _run("fmt", str(messy))
    assert code == 0 and "reformatted" in out
    assert messy.read_text("utf-8") == (FMT / "messy.expected.yaml").read_text("utf-8")
    code, out, _ = _run("fmt", "--check", str(messy))
    assert code == 0 and out == ""


def test_cli_bad_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nscope: [\n", "utf-8")
    code, _, err = _run("fmt", str(bad))
    assert code == 2 and "bad.yaml:" in err and "yaml-syntax" in err and "Traceback" not in err
    code, out, err = _run("fmt", "--stdout", str(bad))  # a textconv must not fail: the text as it is
    assert code == 0 and out == bad.read_text("utf-8") and "not formatted" in err


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_textconv_shows_the_canonical_form(tmp_path):
    def git(*args):
        return subprocess.run(["git", *args], cwd=tmp_path, capture_output=True, text=True, check=True).stdout

    git("init", "-q")
    git("config", "user.email", "t@example.com")
    git("config", "user.name", "t")
    (tmp_path / "policies").mkdir()
    (tmp_path / ".gitattributes").write_text((ROOT / ".gitattributes").read_text("utf-8"), "utf-8")
    git("config", "diff.slapolicy.textconv", f"{sys.executable} {ROOT / 'cli.py'} fmt --stdout")
    policy = tmp_path / "policies" / "messy.yaml"
    shutil.copy(FMT / "messy.yaml", policy)
    git("add", ".")
    git("commit", "-q", "-m", "one")
    policy.write_text(policy.read_text("utf-8").replace("8 business hours", "4 business hours"), "utf-8")
    env_diff = subprocess.run(["git", "diff"], cwd=tmp_path, capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout
    # the canonical order puts `within` first in the flow mapping of the target
    assert "-      first_response: {within: 8 business hours, calendar: office" in env_diff
    assert "+      first_response: {within: 4 business hours, calendar: office" in env_diff
