"""Server CPU per single-ticket request of two checkouts side by side, in one run: this checkout's
`slapolicy serve` and another's (an older commit, in its own worktree and virtual environment), both
started, warmed up, then driven in alternating rounds with the same requests (bench/load.py's client and
tickets: every bundled policy's test tickets, 8 keep-alive connections).

    git worktree add /tmp/base <commit> && (cd /tmp/base && python3 -m venv .venv &&
        .venv/bin/pip install -q -e '.[server]')
    python bench/load_ab.py --base /tmp/base [--queries "" "?explain=false" "?why_not=false:"] [--requests N]

Why: the host of these machines changes speed by up to 3x within hours (the same code's explain=false
request read 70 us at one hour and 208 us at another, load average ~0 both times), so a figure in us is
only comparable with one measured in the same minutes. The ratio of the two checkouts' medians is what this
prints, and the median of the rounds' paired ratios (each round runs both sides back to back, in
alternating order); times the base's figure when an issue was filed, it gives this checkout's figure on that machine.
A query `THIS:BASE` sends THIS to this checkout and BASE to the base: `?why_not=false:` compares this
checkout's explained decision without why_not (issue 18) with the base's explained default, which had none.
A query the base does not answer with 200 is sent to this checkout only.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import socket
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]  # (bench/calendar.py)
sys.path.insert(0, str(ROOT / "bench"))
import load  # noqa: E402  (bench/load.py: the server start, the client, the tickets)


def requests_for(query: str) -> list[bytes]:
    """the evaluate requests with the query, every policy's tickets interleaved as bench/load.py sends them"""
    ids, pdir = load.pick_policies(None, None)
    pairs = load.interleaved({pid: t for pid in ids if (t := load.tickets_for(pid, pdir))})
    return [load.request_bytes(f"/v1/policies/{pid}/evaluate{query}", json.dumps(t).encode()) for pid, t in pairs]


def split(query: str) -> tuple[str, str]:
    """the query for this checkout and for the base"""
    this, sep, base = query.partition(":")
    return this, base if sep else this


def answered(port, request: bytes) -> bool:
    """one request on its own connection (closed after the answer's first bytes): was it answered with 200?"""
    with socket.create_connection((load.HOST, port), timeout=30) as conn:
        conn.sendall(request)
        head = conn.recv(64)
    return head.startswith(b"HTTP/1.1 200 ")


def per_request(proc, port, requests, count, connections=8) -> float:
    """the server's CPU us per request over `count` requests"""
    before = load.cpu_seconds(proc.pid)
    asyncio.run(load.drive(port, requests, count, 600, connections))
    return (load.cpu_seconds(proc.pid) - before) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, type=Path, help="the other checkout (with .venv/bin/python)")
    parser.add_argument("--queries", nargs="*", default=["", "?explain=false", "?why_not=false:"])
    parser.add_argument("--requests", type=int, default=3000, help="requests a round (default 3000)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    parser.add_argument("--connections", type=int, default=8, help="keep-alive connections (default 8)")
    args = parser.parse_args()
    base = args.base.resolve()
    sides = {"this": (sys.executable, ROOT / "cli.py"), "base": (base / ".venv" / "bin" / "python", base / "cli.py")}
    missing = [str(p) for p in sides["base"] if not Path(p).exists()]
    if missing:
        sys.exit(f"--base {base}: {', '.join(missing)} not found (a checkout with its own .venv; see this script's docstring)")
    work = Path(tempfile.mkdtemp(prefix="slapolicy-load-ab-"))
    servers = {}
    try:
        for name, (python, cli) in sides.items():
            servers[name] = load._start([str(python), str(cli), "serve", "--host", load.HOST, "--port", "0",
                                         "--log-level", "info"], work / f"{name}.log", load.SERVING)
        print(f"this: {ROOT}   base: {base}   {args.rounds} alternating rounds of {args.requests} requests")
        for query in args.queries:
            asked = dict(zip(("this", "base"), split(query)))
            sent = {name: requests_for(q) for name, q in asked.items()}
            ok = {name: [answered(servers[name][1], r) for r in sent[name]] for name in servers}
            both = [i for i, (a, b) in enumerate(zip(ok["this"], ok["base"])) if a and b]
            # the tickets both answer with 200 (a field added since the base is refused there); a query the
            # base refuses (or a base that refuses most): this checkout alone, with all its tickets
            figures = {"this": []} if len(both) < len(sent["this"]) // 2 else {name: [] for name in servers}
            sent = {name: [r[i] for i in both] for name, r in sent.items()} if len(figures) == 2 else sent
            for name in figures:  # warm-up: every code path built, caches filled
                proc, port = servers[name]
                per_request(proc, port, sent[name], len(sent[name]) * 2)
            for n in range(args.rounds):  # ABBA: the side that goes first alternates, so a drift favours neither
                for name in (figures if n % 2 == 0 else reversed(list(figures))):
                    proc, port = servers[name]
                    figures[name].append(per_request(proc, port, sent[name], args.requests, args.connections))
            medians = {name: statistics.median(v) for name, v in figures.items()}
            line = "  ".join(f"{name} {medians[name]:6.1f} us (rounds {min(v):.0f}-{max(v):.0f})"
                             for name, v in figures.items())
            if len(medians) == 2:
                # each round's two figures were measured within a second of each other: the median of their
                # ratios moves less with the host's speed than the ratio of the two medians
                paired = sorted(t / b for t, b in zip(figures["this"], figures["base"]))
                ratio = (f"  this/base {medians['this'] / medians['base']:.2f}x, paired "
                         f"{statistics.median(paired):.2f}x ({paired[0]:.2f}-{paired[-1]:.2f})")
            else:
                ratio = "  (the base does not answer this query with 200)"
            label = " vs ".join(f"{q or 'default'}" for q in dict.fromkeys(asked.values()))
            print(f"{label:28s} {line}{ratio}  ({len(sent['this'])} tickets)")
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(60)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
