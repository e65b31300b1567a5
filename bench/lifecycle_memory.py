"""Memory of `watch` over a long event stream: prints peak traced memory every N events.

    python bench/lifecycle_memory.py [EVENTS] [POLICY]

Generates a deterministic log (engine.eventlog) of tickets that open, get replies, escalate and
resolve, feeds it to the Watcher in replay mode, and prints events processed, open tickets,
traced memory now and peak, and events/s. Flat memory = resolved tickets are dropped.
"""
import json
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.api import load_policy  # noqa: E402
from engine.eventlog import generate  # noqa: E402
from engine.watch import Watcher  # noqa: E402


def main():
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    policy_ref = sys.argv[2] if len(sys.argv) > 2 else str(Path(__file__).resolve().parents[1] / "tests/fixtures/lifecycle.yaml")
    policy = load_policy(policy_ref)
    alerts = [0]
    watcher = Watcher(policy, emit=lambda a: alerts.__setitem__(0, alerts[0] + 1), on_error=lambda n, m: None)
    tracemalloc.start()
    started = time.perf_counter()
    step = max(total // 10, 1)
    print(f"{'events':>10} {'open tickets':>13} {'heap':>8} {'alerts':>9} {'traced MiB':>11} {'peak MiB':>9} {'events/s':>9}")
    n = 0
    for record in generate(total // 4, seed=42, open_at_once=200):
        n += 1
        watcher.feed_line(n, json.dumps(record), replay=True)
        if n % step == 0:
            now, peak = tracemalloc.get_traced_memory()
            rate = n / (time.perf_counter() - started)
            print(f"{n:>10} {len(watcher.clocks):>13} {len(watcher.heap):>8} {alerts[0]:>9} {now / 2**20:>11.1f} {peak / 2**20:>9.1f} {rate:>9.0f}")
        if n >= total:
            break
    now, peak = tracemalloc.get_traced_memory()
    print(f"done: {n} events, {watcher.dropped} tickets resolved and dropped, peak traced memory {peak / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
