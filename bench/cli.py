"""End to end: `slapolicy evaluate --jsonl` on many tickets, and the start-up of a one-ticket evaluate.

    python bench/cli.py [--n 200000] [--policy bitrix-inc] [--runs 9]

1. Throughput: N generated tickets (slapolicy.tools.corpus, the generator of `slapolicy corpus generate`)
   written as JSON Lines to a temporary file, then `evaluate --jsonl --no-explain` (and with the
   explanation, and `--backend durable` on a tenth of the tickets when that extra is installed) in a
   child process reading that file and writing to another: tickets/s (wall clock), CPU seconds and
   the peak resident memory of the child (getrusage), and a check that lines out == lines in. Beside
   the --workers 2 ratio: the serial start-up (the same command on an empty input), the decision
   part's ratio without it, and the machine's own ceiling (a CPU-bound Python loop in two processes
   at once against one alone; a shared VM's two vCPUs give less than 2x).
2. Start-up: the wall time of a one-ticket `evaluate` (samples/<policy>.json) including interpreter
   start-up, explained (the default) and `--no-explain`, with a warm compile cache (a temporary
   SLAPOLICY_CACHE_DIR filled by a first run), in three conditions set by a PYTHONPYCACHEPREFIX of its
   own: every module's bytecode cached (an installed wheel: pip compiles it); an editable checkout with
   PYTHONDONTWRITEBYTECODE=1, as these machines set it, where slapolicy.cachedir keeps slapolicy's own
   bytecode in the cache directory (written by the first start); and the same with
   SLAPOLICY_NO_BYTECODE=1, slapolicy's modules compiled from source at each start; beside
   `python -c pass` for the interpreter alone; the commands take turns, --runs rounds, medians.
   `--startup-only` skips 1.

Everything is local: subprocesses on this machine, temporary files removed at the end.
"""
from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]  # do not shadow the project's cli.py
sys.path.insert(0, os.path.dirname(_HERE))

import argparse  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from bench._common import ROOT, fmt_rate, generated_tickets, machine, table  # noqa: E402

_LAUNCHER = """
import os, resource, subprocess, sys, time
stdin = open(sys.argv[1], "rb") if sys.argv[1] != "-" else subprocess.DEVNULL
stdout = open(sys.argv[2], "wb") if sys.argv[2] != "-" else subprocess.DEVNULL
start = time.perf_counter()
code = subprocess.call(sys.argv[3:], stdin=stdin, stdout=stdout, stderr=subprocess.DEVNULL)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, code)
"""


def run_child(cmd, stdin_path=None, stdout_path=None, env=None):
    """(wall seconds, cpu seconds, peak RSS in MiB, exit code) of a child process.

    The child is started by a small launcher process: on Linux a child's ru_maxrss includes the
    memory it had as a fork of its parent before exec, so this (large) process must not be that
    parent. The wall time is measured in the launcher, around the child only."""
    out = subprocess.run([sys.executable, "-c", _LAUNCHER, str(stdin_path or "-"), str(stdout_path or "-"), *cmd],
                         capture_output=True, text=True, cwd=ROOT, check=True, env=env).stdout.split()
    return float(out[0]), float(out[1]), float(out[2]), int(out[3])


def count_lines(path) -> int:
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200_000, help="tickets for the throughput run (default 200000)")
    parser.add_argument("--policy", default="bitrix-inc")
    parser.add_argument("--runs", type=int, default=9, help="one-ticket runs for the start-up median (default 9)")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--startup-only", action="store_true", help="only the one-ticket start-up (part 2)")
    args = parser.parse_args(argv)

    from slapolicy.api import load_policy

    policy = load_policy(args.policy)
    cli = [sys.executable, str(ROOT / "cli.py")]
    script = Path(sys.executable).parent / "slapolicy"  # the console script of this interpreter, if installed
    print(f"# cli: `slapolicy evaluate` end to end ({args.policy} {policy.version})")
    print(f"{machine()}\n")

    with tempfile.TemporaryDirectory(prefix="slapolicy-bench-") as tmp:
        rates = {} if args.startup_only else throughput(args, cli, Path(tmp))
        medians, bests, labels = startup(args, policy, cli, script, Path(tmp))

    print("\ntargets:")
    if rates:
        single, double = rates["--no-explain --workers 1"], rates["--no-explain --workers 2"]
        print(f"  {'met    ' if single >= 50_000 else 'NOT met'}  evaluate --jsonl >= 50 k tickets/s "
              f"({fmt_rate(single)}/s)")
        print(f"  {'met    ' if double >= 1.8 * single else 'NOT met'}  --workers 2 >= 1.8x one worker "
              f"({double / single:.2f}x; the decision part without the serial start-up {rates['work ratio']:.2f}x; "
              f"this machine's ceiling {rates['ceiling']:.2f}x)")
    for c, what_c in (("bytecode", "bytecode cached"),
                      ("kept", "editable checkout, PYTHONDONTWRITEBYTECODE=1, slapolicy's bytecode kept"),
                      ("source", "slapolicy compiled from source")):
        python, python_best = medians[labels[c, "pass"]], bests[labels[c, "pass"]]
        for key, what in (("explain", "one-ticket evaluate (explained, the default)"),
                          ("no-explain", "one-ticket evaluate --no-explain")):
            one = medians[labels[c, key]]
            print(f"  {'met    ' if one <= 3 * python else 'NOT met'}  {what} <= 3x python -c pass "
                  f"({one * 1000:.0f} vs {python * 1000:.0f} ms: {one / python:.1f}x; fastest runs "
                  f"{bests[labels[c, key]] / python_best:.1f}x; warm compile cache, {what_c})")
    one = medians[labels["source", "explain"]]
    print(f"  {'met    ' if one < 0.25 else 'NOT met'}  one-ticket evaluate < 250 ms including start-up "
          f"({one * 1000:.0f} ms median, slapolicy compiled from source)")
    return 0


def throughput(args, cli, tmp: Path) -> dict:
    """part 1: evaluate --jsonl on N generated tickets; tickets/s by variant"""
    import orjson
    from slapolicy.api import load_policy

    policy = load_policy(args.policy)
    tickets_path, out_path = tmp / "tickets.jsonl", tmp / "decisions.jsonl"
    started = time.perf_counter()
    tickets = generated_tickets(policy, args.n, args.seed)
    with open(tickets_path, "wb") as f:
        for t in tickets:
            f.write(orjson.dumps(t) + b"\n")
    small_path = tmp / "tickets-small.jsonl"
    with open(small_path, "wb") as f:
        for t in tickets[: max(1, args.n // 10)]:
            f.write(orjson.dumps(t) + b"\n")
    del tickets
    print(f"{args.n} tickets generated in {time.perf_counter() - started:.1f} s "
          f"({tickets_path.stat().st_size / 2**20:.0f} MiB of JSON Lines)\n")

    variants = [("--no-explain --workers 1", ["--no-explain", "--workers", "1"], tickets_path, args.n),
                ("--no-explain --workers 2", ["--no-explain", "--workers", "2"], tickets_path, args.n),
                ("--explain (default) --workers 1", ["--workers", "1"], tickets_path, args.n)]
    try:
        import durable.engine  # noqa: F401
        variants.append(("--no-explain --backend durable", ["--no-explain", "--backend", "durable"], small_path,
                         max(1, args.n // 10)))
    except ImportError:
        print("(durable-rules not installed: the --backend durable row is skipped)\n")
    rows, rates, walls = [], {}, {}
    for label, extra, path, n in variants:
        cmd = cli + ["evaluate", "--policy", args.policy, "--jsonl", *extra, str(path)]
        wall, cpu, rss, code = run_child(cmd, stdout_path=out_path)
        lines = count_lines(out_path)
        errors = sum(1 for line in open(out_path, "rb") if line.startswith(b'{"line"'))
        rates[label], walls[label] = n / wall, wall
        rows.append((f"evaluate --jsonl {label}", n, f"{wall:.2f}", fmt_rate(n / wall), f"{cpu:.2f}", f"{rss:.0f}",
                     "yes" if lines == n else f"NO ({lines})", errors, code))
    print(table(["command", "tickets", "wall s", "tickets/s", "cpu s", "peak RSS MiB", "lines out == in",
                 "error lines", "exit"], rows))
    rates.update(scaling(args, cli, tmp, walls))
    return rates


_SPIN = """
d = {}
for i in range(N):
    d[i & 1023] = i * 3
"""


def scaling(args, cli, tmp: Path, walls: dict) -> dict:
    """what --workers 2 can reach here: the serial start-up (the same command on an empty input: the
    interpreter, the policy from the compile cache, the generated function built before forking), the
    decision part's ratio without it, and the machine's own ceiling: a CPU-bound pure-Python loop in one
    process, then in two at once (on a machine with two free cores ~2.0x; a shared VM's two vCPUs less)"""
    empty = tmp / "empty.jsonl"
    empty.write_bytes(b"")
    starts = [run_child(cli + ["evaluate", "--policy", args.policy, "--jsonl", "--no-explain", "--workers", "2",
                               str(empty)], stdout_path=tmp / "empty.out")[0] for _ in range(3)]
    start = statistics.median(starts)
    one, two = walls["--no-explain --workers 1"], walls["--no-explain --workers 2"]
    spin = [sys.executable, "-c", f"N = {20_000_000}\n" + _SPIN]
    solo = [run_child(spin)[0] for _ in range(2)]
    pairs = []
    for _ in range(2):
        began = time.perf_counter()
        procs = [subprocess.Popen(spin) for _ in range(2)]
        for p in procs:
            p.wait()
        pairs.append(time.perf_counter() - began)
    ceiling = 2 * min(solo) / min(pairs)
    work = (one - start) / max(two - start, 1e-9)
    print(f"\n--workers 2 against one worker: {one / two:.2f}x end to end; start-up (an empty input, serial) "
          f"{start:.2f} s of {one:.2f} s / {two:.2f} s; the decision part alone: {work:.2f}x; this machine's "
          f"ceiling (two CPU-bound Python processes at once against one alone): {ceiling:.2f}x")
    return {"start-up": start, "work ratio": work, "ceiling": ceiling}


def startup(args, policy, cli, script, tmp: Path):
    """part 2: one-ticket evaluate, warm compile cache, nothing written; two bytecode conditions, each with
    its own PYTHONPYCACHEPREFIX filled by a first run: `bytecode` (every module's bytecode cached, as after
    installing the wheel: pip compiles it) and `source` (slapolicy's own modules compiled from source at
    each start, as in an editable checkout with PYTHONDONTWRITEBYTECODE=1, which these machines set; the
    standard library's and click's bytecode cached as usual). (medians and fastest runs by label, labels by
    key)"""
    import shutil

    import orjson

    sample = ROOT / "samples" / f"{args.policy}.json"
    if not sample.is_file():
        sample = tmp / "one.json"
        sample.write_bytes(orjson.dumps(generated_tickets(policy, 1, args.seed)[0]))
    base = {**os.environ, "SLAPOLICY_CACHE_DIR": str(tmp / "cache")}
    base.pop("SLAPOLICY_NO_CACHE", None)
    evaluate = [str(script)] if script.is_file() else cli  # the console script, as a user runs it
    name = "slapolicy" if script.is_file() else "python cli.py"
    commands = {"pass": ("python -c pass (the interpreter alone)", [sys.executable, "-c", "pass"]),
                "cli": ("python -c 'import cli' (click and the CLI module)", [sys.executable, "-c", "import cli"]),
                "explain": (f"{name} evaluate --policy {args.policy} {sample.name}",
                            evaluate + ["evaluate", "--policy", args.policy, str(sample)]),
                "no-explain": (f"{name} evaluate --no-explain --policy {args.policy} {sample.name}",
                               evaluate + ["evaluate", "--no-explain", "--policy", args.policy, str(sample)])}
    full = tmp / "pyc-all"
    fill = {**base, "PYTHONPYCACHEPREFIX": str(full)}
    fill.pop("PYTHONDONTWRITEBYTECODE", None)
    for _, cmd in commands.values():
        run_child(cmd, env=fill)  # fills the compile cache and every module's bytecode under the prefix
    lib = tmp / "pyc-lib"
    shutil.copytree(full, lib)
    ours = lib / (ROOT / "engine").relative_to(ROOT.anchor)
    shutil.rmtree(ours, ignore_errors=True)  # the mirror of slapolicy's modules: compiled from source
    conditions = {"bytecode": {**base, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": str(full)},
                  "kept": {**base, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": str(lib)},
                  "source": {**base, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": str(lib),
                             "SLAPOLICY_NO_BYTECODE": "1"}}
    for _, cmd in commands.values():  # the first start of the checkout: slapolicy.cachedir keeps its bytecode
        run_child(cmd, env=conditions["kept"])
    walls = {(c, key): [] for c in conditions for key in commands}
    last = {}
    for _ in range(args.runs):  # in turns, so that a change of the machine's load touches every command alike
        for c, env in conditions.items():
            for key, (_, cmd) in commands.items():
                wall, _, rss, code = run_child(cmd, env=env)
                walls[c, key].append(wall)
                last[c, key] = (rss, code)
    rows, medians, bests, labels = [], {}, {}, {}
    for c in conditions:
        for key, (label, _) in commands.items():
            label = f"{label} [{c}]"
            labels[c, key] = label
            medians[label], bests[label] = statistics.median(walls[c, key]), min(walls[c, key])
            rows.append((label, f"{medians[label] * 1000:.0f}", f"{min(walls[c, key]) * 1000:.0f}",
                         f"{max(walls[c, key]) * 1000:.0f}", f"{last[c, key][0]:.0f}", last[c, key][1]))
    print(f"\none process per run, {args.runs} rounds of every command in turn, warm compile cache; [bytecode]: "
          "every module's bytecode cached (an installed wheel); [kept]: an editable checkout with "
          "PYTHONDONTWRITEBYTECODE=1, slapolicy's bytecode kept in its cache directory by slapolicy.cachedir "
          "(the default there); [source]: the same with SLAPOLICY_NO_BYTECODE=1, slapolicy's modules compiled "
          "from source at each start:\n")
    print(table(["command", "median ms", "min ms", "max ms", "peak RSS MiB", "exit"], rows))
    return medians, bests, labels


if __name__ == "__main__":
    sys.exit(main())
