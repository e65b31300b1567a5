"""The corpus jobs on one core, on two local processes and on Spark local[2]: tickets/s and Spark's overhead.

    python bench/spark.py [--n 40000] [--policy advantshop] [--runs 2]      # needs the extra: pip install -e '.[spark]'

N generated tickets (a quarter with events: an agent reply some minutes to days later) are written as
JSON Lines to a temporary file; then, best of --runs runs each:

1. `diff --corpus` (the policy against itself with its first `within` target halved, lifecycle at a fixed
   --as-of): local 1 worker, local 2 workers (slapolicy.decide.parallel), Spark local[2]
   (slapolicy.backends.spark). The three reports must be equal before any figure is printed.
2. `evaluate` (explanations on, as `evaluate --jsonl` writes them): the local loop on one core, and
   Spark local[2] writing Parquet.

Spark runs twice, on N/4 and on N tickets: the difference gives its marginal time per ticket, the
rest is its fixed cost per job (scheduling, the line-numbering pass, Python workers compiling the policy,
the aggregation). Spark's per-ticket overhead = marginal wall time x 2 cores - the local engine's time
per ticket on one core: the core time a ticket costs on Spark beyond the engine itself (Arrow batches,
the Python worker protocol, the write). The session's start-up is printed apart (once per job).
"""
from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]  # do not shadow the project's cli.py
sys.path.insert(0, os.path.dirname(_HERE))

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from bench._common import fmt_rate, fmt_us, machine, table  # noqa: E402

AS_OF = dt.datetime(2026, 12, 31, tzinfo=dt.timezone.utc)


def corpus(policy, n, seed, path):
    from slapolicy.tools.corpus import generate, write_jsonl

    rng = random.Random(seed)
    tickets = generate(policy, n, seed)
    for t in tickets:
        if rng.random() < 0.25:
            at = dt.datetime.fromisoformat(t["created_at"]) + dt.timedelta(minutes=rng.randint(5, 4000))
            t["events"] = [{"type": "agent_replied", "at": at.isoformat()}]
    with open(path, "w", encoding="utf-8") as stream:
        write_jsonl(tickets, stream)


def halved(src: Path, out: Path) -> Path:
    text = src.read_text("utf-8")
    m = re.search(r"within: (\d+) business hours", text)
    out.write_text(text[:m.start()] + f"within: {max(1, int(m.group(1)) // 2)} business hours" + text[m.end():], "utf-8")
    return out


def best(fn, runs):
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def local_evaluate(policy, path):
    from slapolicy.decide.jsonio import dumps, loads

    out = 0
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            out += len(dumps(policy.evaluate(loads(line), as_of=AS_OF)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=40_000)
    ap.add_argument("--policy", default="advantshop")
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--runs", type=int, default=2)
    args = ap.parse_args()
    try:
        from slapolicy.backends.spark import DiffEngine, evaluate_job, policy_sources, session
    except ImportError as exc:
        print(f"Spark is not installed ({exc}): pip install -e '.[spark]'")
        return 1
    from slapolicy.api import load_policy, resolve_policy_path
    from slapolicy.tools.diff import diff

    tmp = Path(tempfile.mkdtemp(prefix="slapolicy-bench-spark-"))
    try:
        policy = load_policy(args.policy)
        path = tmp / "corpus.jsonl"
        corpus(policy, args.n, args.seed, path)
        old = str(resolve_policy_path(args.policy))
        new = str(halved(Path(old), tmp / f"{args.policy}.yaml"))
        load = "load average %.1f" % os.getloadavg()[0] if hasattr(os, "getloadavg") else "load unknown"
        print(f"{machine()}, {load}; {args.n} tickets ({args.policy}), best of {args.runs}\n")

        def local_diff(workers):
            return best(lambda: [d.to_json() for d in diff(old, new, corpus=str(path), as_of=AS_OF, workers=workers)],
                        args.runs)

        t1, r1 = local_diff(1)
        t2, r2 = local_diff(2)
        start = time.perf_counter()
        spark, created = session("local[2]", "slapolicy bench")
        startup = time.perf_counter() - start
        quarter = tmp / "quarter.jsonl"
        with open(path, encoding="utf-8") as src, open(quarter, "w", encoding="utf-8") as dst:
            dst.writelines(line for i, line in zip(range(args.n // 4), src))
        with DiffEngine("local[2]") as impact_fn:
            def spark_diff(p):
                return best(lambda: [d.to_json() for d in diff(old, new, corpus=str(p), as_of=AS_OF,
                                                                impact_fn=impact_fn)], args.runs)
            spark_diff(quarter)  # warm-up: the executors' Python workers start and compile the policies
            tq, _ = spark_diff(quarter)
            ts, rs = spark_diff(path)
        if not r1 == r2 == rs:
            print("the three engines disagree: no figures")
            return 1
        sources = policy_sources(args.policy)
        te1, _ = best(lambda: local_evaluate(policy, path), args.runs)
        count = iter(range(1000))

        def spark_evaluate(p):
            return best(lambda: evaluate_job(spark, sources, str(p), str(tmp / f"out{next(count)}"), as_of=AS_OF),
                        args.runs)[0]
        teq, tes = spark_evaluate(quarter), spark_evaluate(path)
        if created:
            spark.stop()
        n, m = args.n, args.n - args.n // 4

        def spark_row(job, full, part, local):
            marginal = (full - part) / m
            return [job, "Spark local[2]", fmt_rate(n / full), fmt_us(full / n), fmt_us(marginal),
                    f"{full - marginal * n:.1f}", fmt_us(2 * marginal - local / n)]

        rows = [["diff --corpus", "local, 1 worker", fmt_rate(n / t1), fmt_us(t1 / n), "", "", ""],
                ["diff --corpus", "local, 2 workers", fmt_rate(n / t2), fmt_us(t2 / n), "", "", ""],
                spark_row("diff --corpus", ts, tq, t1),
                ["evaluate (explained)", "local, 1 worker", fmt_rate(n / te1), fmt_us(te1 / n), "", "", ""],
                spark_row("evaluate (explained) -> Parquet", tes, teq, te1)]
        print(table(["job", "engine", "tickets/s", "us/ticket (wall)", "Spark: marginal us/ticket", "fixed s/job",
                     "overhead, core us/ticket"], rows, ["l", "l", "r", "r", "r", "r", "r"]))
        changed = r1[0]["impact"]["changed"]
        moves = sum(c["count"] for c in r1[0]["impact"]["lifecycle"]["changes"])
        print(f"\nSpark session start-up: {startup:.1f} s (once per job). The reports agree: {changed} tickets change, "
              f"{moves} SLA outcomes move.")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
