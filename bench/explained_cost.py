"""What an explained decision costs over an unexplained one, why_not aside: us per decision of
`evaluate_json(why_not=False)` and of `evaluate_json(explain=False)`, and their difference, on generated
tickets each decided once (what a live server meets) and on the HTTP bench's tickets (bench/load.py: each
policy's test-file tickets) decided again and again.

    python bench/explained_cost.py [POLICY ...] [--fresh N] [--rounds N]

Times are CPU time of this thread (time.thread_time: a shared, busy machine moves it less than wall time),
the best of `--rounds` runs of each stream; compare runs of two checkouts side by side.
"""
import argparse
import gc
import os
import sys
import time

sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import orjson  # noqa: E402

from bench._common import generated_tickets  # noqa: E402
from bench.load import tickets_for  # noqa: E402
from slapolicy.api import load_policy, policy_ids  # noqa: E402

POLICIES = ["bitrix-inc", "bitrix-ua", "advantshop", "procrm-b24", "martinsoft-b24"]


def per_decision(policy, bodies, rounds, **options) -> float:
    best = float("inf")
    for _ in range(rounds):
        gc.collect()
        start = time.thread_time()
        for body in bodies:
            orjson.dumps(policy.evaluate_json(body, **options))
        best = min(best, time.thread_time() - start)
    return best / len(bodies) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("policies", nargs="*", default=[p for p in POLICIES if p in policy_ids()])
    parser.add_argument("--fresh", type=int, default=1500, help="generated tickets, each decided once")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print("us per decision: explained without why_not - unexplained = the explanation's cost (why_not aside)")
    for pid in args.policies:
        policy = load_policy(pid)
        repeated = [orjson.dumps(t) for t in tickets_for(pid, None)]
        for body in [orjson.dumps(t) for t in generated_tickets(policy, 300, 11)] + repeated * 3:  # (warm: code built)
            policy.evaluate_json(body, why_not=False)
            policy.evaluate_json(body, explain=False)
        line = []
        for name, bodies in (("fresh", [orjson.dumps(t) for t in generated_tickets(policy, args.fresh, 23)]),
                             ("repeated", repeated * 20)):
            explained = per_decision(policy, bodies, args.rounds, why_not=False)
            plain = per_decision(policy, bodies, args.rounds, explain=False)
            line.append(f"{name} {explained:6.1f} - {plain:5.1f} = {explained - plain:6.1f}")
        print(f"{pid:15s} " + " | ".join(line))


if __name__ == "__main__":
    main()
