"""A response's head and body in one write (slapolicy.service.wire.HeadHolder): the writes a cycle makes,
against a recording transport, and the bytes a real uvicorn (`slapolicy serve`'s protocol) sends."""
import asyncio
import json
import socket
import time

import pytest

pytest.importorskip("uvicorn")
pytest.importorskip("httptools")  # the holder is put in httptools' cycles only

from live import LiveServer  # noqa: E402
from slapolicy.service.wire import HeadHolder  # noqa: E402


class Transport:
    def __init__(self):
        self.events = []
        self.closing = False

    def write(self, data):
        self.events.append(("write", bytes(data)))

    def writelines(self, parts):  # one call: one write on the wire
        self.events.append(("write", b"".join(bytes(p) for p in parts)))

    def close(self):
        self.events.append(("close",))
        self.closing = True

    def is_closing(self):
        return self.closing


class Cycle:
    response_started = False


def holder():
    loop = asyncio.new_event_loop()
    transport, cycle = Transport(), Cycle()
    return loop, transport, cycle, HeadHolder(transport, cycle, loop)


def turn(loop):
    """run what call_soon scheduled (one turn of the loop)"""
    loop.run_until_complete(asyncio.sleep(0))


def test_the_head_and_the_body_written_in_the_same_turn_are_one_write():
    loop, transport, cycle, h = holder()
    cycle.response_started = True
    h.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    assert transport.events == []
    h.write(memoryview(b"{}"))
    assert transport.events == [("write", b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")]
    turn(loop)  # the scheduled flush finds nothing held
    assert len(transport.events) == 1
    h.write(b"more")  # anything later goes straight through
    assert transport.events[-1] == ("write", b"more")
    loop.close()


def test_a_head_without_its_body_in_the_same_turn_goes_out_at_the_end_of_the_turn():
    loop, transport, cycle, h = holder()
    cycle.response_started = True
    h.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
    turn(loop)
    assert transport.events == [("write", b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")]
    h.write(b"1\r\na\r\n")
    assert transport.events[-1] == ("write", b"1\r\na\r\n")
    loop.close()


def test_100_continue_before_the_response_is_not_held():
    loop, transport, cycle, h = holder()
    h.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # receive() writes it before the response starts
    assert transport.events == [("write", b"HTTP/1.1 100 Continue\r\n\r\n")]
    cycle.response_started = True
    h.write(b"HTTP/1.1 200 OK\r\n\r\n")
    h.write(b"x")
    assert transport.events[1:] == [("write", b"HTTP/1.1 200 OK\r\n\r\nx")]
    loop.close()


def test_a_close_writes_the_held_head_first():
    loop, transport, cycle, h = holder()
    cycle.response_started = True
    h.write(b"HTTP/1.1 200 OK\r\n\r\n")
    h.close()
    assert transport.events == [("write", b"HTTP/1.1 200 OK\r\n\r\n"), ("close",)]
    assert h.is_closing()
    turn(loop)
    assert len(transport.events) == 2
    loop.close()


def test_a_held_head_is_dropped_if_the_connection_is_closing_meanwhile():
    loop, transport, cycle, h = holder()
    cycle.response_started = True
    h.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.closing = True  # the protocol closed the connection (a timeout, a lost client)
    turn(loop)
    assert transport.events == []
    loop.close()


# -- over a real uvicorn with slapolicy serve's protocol -------------------------------------------------
async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            kind = (await receive())["type"]
            await send({"type": kind + ".complete"})
            if kind == "lifespan.shutdown":
                return
    path = scope["path"]
    if path == "/stream":  # the head, then the body a while later
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await asyncio.sleep(0.5)
        await send({"type": "http.response.body", "body": b"late", "more_body": False})
    elif path == "/fail":  # the head, then an error: uvicorn closes the connection
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"10")]})
        raise RuntimeError("after the head")
    else:
        body = json.dumps({"path": path}).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def live():
    server = LiveServer(app, header_timeout=5.0)
    yield server
    server.stop()


def read_until(sock, marker: bytes, timeout: float) -> bytes:
    sock.settimeout(timeout)
    data = b""
    while marker not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_keep_alive_responses_arrive_whole_and_in_order(live):
    with socket.create_connection(("127.0.0.1", live.port), timeout=5) as sock:
        for path in ("/a", "/b"):
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            want = json.dumps({"path": path}).encode()
            data = read_until(sock, want, 5)
            head, _, body = data.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 OK\r\n") and body == want
        sock.sendall(b"HEAD /c HTTP/1.1\r\nHost: x\r\n\r\n")  # a head and no body at all
        head = read_until(sock, b"\r\n\r\n", 5)
        assert head.startswith(b"HTTP/1.1 200 OK\r\n") and head.endswith(b"\r\n\r\n")


def test_a_streaming_head_is_not_kept_waiting_for_its_body(live):
    with socket.create_connection(("127.0.0.1", live.port), timeout=5) as sock:
        start = time.monotonic()
        sock.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        head = read_until(sock, b"\r\n\r\n", 5)
        assert time.monotonic() - start < 0.4, "the head waited for the body"
        assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"late" not in head
        assert b"late" in read_until(sock, b"late", 5)


def test_a_head_before_an_error_is_sent_before_the_connection_closes(live):
    with socket.create_connection(("127.0.0.1", live.port), timeout=5) as sock:
        sock.sendall(b"GET /fail HTTP/1.1\r\nHost: x\r\n\r\n")
        data = read_until(sock, b"never", 5)  # up to the close
        assert data.startswith(b"HTTP/1.1 200 OK\r\n") and data.endswith(b"\r\n\r\n")
