"""Instructions per request of `slapolicy serve`, under callgrind (they do not move with the machine's load,
which the server CPU times of bench/load.py do).

    python bench/server_cg.py [--queries "" "?why_not=false" "?explain=false"] [--fresh] [--requests N]

For each query string: the server is started under valgrind's callgrind, warmed up (every bundled policy's
test tickets twice, interleaved as bench/load.py sends them; --fresh: 400 generated tickets), its counters
zeroed, then N and, in a second server, 2N requests are sent over 8 connections (--fresh: generated
tickets, none twice); the figure is the difference of the two totals over N, so start-up, warm-up and
first-time work cancel out. User-space instructions only: the kernel's part of a request (the socket
writes, ~30 us) is not in it. Needs valgrind (callgrind_control); takes a few minutes per query.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import load  # noqa: E402  (bench/load.py: the server start, the client, the tickets)

SLOW = ["--reload-interval", "0", "--header-timeout", "900", "--timeout-keep-alive", "900", "--body-timeout", "900"]


def total_instructions(query: str, count: int, fresh: bool, work: Path) -> int:
    ids, pdir = load.pick_policies(None, None)
    out = work / f"cg-{abs(hash((query, count, fresh)))}.out"
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-instr=no",
           sys.executable, str(ROOT / "cli.py"), "serve", "--host", load.HOST, "--port", "0", "--log-level", "info"]
    if pdir:
        cmd += ["--policies", str(pdir)]
    if fresh:
        warm = load.fresh_requests(ids, pdir, 400, seed=3)
        measured = [r.replace(b"/evaluate ", f"/evaluate{query} ".encode(), 1)
                    for r in load.fresh_requests(ids, pdir, count)]
    else:
        tickets = {pid: t for pid in ids if (t := load.tickets_for(pid, pdir))}
        pairs = load.interleaved(tickets)
        warm = measured = [load.request_bytes(f"/v1/policies/{pid}/evaluate{query}", json.dumps(t).encode())
                           for pid, t in pairs]
    proc, port = load._start(cmd + SLOW, work / "serve.log", load.SERVING)
    try:
        asyncio.run(load.drive(port, warm, len(warm) * (1 if fresh else 2), 900, 8))
        subprocess.run(["callgrind_control", "-z", str(proc.pid)], check=True, capture_output=True)
        asyncio.run(load.drive(port, measured, count, 1800, 8, shared=fresh))
        subprocess.run(["callgrind_control", "-d", "measured", str(proc.pid)], check=True, capture_output=True)
    finally:
        proc.terminate()
        proc.wait(120)
    total = 0
    for f in work.glob(out.name + "*"):
        for line in f.read_text("utf-8", "replace").splitlines():
            if line.startswith("summary:"):
                total = max(total, int(line.split()[1]))
    return total


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--queries", nargs="*", default=["", "?why_not=false", "?explain=false"])
    p.add_argument("--requests", type=int, default=300, help="N (default 300): runs of N and 2N requests")
    p.add_argument("--fresh", action="store_true", help="generated tickets, each sent once")
    args = p.parse_args(argv)
    if not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        sys.exit("bench/server_cg.py needs valgrind (callgrind_control)")
    os.environ.setdefault("PYTHONHASHSEED", "0")  # (the server inherits it: the same dict orders each run)
    work = Path(tempfile.mkdtemp(prefix="slapolicy-server-cg-"))
    try:
        for query in args.queries:
            a = total_instructions(query, args.requests, args.fresh, work)
            b = total_instructions(query, 2 * args.requests, args.fresh, work)
            print(f"{query or 'explained (the default)':24s} {(b - a) / args.requests:12,.0f} instructions a request"
                  f"{' (generated tickets, each once)' if args.fresh else ''}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
