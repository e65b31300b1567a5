"""Instructions, cache misses and mispredicted branches per HTTP request of two checkouts, under cachegrind:
why a CPU-time ratio (bench/load_ab.py) can stay above the instruction ratio (bench/server_cg.py).

    python bench/cache_ab.py --base /tmp/base [--queries "" "?explain=false"] [--requests N]

Each checkout's ASGI app (`create_app`, its bundled policies) is called in process, with its own virtual
environment's Python, for every query: the same request bodies (this checkout's bench tickets, as
bench/load_ab.py sends them, those both answer with 200; written to a file both read), warmed up twice over, then N and 2N calls in two
runs under `valgrind --tool=cachegrind --cache-sim=yes --branch-sim=yes`; the difference of the two runs over N
is a call's cost, start-up and warm-up cancelled. Printed per request: instructions (Ir), L1 instruction
and data misses (I1mr, D1mr, D1mw), last-level misses, mispredicted conditional and indirect branches
(Bcm, Bim), and an estimate of cycles (Ir + 10 per L1 miss + 100 per last-level miss + 15 per mispredicted
branch: rough weights, the same for both sides), each side's figure and their ratio. The socket, uvicorn's
parsing and the kernel are not in it (the app alone); cachegrind's caches are its simulation of this
machine's, not the host's. Needs valgrind; takes a few minutes per query.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ("Ir", "I1mr", "ILmr", "Dr", "D1mr", "DLmr", "Dw", "D1mw", "DLmw", "Bc", "Bcm", "Bi", "Bim")
SHOWN = ("Ir", "I1mr", "D1mr", "D1mw", "LLm", "Bcm", "Bim", "cycles")

DRIVER = r"""
import asyncio, json, sys
sys.path.insert(0, sys.argv[4])
from asgi_split import call
from slapolicy.service.app import create_app
app = create_app()
reqs = [(path, body.encode()) for path, body in json.load(open(sys.argv[1]))]
query = sys.argv[2].encode()
loop = asyncio.new_event_loop()
if sys.argv[3] == "check":  # each request's status, once
    print(json.dumps([loop.run_until_complete(call(app, path, query, body))[0]["status"] for path, body in reqs]))
    sys.exit()
async def many(k):
    for i in range(k):
        path, body = reqs[i % len(reqs)]
        await call(app, path, query, body)
loop.run_until_complete(many(2 * len(reqs)))
loop.run_until_complete(many(int(sys.argv[3])))
"""


def totals(python: str, requests_file: Path, query: str, n: int, work: Path) -> dict:
    out = work / f"cachegrind-{abs(hash((python, query, n)))}.out"
    cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=yes", "--branch-sim=yes", f"--cachegrind-out-file={out}",
           python, "-c", DRIVER, str(requests_file), query, str(n), str(ROOT / "bench")]
    env = dict(os.environ, PYTHONHASHSEED="0")  # (the same dict orders each run)
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=work)
    if run.returncode != 0:
        sys.exit(f"{python}: the driver failed:\n{run.stderr[-3000:]}")
    events = summary = None
    for line in out.read_text().splitlines():
        if line.startswith("events:"):
            events = line.split()[1:]
        elif line.startswith("summary:"):
            summary = [int(x) for x in line.split()[1:]]
    return dict(zip(events, summary))


def per_request(python, requests_file, query, n, work) -> dict:
    a, b = (totals(python, requests_file, query, k, work) for k in (n, 2 * n))
    d = {e: (b[e] - a[e]) / n for e in EVENTS if e in a}
    d["LLm"] = max(0.0, d["ILmr"] + d["DLmr"] + d["DLmw"])  # (nearly none: the app fits the simulated last level)
    d["cycles"] = d["Ir"] + 10 * (d["I1mr"] + d["D1mr"] + d["D1mw"]) + 100 * d["LLm"] + 15 * (d["Bcm"] + d["Bim"])
    return d


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, type=Path, help="the other checkout (with .venv/bin/python)")
    parser.add_argument("--queries", nargs="*", default=["", "explain=false"], help="query strings, without '?'")
    parser.add_argument("--requests", type=int, default=294, help="N (default 294: the bench's tickets once)")
    args = parser.parse_args()
    sides = {"this": sys.executable, "base": str(args.base.resolve() / ".venv" / "bin" / "python")}
    if not Path(sides["base"]).exists():
        sys.exit(f"--base {args.base}: {sides['base']} not found (a checkout with its own .venv)")
    sys.path.insert(0, str(ROOT / "bench"))
    import load_ab  # (the bench's requests: this checkout's tickets, every bundled policy)

    work = Path(tempfile.mkdtemp(prefix="slapolicy-cache-ab-"))
    pairs = []
    for raw in load_ab.requests_for(""):
        head, _, body = raw.partition(b"\r\n\r\n")
        pairs.append((head.split(b" ")[1].decode(), body.decode()))
    requests_file = work / "requests.json"
    requests_file.write_text(json.dumps(pairs))
    statuses = {name: json.loads(subprocess.run([python, "-c", DRIVER, str(requests_file), "", "check",
                                                 str(ROOT / "bench")], capture_output=True, text=True, cwd=work,
                                                check=True).stdout) for name, python in sides.items()}
    pairs = [r for r, a, b in zip(pairs, statuses["this"], statuses["base"]) if a == b == 200]  # (as load_ab)
    requests_file.write_text(json.dumps(pairs))
    print(f"this: {ROOT}   base: {args.base.resolve()}   {args.requests} and {2 * args.requests} calls, "
          f"{len(pairs)} requests")
    for query in args.queries:
        got = {name: per_request(python, requests_file, query, args.requests, work) for name, python in sides.items()}
        print(f"\n{query or 'default (explained)'}")
        print(f"{'':8s}" + "".join(f"{e:>11s}" for e in SHOWN))
        for name in sides:
            print(f"{name:8s}" + "".join(f"{got[name][e]:11,.0f}" for e in SHOWN))
        print(f"{'ratio':8s}" + "".join(f"{got['this'][e] / got['base'][e]:11.2f}" if got["base"][e] >= 1 else f"{'-':>11s}"
                                        for e in SHOWN), flush=True)


if __name__ == "__main__":
    main()
