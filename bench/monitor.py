"""The durable monitor (issue 13): events/s into SQLite and PostgreSQL, alerts/s out, memory with many open tickets.

    python bench/monitor.py [--tickets 2000] [--open 100000] [--pg URL | --no-pg] [--seed 1]

1. events in: a generated stream (slapolicy.monitor.eventlog, --tickets tickets, about 8 events each)
   replayed through `Monitor` (one transaction per event, timers as store rows) into a fresh SQLite
   file, then into PostgreSQL (--pg URL, else $SLAPOLICY_TEST_PG, else a throwaway cluster started
   with .ci/postgres.sh and stopped at the end; --no-pg skips it);
2. alerts out: the outbox drained to a StdoutSink writing to /dev/null (alerts/s, marks included);
3. memory: --open tickets created and never resolved (SQLite), the process's resident set printed
   every tenth: bounded by the store, not by the number of open tickets. 1 M takes long (about as
   many seconds as events/s allows); the default is smaller.
Prints Markdown tables. Figures move with the machine's load; see docs/monitor.md for measured ones.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from slapolicy.api import load_policy  # noqa: E402
from slapolicy.monitor.durable import Monitor, drain  # noqa: E402
from slapolicy.monitor.eventlog import generate  # noqa: E402
from slapolicy.monitor.sinks import StdoutSink  # noqa: E402
from slapolicy.monitor.store import open_store  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
POLICY = str(ROOT / "tests/fixtures/lifecycle.yaml")


def rss_mb() -> float:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2 ** 20
    except (OSError, ValueError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def feed(url, lines, policy):
    store = open_store(url)
    errors = []
    m = Monitor(store, lambda pid: policy, default_policy=policy.id, on_error=lambda n, e: errors.append(e))
    start = time.perf_counter()
    for number, line in enumerate(lines, start=1):
        m.feed_line(number, line)
    events_s = time.perf_counter() - start
    pending = store.stats()["undelivered"]
    with open(os.devnull, "w") as null:
        start = time.perf_counter()
        delivered, failed = drain(store, StdoutSink(null))
        alerts_s = time.perf_counter() - start
    store.close()
    assert not errors and not failed and delivered == pending, (errors[:3], failed)
    return len(lines) / events_s, delivered / alerts_s if alerts_s else 0.0, delivered


def pg_url(arg):
    if arg:
        return arg, None
    if os.environ.get("SLAPOLICY_TEST_PG"):
        return os.environ["SLAPOLICY_TEST_PG"], None
    proc = subprocess.run(["bash", str(ROOT / ".ci/postgres.sh"), "start"], capture_output=True, text=True)
    exports = dict(line[7:].split("=", 1) for line in proc.stdout.splitlines() if line.startswith("export "))
    if proc.returncode != 0 or "SLAPOLICY_TEST_PG" not in exports:
        print(f"(PostgreSQL skipped: .ci/postgres.sh start failed: {proc.stderr.strip()[-300:]})")
        return None, None
    return exports["SLAPOLICY_TEST_PG"], exports.get("SLAPOLICY_PG_DIR")


def fresh_pg(url, extra=""):
    import uuid

    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}{extra}", schema


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=2000)
    ap.add_argument("--open", type=int, default=100_000, help="open tickets for the memory figure (1000000 for 1 M)")
    ap.add_argument("--pg", default=None)
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    policy = load_policy(POLICY)
    lines = [json.dumps(r) for r in generate(args.tickets, seed=args.seed)]
    print(f"stream: {args.tickets} tickets, {len(lines)} events; policy {policy.id}\n")
    print("| store | events/s in | alerts/s out | alerts |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        ev, al, n = feed(f"sqlite:///{tmp}/bench.db", lines, policy)
        print(f"| SQLite (WAL, synchronous=NORMAL) | {ev:,.0f} | {al:,.0f} | {n} |")
        ev, al, n = feed(f"sqlite:///{tmp}/bench-full.db?synchronous=full", lines, policy)
        print(f"| SQLite (synchronous=FULL) | {ev:,.0f} | {al:,.0f} | {n} |")
    if not args.no_pg:
        url, cluster = pg_url(args.pg)
        if url:
            try:
                import psycopg

                with psycopg.connect(url, autocommit=True) as conn:
                    fsync = conn.execute("SHOW fsync").fetchone()[0]
                scoped, schema = fresh_pg(url, "%20-csynchronous_commit%3Don")
                ev, al, n = feed(scoped, lines, policy)
                print(f"| PostgreSQL (fsync={fsync}, synchronous_commit=on) | {ev:,.0f} | {al:,.0f} | {n} |")
                scoped2, schema2 = fresh_pg(url, "%20-csynchronous_commit%3Doff")
                ev, al, n = feed(scoped2, lines, policy)
                print(f"| PostgreSQL (fsync={fsync}, synchronous_commit=off) | {ev:,.0f} | {al:,.0f} | {n} |")
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"DROP SCHEMA {schema} CASCADE")
                    conn.execute(f"DROP SCHEMA {schema2} CASCADE")
            finally:
                if cluster:
                    subprocess.run(["bash", str(ROOT / ".ci/postgres.sh"), "stop", cluster], capture_output=True)
    # memory with many open tickets
    print(f"\nmemory: {args.open:,} tickets created, none resolved (SQLite)\n")
    print("| open tickets | RSS MB | store MB | events/s |\n|---|---|---|---|")
    base = {"channel": "portal", "customer": {"segment": "commercial"}, "topic": "billing"}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "open.db"
        store = open_store(f"sqlite:///{path}")
        m = Monitor(store, lambda pid: policy, default_policy=policy.id)
        start = last = time.perf_counter()
        step = max(1, args.open // 10)
        t0 = 1_773_000_000  # 2026-03-08
        for i in range(1, args.open + 1):
            at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 + i))
            m.feed({"type": "created", "ticket": dict(base, id=f"O-{i}", created_at=at)}, i)
            if i % step == 0:
                now = time.perf_counter()
                size = sum(f.stat().st_size for f in Path(tmp).glob("open.db*")) / 2 ** 20
                print(f"| {i:,} | {rss_mb():.0f} | {size:.0f} | {step / (now - last):,.0f} |", flush=True)
                last = now
        store.close()
        print(f"\n{args.open:,} open tickets in {time.perf_counter() - start:.0f} s; "
              f"peak RSS of this process {rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
