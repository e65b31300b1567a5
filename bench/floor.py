"""The engine against hand-written floors: each bundled policy's whole decision written by hand in Python.

    python bench/floor.py [--policy P ...] [--n 10000] [--seed 4] [--measure-n 1500] [--times]

bench/floors/<policy>.py builds `full_floor(t)`, the policy's registration decision (eligibility, tier,
deadlines, delay reasons, notices, billing, missing facts, assumptions; explanation off) with hand-written
logic: direct ifs and prebuilt output fragments (the texts, clause references and assumption lists are read
from the compiled policy, as a hand-written service would keep them in a table; deadlines use the engine's
calendar). Each floor is first checked equal to the engine's decision on --n generated tickets of its
policy; then the engine / floor ratio is printed for

  full decision       every policy (--policy, repeatable; default: all five):
                      slapolicy.decide.evaluate (explain off) vs full_floor, on validated tickets
  bare tier decision  bitrix-inc: eligibility + tier: the engine's answer-only function, classify
                      (slapolicy.decide.classify; bench/peers.py slapolicy_bare) vs peers.floor: the same answer,
                      the first refusal ends it, no missing facts
  eligibility + tier with every refusal and missing facts
                      bitrix-inc: the fused eligibility + tier function, the first part of the engine's generated
                      decision (bench/peers.py slapolicy_eligibility_tier), vs the same floor, which does less
  JSON Lines          bitrix-inc: slapolicy.api.decide_jsonl on bytes lines vs an orjson loop around full_floor
                      (orjson.loads, the few conversions the floor needs, full_floor, orjson.dumps)

as instructions per ticket under valgrind's callgrind when valgrind is installed (they do not move
with the machine's load: each figure counts two warm runs over the same --measure-n tickets and nothing
else, collected only inside the functools.reduce that runs them; start-up, loading the policy, generating
the tickets and the first run, which builds the engine's generated function, are outside; the set-up's
objects are frozen out of the cyclic collector, gc.freeze), else as best-of-3 times. After the
table, one line a policy `full decision, <policy>: X.XXx the hand-written floor`; the last line is the
worst of them, `full decision: X.XXx the hand-written floor (the worst of N: <policy>)`.
"""
import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


FUSED = "eligibility + tier with every refusal and missing facts"


def floor_jsonl(full_floor):
    """the floor's JSON Lines loop: orjson in and out, the conversions full_floor needs"""
    import orjson

    UTC = dt.timezone.utc
    date = dt.date.fromisoformat

    def run(lines):
        out = []
        for line in lines:
            t = orjson.loads(line)
            t["created_at"] = dt.datetime.fromisoformat(t["created_at"]).astimezone(UTC)
            c = t["customer"]
            if "license_purchased_at" in c:
                c["license_purchased_at"] = date(c["license_purchased_at"])
            coupon = c.get("coupon")
            if coupon and "issued_at" in coupon:
                coupon["issued_at"] = date(coupon["issued_at"])
            t.setdefault("escalation", "none")
            d = full_floor(t)
            d["explanation"] = []
            out.append(orjson.dumps(d, option=orjson.OPT_APPEND_NEWLINE))
        return b"".join(out)
    return run


def workloads(policy_id, n, seed):
    """name -> (engine function over the inputs, floor function over the inputs); the full decision of every
    policy, the bare tier decision and JSON Lines of bitrix-inc only"""
    from bench.floors import make_floor
    from slapolicy.api import decide_jsonl, load_policy
    from slapolicy.decide.evaluate import evaluate
    from slapolicy.decide.tickets import validate_ticket
    from slapolicy.tools.corpus import generate

    policy = load_policy(policy_id)
    compiled = policy.compiled
    raw = generate(policy, n, seed)
    tickets = [validate_ticket(dict(t)) for t in raw]
    full = make_floor(policy_id, compiled)
    work = {"full decision": (lambda: [evaluate(compiled, t, explain=False) for t in tickets],
                              lambda: [full(t) for t in tickets])}
    if policy_id == "bitrix-inc":
        from bench import peers

        lines = [json.dumps(t).encode("utf-8") for t in raw]
        bare, fused, bare_floor = peers.slapolicy_bare(compiled), peers.slapolicy_eligibility_tier(compiled), peers.floor
        loop = floor_jsonl(full)
        work["bare tier decision"] = (lambda: [bare(t) for t in tickets], lambda: [bare_floor(t) for t in tickets])
        work[FUSED] = (lambda: [fused(t) for t in tickets], lambda: [bare_floor(t) for t in tickets])
        work["JSON Lines"] = (lambda: decide_jsonl(policy, lines, 1, "<bench>", explain=False), lambda: loop(lines))
    return work, (policy, compiled, tickets, full)


def check(policy_id, n, seed):
    from slapolicy.decide.evaluate import evaluate

    _, (policy, compiled, tickets, full) = workloads(policy_id, n, seed)
    differ = 0
    for t in tickets:
        a = evaluate(compiled, t, explain=False)
        a.pop("explanation")
        b = full(t)
        if a != b:
            differ += 1
            if differ == 1:
                print("first difference:", t.get("id"), {k: (a[k], b.get(k)) if k != "assumptions" else [x["id"] for x in a[k]] + ["|"] + [x["id"] for x in b[k]]
                                                    for k in a if a[k] != b.get(k)}, file=sys.stderr)
    return differ


def _child(policy_id, name, side, n, seed, repeat):
    """run one workload once (the first run: the engine builds its generated function), then `repeat` times
    inside functools.reduce, the only C function whose instructions callgrind counts (--toggle-collect)"""
    import functools

    work, _ = workloads(policy_id, n, seed)
    run = work[name][0 if side == "engine" else 1]
    run()
    _frozen()
    functools.reduce(lambda _, __: run(), range(repeat), None)


def _instructions(policy_id, name, side, n, seed, repeat=2):
    """instructions a ticket of `repeat` warm runs, nothing else (start-up, loading, generating not counted)"""
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", "--collect-atstart=no",
           "--toggle-collect=functools_reduce", sys.executable, __file__,
           "--child", policy_id, name, side, str(n), str(seed), str(repeat)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    found = re.search(r"Collected\s*:\s*(\d+)", proc.stderr)
    if proc.returncode != 0 or not found or int(found.group(1)) == 0:
        raise RuntimeError(proc.stderr[-2000:] or "no instructions collected inside functools_reduce")
    return int(found.group(1)) / (repeat * n)


def _frozen():
    """gc.collect() then gc.freeze(): the cyclic collector no longer walks the set-up's objects (policy,
    tickets, modules) during the measured runs; each side still pays it for the objects it makes."""
    import gc

    gc.collect()
    gc.freeze()


def _measure(policy_id, work, m, seed, use_valgrind):
    """rows (policy, workload, engine, floor, unit) of one policy's workloads"""
    rows = []
    for name in work:
        if use_valgrind:
            per = {side: _instructions(policy_id, name, side, m, seed) for side in ("engine", "floor")}
            rows.append((policy_id, name, per["engine"], per["floor"], "instructions / ticket"))
        else:
            engine, floor = work[name]
            best = {}
            for side, fn in (("engine", engine), ("floor", floor)):
                fn()
                _frozen()
                runs = []
                for _ in range(3):
                    t0 = time.perf_counter()
                    fn()
                    runs.append(time.perf_counter() - t0)
                best[side] = min(runs) / m * 1e6
            rows.append((policy_id, name, best["engine"], best["floor"], "us / ticket"))
    return rows


def main():
    from bench.floors import POLICIES

    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--policy", action="append", choices=POLICIES, help="a policy (repeatable; default: every one)")
    ap.add_argument("--n", type=int, default=10000, help="tickets checked equal, per policy")
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument("--measure-n", type=int, default=1500, help="tickets per measured run")
    ap.add_argument("--times", action="store_true", help="times even when valgrind is installed")
    args = ap.parse_args()
    policies = args.policy or list(POLICIES)
    failed = False
    for policy_id in policies:
        differ = check(policy_id, args.n, args.seed)
        print(f"{args.n:,} generated {policy_id} tickets: the engine and the hand-written floor differ on {differ}")
        failed = failed or bool(differ)
    if failed:
        sys.exit(1)
    use_valgrind = shutil.which("valgrind") and not args.times
    m = args.measure_n
    rows = []
    for policy_id in policies:
        work, _ = workloads(policy_id, m, args.seed + 1)
        rows += _measure(policy_id, work, m, args.seed + 1, use_valgrind)
    print("| policy | workload | engine | hand-written floor | unit | engine / floor | target |")
    print("|---|---|---:|---:|---|---:|---:|")
    targets = {"full decision": 1.3, "bare tier decision": 1.5, "JSON Lines": 1.3, FUSED: None}
    for policy_id, name, engine, floor, unit in rows:
        fmt = (lambda v: f"{v / 1000:,.1f} k") if unit.startswith("instr") else (lambda v: f"{v:.2f}")
        target = f"<= {targets[name]}x" if targets[name] else "-"
        print(f"| {policy_id} | {name} | {fmt(engine)} | {fmt(floor)} | {unit} | {engine / floor:.2f}x | {target} |")
    full = [r for r in rows if r[1] == "full decision"]
    for policy_id, _, engine, floor, _ in full:
        print(f"full decision, {policy_id}: {engine / floor:.2f}x the hand-written floor")
    worst = max(full, key=lambda r: r[2] / r[3])
    print(f"full decision: {worst[2] / worst[3]:.2f}x the hand-written floor (the worst of {len(full)}: {worst[0]})")


if __name__ == "__main__":
    main()
