"""The Python API: load_policy caches, decisions are JSON, a compiled policy is safe to share."""
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from slapolicy.api import PolicyError, PolicyNotFound, TicketError, load_policy

ROOT = Path(__file__).resolve().parents[1]


def _tickets():
    out = []
    for f in sorted((ROOT / "policies").glob("*.tests.yaml")):
        for case in yaml.safe_load(f.read_text("utf-8")):
            if not (case.get("expect") or {}).get("error") and "as_of" not in case:
                out.append((f.name.split(".")[0], case["ticket"]))
    return out


def test_load_policy_is_cached_and_by_id_or_path():
    a = load_policy("advantshop")
    assert load_policy("advantshop") is a
    assert load_policy(str(ROOT / "policies" / "advantshop.yaml")).id == "advantshop"


def test_errors_are_typed():
    with pytest.raises(PolicyNotFound):
        load_policy("nope")
    with pytest.raises(PolicyError) as info:
        load_policy(str(ROOT / "tests/golden/policies/07-unknown-tier.yaml"))
    assert info.value.diagnostics[0].code == "unknown-tier"
    with pytest.raises(TicketError):
        load_policy("advantshop").evaluate({"id": "x"})


def test_decisions_serialise_to_json():
    for policy_id, ticket in _tickets()[:50]:
        json.dumps(load_policy(policy_id).evaluate(ticket))


def test_shared_between_threads_gives_the_same_decisions():
    work = _tickets() * 3
    sequential = [load_policy(p).evaluate(t) for p, t in work]
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(lambda pt: load_policy(pt[0]).evaluate(pt[1]), work))
    assert parallel == sequential
