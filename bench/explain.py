"""The cost of an explained decision (issue 18's annotations): ms per ticket over each policy's test tickets
(policies/<id>.tests.yaml), all measured in one run so the machine's load is the same for every column:

  off          `evaluate(explain=False)`
  plain        explain on without the explanation-only annotations (what an explained decision cost
               before issue 18: the explanation, no why_not / unknown_facts / breakdown)
  on           explain on (`slapolicy evaluate`'s default: why_not, breakdowns, local facts)
  on + uf      explain on with unknown_facts too (`--unknown-facts`, `slapolicy explain`)

and the ratios on / plain (the target: at most 2.5) and on / off.

    python bench/explain.py [--repeat 5] [--policy bitrix-ua ...]

A script that prints numbers, never a timed test (best of --repeat passes over the tickets). Each pass
starts without the edition's kept why_not answers (slapolicy.decide.whynot: a rule's answer kept by the
values its condition reads), as a first pass over these tickets would: a later pass over the same tickets
would find every answer kept, which a stream of new tickets does not.
"""
import argparse
import os
import sys

sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench._common import ROOT, machine, timed  # noqa: E402

from slapolicy import load_policy  # noqa: E402
from slapolicy.decide import annotate as annotate_module  # noqa: E402
from slapolicy.decide.whynot import trees  # noqa: E402
from slapolicy.tools.testing import load_cases  # noqa: E402

IDS = ("advantshop", "bitrix-inc", "bitrix-ua", "martinsoft-b24", "procrm-b24")


def tickets(policy_id):
    out = []
    for case, _ in load_cases(ROOT / "policies" / f"{policy_id}.tests.yaml"):
        if isinstance(case, dict) and isinstance(case.get("ticket"), dict):
            out.append((case["ticket"], case.get("as_of")))
    return out


def run(policy, cases, explain, unknown_facts=False):
    trees(policy.compiled).answers.clear()  # a pass of tickets new to the edition's kept why_not answers
    for ticket, as_of in cases:
        try:
            policy.evaluate(ticket, as_of=as_of, explain=explain, unknown_facts=unknown_facts)
        except Exception:  # noqa: BLE001 - a case that tests an invalid ticket
            pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--policy", action="append", help="a policy id (default: the five bundled ones)")
    args = ap.parse_args()
    real_annotate = annotate_module.annotate

    def without_annotations(*a, **k):
        return None

    print(f"# explained decisions, ms per ticket ({machine()})\n")
    print("| policy | tickets | off | plain | on | on + uf | on / plain | on / off |")
    print("|---|---|---|---|---|---|---|---|")
    worst = 0.0
    for pid in args.policy or IDS:
        policy = load_policy(pid)
        cases = tickets(pid)
        n = len(cases)
        run(policy, cases, True)  # warm: the per-policy caches, the calendars' year indexes
        ms = {}
        for name, explain, plain, uf in (("off", False, False, False), ("plain", True, True, False),
                                         ("on", True, False, False), ("on + uf", True, False, True)):
            annotate_module.annotate = without_annotations if plain else real_annotate
            try:
                best, _ = timed(lambda: run(policy, cases, explain, uf), repeat=args.repeat)
            finally:
                annotate_module.annotate = real_annotate
            ms[name] = best * 1000 / max(n, 1)
        ratio = ms["on"] / ms["plain"]
        worst = max(worst, ratio)
        print(f"| {pid} | {n} | {ms['off']:.3f} | {ms['plain']:.3f} | {ms['on']:.3f} | {ms['on + uf']:.3f} | "
              f"{ratio:.2f} | {ms['on'] / ms['off']:.2f} |")
    print(f"\nworst on / plain: {worst:.2f} (target <= 2.5: {'met' if worst <= 2.5 else 'NOT met'})")


if __name__ == "__main__":
    main()
