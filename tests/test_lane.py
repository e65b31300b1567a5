"""POST /v1/policies/{id}/evaluate answered inside the HTTP protocol (engine/service/lane.py) gives the bytes
the ASGI route gives, on the wire.

Two real servers (uvicorn with `slapolicy serve`'s protocol, httptools), one with the lane and one without
(hardening.server_config(lane=False)), serve the same policies; each request of the table below goes to
both over a raw socket, and the bytes that come back must be equal, the `date` header's value and a
request id the server made up aside (both are masked). The table: good tickets, options, every 4xx the
route gives, cross-site and media-type refusals, a body over the limit, HTTP/1.0 and `Connection: close`,
pipelined requests (evaluate and other routes mixed), a body that arrives after its headers or in pieces,
what the lane leaves to the ASGI app (a long query, `%` in the path, chunked bodies, `Expect:
100-continue`), a handler that raises. Then the request metrics and the decision logs of the two
servers are compared, and the lane must have answered the requests it is meant to take.
"""
from __future__ import annotations

import json
import re
import shutil
import socket
import time

import pytest
from conftest import BASE_TICKET, FIXTURES
from live import LiveServer, decision_log, request_series

pytest.importorskip("httptools")
from slapolicy.service import lane as lane_module  # noqa: E402
from slapolicy.service.app import create_app  # noqa: E402

GOOD = json.dumps(BASE_TICKET).encode()
EVAL = "/v1/policies/mini/evaluate"


def post(path=EVAL, body=GOOD, headers=(("Content-Type", "application/json"),), version="1.1", length=True):
    head = f"POST {path} HTTP/{version}\r\nHost: 127.0.0.1\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers)
    if length:
        head += f"Content-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def get(path):
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


JSONH = (("Content-Type", "application/json"),)
CHUNKED = (b"POST " + EVAL.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n" + f"{len(GOOD):x}\r\n".encode() + GOOD + b"\r\n0\r\n\r\n")
CASES = [  # name, what is sent (pieces, sent with a pause between), the statuses back, how many the lane answers
    ("good", [post(headers=JSONH + (("X-Request-Id", "given-1"),))], [200], 1),
    ("generated request id", [post()], [200], 1),
    ("insane request id", [post(headers=JSONH + (("X-Request-Id", "no spaces please"),))], [200], 1),
    ("explain off", [post(EVAL + "?explain=false")], [200], 1),
    ("options", [post(EVAL + "?explain=no&unknown_facts=true&as_of=2026-03-11T10:00:00Z")], [200], 1),
    ("no content type", [post(headers=())], [200], 1),
    ("+json type", [post(headers=(("Content-Type", "application/vnd.x+json; charset=utf-8"),))], [200], 1),
    ("bad json", [post(body=b'{"id": ')], [400], 1),
    ("not utf-8", [post(body=b'{"id": "\xff"}')], [400], 1),
    ("invalid ticket", [post(body=json.dumps({"id": 5, "channel": "pigeon"}).encode())], [422], 1),
    ("empty body", [post(body=b"")], [400], 1),
    ("unknown policy", [post("/v1/policies/nope/evaluate")], [404], 1),
    ("unknown parameter", [post(EVAL + "?asof=2026-01-01T00:00:00Z")], [422], 1),
    ("bad boolean", [post(EVAL + "?explain=maybe")], [422], 1),
    ("unknown edition", [post(EVAL + "?edition=1999")], [422], 1),
    ("text/plain", [post(headers=(("Content-Type", "text/plain"),))], [415], 1),
    ("cross-site", [post(headers=JSONH + (("Sec-Fetch-Site", "cross-site"),))], [403], 1),
    ("too large", [post(body=b" " * 70000 + GOOD)], [413], 0),
    ("HTTP/1.0", [post(version="1.0")], [200], 1),
    ("connection close", [post(headers=JSONH + (("Connection", "close"),))], [200], 1),
    ("close, then more in the same packet",
     [post(headers=JSONH + (("Connection", "close"),)) + post() + get("/v1/policies")], [200], 1),
    ("keep-alive, three in a row", [post(), post(EVAL + "?explain=false"), post("/v1/policies/nope/evaluate")],
     [200, 200, 404], 3),
    ("pipelined", [post() + get("/v1/policies") + post(EVAL + "?explain=false") + post(body=b"{")],
     [200, 200, 200, 400], 1),
    ("pipelined behind another route", [get("/v1/policies/mini") + post() + post()], [200, 200, 200], 0),
    ("body later", [post()[:-len(GOOD)], GOOD], [200], 0),
    ("body in pieces", [post()[:-20], GOOD[-20:-10], GOOD[-10:]], [200], 0),
    ("headers in pieces", [post()[:30], post()[30:]], [200], 1),
    ("then a whole one", [post()[:-5], post()[-5:] + post()], [200, 200], 0),
    ("then a whole one, later", [post()[:-5], post()[-5:], post()], [200, 200], 1),
    ("long query", [post(EVAL + "?as_of=" + "x" * (63 * 1024))], [414], 0),
    ("percent in path", [post("/v1/policies/mi%6Ei/evaluate")], [200], 0),
    ("chunked body", [CHUNKED], [200], 0),
    ("expect 100-continue", [post(headers=JSONH + (("Expect", "100-continue"),))], [200], 0),
    ("a handler that raises", [post("/v1/policies/boom/evaluate")], [500], 1),
    ("evaluate-batch", [post("/v1/policies/mini/evaluate-batch", b"[" + GOOD + b"]")], [200], 0),
    ("GET evaluate", [get(EVAL)], [405], 0),
]
CLOSES = {"HTTP/1.0", "connection close", "close, then more in the same packet", "a handler that raises"}


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    served = tmp_path_factory.mktemp("served")  # one directory: the decisions' spans name the same file
    shutil.copy(FIXTURES / "mini.yaml", served / "mini.yaml")
    out = []
    for lane in (True, False):
        d = tmp_path_factory.mktemp("lane" if lane else "asgi")
        app = create_app(served, reload_interval=0, max_body_bytes=64 * 1024, decision_log=d / "decisions.jsonl")
        service = app.state.service
        known = service.policy

        def policy(pid, known=known):
            if pid == "boom":
                raise RuntimeError("a bug in the handler")
            return known(pid)

        service.policy = policy
        server = LiveServer(app, header_timeout=5.0, lane=lane)
        ARRIVALS.watch(server.server.config.http_protocol_class)
        out.append((server, app, d))
    yield out
    for server, _, _ in out:
        server.stop()


class Arrivals:
    """What the servers' protocols have read: a piece of a request is sent only once the server has read the one
    before (its data_received returned) and has answered what it could answer with it, as a slow client's pieces
    arrive (on a loaded machine a fixed pause was not always enough: two pieces came in one read, and the lane
    took a request it is meant to leave to uvicorn's cycle, or found the cycle's answer still owed)."""

    def __init__(self):
        self.count, self.last = 0, None

    def watch(self, cls):
        real = cls.data_received  # (the protocol's own, through its MRO: the lane's hand-over included)

        def data_received(protocol, data, real=real):
            try:
                real(protocol, data)
            finally:
                self.last = protocol
                self.count += 1

        cls.data_received = data_received

    def settle(self, seen: int, timeout: float = 5.0) -> None:
        """wait (at most `timeout`, then go on as a fixed pause would) until a data_received after `seen` has
        returned and its request is answered, waits for more of its body, or waits for the client to read (the
        server's writing paused)"""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count > seen:
                protocol = self.last
                cycle = protocol.cycle
                if (cycle is None or cycle.response_complete or protocol.flow.write_paused
                        or (cycle.more_body and not cycle.message_event.is_set())):
                    break
            time.sleep(0.005)
        time.sleep(0.02)


ARRIVALS = Arrivals()


class Reader:
    """the responses on a connection, one at a time (several may come in one recv)"""

    def __init__(self, sock):
        self.sock, self.data = sock, b""

    def more(self, what: str):
        chunk = self.sock.recv(65536)
        assert chunk, f"the connection closed in a response's {what}: {self.data!r}"
        self.data += chunk

    def response(self) -> bytes:
        while b"\r\n\r\n" not in self.data:
            self.more("head")
        head, _, rest = self.data.partition(b"\r\n\r\n")
        if head.startswith(b"HTTP/1.1 100 "):  # 100 Continue, then the response
            self.data = rest
            return head + b"\r\n\r\n" + self.response()
        length = int(re.search(rb"\r\ncontent-length: (\d+)", head).group(1))
        while len(rest) < length:
            self.more("body")
            head, _, rest = self.data.partition(b"\r\n\r\n")
        self.data = rest[length:]
        return head + b"\r\n\r\n" + rest[:length]


def exchange(port, pieces, count, closes, rcvbuf=None) -> list:
    with socket.socket() as sock:
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(10)
        sock.connect(("127.0.0.1", port))
        seen = ARRIVALS.count
        for i, piece in enumerate(pieces):
            if i:
                ARRIVALS.settle(seen)  # the pieces arrive apart (a slow client), each read before the next
            seen = ARRIVALS.count
            sock.sendall(piece)
        reader = Reader(sock)
        out = [_masked(reader.response()) for _ in range(count)]
        rest = reader.data
        if closes:
            while chunk := sock.recv(65536):
                rest += chunk
            out.append(("closed", rest))
        else:
            sock.settimeout(0.05)
            try:
                rest += sock.recv(65536)
            except TimeoutError:
                pass
            out.append(("open", rest))
    return out


def _masked(response: bytes) -> bytes:
    response = re.sub(rb"\r\ndate: [^\r]*", b"\r\ndate: -", response)
    return re.sub(rb"\r\nx-request-id: [0-9a-f]{32}\r\n", b"\r\nx-request-id: (made up)\r\n", response)


@pytest.fixture
def lane_answers(monkeypatch):
    count = [0]
    real = lane_module.EvaluateLane._lane_answer

    def counted(self, *args):
        count[0] += 1
        return real(self, *args)

    monkeypatch.setattr(lane_module.EvaluateLane, "_lane_answer", counted)
    return count


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_the_lane_answers_as_the_asgi_route_does(servers, lane_answers, case):
    name, pieces, statuses, taken = case
    (fast, _, _), (slow, _, _) = servers
    expected = exchange(slow.port, pieces, len(statuses), name in CLOSES)
    assert lane_answers[0] == 0
    got = exchange(fast.port, pieces, len(statuses), name in CLOSES)
    assert got == expected
    assert lane_answers[0] == taken
    assert expected[-1] in (("open", b""), ("closed", b""))
    assert [int(r.rsplit(b"\r\n\r\nHTTP/1.1 ", 1)[-1][:3] if r.startswith(b"HTTP/1.1 100 ") else r[9:12])
            for r in expected[:-1]] == statuses


def test_metrics_and_decision_logs_agree(servers):
    (fast, fapp, fdir), (slow, sapp, sdir) = servers
    for name, pieces, statuses, _ in CASES:  # whatever ran before: the same requests once more on each
        for server in (fast, slow):
            exchange(server.port, pieces, len(statuses), name in CLOSES)

    assert request_series(fapp) == request_series(sapp)
    assert any('method="POST",route="/v1/policies/{id}/evaluate",status="200"' in s for s in request_series(fapp))
    latency = [line for line in fapp.state.service.metrics.render().decode().splitlines()
               if line.startswith("slapolicy_http_request_duration_seconds_count") and "evaluate\"" in line]
    assert latency and float(latency[0].rsplit(" ", 1)[1]) > 0

    assert decision_log(fdir, made_up_ids=True) == decision_log(sdir, made_up_ids=True) and decision_log(fdir)


def test_a_client_that_does_not_read_its_answers(servers, lane_answers):
    """1,000 pipelined requests (in four sends of ~75 KB: under the header-bytes limit of a read) sent before
    any answer is read, by a client with a small receive buffer: the answers (~6 MB, more than the sockets
    hold, so the server's writing pauses and the lane leaves the rest to uvicorn's cycle, which waits for
    the drain, and its pipeline, which stops reading) are the same, in order"""
    (fast, _, _), (slow, _, _) = servers
    count = 1000
    requests = [post(headers=JSONH + (("X-Request-Id", f"r-{i}"),)) for i in range(count)]
    pieces = [b"".join(requests[k:k + 250]) for k in range(0, count, 250)]
    expected = exchange(slow.port, pieces, count, False, rcvbuf=4096)
    got = exchange(fast.port, pieces, count, False, rcvbuf=4096)
    assert got == expected and len(got) == count + 1
    ids = [r.split(b"x-request-id: ")[1].split(b"\r\n")[0] for r in got[:-1]]
    assert ids == [f"r-{i}".encode() for i in range(count)]
    assert 0 < lane_answers[0] < count, lane_answers
