"""The compile cache (slapolicy.language.cache): a warm load decides exactly as a cold one, a corrupted
entry is ignored and rewritten, SLAPOLICY_NO_CACHE turns it off, a directory others can write is not used."""
import json
import os
from pathlib import Path

import pytest
import slapolicy.api as api
from slapolicy.language import cache
from slapolicy.language.digest import text_digest
from slapolicy.tools.corpus import generate

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("SLAPOLICY_CACHE_DIR", str(d))
    monkeypatch.delenv("SLAPOLICY_NO_CACHE", raising=False)
    monkeypatch.setattr(api, "_cache", {})  # the in-process cache would hide the file cache
    return d


def _load(policy_id):
    api._cache.clear()
    return api.load_policy(policy_id)


@pytest.mark.parametrize("policy_id", api.policy_ids())
def test_a_warm_load_decides_as_a_cold_one(cache_dir, policy_id, monkeypatch):
    cold = _load(policy_id)
    entries = list(cache_dir.glob("*.json"))
    assert entries and all(oct(e.stat().st_mode & 0o777) in ("0o600", "0o644") for e in entries)
    checks = []
    tickets = generate(cold, 200, 7)
    with monkeypatch.context() as m:
        m.setattr("slapolicy.language.check.check_policy", lambda *a, **k: checks.append(a) or 1 / 0)
        m.setattr("slapolicy.language.load.load_yaml", lambda *a, **k: checks.append(a) or 1 / 0)
        warm = _load(policy_id)
        assert warm.evaluate(generate(cold, 1, 3)[0], explain=False)  # nor to decide without explanation
        # the explanation's why_not spans come from the entry too: no second check for positions
        for t in tickets:
            for explain in (True, False):
                assert warm.evaluate(t, explain=explain) == cold.evaluate(t, explain=explain)
            assert warm.evaluate(t, as_of="2026-12-31T00:00:00Z") == cold.evaluate(t, as_of="2026-12-31T00:00:00Z")
        for t in tickets[:5]:
            assert warm.evaluate(t, unknown_facts=True) == cold.evaluate(t, unknown_facts=True)
    assert not checks  # no YAML, schema or checker on a warm load, nor for an explained decision
    assert any(leaf.get("span") for t in tickets for leaf in _why_not_leaves(warm.evaluate(t)))


def _why_not_leaves(decision):
    """every dict of the decision's why_not that has a span"""
    stack, out = [decision.get("why_not")], []
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            if "span" in v:
                out.append(v)
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return out


_WARM_START = """
import json, sys
from slapolicy.api import load_policy
policy = load_policy(sys.argv[1])
with open(sys.argv[2], encoding="utf-8") as f:
    ticket = json.load(f)
assert policy.evaluate(ticket, explain=True)["why_not"] is not None
policy.evaluate(ticket, explain=False)
print(" ".join(m for m in ("yaml", "lark", "jsonschema", "slapolicy.language.check", "slapolicy.language.parse") if m in sys.modules))
"""


@pytest.mark.parametrize("policy_id", ["bitrix-inc", "advantshop"])
def test_a_warm_start_imports_no_parser(cache_dir, policy_id):
    """A start from a warm cache, explained decision included, loads neither PyYAML, lark nor the checker."""
    import subprocess
    import sys

    env = {**os.environ, "SLAPOLICY_CACHE_DIR": str(cache_dir)}
    sample = str(SAMPLES / f"{policy_id}.json")  # a valid ticket (an invalid one brings jsonschema for its messages)
    cold = subprocess.run([sys.executable, "-c", _WARM_START, policy_id, sample], env=env, capture_output=True,
                          text=True, check=True)
    assert "yaml" in cold.stdout.split()  # the first start checks the policy and fills the cache
    warm = subprocess.run([sys.executable, "-c", _WARM_START, policy_id, sample], env=env, capture_output=True,
                          text=True, check=True)
    assert warm.stdout.split() == [], warm.stdout


def test_a_corrupted_entry_is_ignored_and_rebuilt(cache_dir):
    cold = _load("bitrix-inc")
    (entry,) = cache_dir.glob("*.json")
    entry.write_text('{"format": 1, "data": {}, "exprs": [{"tree": {"k": "Nope"}}]}', "utf-8")
    again = _load("bitrix-inc")
    ticket = generate(cold, 1, 1)[0]
    assert again.evaluate(ticket) == cold.evaluate(ticket)
    assert json.loads(entry.read_text("utf-8"))["exprs"][0]["tree"]["k"] != "Nope"  # rewritten


def test_no_cache_and_unsafe_directories(cache_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("SLAPOLICY_NO_CACHE", "1")
    _load("advantshop")
    assert not cache_dir.exists() or not list(cache_dir.glob("*.json"))
    monkeypatch.delenv("SLAPOLICY_NO_CACHE")
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    monkeypatch.setenv("SLAPOLICY_CACHE_DIR", str(shared))
    assert cache.directory() is None
    _load("advantshop")
    assert not list(shared.glob("*.json"))


def test_an_edit_misses(cache_dir, tmp_path):
    text = (api.default_policies_dir() / "bitrix-inc.yaml").read_text("utf-8")
    def key(t, file):
        return cache.key(text_digest(t), file)
    assert key(text, "a.yaml") != key(text + "\n", "a.yaml") != key(text, "b.yaml")
    assert key(text, "a.yaml") == key(str(text), "a.yaml")


_STYLED = {  # expressions written in every YAML style a why_not span is mapped through (language.load.expr_span)
    "unofficial-channel": '    when: |\n      channel not in ["portal", "chat"]\n        and sender_authorized != true\n',
    "unauthorised": '    when: >\n      sender_authorized == false\n      or customer.segment == "partner"\n',
    "not-covered": '    when: "topic in [\\"installation_work\\",\n      \\"migration\\"]"\n',
    "outdated": "    when: 'product_version_current ==\n      false'\n",
}


def test_why_not_spans_from_the_cache_in_every_yaml_style(cache_dir):
    """literal and folded blocks, quoted scalars over two lines: the cached entry keeps the scalar's span and
    style, so an explained decision cites the same file positions as after a check"""
    import re

    from conftest import BASE_TICKET, FIXTURES

    text = (FIXTURES / "mini.yaml").read_text("utf-8")
    for rule, when in _STYLED.items():
        text, n = re.subn(rf"(  - id: {rule}\n)    when: [^\n]*\n", lambda m: m.group(1) + when, text)
        assert n == 1, rule
    api._compile_text(text, "styled.yaml", cached=True)  # checks and fills the cache
    assert list(cache_dir.glob("*.json"))
    checked = api._compile_text(text, "styled.yaml")
    warm = api._compile_text(text, "styled.yaml", cached=True)
    assert getattr(warm.checked, "cached", False) and not getattr(checked.checked, "cached", False)
    tickets = [dict(BASE_TICKET, channel=c, sender_authorized=a, topic=t, product_version_current=v)
               for c in ("email", "portal") for a in (True, False) for t in ("migration", "server_tuning")
               for v in (True, False)]
    from slapolicy.decide.evaluate import evaluate
    from slapolicy.decide.tickets import validate_ticket

    lines = set()
    for t in tickets:
        ticket = validate_ticket(t)
        assert evaluate(warm, ticket) == evaluate(checked, ticket)
        lines.update(leaf["span"]["line"] for leaf in _why_not_leaves(evaluate(warm, ticket)))
    block_lines = {i for i, line in enumerate(text.splitlines(), 1) if line.startswith(("      ", "        and"))}
    assert lines & block_lines  # spans inside the blocks, not only at their first line


def _memo_names(policy, tickets):
    """the stage memos (slapolicy.decide.stagememo) a policy's shared decisions of `tickets` build, by name, and
    how many hit"""
    import copy

    from conftest import stage_memos
    from slapolicy.decide.registration import register
    from slapolicy.decide.tickets import validate_ticket

    compiled = policy.compiled
    for t in tickets:
        register(compiled, validate_ticket(copy.deepcopy(t)), True, shared=True)
    memos = stage_memos(compiled.__dict__["_scans_shared"])
    return sorted(memos), sum(bool(m.hits) for m in memos.values())


@pytest.mark.parametrize("policy_id", api.policy_ids())
def test_a_warm_load_keeps_the_stage_memos_of_a_cold_one(cache_dir, policy_id, monkeypatch):
    """a policy from the compile cache carries no vocabulary of its own: its stage memos are keyed by the base
    vocabulary, as its tickets are parsed, and it builds the memos a cold load builds (before, none at all)"""
    from slapolicy.decide import stagememo

    monkeypatch.setattr(stagememo, "HIT_SHARE", 0)  # (no memo stops)
    cold = _load(policy_id)
    tickets = generate(cold, 20, 5)
    warm = _load(policy_id)
    assert warm is not cold and warm.compiled is not cold.compiled
    want, want_hits = _memo_names(cold, tickets * 2)
    got, got_hits = _memo_names(warm, tickets * 2)
    assert got == want and got_hits == want_hits
    assert want and want_hits


def _age(path: Path, days: float) -> None:
    import time

    then = time.time() - days * 86400
    os.utime(path, (then, then))


def test_entries_unused_for_a_month_are_pruned_when_another_is_written(cache_dir):
    _load("advantshop")
    (entry,) = [e for e in cache_dir.glob("*.json") if not e.name.startswith("holidays-")]
    kept_aside = sorted(p.name for p in cache_dir.iterdir() if p != entry)  # (the stored holidays, if any)
    for name in kept_aside:
        _age(cache_dir / name, 400)
    stale = cache_dir / ("0" * 64 + ".json")
    stale.write_text("{}")
    _age(stale, cache.MAX_AGE_DAYS + 1)
    recent = cache_dir / ("1" * 64 + ".json")
    recent.write_text("{}")
    _age(recent, cache.MAX_AGE_DAYS - 1)
    dead_writer, live_writer = cache_dir / ".entry-dead.tmp", cache_dir / ".entry-live.tmp"
    dead_writer.write_text("{")
    live_writer.write_text("{")
    _age(dead_writer, 1 / 12)  # two hours
    (cache_dir / "bytecode").mkdir()
    _age(cache_dir / "bytecode", 400)
    _age(entry, cache.MAX_AGE_DAYS + 5)  # unused as long, but read below: marked used again
    _load("advantshop")
    assert entry.exists() and entry.stat().st_mtime > recent.stat().st_mtime
    _load("bitrix-ua")  # a new entry written: the directory pruned
    assert not stale.exists() and not dead_writer.exists()
    assert recent.exists() and live_writer.exists() and entry.exists() and (cache_dir / "bytecode").is_dir()
    assert all((cache_dir / name).exists() for name in kept_aside)  # (the stored holidays: not the cache's)


def test_a_read_marks_an_entry_used_at_most_once_a_day(cache_dir):
    _load("advantshop")
    (entry,) = [e for e in cache_dir.glob("*.json") if not e.name.startswith("holidays-")]
    _age(entry, 0.5)
    before = entry.stat().st_mtime
    _load("advantshop")
    assert entry.stat().st_mtime == before  # (marked half a day ago: left as it is)
    _age(entry, 2)
    _load("advantshop")
    import time

    assert time.time() - entry.stat().st_mtime < 60
