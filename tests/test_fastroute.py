"""The fast route of POST /v1/policies/{id}/evaluate (engine/service/fastroute.py) answers exactly as the
Starlette route does: status, every header in order, body, the metrics and the decision log.

The app is called in-process (ASGI, a fake receive/send). The same request goes once to the fast route
and once, under a `root_path` (which the fast route leaves to Starlette), through Starlette's routing
and the same handler; the two answers must be equal, byte for byte. The requests are a table of what
a client may send: good tickets, explain off, options, bad JSON, invalid tickets, unknown policies,
refused media types, cross-site requests, bodies over the limit or in several chunks, a disconnect.
"""
from __future__ import annotations

import asyncio
import json

import pytest
from conftest import BASE_TICKET, FIXTURES
from live import decision_log, request_series

pytest.importorskip("starlette")
from slapolicy.service.app import create_app  # noqa: E402
from starlette.responses import Response  # noqa: E402

GOOD = json.dumps(BASE_TICKET).encode()
JSONH = [(b"content-type", b"application/json")]
CASES = [  # name, path after /v1/policies/, query, extra headers, body chunks
    ("good", "mini/evaluate", b"", JSONH, [GOOD]),
    ("explain off", "mini/evaluate", b"explain=false", JSONH, [GOOD]),
    ("options", "mini/evaluate", b"explain=no&unknown_facts=true&as_of=2026-03-11T10:00:00Z", JSONH, [GOOD]),
    ("no content type", "mini/evaluate", b"", [], [GOOD]),
    ("+json type", "mini/evaluate", b"", [(b"content-type", b"application/vnd.x+json; charset=utf-8")], [GOOD]),
    ("in chunks", "mini/evaluate", b"", JSONH, [GOOD[:7], b"", GOOD[7:20], GOOD[20:]]),
    ("bad json", "mini/evaluate", b"", JSONH, [b'{"id": ']),
    ("not utf-8", "mini/evaluate", b"", JSONH, [b'{"id": "\xff"}']),
    ("invalid ticket", "mini/evaluate", b"", JSONH, [json.dumps({"id": 5, "channel": "pigeon"}).encode()]),
    ("empty body", "mini/evaluate", b"", JSONH, [b""]),
    ("unknown policy", "nope/evaluate", b"", JSONH, [GOOD]),
    ("unknown parameter", "mini/evaluate", b"asof=2026-01-01T00:00:00Z", JSONH, [GOOD]),
    ("repeated parameter", "mini/evaluate", b"explain=true&explain=false", JSONH, [GOOD]),
    ("bad boolean", "mini/evaluate", b"explain=maybe", JSONH, [GOOD]),
    ("bad as_of", "mini/evaluate", b"as_of=yesterday", JSONH, [GOOD]),
    ("unknown edition", "mini/evaluate", b"edition=1999", JSONH, [GOOD]),
    ("text/plain", "mini/evaluate", b"", [(b"content-type", b"text/plain")], [GOOD]),
    ("cross-site", "mini/evaluate", b"", JSONH + [(b"sec-fetch-site", b"cross-site")], [GOOD]),
    ("declared too large", "mini/evaluate", b"", JSONH + [(b"content-length", b"99999999")], [GOOD]),
    ("too large", "mini/evaluate", b"", JSONH, [b" " * 70000, GOOD]),
    ("sane request id", "mini/evaluate", b"", JSONH + [(b"x-request-id", b"abc-123")], [GOOD]),
]


def exchange(app, path, query, headers, chunks, root_path=""):
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 5000),
             "root_path": root_path, "path": root_path + path, "raw_path": (root_path + path).encode(),
             "query_string": query, "headers": [(b"host", b"x")] + headers}
    if not any(name == b"x-request-id" for name, _ in headers):
        scope["headers"] = [(b"x-request-id", b"fixed-id")] + scope["headers"]
    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    sent = []

    async def receive():
        await asyncio.sleep(0)  # a receive that waits, as a slow client's does
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    error = None
    try:
        asyncio.run(app(scope, receive, send))
    except Exception as exc:  # Starlette re-raises after its 500 answer, for the server's log
        error = type(exc).__name__
    start, body = sent[0], b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], start["headers"], body, error


@pytest.fixture(scope="module")
def apps(tmp_path_factory):
    import shutil

    served = tmp_path_factory.mktemp("served")  # one directory: the decisions' spans name the same file
    shutil.copy(FIXTURES / "mini.yaml", served / "mini.yaml")
    out = []
    for name in ("a", "b"):  # one app per route: their metrics and decision logs are compared
        d = tmp_path_factory.mktemp(name)
        out.append((create_app(served, reload_interval=0, max_body_bytes=64 * 1024, decision_log=d / "decisions.jsonl"), d))
    return out


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_the_fast_route_answers_as_starlette_does(apps, case):
    (fast, _), (slow, _) = apps
    _, path, query, headers, chunks = case
    path = "/v1/policies/" + path
    got = exchange(fast, path, query, headers, chunks)
    expected = exchange(slow, path, query, headers, chunks, root_path="/prefix")
    assert got == expected and got[3] is None
    status, headers, body, _ = got
    request_id = b"abc-123" if case[0] == "sane request id" else b"fixed-id"
    policy_hash = {"X-Policy-Hash": json.loads(body)["policy"]["hash"]} if status == 200 else None
    made = Response(body, status_code=status, media_type="application/json", headers=policy_hash)  # as before
    assert headers == made.raw_headers + [(b"x-request-id", request_id)]


def test_metrics_and_decision_logs_agree(apps):
    (fast, fdir), (slow, sdir) = apps
    for _, path, query, headers, chunks in CASES:  # whatever ran before: the same requests once more on each
        exchange(fast, "/v1/policies/" + path, query, headers, chunks)
        exchange(slow, "/v1/policies/" + path, query, headers, chunks, root_path="/prefix")

    assert request_series(fast) == request_series(slow)
    assert any('method="POST",route="/v1/policies/{id}/evaluate",status="200"' in s for s in request_series(fast))

    assert decision_log(fdir) == decision_log(sdir) and decision_log(fdir)


def test_a_disconnect_before_the_body_is_answered_as_starlette_does(apps):
    (fast, _), (slow, _) = apps
    got = exchange(fast, "/v1/policies/mini/evaluate", b"", JSONH, [])
    expected = exchange(slow, "/v1/policies/mini/evaluate", b"", JSONH, [], root_path="/prefix")
    assert got == expected and got[0] == 500 and got[3] == "ClientDisconnect", got
