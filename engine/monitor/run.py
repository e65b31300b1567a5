"""`slapolicy watch --store URL`: the durable monitor's main loop (the CLI is a thin layer over this).

Order of work, so that a kill -9 at any point loses nothing:
  1. deliver what the outbox still holds (alerts committed before a crash, not yet confirmed);
  2. catch up every due instant that passed while the monitor was down (alerts marked late);
  3. apply the input, one transaction per event; deliver from the outbox as alerts accumulate
     (every event when live, every DELIVER_EVERY events when replaying) and at the end.
Error records go to stderr as `FILE:LINE: code: message`; the stream goes on. Exit 0, or 2 when the
store or a sink cannot be opened.
"""
from __future__ import annotations

import json
import queue
import sys
import threading

DELIVER_EVERY = 200  # replaying: deliver after this many input lines (and at the end)


def _say(message):
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def open_sinks(specs, secret=None):
    from slapolicy.monitor.sinks import FanoutSink, open_sink

    sinks = [open_sink(spec, secret=secret) for spec in (specs or ["stdout"])]
    return sinks[0] if len(sinks) == 1 else FanoutSink(sinks)


def run_watch(policy, store_url, file, *, replay=False, until=None, warning_share=0.8, sinks=(), secret=None,
              recalculate=False) -> int:
    from slapolicy.monitor.durable import Monitor, drain, now_utc
    from slapolicy.monitor.store import StoreError, open_store

    try:
        sink = open_sinks(sinks, secret)
    except ValueError as exc:
        _say(f"slapolicy: --sink: {exc}")
        return 2
    try:
        store = open_store(store_url)
    except (StoreError, ValueError, OSError) as exc:
        _say(f"slapolicy: --store: {exc}")
        return 2
    name = getattr(file, "name", "-")

    def on_error(number, message):
        _say(f"{name}:{number}: {message}")

    monitor = Monitor(store, lambda pid: policy if pid == policy.id else None, default_policy=policy.id,
                      warning_share=warning_share, on_error=on_error, replay=replay)
    try:
        drain(store, sink)
        if recalculate:
            report = monitor.recalculate(until)
            drain(store, sink)
            _say(json.dumps(report, ensure_ascii=False))
            return 0
        monitor.start()
        drain(store, sink)
        if replay:
            for number, line in enumerate(file, start=1):
                monitor.feed_line(number, line)
                if number % DELIVER_EVERY == 0:
                    drain(store, sink)
            if until is not None:
                monitor.advance(until)
            drain(store, sink)
            return 0
        _live(monitor, store, sink, file, drain, now_utc)
        return 0
    finally:
        store.close()


def follow(file, tick, next_due, feed, now_utc) -> None:
    """Follow a live stream: `feed(number, line)` for each line as it arrives, `tick(now)` before every wait,
    waking at the next due instant (`next_due()`, or within a second); returns at the end of the stream.
    Shared by the in-memory monitor and the durable one."""
    lines: queue.Queue = queue.Queue()

    def reader():
        for number, line in enumerate(file, start=1):
            lines.put((number, line))
        lines.put(None)

    threading.Thread(target=reader, daemon=True).start()
    while True:
        now = now_utc()
        tick(now)
        nxt = next_due()
        wait = (nxt - now).total_seconds() if nxt is not None else 1.0
        try:
            item = lines.get(timeout=max(0.01, min(wait, 1.0)))
        except queue.Empty:
            continue
        if item is None:
            return
        feed(*item)


def _live(monitor, store, sink, file, drain, now_utc):
    def tick(now):
        monitor.advance(now)
        drain(store, sink)

    def feed(number, line):
        monitor.feed_line(number, line)
        drain(store, sink)

    follow(file, tick, monitor.next_due, feed, now_utc)
