"""The monitor store's contract (issue 13), the same tests on SQLite and on PostgreSQL, and its sinks."""
import datetime as dt
import http.server
import io
import json
import sqlite3
import sys
import threading
import time

import pytest
from pg import pg_server, pg_url, url  # noqa: F401  (fixtures)
from slapolicy.monitor.sinks import CommandSink, StdoutSink, WebhookSink, alert_body, deliver_pending, verify
from slapolicy.monitor.store import Alert, Clock, SchemaVersionError, StaleTicket, TicketState, open_store

T0 = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.timezone.utc)
H = dt.timedelta(hours=1)


@pytest.fixture
def stores(url):
    """open_() -> a new store (its own connection) on the same URL; all closed at the end."""
    opened = []

    def open_():
        opened.append(open_store(url))
        return opened[-1]

    yield open_
    for s in opened:
        s.close()


@pytest.fixture
def store(stores):
    return stores()


def state(n=0, at=T0, edition="e1"):
    return TicketState("martinsoft-b24", edition, {"n": n, "tier": "serious"}, at)


def clock(target="first_response", due=T0 + 2 * H, next_at=T0 + H, kind="warning"):
    return Clock(target, due, next_at, kind)


def alert(i, ticket="T-1", **payload):
    return Alert(f"a-{i}", {"alert": "warning", "ticket": ticket, "n": i, **payload})


# -- apply ------------------------------------------------------------------------------------------
def test_apply_is_idempotent_by_event_key(store):
    assert store.apply("e-1", "T-1", state(1), [clock()], [alert(1)]) is True
    assert store.apply("e-1", "T-1", state(2), [clock(due=T0 + 9 * H)], [alert(2)]) is False
    row = store.load_ticket("T-1")
    assert (row.state, row.version, row.policy_edition, row.last_at) == ({"n": 1, "tier": "serious"}, 1, "e1", T0)
    assert [c.due for c in store.ticket_clocks("T-1")] == [T0 + 2 * H]
    assert [a.id for a in store.pending_alerts(now=T0 + 100 * H)] == ["a-1"]
    assert store.stats() == {"tickets": 1, "clocks": 1, "applied_events": 1, "outbox": 1, "undelivered": 1}
    assert store.was_applied("e-1") and not store.was_applied("e-2")


def test_apply_replaces_clocks_and_none_deletes_the_ticket(store):
    store.apply("e-1", "T-1", state(1), [clock(), clock("resolution", T0 + 8 * H, T0 + 6 * H)])
    store.apply("e-2", "T-1", state(2, T0 + H), [clock("resolution", T0 + 8 * H, T0 + 6 * H)])
    assert [c.target for c in store.ticket_clocks("T-1")] == ["resolution"]
    assert store.load_ticket("T-1").version == 2
    assert store.apply("e-3", "T-1", None, at=T0 + 2 * H) is True
    assert store.load_ticket("T-1") is None and store.ticket_clocks("T-1") == []
    assert store.high_water() == T0 + 2 * H


def _raising_alerts():
    yield alert(1)
    raise RuntimeError("the monitor died half way")


ATOMICITY = {  # case -> apply arguments that fail part way through the transaction
    "exception from the alerts iterable": dict(alerts=_raising_alerts),
    "payload that is not JSON": dict(alerts=lambda: [alert(1), alert(2, x=float("nan"))]),
    "two clocks for one target": dict(clocks=lambda: [clock(), clock()]),
    "state that is not JSON": dict(new_state=lambda: TicketState("p", "e1", {"s": {1, 2}}, T0 + H)),
}


@pytest.mark.parametrize("case", ATOMICITY)
def test_apply_is_atomic(store, case):
    store.apply("e-0", "T-1", state(0), [clock()], [alert(0)])
    before = store.stats()
    args = {"new_state": state(1, T0 + H), "clocks": [clock(due=T0 + 5 * H)], "alerts": [alert(1)]}
    args.update({k: f() for k, f in ATOMICITY[case].items()})
    with pytest.raises(Exception):
        store.apply("e-1", "T-1", args["new_state"], args["clocks"], args["alerts"])
    assert store.stats() == before
    assert not store.was_applied("e-1")
    assert store.load_ticket("T-1").state == {"n": 0, "tier": "serious"}
    assert [c.due for c in store.ticket_clocks("T-1")] == [T0 + 2 * H]
    assert store.high_water() == T0
    # the connection is usable again and the event can be applied for real
    assert store.apply("e-1", "T-1", state(1, T0 + H), [clock(due=T0 + 5 * H)], [alert(1)]) is True


def test_expected_version_refuses_a_stale_write(stores):
    a, b = stores(), stores()
    a.apply("e-1", "T-1", state(1), [clock()], expected_version=0)
    seen_by_b = b.load_ticket("T-1")
    assert a.apply("e-2", "T-1", state(2, T0 + H), [clock()], expected_version=1) is True
    with pytest.raises(StaleTicket, match="version 1 expected, 2 found"):
        b.apply("e-3", "T-1", state(3, T0 + H), [clock()], [alert(3)], expected_version=seen_by_b.version)
    assert not b.was_applied("e-3") and b.pending_alerts(now=T0 + 9 * H) == []
    assert b.apply("e-4", "T-2", state(4), expected_version=0) is True
    with pytest.raises(StaleTicket):  # a new ticket created by someone else in between
        a.apply("e-5", "T-2", state(5), expected_version=0)
    assert b.load_ticket("T-2").state["n"] == 4


# -- two connections at once ------------------------------------------------------------------------
def test_same_event_from_two_connections_while_the_first_is_open(stores):
    """A is inside its apply transaction (its alerts iterable waits); B applies the same event: B waits
    for A's commit, then finds the key applied. Only one wins; the outbox has A's alerts only."""
    a, b = stores(), stores()
    inside, release = threading.Event(), threading.Event()

    def slow_alerts():
        yield alert(1)
        inside.set()
        assert release.wait(20)
        yield alert(2)

    results = {}
    ta = threading.Thread(target=lambda: results.setdefault("a", a.apply("e-1", "T-1", state(1), [clock()], slow_alerts())))
    ta.start()
    assert inside.wait(20)
    tb = threading.Thread(target=lambda: results.setdefault("b", b.apply("e-1", "T-1", state(9), [], [alert(9)])))
    tb.start()
    time.sleep(0.3)
    assert tb.is_alive(), "B did not wait for A's transaction"
    release.set()
    ta.join(20), tb.join(20)
    assert results == {"a": True, "b": False}
    assert [x.id for x in b.pending_alerts(now=T0 + 9 * H)] == ["a-1", "a-2"]
    assert b.load_ticket("T-1").state["n"] == 1


def test_two_events_of_one_ticket_from_two_connections(stores):
    """A and B both loaded version 1 and apply different events; B waits on A's row lock (PostgreSQL) or
    write lock (SQLite), then finds version 2 and is refused: no lost update."""
    a, b = stores(), stores()
    a.apply("e-1", "T-1", state(1), [clock()])
    inside, release = threading.Event(), threading.Event()

    def slow_alerts():
        inside.set()
        assert release.wait(20)
        yield alert(2)

    results = {}

    def run(name, s, key, alerts):
        try:
            results[name] = s.apply(key, "T-1", state(int(key[-1]), T0 + H), [clock()], alerts, expected_version=1)
        except StaleTicket as exc:
            results[name] = exc

    ta = threading.Thread(target=run, args=("a", a, "e-2", slow_alerts()))
    ta.start()
    assert inside.wait(20)
    tb = threading.Thread(target=run, args=("b", b, "e-3", [alert(3)]))
    tb.start()
    time.sleep(0.3)
    assert tb.is_alive(), "B did not wait for A's transaction"
    release.set()
    ta.join(20), tb.join(20)
    assert results["a"] is True and isinstance(results["b"], StaleTicket)
    assert (b.load_ticket("T-1").version, b.load_ticket("T-1").state["n"]) == (2, 2)
    assert not b.was_applied("e-3") and [x.id for x in b.pending_alerts(now=T0 + 9 * H)] == ["a-2"]


def test_same_events_raced_by_two_threads(stores):
    a, b = stores(), stores()
    rounds = 15
    wins = {"a": 0, "b": 0}
    barrier = threading.Barrier(2)

    def run(name, s):
        for i in range(rounds):
            barrier.wait(20)
            if s.apply(f"e-{i}", f"T-{i}", state(i), [clock()], [alert(i, ticket=f"T-{i}")]):
                wins[name] += 1

    threads = [threading.Thread(target=run, args=("a", a)), threading.Thread(target=run, args=("b", b))]
    [t.start() for t in threads]
    [t.join(60) for t in threads]
    assert wins["a"] + wins["b"] == rounds
    assert a.stats() == {"tickets": rounds, "clocks": rounds, "applied_events": rounds, "outbox": rounds,
                         "undelivered": rounds}


# -- timers -----------------------------------------------------------------------------------------
def _fill(store, n=23):
    """n tickets, one or two clocks each; next instants with ties; some with no next alert."""
    expected = []
    for i in range(n):
        next_at = T0 + dt.timedelta(minutes=(i * 7) % 11 * 10)  # 0..100 min, repeating: ties
        clocks = [Clock("first_response", next_at + H, next_at, "warning")]
        if i % 3 == 0:
            clocks.append(Clock("resolution", T0 + 20 * H, None, None))  # no alert left
        if i % 4 == 0:
            clocks.append(Clock("next_response", T0 + 30 * H, T0 + 30 * H, "breach"))  # beyond `until`
        store.apply(f"e-{i}", f"T-{i:02d}", state(i), clocks)
        expected.append((next_at, f"T-{i:02d}", "first_response"))
    return sorted(expected)


@pytest.mark.parametrize("page_size", [1, 4, 23, 500])
def test_due_clocks_in_order_and_in_pages(store, page_size):
    expected = _fill(store)
    got = [(c.next_at, c.ticket_id, c.target) for c in store.due_clocks(T0 + 10 * H, page_size=page_size)]
    assert got == expected
    assert [c.ticket_id for c in store.due_clocks(T0, page_size=page_size)] == [t for at, t, _ in expected if at == T0]


def test_due_clocks_meets_a_clock_rescheduled_while_iterating(store):
    """The monitor's loop: each warning fired moves the clock to its breach; a breach still <= until is met again."""
    _fill(store, 9)
    fired = []
    for c in store.due_clocks(T0 + 10 * H, page_size=2):
        fired.append((c.ticket_id, c.next_kind))
        nxt = (c.due, "breach") if c.next_kind == "warning" else (None, None)
        row = store.load_ticket(c.ticket_id)
        others = [k for k in store.ticket_clocks(c.ticket_id) if k.target != c.target]
        store.record_timers(c.ticket_id, row, [Clock(c.target, c.due, *nxt), *others],
                            [Alert(f"{c.ticket_id}/{c.next_kind}", {"alert": c.next_kind})],
                            expected_version=row.version)
    assert sorted(fired) == sorted((f"T-{i:02d}", kind) for i in range(9) for kind in ("warning", "breach"))
    assert list(store.due_clocks(T0 + 10 * H)) == []
    assert store.stats()["outbox"] == 18


def test_record_timers_is_idempotent_by_alert_id(store):
    store.apply("e-1", "T-1", state(1), [clock()])
    row = store.load_ticket("T-1")
    assert store.record_timers("T-1", row, [clock(kind="breach", next_at=T0 + 2 * H)], [alert(1), alert(2)]) == 2
    assert store.record_timers("T-1", row, [clock(kind="breach", next_at=T0 + 2 * H)], [alert(2), alert(3)]) == 1
    assert [a.id for a in store.pending_alerts(now=T0 + 9 * H)] == ["a-1", "a-2", "a-3"]


def test_at_risk_nearest_breach_first(store):
    for i, hours in enumerate([5, -1, 0.5, 3, 1.5, 2, 0]):
        due = T0 + dt.timedelta(hours=hours)
        store.apply(f"e-{i}", f"T-{i}", state(i), [Clock("first_response", due, due, "breach"),
                                                   Clock("resolution", None, None, None)])  # paused: no due
    risky = store.at_risk(T0, 2 * H)
    assert [(c.ticket_id, c.due) for c in risky] == [
        ("T-6", T0), ("T-2", T0 + 0.5 * H), ("T-4", T0 + 1.5 * H), ("T-5", T0 + 2 * H)]
    assert [c.ticket_id for c in store.at_risk(T0, 2 * H, limit=2)] == ["T-6", "T-2"]


def test_high_water_is_the_latest_event_instant(store):
    assert store.high_water() is None
    store.apply("e-1", "T-1", state(1, T0 + 2 * H), [])
    store.apply("e-2", "T-2", state(2, T0 + H), [])  # another ticket's older event: accepted, mark stays
    assert store.high_water() == T0 + 2 * H


# -- the outbox -------------------------------------------------------------------------------------
def test_outbox_pending_delivered_failed_and_leased(stores):
    store, other = stores(), stores()
    store.apply("e-1", "T-1", state(1), [], [alert(1), alert(2)])
    store.apply("e-2", "T-2", state(2), [], [alert(3, ticket="T-2")])
    now = dt.datetime.now(dt.timezone.utc)
    assert [(a.id, a.ticket_id, a.payload["n"]) for a in store.pending_alerts(now=now)] == [
        ("a-1", "T-1", 1), ("a-2", "T-1", 2), ("a-3", "T-2", 3)]
    assert [a.id for a in store.pending_alerts(2, now=now)] == ["a-1", "a-2"]
    assert store.mark_delivered(["a-1", "nope"]) == 1
    assert store.mark_delivered(["a-1"]) == 0  # marked already
    store.mark_failed("a-2", "HTTP 503", retry_at=now + H)
    assert [a.id for a in store.pending_alerts(now=now)] == ["a-3"]
    later = store.pending_alerts(now=now + 2 * H)
    assert [(a.id, a.attempts, a.last_error) for a in later] == [("a-2", 1, "HTTP 503"), ("a-3", 0, None)]
    claimed = store.pending_alerts(now=now + 2 * H, lease=dt.timedelta(minutes=5))
    assert [a.id for a in claimed] == ["a-2", "a-3"]
    assert other.pending_alerts(now=now + 2 * H) == []  # leased to the first deliverer
    assert [a.id for a in other.pending_alerts(now=now + 3 * H)] == ["a-2", "a-3"]  # the lease ran out
    assert store.stats()["undelivered"] == 2


# -- schema -----------------------------------------------------------------------------------------
def test_schema_is_created_once_and_a_newer_one_is_refused(stores, url):
    s = stores()
    s.apply("e-1", "T-1", state(1), [clock()])
    assert stores().schema_version() == 1  # reopened: nothing recreated, nothing lost
    assert stores().load_ticket("T-1").version == 1
    s._execute("UPDATE monitor_schema SET version = 99")
    with pytest.raises(SchemaVersionError, match="schema version 99; this slapolicy understands version 1 at most"):
        open_store(url)
    assert s.load_ticket("T-1").state["n"] == 1


# -- URLs (SQLite only) -----------------------------------------------------------------------------
def test_sqlite_urls(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with open_store("sqlite:///rel.db") as s:
        assert s.path == "rel.db"
    assert (tmp_path / "rel.db").exists()
    with open_store(f"sqlite:///{tmp_path}/abs.db?synchronous=full") as s:
        assert s.path == f"{tmp_path}/abs.db"
    conn = sqlite3.connect(tmp_path / "abs.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    for bad in ["sqlite://rel.db", "sqlite:///", "mysql://x/y", f"sqlite:///{tmp_path}/x.db?cache=1"]:
        with pytest.raises(ValueError):
            open_store(bad)


# -- sinks (on SQLite: they only use the store's interface) ---------------------------------------
@pytest.fixture
def outbox(tmp_path):
    s = open_store(f"sqlite:///{tmp_path}/sinks.db")
    s.apply("e-1", "T-1", state(1), [clock()], [alert(1), alert(2)])
    yield s
    s.close()


class Receiver:
    """A webhook receiver on 127.0.0.1 (http.server in a thread) that answers `fail_first` 503s, then `status`."""

    def __init__(self, fail_first=0, status=200):
        self.fail_first, self.status, self.requests = fail_first, status, []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                code = 503 if len(receiver.requests) <= receiver.fail_first else receiver.status
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_webhook_retries_with_backoff_signs_and_marks_delivered(outbox):
    delays = []
    with Receiver(fail_first=3) as rx:
        sink = WebhookSink(rx.url, "s3cret", retries=4, backoff_base=0.01, backoff_cap=0.02, sleep=delays.append)
        report = deliver_pending(outbox, sink)
    assert (report.delivered, report.failed) == (2, 0)
    assert delays == [0.01, 0.02, 0.02]  # exponential, capped
    assert len(rx.requests) == 5  # 3 refused + 2 delivered
    ids = [headers["Idempotency-Key"] for headers, _ in rx.requests]
    assert ids == ["a-1", "a-1", "a-1", "a-1", "a-2"]
    for headers, body in rx.requests:
        assert headers["X-Slapolicy-Alert-Id"] == headers["Idempotency-Key"] == json.loads(body)["id"]
        assert verify(body, "s3cret", headers["X-Slapolicy-Signature"])
        assert not verify(body, "other", headers["X-Slapolicy-Signature"])
        assert headers["Content-Type"] == "application/json"
    assert len({body for _, body in rx.requests[:4]}) == 1  # a retry sends the same bytes
    assert outbox.pending_alerts(now=T0 + 99 * H) == [] and outbox.stats()["undelivered"] == 0


def test_webhook_failure_stays_in_the_outbox_and_is_retried_later(outbox):
    now = dt.datetime.now(dt.timezone.utc)
    with Receiver(fail_first=100) as rx:
        sink = WebhookSink(rx.url, "k", retries=1, backoff_base=0, sleep=lambda s: None)
        report = deliver_pending(outbox, sink, now=now, retry_base=60)
        assert (report.delivered, report.failed, len(rx.requests)) == (0, 2, 4)
        assert "HTTP 503" in report.errors[0][1]
        assert outbox.pending_alerts(now=now + dt.timedelta(seconds=59)) == []  # backing off
        rx.fail_first = 0
        report = deliver_pending(outbox, sink, now=now + dt.timedelta(seconds=61))
    assert report.delivered == 2
    assert outbox.stats()["undelivered"] == 0


def test_webhook_does_not_retry_a_refusal_in_the_call(outbox):
    with Receiver(status=400) as rx:
        report = deliver_pending(outbox, WebhookSink(rx.url, retries=3, sleep=lambda s: None), limit=1)
    assert (report.failed, len(rx.requests)) == (1, 1)
    assert "X-Slapolicy-Signature" not in rx.requests[0][0]  # no secret, no signature
    assert outbox.stats()["undelivered"] == 2


def test_command_sink_retries_on_non_zero_exit(outbox, tmp_path):
    script = ("import os, sys; data = sys.stdin.read(); m = sys.argv[1]\n"
              "if not os.path.exists(m): open(m, 'w').close(); sys.exit(3)\n"
              "open(sys.argv[2], 'a').write(os.environ['SLAPOLICY_ALERT_ID'] + ' ' + data)")
    sink = CommandSink([sys.executable, "-c", script, str(tmp_path / "once"), str(tmp_path / "got")])
    now = dt.datetime.now(dt.timezone.utc)
    first = deliver_pending(outbox, sink, now=now, retry_base=0)
    assert (first.delivered, first.failed) == (1, 1) and "exited 3" in first.errors[0][1]
    second = deliver_pending(outbox, sink, now=now + H)
    assert second.delivered == 1
    lines = (tmp_path / "got").read_text().splitlines()
    assert sorted(line.split(" ", 1)[0] for line in lines) == ["a-1", "a-2"]
    assert all(json.loads(line.split(" ", 1)[1])["id"] == line.split(" ", 1)[0] for line in lines)


def test_stdout_sink_writes_json_lines(outbox):
    out = io.StringIO()
    assert deliver_pending(outbox, StdoutSink(out)).delivered == 2
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(x["id"], x["n"]) for x in lines] == [("a-1", 1), ("a-2", 2)]
    assert out.getvalue().splitlines()[0].encode() == alert_body(Alert("a-1", {k: v for k, v in lines[0].items() if k != "id"}))
