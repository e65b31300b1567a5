"""Bad input never crashes, hangs or silently changes what is served (issue 12): the HTTP service and
its hot reload. Real uvicorn on a free loopback port (tests/live.py); the policy store is polled by
hand (reload_interval=0), so every step of a reload is observed.
"""
from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from conftest import BASE_TICKET, FIXTURES, ROOT

pytest.importorskip("uvicorn")
from live import LiveServer  # noqa: E402
from slapolicy.service.app import create_app  # noqa: E402
from slapolicy.service.store import PolicyStore  # noqa: E402


def call(port, method, path, body=None, headers=None, timeout=30):
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode("utf-8")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def mini_dir(path: Path) -> Path:
    path.mkdir(exist_ok=True)
    shutil.copy(FIXTURES / "mini.yaml", path / "mini.yaml")
    return path


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server = LiveServer(create_app(mini_dir(tmp_path_factory.mktemp("served")), reload_interval=0,
                                   base_url="https://sla.example.com"), header_timeout=1.0, timeout_keep_alive=1.0)
    yield server
    server.stop()


GOOD = json.dumps(BASE_TICKET)
NESTED = json.dumps(BASE_TICKET)[:-1] + ', "x": ' + "[" * 1100 + "]" * 1100 + "}"
HUGE = json.dumps(BASE_TICKET)[:-1] + ', "problems_count": ' + "9" * 5000 + "}"
SURROGATE = json.dumps(BASE_TICKET)[:-1] + ', "sender_email": "\\ud800"}'


def test_one_bad_line_of_a_json_lines_batch_is_an_error_in_its_place(live):
    lines = [GOOD, NESTED, GOOD, HUGE, SURROGATE, "{", GOOD]
    status, headers, body = call(live.port, "POST", "/v1/policies/mini/evaluate-batch", "\n".join(lines) + "\n",
                                 {"Content-Type": "application/x-ndjson"})
    assert status == 200, body[:500]
    out = [json.loads(line) for line in body.decode("utf-8").splitlines()]
    assert len(out) == len(lines)
    assert [r["error"]["code"] if "error" in r else "ok" for r in out] == [
        "ok", "input-too-deep", "ok", "input-number-too-large", "invalid-ticket", "json-syntax", "ok"]
    assert headers["x-items-failed"] == "4"


def test_one_bad_item_of_a_json_batch_is_an_error_in_its_place(live):
    body = "[" + ",".join([GOOD, SURROGATE, GOOD]) + "]"
    status, _, out = call(live.port, "POST", "/v1/policies/mini/evaluate-batch", body, {"Content-Type": "application/json"})
    assert status == 200, out[:500]
    items = json.loads(out)
    assert [i.get("error", {}).get("code", "ok") for i in items] == ["ok", "invalid-ticket", "ok"]
    assert items[1]["error"]["problems"][0]["field"] == "sender_email"


@pytest.mark.parametrize("body,code", [(NESTED, "input-too-deep"), (HUGE, "input-number-too-large"),
                                       (SURROGATE, "invalid-ticket")])
def test_a_hostile_ticket_is_a_4xx_with_a_code(live, body, code):
    status, _, out = call(live.port, "POST", "/v1/policies/mini/evaluate", body, {"Content-Type": "application/json"})
    assert 400 <= status < 500 and json.loads(out)["error"]["code"] == code


@pytest.mark.parametrize("as_of", ["0001-01-01T00:00:00%2B14:00", "9999-12-31T23:59:59-14:00", "2201-01-01T00:00:00Z",
                                   "1969-12-31T23:59:59Z"])
def test_as_of_at_the_year_limits_is_a_422(live, as_of):
    status, _, out = call(live.port, "POST", f"/v1/policies/mini/evaluate?as_of={as_of}", GOOD)
    assert status == 422 and json.loads(out)["error"]["code"] == "invalid-parameter", out


def test_thousands_of_query_parameters_are_refused_before_they_are_parsed(live):
    query = "&".join(f"p{i}=x" for i in range(5000))
    start = time.perf_counter()
    status, _, out = call(live.port, "POST", f"/v1/policies/mini/evaluate?{query}", GOOD)
    assert status == 400 and json.loads(out)["error"]["code"] == "too-many-parameters"
    assert time.perf_counter() - start < 1.0  # before: 1-2.6 s of the event loop spent on the hints
    status, _, out = call(live.port, "GET", "/?ticket=" + "A" * 64_000)  # (httptools refuses 64 KiB and more itself)
    assert status == 414 and json.loads(out)["error"]["code"] == "query-too-long", out[:300]


def test_slow_clients_are_timed_out(live):
    sockets = []
    for _ in range(20):  # slowloris: a request line and half a header, then silence
        s = socket.create_connection(("127.0.0.1", live.port), timeout=10)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        sockets.append(s)
    idle = socket.create_connection(("127.0.0.1", live.port), timeout=10)  # connects and sends nothing
    sockets.append(idle)
    try:
        for s in sockets:  # the server closes each of them (header timeout 1 s): recv sees the end
            assert s.recv(1024) == b""
    finally:
        for s in sockets:
            s.close()
    assert call(live.port, "GET", "/healthz")[0] == 200


def test_a_slow_body_is_a_408(tmp_path):
    server = LiveServer(create_app(mini_dir(tmp_path / "p"), reload_interval=0, body_timeout=0.5), header_timeout=5)
    try:
        s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        s.sendall(b"POST /v1/policies/mini/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 500\r\n\r\n{\"id\": ")
        answer = s.recv(4096)
        s.close()
        assert answer.startswith(b"HTTP/1.1 408") and b"body-timeout" in answer, answer
    finally:
        server.stop()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full to simulate a full disk")
def test_a_decision_log_that_cannot_be_written_is_a_503_and_readyz_says_so(tmp_path):
    server = LiveServer(create_app(mini_dir(tmp_path / "p"), reload_interval=0, decision_log="/dev/full"))
    try:
        assert call(server.port, "GET", "/readyz")[0] == 200
        status, _, out = call(server.port, "POST", "/v1/policies/mini/evaluate", GOOD)
        assert status == 503 and json.loads(out)["error"]["code"] == "decision-log-failed", out
        status, _, out = call(server.port, "POST", "/v1/policies/mini/evaluate-batch", [BASE_TICKET])
        assert status == 503 and json.loads(out)["error"]["code"] == "decision-log-failed", out
        status, _, out = call(server.port, "GET", "/readyz")
        assert status == 503 and any("decision log" in r for r in json.loads(out)["reasons"]), out
    finally:
        server.stop()


def test_share_links_never_come_from_the_host_header(live):
    status, _, page = call(live.port, "GET", "/?policy=mini", headers={"Host": "evil.example"})
    assert status == 200
    page = page.decode("utf-8")
    assert "evil.example" not in page
    assert 'id="share-url" type="text" readonly value="https://sla.example.com/?' in page


CROSS_SITE = [
    ({"Content-Type": "text/plain"}, 415, "unsupported-media-type"),
    ({"Content-Type": "application/x-www-form-urlencoded"}, 415, "unsupported-media-type"),
    ({"Content-Type": "multipart/form-data; boundary=x"}, 415, "unsupported-media-type"),
    ({"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, 403, "cross-site-request"),
]


@pytest.mark.parametrize("headers,status,code", CROSS_SITE, ids=[str(c[0]) for c in CROSS_SITE])
def test_posts_a_page_on_another_site_could_send_are_refused(live, headers, status, code):
    for path in ("/v1/policies/mini/evaluate", "/v1/policies/mini/evaluate-batch"):
        got, _, out = call(live.port, "POST", path, GOOD if path.endswith("evaluate") else "[" + GOOD + "]", headers)
        assert got == status and json.loads(out)["error"]["code"] == code, out


def test_json_types_are_still_accepted(live):
    for kind in ("application/json", "application/json; charset=utf-8", "application/problem+json", None):
        status, _, out = call(live.port, "POST", "/v1/policies/mini/evaluate", GOOD,
                              {"Content-Type": kind} if kind else {})
        assert status == 200, (kind, out)


def test_the_workbench_form_only_accepts_its_own_origin(live):
    form = "policy=mini&source=json&ticket_json=" + __import__("urllib.parse").parse.quote(GOOD)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    for extra, status in [({"Origin": "https://evil.example"}, 403), ({"Sec-Fetch-Site": "cross-site"}, 403),
                          ({"Origin": "null"}, 403), ({"Sec-Fetch-Site": "same-origin"}, 303),
                          ({"Origin": "https://sla.example.com"}, 303), ({}, 303)]:
        got, _, out = call(live.port, "POST", "/workbench/try", form, {**headers, **extra})
        assert got == status, (extra, out[:300])


# -- hot reload ---------------------------------------------------------------------------------------
def readyz(store_app_port):
    status, _, body = call(store_app_port, "GET", "/readyz")
    return status, json.loads(body)


@pytest.fixture
def served(tmp_path):
    directory = mini_dir(tmp_path / "policies")
    shutil.copy(ROOT / "policies" / "advantshop.yaml", directory / "advantshop.yaml")
    app = create_app(directory, reload_interval=0)
    server = LiveServer(app)
    yield directory, app.state.service.store, server.port
    server.stop()


def hash_of(port, pid):
    return readyz(port)[1]["policies"].get(pid, {}).get("hash")


def test_a_loader_defect_is_reported_and_the_other_files_still_reload(served, monkeypatch):
    directory, store, port = served
    import slapolicy.api

    real = slapolicy.api.load_policy

    def broken(path, *a, **k):
        if Path(path).stem == "advantshop":
            raise RuntimeError("a defect")
        return real(path, *a, **k)

    monkeypatch.setattr(slapolicy.api, "load_policy", broken)
    old_mini = hash_of(port, "mini")
    (directory / "mini.yaml").write_text((directory / "mini.yaml").read_text("utf-8").replace(
        'version: "1"', 'version: "2"'), "utf-8")
    text = (directory / "advantshop.yaml").read_text("utf-8")
    (directory / "advantshop.yaml").write_text(text + "\n# edited\n", "utf-8")
    for _ in range(3):
        store.poll()  # before: RuntimeError escaped the poll and the mini edit was lost for good
    status, body = readyz(port)
    assert status == 503 and [r["policy"] for r in body["refused"]] == ["advantshop"]
    assert body["refused"][0]["diagnostics"][0]["code"] == "internal-error"
    assert hash_of(port, "mini") != old_mini and body["policies"]["mini"]["version"] == "2"
    monkeypatch.setattr(slapolicy.api, "load_policy", real)
    (directory / "advantshop.yaml").write_text(text, "utf-8")
    store.poll()
    store.poll()
    assert readyz(port)[0] == 200


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_or_a_link_out_never_blocks_or_leaks_through_the_reload(served, tmp_path):
    directory, store, port = served
    os.mkfifo(directory / "pipe.yaml")
    (tmp_path / "secret.txt").write_text("password: SECRET-MARKER\n", "utf-8")
    (directory / "secret.yaml").symlink_to(tmp_path / "secret.txt")
    if os.path.exists("/dev/zero"):
        (directory / "zero.yaml").symlink_to("/dev/zero")
    done = threading.Event()
    threading.Thread(target=lambda: (store.poll(), store.poll(), done.set()), daemon=True).start()
    assert done.wait(30), "the reload blocked on a file"
    status, _, body = call(port, "GET", "/readyz")
    assert status == 503 and b"SECRET-MARKER" not in body
    codes = {r["policy"]: r["diagnostics"][0]["code"] for r in json.loads(body)["refused"]}
    assert codes["pipe"] == "not-a-regular-file" and codes["secret"] == "unsafe-symlink"
    assert codes.get("zero", "unsafe-symlink") == "unsafe-symlink"
    assert "mini" in json.loads(body)["policies"]


def test_a_half_written_file_is_never_served(served):
    directory, store, port = served
    path = directory / "advantshop.yaml"
    full = path.read_text("utf-8")
    before = hash_of(port, "advantshop")
    new = full.replace('version: "1.0.0"', 'version: "1.0.1"')
    from slapolicy.api import check_text

    lines = new.splitlines(keepends=True)
    cuts = [i for i, line in enumerate(lines) if line.startswith("  - id:")][::-1]  # before a rule of a list
    prefix = next(p for p in ("".join(lines[:i]) for i in cuts) if not check_text(p, "prefix.yaml").errors)
    assert len(prefix) < len(new)  # a valid policy on its own, and not the whole file
    with open(path, "w", encoding="utf-8") as f:  # an in-place save caught in the middle
        f.write(prefix)
        f.flush()
        store.poll()  # before: the prefix was served, /readyz 200
        status, body = readyz(port)
        assert status == 200 and body["policies"]["advantshop"]["hash"] == before
        assert [p["policy"] for p in body["pending"]] == ["advantshop"]
        f.write(new[len(prefix):])
    store.poll()  # the file changed since the last poll: still pending
    assert hash_of(port, "advantshop") == before
    store.poll()  # stood still for one poll: swapped in, whole
    status, body = readyz(port)
    assert status == 200 and body["pending"] == [] and body["policies"]["advantshop"]["version"] == "1.0.1"


def test_an_in_place_save_does_not_make_readyz_flap(served):
    directory, store, port = served
    path = directory / "mini.yaml"
    text = path.read_text("utf-8")
    path.write_text("", "utf-8")  # truncated, about to be rewritten
    store.poll()
    assert readyz(port)[0] == 200  # before: 503 (an empty policy refused)
    path.write_text(text.replace('version: "1"', 'version: "3"'), "utf-8")
    store.poll()
    assert readyz(port)[0] == 200
    store.poll()
    status, body = readyz(port)
    assert status == 200 and body["policies"]["mini"]["version"] == "3"


def test_write_and_rename_is_picked_up_and_a_new_file_waits_to_stand_still(tmp_path):
    directory = mini_dir(tmp_path / "p")
    store = PolicyStore(directory)
    store.poll()
    assert set(store.snapshot.policies) == {"mini"}
    shutil.copy(FIXTURES / "lifecycle.yaml", directory / ".lifecycle.tmp")
    os.replace(directory / ".lifecycle.tmp", directory / "lifecycle.yaml")  # write + rename
    store.poll()
    assert "lifecycle" in store.snapshot.pending and "lifecycle" not in store.snapshot.policies
    store.poll()
    assert "lifecycle" in store.snapshot.policies and not store.snapshot.pending


def test_endless_headers_are_cut_off(live):
    s = socket.create_connection(("127.0.0.1", live.port), timeout=10)
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        sent = 0
        with pytest.raises(OSError):  # the server closes the connection: a later send or recv fails
            while sent < 50 * 1024 * 1024:
                s.sendall(b"X-Filler: " + b"a" * 8000 + b"\r\n")
                sent += 8012
            raise AssertionError("50 MB of headers were accepted")
    finally:
        s.close()
