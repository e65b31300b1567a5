"""`evaluate --jsonl` without explanation decides most lines by the policy's generated function directly
(slapolicy.api.decide_jsonl); its records must be the bytes the per-line path (decide_line, as the Spark
engine writes them) gives for every line: decisions, tickets with events, bad lines, CRLF endings. The
generated function's `shared` variant (constant fragments, not copies, for a decision serialised at once)
decides alike, and the decisions of the public path stay the caller's own."""
import json

import pytest
from slapolicy.api import decide_jsonl, decide_line, load_policy, policy_ids
from slapolicy.decide.evaluate import evaluate, fast_decider
from slapolicy.decide.jsonio import dumps_bytes
from slapolicy.decide.tickets import validate_ticket
from slapolicy.tools.corpus import generate

POLICIES = policy_ids()
BAD = [b"", b"{", b"[1,2]", b"null", b'{"id": 1}', b'"\\ud800"', b'{"id":"x","created_at":"2026-13-01T00:00:00Z"}',
       b"\xff\xfe", b"   ", b'{"a":' * 40 + b"1" + b"}" * 40, b"1" * 120, None]


def _lines(policy, n, seed):
    lines = []
    for i, t in enumerate(generate(policy, n, seed)):
        lines.append(json.dumps(t).encode() + (b"\r\n" if i % 5 == 0 else b""))
        if i % 9 == 0:
            lines.append(BAD[(i // 9) % len(BAD)])
    return lines


@pytest.mark.parametrize("policy_id", POLICIES)
def test_the_direct_loop_writes_what_the_per_line_path_writes(policy_id):
    policy = load_policy(policy_id)
    lines = _lines(policy, 250, 21)
    body, err, failed = decide_jsonl(policy, lines, 1, "<t>", explain=False)
    records = [decide_line(policy, line, n, "<t>", explain=False) for n, line in enumerate(lines, start=1)]
    assert body == b"".join(dumps_bytes(r) for r, _ in records)
    assert err == [m for _, m in records if m is not None]
    assert failed == len(err) >= 12  # every bad line reported in place
    assert body.count(b"\n") == len(lines)
    assert fast_decider(policy.compiled).shared is not None  # (the direct loop ran)
    twice = decide_jsonl(policy, lines, 1, "<t>", explain=False)  # shared fragments: nothing changed by a run
    assert twice[0] == body


@pytest.mark.parametrize("policy_id", POLICIES)
def test_the_shared_variant_decides_alike_and_the_public_decisions_are_copies(policy_id):
    policy = load_policy(policy_id)
    compiled = policy.compiled
    decide = fast_decider(compiled)
    tickets = [validate_ticket(t) for t in generate(policy, 300, 22)]
    for t in tickets:
        assert decide.shared(t) == decide(t)
    first = evaluate(compiled, tickets[0], explain=False)
    again = json.loads(json.dumps(first))
    for fragment in ([first["policy"], first["tier"]] + first["eligibility"]["reasons"] + first["assumptions"]
                     + first["delay_reasons"] + first["notices"]):
        if isinstance(fragment, dict):
            fragment["changed"] = True  # a caller changing its decision changes no later one
    assert evaluate(compiled, tickets[0], explain=False) == again
