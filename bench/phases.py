"""Where an explained decision's time goes, phase by phase: us per decision of the HTTP bench's tickets
(bench/load.py: each policy's test-file tickets, decided again and again) split into register /
local_facts / breakdown / why_not / decode / encode / the rest.

    python bench/phases.py [POLICY ...] [--rounds N]

Each phase is timed by a wrapper around its function (slapolicy.decide.evaluate.register,
slapolicy.decide.annotate.local_facts / breakdown / why_not) with time.perf_counter_ns, so the figures
carry the wrappers' own ~0.2 us a call; compare runs of two checkouts side by side, not with other
benches.
"""
import argparse
import os
import sys
import time

sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import orjson  # noqa: E402

from bench.load import tickets_for  # noqa: E402
from slapolicy.api import load_policy, policy_ids  # noqa: E402
from slapolicy.decide import annotate as A  # noqa: E402
from slapolicy.decide import evaluate as E  # noqa: E402
from slapolicy.decide import tickets as T  # noqa: E402

POLICIES = ["bitrix-inc", "bitrix-ua", "advantshop", "procrm-b24", "martinsoft-b24"]


def _timed(module, name, label, spent):
    inner = getattr(module, name)

    def wrapper(*args, **kwargs):
        t = time.perf_counter_ns()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[label] = spent.get(label, 0) + time.perf_counter_ns() - t
    setattr(module, name, wrapper)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("policies", nargs="*")
    p.add_argument("--rounds", type=int, default=20, help="times each ticket is decided (default 20)")
    args = p.parse_args(argv)
    spent: dict = {}
    for module, name, label in ((E, "register", "register"), (A, "local_facts", "local_facts"),
                                (A, "breakdown", "breakdown"), (A, "why_not", "why_not")):
        _timed(module, name, label, spent)
    for pid in args.policies or [x for x in POLICIES if x in policy_ids()]:
        policy = load_policy(pid)
        bodies = [orjson.dumps(t) for t in tickets_for(pid, None)]
        for b in bodies * 3:  # (warm: generated code built, answers kept)
            orjson.dumps(policy.evaluate_json(b))
        spent.clear()
        decode = encode = 0
        n = len(bodies) * args.rounds
        t0 = time.perf_counter_ns()
        for b in bodies * args.rounds:
            t = time.perf_counter_ns()
            ticket = T.parse_ticket(b, policy.compiled.vocabulary)
            decode += time.perf_counter_ns() - t
            decision = policy.decide(ticket)  # (as the HTTP bench asks: no as_of)
            t = time.perf_counter_ns()
            orjson.dumps(decision)
            encode += time.perf_counter_ns() - t
        total = time.perf_counter_ns() - t0
        parts = {**spent, "decode": decode, "encode": encode}
        rest = total - sum(parts.values())
        print(f"{pid:15s} {total / n / 1e3:6.1f} us | " + " ".join(f"{k} {v / n / 1e3:5.1f}" for k, v in parts.items())
              + f" rest {rest / n / 1e3:5.1f}  ({len(bodies)} tickets x {args.rounds})")


if __name__ == "__main__":
    main()
