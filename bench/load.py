"""Load figures of the HTTP service: requests/s and p50/p99 latency, single and batch evaluation.

    python bench/load.py [--policy ID] [--requests N] [--seconds S] [--concurrency C] [--batch-size B]
    python bench/load.py --frameworks      # the Starlette vs FastAPI measurement behind the choice

Starts `slapolicy serve` on 127.0.0.1 (a port the OS picks) with the bundled policies (or, while
none is bundled, the test fixture tests/fixtures/mini.yaml), drives it from this process with C
keep-alive connections (a small asyncio HTTP/1.1 client, so the client costs little CPU), and stops
by itself: each scenario ends after N requests or S seconds, whichever comes first; then the
server is stopped. Loopback only: it never talks to another address.

Tickets are the decided (not refused) tickets of each policy's test file, all policies interleaved
(batches: one policy per batch, the policies in turn), sent again and again; "each ticket once" sends
generated tickets (slapolicy corpus generate), none twice, after a warm-up with others; "why_not=false"
asks for the explained decision without its why_not block (docs/evaluation.md); the server's CPU
time per request is read from /proc (Linux) and printed beside the wall-clock figures, since on a
2-core machine the client and the server share the cores.
"""

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"  # loopback only, by design

FALLBACK_TICKETS = [
    {"id": "B-1", "created_at": "2026-03-10T11:00:00+02:00", "channel": "portal", "customer": {"segment": "commercial"},
     "topic": "billing", "problems_count": 2},
    {"id": "B-2", "created_at": "2026-03-13T19:30:00+02:00", "channel": "chat", "customer": {"segment": "partner"},
     "topic": "migration"},
    {"id": "B-3", "created_at": "2026-03-14T09:00:00+02:00", "channel": "email", "customer": {"segment": "demo"},
     "topic": "product_error"},
    {"id": "B-4", "created_at": "2026-03-16T08:00:00+02:00", "channel": "portal", "customer": {"segment": "commercial"},
     "escalation": "project_manager_failed", "attachments": [{"name": "a.bmp", "format": "bmp"}]},
]


# -- the server -----------------------------------------------------------------------------------
SERVING = r"Uvicorn running on http://127\.0\.0\.1:(\d+)"  # the server's log line with the port it listens on


def start_server(args_list, log_path: Path):
    cmd = [sys.executable, str(ROOT / "cli.py")] + args_list  # this checkout, whatever is on PATH
    return _start(cmd, log_path, SERVING)


def _start(cmd, log_path: Path, pattern):
    log = open(log_path, "w")
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        m = re.search(pattern, log_path.read_text("utf-8", "replace"))
        if m:
            return proc, int(m.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    sys.exit("the server did not start:\n" + log_path.read_text("utf-8", "replace"))


def cpu_seconds(pid: int) -> float | None:
    """the process's CPU time (user and system) so far: the sum of its threads' run time in nanoseconds
    (/proc/<pid>/task/*/schedstat, the scheduler's own count) where the kernel has it, else /proc/<pid>/stat's
    clock ticks (10 ms steps: a round of a few hundred requests moves them a few steps only). A thread that
    ended drops out of the sum: the server's threads live as long as it does."""
    try:
        return sum(int((task / "schedstat").read_text().split()[0]) for task in Path(f"/proc/{pid}/task").iterdir()) / 1e9
    except (OSError, IndexError, ValueError):
        pass
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


# -- a small HTTP/1.1 client ----------------------------------------------------------------------
def request_bytes(path: str, body: bytes, content_type="application/json") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode("ascii") + body


async def _connection(port, requests, budget, latencies, statuses, offset=0, shared=False):
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        i = offset  # (each connection starts elsewhere in the list: together they cover it from the start)
        while budget.take():
            # (shared: the connections take the requests in turn from one list, each request once)
            payload = requests[(budget.taken - 1 if shared else i) % len(requests)]
            i += 1
            start = time.perf_counter()
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


class Budget:
    """At most `count` requests and `seconds` of wall time, shared by the connections."""

    def __init__(self, count, seconds):
        self.left, self.until, self.taken = count, time.perf_counter() + seconds, 0

    def take(self):
        if self.left <= 0 or time.perf_counter() > self.until:
            return False
        self.left -= 1
        self.taken += 1
        return True


async def drive(port, requests, count, seconds, concurrency, shared=False):
    latencies, statuses = [], {}
    budget = Budget(count, seconds)
    start = time.perf_counter()
    await asyncio.gather(*[_connection(port, requests, budget, latencies, statuses, k * len(requests) // concurrency,
                                       shared) for k in range(concurrency)])
    return time.perf_counter() - start, latencies, statuses


def quantile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def run_scenario(port, pid, name, requests, per_request, args, warmup=200, warm_with=None):
    # the warm-up sends every request at least twice (a policy's generated code is built on its second
    # decision, why_not keeps answers from the first), so the measured run does no first-time work;
    # `warm_with`: other requests to warm up with instead (the measured ones are then each sent once)
    if warm_with is not None:
        asyncio.run(drive(port, warm_with, len(warm_with), args.seconds, args.concurrency))
    else:
        warmup = max(min(warmup, args.requests), 2 * len(requests))
        asyncio.run(drive(port, requests, warmup, args.seconds, args.concurrency))
    cpu0 = cpu_seconds(pid)
    count = max(200, args.requests // per_request) if per_request > 1 else args.requests
    elapsed, lat, statuses = asyncio.run(drive(port, requests, count, args.seconds, args.concurrency,
                                               shared=warm_with is not None))
    cpu1 = cpu_seconds(pid)
    lat.sort()
    n = len(lat)
    return {"scenario": name, "requests": n, "req/s": n / elapsed, "tickets/s": n * per_request / elapsed,
            "p50 ms": quantile(lat, 0.50) * 1e3, "p99 ms": quantile(lat, 0.99) * 1e3,
            "server CPU us/ticket": (cpu1 - cpu0) / (n * per_request) * 1e6 if cpu0 is not None and n else float("nan"),
            "statuses": ",".join(f"{k}:{v}" for k, v in sorted(statuses.items()))}


def print_table(rows, note=""):
    cols = ["scenario", "requests", "req/s", "tickets/s", "p50 ms", "p99 ms", "server CPU us/ticket", "statuses"]
    cells = [[c for c in cols]] + [[_fmt(r[c]) for c in cols] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cols))]
    for j, row in enumerate(cells):
        print(" | ".join(v.ljust(w) if i in (0, len(cols) - 1) else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths))))
        if j == 0:
            print("-+-".join("-" * w for w in widths))
    if note:
        print(note)


def _fmt(v):
    if isinstance(v, float):
        return f"{v:,.0f}" if v >= 100 else f"{v:.2f}"
    return str(v)


# -- tickets ----------------------------------------------------------------------------------------
def pick_policies(requested, policies_dir):
    """(policy ids, directory): the one asked for, else every bundled policy, else the mini test fixture."""
    from slapolicy.api import default_policies_dir, policy_ids

    if requested:
        return [requested], policies_dir
    bundled = policy_ids(policies_dir or default_policies_dir())
    if bundled:
        return bundled, policies_dir
    tmp = Path(tempfile.mkdtemp(prefix="slapolicy-bench-"))
    shutil.copy(ROOT / "tests" / "fixtures" / "mini.yaml", tmp / "mini.yaml")
    return ["mini"], tmp


def tickets_for(policy_id, policies_dir):
    """The tickets of the policy's test file that it decides (or a few generic ones without a test file)."""
    from slapolicy.api import default_policies_dir, load_policy

    directory = Path(policies_dir or default_policies_dir())
    tests = directory / f"{policy_id}.tests.yaml"
    candidates = FALLBACK_TICKETS
    if tests.exists():
        import yaml

        candidates = [c["ticket"] for c in yaml.safe_load(tests.read_text("utf-8")) or []
                      if isinstance(c, dict) and "ticket" in c and not (c.get("expect") or {}).get("error")]
    policy = load_policy(str(directory / f"{policy_id}.yaml"))
    good = []
    for t in candidates:
        t = json.loads(json.dumps(t, default=str))
        try:
            policy.evaluate(t)
        except Exception:
            continue
        good.append(t)
    return good


def interleaved(tickets: dict) -> list[tuple]:
    """(policy id, ticket) pairs, the policies in turn: each one's first ticket, then each one's second, ..."""
    return [(pid, ts[i]) for i in range(max(map(len, tickets.values()))) for pid, ts in tickets.items() if i < len(ts)]


def fresh_requests(ids, policies_dir, count, seed=29):
    """`count` evaluate requests of generated tickets (slapolicy corpus generate), the policies interleaved, no
    ticket twice: what a server meets that has not seen its tickets before (the test-file tickets above are
    sent again and again, and why_not keeps answers by the values a ticket gives the facts it reads)"""
    from slapolicy.api import default_policies_dir, load_policy

    sys.path.insert(0, str(ROOT / "bench"))
    from _common import generated_tickets

    directory = Path(policies_dir or default_policies_dir())
    per = -(-count // len(ids))
    lists = {pid: generated_tickets(load_policy(str(directory / f"{pid}.yaml")), per, seed) for pid in ids}
    out = [request_bytes(f"/v1/policies/{pid}/evaluate", json.dumps(ts[i], default=str).encode())
           for i in range(per) for pid, ts in lists.items()]
    return out[:count]


# -- the main measurement ---------------------------------------------------------------------------
def main_service(args):
    sys.path.insert(0, str(ROOT))
    ids, policies_dir = pick_policies(args.policy, args.policies)
    tickets = {pid: t for pid in ids if (t := tickets_for(pid, policies_dir))}
    if not tickets:
        sys.exit("no policy decides any of the tickets at hand")
    work = Path(tempfile.mkdtemp(prefix="slapolicy-load-"))
    serve_args = ["serve", "--host", HOST, "--port", "0", "--log-level", "info"]
    if policies_dir:
        serve_args += ["--policies", str(policies_dir)]
    proc, port = start_server(serve_args, work / "serve.log")
    rows = []
    try:
        pairs = interleaved(tickets)
        singles = [request_bytes(f"/v1/policies/{pid}/evaluate", json.dumps(t).encode()) for pid, t in pairs]
        singles_nx = [request_bytes(f"/v1/policies/{pid}/evaluate?explain=false", json.dumps(t).encode())
                      for pid, t in pairs]
        singles_nw = [request_bytes(f"/v1/policies/{pid}/evaluate?why_not=false", json.dumps(t).encode())
                      for pid, t in pairs]
        batches = {pid: [ts[i % len(ts)] for i in range(args.batch_size)] for pid, ts in tickets.items()}
        batch_json = [request_bytes(f"/v1/policies/{pid}/evaluate-batch", json.dumps(b).encode())
                      for pid, b in batches.items()]
        batch_lines = [request_bytes(f"/v1/policies/{pid}/evaluate-batch",
                                     "".join(json.dumps(t) + "\n" for t in b).encode(), "application/x-ndjson")
                       for pid, b in batches.items()]
        rows.append(run_scenario(port, proc.pid, "single", singles, 1, args))
        rows.append(run_scenario(port, proc.pid, "single, explain=false", singles_nx, 1, args))
        rows.append(run_scenario(port, proc.pid, "single, why_not=false", singles_nw, 1, args))
        once, warm = fresh_requests(ids, policies_dir, args.requests), fresh_requests(ids, policies_dir, 400, seed=3)
        rows.append(run_scenario(port, proc.pid, "single, each ticket once", once, 1, args, warm_with=warm))
        rows.append(run_scenario(port, proc.pid, f"batch of {args.batch_size} (JSON list)", batch_json,
                                 args.batch_size, args, warmup=10))
        rows.append(run_scenario(port, proc.pid, f"batch of {args.batch_size} (JSON Lines)", batch_lines,
                                 args.batch_size, args, warmup=10))
    finally:
        proc.terminate()
        proc.wait(10)
    print(f"policies {', '.join(f'{p} ({len(t)} tickets)' for p, t in tickets.items())}; {args.concurrency} "
          f"connections; at most {args.requests} tickets or {args.seconds:g} s per scenario; {os.cpu_count()} cores")
    print_table(rows)


# -- Starlette vs FastAPI: the same endpoint, the same evaluation ---------------------------------------
def framework_app(kind, policy_ref):
    from slapolicy.api import load_policy

    policy = load_policy(policy_ref)

    def work(body, query):
        decision = policy.evaluate(json.loads(body), explain=query.get("explain", "true") != "false")
        return json.dumps(decision, ensure_ascii=False, separators=(",", ":")).encode()

    if kind == "starlette":
        from starlette.applications import Starlette
        from starlette.responses import Response
        from starlette.routing import Route

        async def evaluate(request):
            return Response(work(await request.body(), request.query_params), media_type="application/json")

        return Starlette(routes=[Route("/v1/policies/{id}/evaluate", evaluate, methods=["POST"])])
    from fastapi import FastAPI, Query, Request
    from fastapi.responses import Response

    app = FastAPI()

    @app.post("/v1/policies/{id}/evaluate")
    async def evaluate_fastapi(id: str, request: Request, as_of: str | None = Query(None), explain: bool = Query(True)):
        return Response(work(await request.body(), request.query_params), media_type="application/json")

    return app


def main_frameworks(args):
    sys.path.insert(0, str(ROOT))
    try:
        import fastapi  # noqa: F401
    except ImportError:
        sys.exit("--frameworks needs FastAPI installed (pip install fastapi); it is not a dependency of slapolicy")
    ids, directory = pick_policies(args.policy, args.policies)
    directory = Path(directory or ROOT / "policies")
    policy_id = max(ids, key=lambda pid: len(tickets_for(pid, directory)))
    tickets = tickets_for(policy_id, directory)
    work = Path(tempfile.mkdtemp(prefix="slapolicy-fw-"))
    rows = []
    for round_ in range(args.rounds):
        for kind in ("starlette", "fastapi"):
            cmd = [sys.executable, __file__, "--serve-framework", kind, "--policy-file", str(directory / f"{policy_id}.yaml")]
            proc, port = _start(cmd, work / f"{kind}.log", SERVING)
            try:
                reqs = [request_bytes(f"/v1/policies/{policy_id}/evaluate", json.dumps(t).encode()) for t in tickets]
                rows.append(run_scenario(port, proc.pid, f"{kind} (round {round_ + 1})", reqs, 1, args))
            finally:
                proc.terminate()
                proc.wait(10)
    print(f"the same endpoint (read body, policy.evaluate, JSON out) in both frameworks, uvicorn with "
          f"{_http_impl()}; policy {policy_id}")
    print_table(rows, "server CPU us/ticket is the figure to compare: wall-clock rates move with the machine's load")


def _http_impl():
    import importlib.util

    return ("httptools" if importlib.util.find_spec("httptools") else "h11") + " + " + (
        "uvloop" if importlib.util.find_spec("uvloop") else "asyncio")


def serve_framework(kind, policy_file):
    import importlib.util
    import socket

    import uvicorn

    sys.path.insert(0, str(ROOT))
    app = framework_app(kind, policy_file)
    sock = socket.socket()
    sock.bind((HOST, 0))
    sock.listen(128)  # connections wait in the backlog until uvicorn accepts them
    print(f"Uvicorn running on http://{HOST}:{sock.getsockname()[1]}", flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                  http="httptools" if importlib.util.find_spec("httptools") else "h11",
                                  loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio")).run(sockets=[sock])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--policy", help="one policy id (default: every bundled one, else the mini test fixture)")
    p.add_argument("--policies", help="directory of policies (default: the bundled ones)")
    p.add_argument("--requests", type=int, default=5000, help="tickets per scenario (default 5000)")
    p.add_argument("--seconds", type=float, default=15.0, help="at most this long per scenario (default 15)")
    p.add_argument("--concurrency", type=int, default=8, help="keep-alive connections (default 8)")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--frameworks", action="store_true", help="measure Starlette vs FastAPI instead")
    p.add_argument("--rounds", type=int, default=3, help="with --frameworks: alternating rounds (default 3)")
    p.add_argument("--serve-framework", choices=["starlette", "fastapi"], help=argparse.SUPPRESS)
    p.add_argument("--policy-file", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve_framework:
        serve_framework(args.serve_framework, args.policy_file)
    elif args.frameworks:
        main_frameworks(args)
    else:
        main_service(args)


if __name__ == "__main__":
    main()
