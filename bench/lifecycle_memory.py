"""Memory of `watch` over a long event stream: prints memory every tenth of the stream.

    python bench/lifecycle_memory.py [EVENTS] [POLICY] [--trace]

Memory is the process's resident set (Linux /proc/self/statm); with --trace also tracemalloc's
traced Python memory (several times slower).

Generates a deterministic log (slapolicy.monitor.eventlog) of tickets that open, get replies, escalate and
resolve, feeds it to the Watcher in replay mode, and prints events processed, open tickets,
traced memory now and peak, and events/s. Flat memory = resolved tickets are dropped.
"""
import json
import os
import sys
import time
import tracemalloc
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # the repo, not bench/ (bench/business_time.py is no stdlib calendar)

from slapolicy.api import load_policy  # noqa: E402
from slapolicy.monitor.eventlog import generate  # noqa: E402
from slapolicy.monitor.watch import Watcher  # noqa: E402


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    total = int(args[0]) if args else 1_000_000
    policy_ref = args[1] if len(args) > 1 else str(Path(__file__).resolve().parents[1] / "tests/fixtures/lifecycle.yaml")
    policy = load_policy(policy_ref)
    alerts = [0]
    watcher = Watcher(policy, emit=lambda a: alerts.__setitem__(0, alerts[0] + 1), on_error=lambda n, m: None)
    trace = "--trace" in sys.argv
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    step = max(total // 10, 1)
    print(f"{'events':>10} {'open tickets':>13} {'heap':>8} {'alerts':>9} {'RSS MiB':>8} {'traced MiB':>11} {'events/s':>9}")
    n = 0
    for record in generate(total // 4, seed=42, open_at_once=200):
        n += 1
        watcher.feed_line(n, json.dumps(record), replay=True)
        if n % step == 0:
            traced = f"{tracemalloc.get_traced_memory()[0] / 2**20:>11.1f}" if trace else f"{'-':>11}"
            rate = n / (time.perf_counter() - started)
            print(f"{n:>10} {len(watcher.clocks):>13} {len(watcher.heap):>8} {alerts[0]:>9} {rss_mib():>8.1f} {traced} {rate:>9.0f}",
                  flush=True)
        if n >= total:
            break
    print(f"done: {n} events, {watcher.dropped} tickets resolved and dropped, "
          f"last event at {watcher.now}, RSS {rss_mib():.1f} MiB")


def rss_mib() -> float:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return float("nan")


if __name__ == "__main__":
    main()
