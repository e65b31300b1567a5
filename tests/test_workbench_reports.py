"""The workbench's Reports page (issue 14) over real HTTP: upload and pointing, the path jail of
--reports-dir, the upload cap, the charts as images, and each breach linking to its ticket's timeline."""
from __future__ import annotations

import html
import http.client
import json
import re
import urllib.parse
import uuid

import pytest
from conftest import ROOT

uvicorn = pytest.importorskip("uvicorn")
pytest.importorskip("matplotlib")
from live import LiveServer  # noqa: E402
from slapolicy.service.app import create_app  # noqa: E402
from slapolicy.service.workbench.form import decode_ticket  # noqa: E402
from slapolicy.service.workbench.reports import REPORT_MAX_BYTES  # noqa: E402
from slapolicy.tools.adapters.importer import import_records  # noqa: E402
from slapolicy.tools.adapters.mapping import load_mapping  # noqa: E402

AS_OF = "2026-04-01T00:00:00Z"


def zendesk_lines() -> str:
    records = import_records(load_mapping("zendesk"), ROOT / "tests" / "fixtures" / "helpdesks" / "zendesk")
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


class Live(LiveServer):
    def call(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, r.read().decode("utf-8")
        finally:
            conn.close()

    def upload(self, fields: dict, data: bytes, filename="tickets.jsonl"):
        boundary = uuid.uuid4().hex
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                 for k, v in fields.items()]
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.call("POST", "/workbench/reports", body,
                         {"Content-Type": f"multipart/form-data; boundary={boundary}"})


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("reports")
    (root / "march").mkdir()
    (root / "march" / "zendesk.jsonl").write_text(zendesk_lines(), "utf-8")
    (root.parent / "secret.jsonl").write_text(zendesk_lines(), "utf-8")
    (root / "link.jsonl").symlink_to(root.parent / "secret.jsonl")
    live = Live(create_app(None, reload_interval=0, reports_dir=str(root)))
    yield live
    live.stop()


def _breach_links(page):
    return re.findall(r'<table id=breaches>.*?</table>', page, re.S)[0]


def test_upload_gives_charts_and_breach_links(served):
    status, page = served.upload({"policy": "bitrix-inc", "as_of": AS_OF, "by": "month"}, zendesk_lines().encode())
    assert status == 200, page
    assert page.count('<img class="chart"') == 3 and "data:image/svg+xml;base64," in page
    links = re.findall(r'<a href="([^"]+)">(ZD-\d+)</a>', _breach_links(page))
    assert [t for _, t in links] == ["ZD-10003"]  # the one breach of the fixture (report test, text format)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(html.unescape(links[0][0])).query)
    assert decode_ticket(query["ticket"][0])["id"] == "ZD-10003"
    assert query["policy"] == ["bitrix-inc"] and query["target"] == ["next_response"]
    assert query["as_of"][0].startswith("2026-04-01T00:00:00")
    status, timeline = served.call("GET", html.unescape(links[0][0]))
    assert status == 200 and "ZD-10003" in timeline and "timeline" in timeline


def test_point_to_a_file_under_the_reports_dir(served):
    status, page = served.call("GET", "/workbench/reports")
    assert status == 200 and 'value="march/zendesk.jsonl"' in page and "link.jsonl" not in page
    status, page = served.call("GET", "/workbench/reports?" + urllib.parse.urlencode(
        {"file": "march/zendesk.jsonl", "policy": "bitrix-inc", "as_of": AS_OF, "by": "week"}))
    assert status == 200 and "2026-W11" in page and "ZD-10003" in page


@pytest.mark.parametrize("name", ["../secret.jsonl", "/etc/passwd", "link.jsonl", "march", "march/../../secret.jsonl",
                                  "march/zendesk.json"])
def test_never_an_arbitrary_path(served, name):
    status, page = served.call("GET", "/workbench/reports?" + urllib.parse.urlencode({"file": name,
                                                                                      "policy": "bitrix-inc"}))
    assert status == 404 and "not a .jsonl file in the reports directory" in page


def test_upload_cap_and_bad_input(served):
    status, page = served.upload({"policy": "bitrix-inc"}, b"x" * (REPORT_MAX_BYTES + 10))
    assert status == 413 and "limit" in page
    status, page = served.upload({"policy": "bitrix-inc", "as_of": "yesterday"}, zendesk_lines().encode())
    assert status == 422 and "RFC 3339" in page
    status, page = served.upload({"policy": "no-such-policy"}, zendesk_lines().encode())
    assert status == 404
    status, page = served.call("POST", "/workbench/reports", b"file=x",
                               {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 415


def test_without_a_reports_dir_only_upload():
    live = Live(create_app(None, reload_interval=0))
    try:
        status, page = live.call("GET", "/workbench/reports")
        assert status == 200 and 'enctype="multipart/form-data"' in page and 'name="file"' in page
        assert "From the reports directory" not in page
        status, _ = live.call("GET", "/workbench/reports?file=x.jsonl&policy=bitrix-inc")
        assert status == 404
    finally:
        live.stop()
