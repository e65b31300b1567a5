"""Crash test (issue 13): `slapolicy watch --store URL --replay` killed with -9 at random points of a
replayed stream, restarted on the whole stream each time: the alerts delivered over all the runs are
exactly the uninterrupted run's (by id, and by ticket, alert, target and `at`), none lost, every
duplicate with the same id and body. On SQLite and on PostgreSQL."""
import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from pg import pg_server, pg_url, url  # noqa: F401  (fixtures)
from slapolicy.api import load_policy
from slapolicy.monitor.durable import alert_key
from slapolicy.monitor.eventlog import generate
from slapolicy.monitor.store import open_store
from slapolicy.monitor.watch import Watcher

ROOT = Path(__file__).resolve().parents[1]
POLICY = str(ROOT / "tests/fixtures/lifecycle.yaml")
UNTIL = "2026-09-01T00:00:00Z"
TICKETS = 300  # about 2,500 events
KILLS = 3


def _watch(url, stream, kill_after=None):
    """Run the monitor on the stream; with kill_after=N, SIGKILL it once it printed N alerts (or at its
    end, if it prints fewer). Returns (alert lines printed, killed?)."""
    cmd = [sys.executable, "-m", "slapolicy.cli", "watch", "--policy", POLICY, "--store", url, "--replay",
           "--until", UNTIL, str(stream)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    errors = []
    threading.Thread(target=lambda: errors.append(proc.stderr.read()), daemon=True).start()
    lines, killed = [], False
    for raw in proc.stdout:  # after the kill, what the process wrote before it is still read: it was delivered
        lines.append(json.loads(raw))
        if kill_after is not None and len(lines) >= kill_after and not killed:
            os.kill(proc.pid, signal.SIGKILL)
            killed = True
    proc.stdout.close()
    code = proc.wait(timeout=120)
    if not killed:
        time.sleep(0.05)
        assert code == 0, (code, errors)
        assert not errors or not errors[0].strip(), errors
    return lines, killed


def test_kill_9_and_restart_loses_nothing_and_duplicates_keep_their_ids(url, tmp_path):
    records = list(generate(TICKETS, seed=13))
    stream = tmp_path / "events.jsonl"
    stream.write_text("".join(json.dumps(r) + "\n" for r in records))
    # the uninterrupted run: the in-memory monitor (tests/test_monitor_durable.py shows the store gives the same)
    reference = []
    watcher = Watcher(load_policy(POLICY), emit=reference.append)
    for number, line in enumerate(stream.read_text().splitlines(), start=1):
        watcher.feed_line(number, line, replay=True)
    watcher.advance(dt.datetime.fromisoformat(UNTIL.replace("Z", "+00:00")))
    expected = {alert_key(a): (a["ticket"], a["alert"], a.get("target"), a["at"]) for a in reference}
    assert len(expected) == len(reference) > 300

    seed = int(os.environ.get("SLAPOLICY_CRASH_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    print(f"crash seed {seed} (SLAPOLICY_CRASH_SEED to repeat)")
    delivered, kills = [], 0
    for _ in range(KILLS):
        # somewhere in what is left: the earlier runs delivered part of it already
        left = len(expected) - len({a["id"] for a in delivered})
        lines, killed = _watch(url, stream, kill_after=rng.randint(1, max(1, left - 1)))
        delivered += lines
        kills += killed
    lines, killed = _watch(url, stream)
    delivered += lines
    assert kills >= 2, "the runs ended before they could be killed: the stream is too short"

    by_id = {}
    for alert in delivered:
        body = {k: v for k, v in alert.items() if k not in ("id", "late")}
        key = (body["ticket"], body["alert"], body.get("target"), body["at"])
        assert by_id.setdefault(alert["id"], (key, body)) == (key, body), "a duplicate with another body"
    assert {i: key for i, (key, _) in by_id.items()} == expected, f"seed {seed}"
    store = open_store(url)
    try:
        stats = store.stats()
    finally:
        store.close()
    assert stats["undelivered"] == 0 and stats["outbox"] == len(expected)
    assert stats["applied_events"] == len(records)
