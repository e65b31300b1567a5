"""Decision time and load time as a policy grows: bitrix-inc with synthetic scope rules added.

    python bench/rules_scale.py [--counts 50,500,5000] [--n 3000]

Each synthetic rule `topic == T and customer.segment == S and channel == C and problems_count > 40`
(a topic, segment and channel cycled over the vocabulary) is put in front of bitrix-inc's scope rules,
so that every ticket's first-match scope stage passes the synthetic rules before it reaches the real
ones (a linear scan pays for all of them; the fast path's decision tree for the few that share the
ticket's topic, segment and channel). Prints the load time (check + compile) and the time of the
decision (explanation off, and on) per rule count, and the ratio of the largest to the smallest.
"""
import argparse
import os
import sys
import tempfile
import time

sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench._common import ROOT  # noqa: E402


def synthetic(n: int) -> str:
    from slapolicy.language.schema import schema_json

    props = schema_json("ticket")["properties"]
    topics, channels = props["topic"]["enum"], props["channel"]["enum"]
    segments = props["customer"]["properties"]["segment"]["enum"]
    text = (ROOT / "policies" / "bitrix-inc.yaml").read_text("utf-8")
    real = text.count("\n  - id: ")  # the rules of every stage
    extra = max(0, n - real)
    rules = []
    for k in range(extra):
        t, s, c = topics[k % len(topics)], segments[(k // len(topics)) % len(segments)], channels[(k // 7) % len(channels)]
        rules.append(f'  - id: synthetic-{k}\n    when: topic == "{t}" and customer.segment == "{s}" and channel == "{c}" '
                     f'and problems_count > 40\n    status: out_of_scope\n    source: "1.3"\n')
    return text.replace("\nscope:\n", "\nscope:\n" + "".join(rules), 1), real + extra


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--counts", default="50,500,5000")
    ap.add_argument("--n", type=int, default=3000)
    args = ap.parse_args()
    from slapolicy.api import load_policy
    from slapolicy.decide.evaluate import evaluate
    from slapolicy.decide.tickets import validate_ticket
    from slapolicy.tools.corpus import generate

    rows = []
    tickets = None
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(c) for c in args.counts.split(",")):
            text, count = synthetic(n)
            path = os.path.join(tmp, f"bitrix-inc-{n}.yaml")
            with open(path, "w", encoding="utf-8") as f:
                f.write(text.replace("id: bitrix-inc\n", "id: bitrix-inc\n", 1))
            os.environ["SLAPOLICY_NO_CACHE"] = "1"
            t0, c0 = time.perf_counter(), time.process_time()
            policy = load_policy(path)
            load = time.perf_counter() - t0
            load_cpu = time.process_time() - c0  # (wall time on a shared machine counts others' work too)
            compiled = policy.compiled
            if tickets is None:
                tickets = [validate_ticket(t) for t in generate(policy, args.n, 3)]
            evaluate(compiled, tickets[0], explain=False)  # builds the one function
            times = {}
            for explain in (False, True):
                best = float("inf")
                for _ in range(3):
                    t0 = time.perf_counter()
                    for t in tickets:
                        evaluate(compiled, t, explain=explain)
                    best = min(best, time.perf_counter() - t0)
                times[explain] = best / len(tickets) * 1e6
            rows.append((count, load, times[False], times[True]))
    print("| rules | load s | decision us (explain off) | decision us (explain on, closures) |")
    print("|---:|---:|---:|---:|")
    for count, load, off, on in rows:
        print(f"| {count:,} | {load:.2f} | {off:.1f} | {on:.1f} |")
    print(f"decision time {rows[-1][0]:,} / {rows[0][0]:,} rules: {rows[-1][2] / rows[0][2]:.2f}x (target <= 2x); "
          f"load of {rows[-1][0]:,} rules: {rows[-1][1]:.2f} s (target < 2 s; {load_cpu:.2f} s of CPU)")


if __name__ == "__main__":
    main()
