"""The compile cache (slapolicy.language.cache): a warm load decides exactly as a cold one, a corrupted
entry is ignored and rewritten, SLAPOLICY_NO_CACHE turns it off, a directory others can write is not used."""
import json
import os

import pytest
import slapolicy.api as api
from slapolicy.language import cache
from slapolicy.tools.corpus import generate


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
    with monkeypatch.context() as m:
        m.setattr("slapolicy.language.check.check_policy", lambda *a, **k: checks.append(a) or 1 / 0)
        warm = _load(policy_id)
        assert warm.evaluate(generate(cold, 1, 3)[0], explain=False)  # nor to decide without explanation
    assert not checks  # no YAML, schema or checker on a warm load
    # (an explained decision checks the text once more for the positions why_not cites: language.cache)
    for t in generate(cold, 200, 7):
        for explain in (True, False):
            assert warm.evaluate(t, explain=explain) == cold.evaluate(t, explain=explain)
        assert warm.evaluate(t, as_of="2026-12-31T00:00:00Z") == cold.evaluate(t, as_of="2026-12-31T00:00:00Z")


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
    assert cache.key(text, "a.yaml") != cache.key(text + "\n", "a.yaml") != cache.key(text, "b.yaml")
