"""End to end: `slapolicy evaluate --jsonl` on many tickets, and the start-up of a one-ticket evaluate.

    python bench/cli.py [--n 200000] [--policy bitrix-inc] [--runs 9]

1. Throughput: N generated tickets (slapolicy.tools.corpus, the generator of `slapolicy corpus generate`)
   written as JSON Lines to a temporary file, then `evaluate --jsonl --no-explain` (and with the
   explanation, and `--backend durable` on a tenth of the tickets when that extra is installed) in a
   child process reading that file and writing to another: tickets/s (wall clock), CPU seconds and
   the peak resident memory of the child (getrusage), and a check that lines out == lines in.
2. Start-up: the wall time of a one-ticket `evaluate` (samples/<policy>.json) including interpreter
   start-up, median and spread of --runs runs, beside `python -c pass` for the interpreter alone.

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


def run_child(cmd, stdin_path=None, stdout_path=None):
    """(wall seconds, cpu seconds, peak RSS in MiB, exit code) of a child process.

    The child is started by a small launcher process: on Linux a child's ru_maxrss includes the
    memory it had as a fork of its parent before exec, so this (large) process must not be that
    parent. The wall time is measured in the launcher, around the child only."""
    out = subprocess.run([sys.executable, "-c", _LAUNCHER, str(stdin_path or "-"), str(stdout_path or "-"), *cmd],
                         capture_output=True, text=True, cwd=ROOT, check=True).stdout.split()
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
    args = parser.parse_args(argv)

    import orjson
    from slapolicy.api import load_policy

    policy = load_policy(args.policy)
    cli = [sys.executable, str(ROOT / "cli.py")]
    script = Path(sys.executable).parent / "slapolicy"  # the console script of this interpreter, if installed
    print(f"# cli: `slapolicy evaluate` end to end ({args.policy} {policy.version})")
    print(f"{machine()}\n")

    with tempfile.TemporaryDirectory(prefix="slapolicy-bench-") as tmp:
        tickets_path, out_path = Path(tmp) / "tickets.jsonl", Path(tmp) / "decisions.jsonl"
        started = time.perf_counter()
        tickets = generated_tickets(policy, args.n, args.seed)
        with open(tickets_path, "wb") as f:
            for t in tickets:
                f.write(orjson.dumps(t) + b"\n")
        small_path = Path(tmp) / "tickets-small.jsonl"
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
        rows, rates = [], {}
        for label, extra, path, n in variants:
            cmd = cli + ["evaluate", "--policy", args.policy, "--jsonl", *extra, str(path)]
            wall, cpu, rss, code = run_child(cmd, stdout_path=out_path)
            lines = count_lines(out_path)
            errors = sum(1 for line in open(out_path, "rb") if line.startswith(b'{"line"'))
            rates[label] = n / wall
            rows.append((f"evaluate --jsonl {label}", n, f"{wall:.2f}", fmt_rate(n / wall), f"{cpu:.2f}", f"{rss:.0f}",
                         "yes" if lines == n else f"NO ({lines})", errors, code))
        print(table(["command", "tickets", "wall s", "tickets/s", "cpu s", "peak RSS MiB", "lines out == in",
                     "error lines", "exit"], rows))

        # 2. start-up
        sample = ROOT / "samples" / f"{args.policy}.json"
        if not sample.is_file():
            sample = Path(tmp) / "one.json"
            sample.write_bytes(orjson.dumps(generated_tickets(policy, 1, args.seed)[0]))
        commands = [("python -c pass (the interpreter alone)", [sys.executable, "-c", "pass"]),
                    ("python -c 'import cli' (click and the CLI module)", [sys.executable, "-c", "import cli"]),
                    (f"python cli.py evaluate --policy {args.policy} {sample.name}",
                     cli + ["evaluate", "--policy", args.policy, str(sample)])]
        if script.is_file():
            commands.append((f"slapolicy evaluate --policy {args.policy} {sample.name} (console script)",
                             [str(script), "evaluate", "--policy", args.policy, str(sample)]))
        rows, medians = [], {}
        for label, cmd in commands:
            run_child(cmd)  # warm the file cache and the .pyc files
            walls = []
            for _ in range(args.runs):
                wall, _, rss, code = run_child(cmd)
                walls.append(wall)
            medians[label] = statistics.median(walls)
            rows.append((label, f"{statistics.median(walls) * 1000:.0f}", f"{min(walls) * 1000:.0f}",
                         f"{max(walls) * 1000:.0f}", f"{rss:.0f}", code))
        print(f"\none process per run, {args.runs} runs each:\n")
        print(table(["command", "median ms", "min ms", "max ms", "peak RSS MiB", "exit"], rows))

    one = medians[commands[2][0]]
    print("\ntargets:")
    single, double = rates["--no-explain --workers 1"], rates["--no-explain --workers 2"]
    print(f"  {'met    ' if single >= 50_000 else 'NOT met'}  evaluate --jsonl >= 50 k tickets/s "
          f"({fmt_rate(single)}/s)")
    print(f"  {'met    ' if double >= 1.8 * single else 'NOT met'}  --workers 2 >= 1.8x one worker "
          f"({double / single:.2f}x; needs a second free core)")
    python = medians[commands[0][0]]
    print(f"  {'met    ' if one <= 3 * python else 'NOT met'}  one-ticket evaluate <= 3x python -c pass "
          f"({one / python:.1f}x; the compile cache is warm after the first run)")
    print(f"  {'met    ' if one < 0.25 else 'NOT met'}  one-ticket evaluate < 250 ms including start-up "
          f"({one * 1000:.0f} ms median)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
