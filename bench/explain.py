"""The cost of an explained decision (issue 18's annotations): ms per ticket over each policy's test tickets
(policies/<id>.tests.yaml), all measured in one run so the machine's load is the same for every column:

  off          `evaluate(explain=False)`
  plain        explain on without the explanation-only annotations (what an explained decision cost
               before issue 18: the explanation, no why_not / unknown_facts / breakdown)
  on           explain on, everything (`slapolicy evaluate`'s default)
  on - uf      explain on without unknown_facts (why_not, breakdowns, local facts)

and the ratios on / plain (the target: at most 2.5) and on / off.

    python bench/explain.py [--repeat 5] [--policy bitrix-ua ...]

A script that prints numbers, never a timed test (best of --repeat passes over the tickets).
"""
import argparse
import os
import sys

sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench._common import ROOT, machine, timed  # noqa: E402

from slapolicy import load_policy  # noqa: E402
from slapolicy.decide import annotate as annotate_module  # noqa: E402
from slapolicy.tools.testing import load_cases  # noqa: E402

IDS = ("advantshop", "bitrix-inc", "bitrix-ua", "martinsoft-b24", "procrm-b24")


def tickets(policy_id):
    out = []
    for case, _ in load_cases(ROOT / "policies" / f"{policy_id}.tests.yaml"):
        if isinstance(case, dict) and isinstance(case.get("ticket"), dict):
            out.append((case["ticket"], case.get("as_of")))
    return out


def run(policy, cases, explain):
    for ticket, as_of in cases:
        try:
            policy.evaluate(ticket, as_of=as_of, explain=explain)
        except Exception:  # noqa: BLE001 - a case that tests an invalid ticket
            pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--policy", action="append", help="a policy id (default: the five bundled ones)")
    args = ap.parse_args()
    real_annotate, real_unknown = annotate_module.annotate, annotate_module.unknown_facts

    def without_annotations(*a, **k):
        return None

    def without_unknown(*a, **k):
        return []

    print(f"# explained decisions, ms per ticket ({machine()})\n")
    print("| policy | tickets | off | plain | on | on - uf | on / plain | on / off |")
    print("|---|---|---|---|---|---|---|---|")
    worst = 0.0
    for pid in args.policy or IDS:
        policy = load_policy(pid)
        cases = tickets(pid)
        n = len(cases)
        run(policy, cases, True)  # warm: the per-policy caches, the calendars' year indexes
        ms = {}
        for name, explain, patch in (("off", False, None), ("plain", True, without_annotations),
                                     ("on", True, None), ("on - uf", True, "uf")):
            annotate_module.annotate = without_annotations if patch is without_annotations else real_annotate
            annotate_module.unknown_facts = without_unknown if patch == "uf" else real_unknown
            try:
                best, _ = timed(lambda: run(policy, cases, explain), repeat=args.repeat)
            finally:
                annotate_module.annotate, annotate_module.unknown_facts = real_annotate, real_unknown
            ms[name] = best * 1000 / max(n, 1)
        ratio = ms["on"] / ms["plain"]
        worst = max(worst, ratio)
        print(f"| {pid} | {n} | {ms['off']:.3f} | {ms['plain']:.3f} | {ms['on']:.3f} | {ms['on - uf']:.3f} | "
              f"{ratio:.2f} | {ms['on'] / ms['off']:.2f} |")
    print(f"\nworst on / plain: {worst:.2f} (target <= 2.5: {'met' if worst <= 2.5 else 'NOT met'})")


if __name__ == "__main__":
    main()
