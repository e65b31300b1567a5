"""slapolicy lsp, driven as an editor drives it: the server runs as a subprocess (`slapolicy lsp`), the test
speaks JSON-RPC over its stdin / stdout (initialize, didOpen, didChange, completion, definition,
references, hover, shutdown) and reads the diagnostics it publishes."""
import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import pytest

pytest.importorskip("pygls", reason="the lsp extra (pygls) is not installed")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SHOP = HERE / "fixtures" / "tools" / "shop.yaml"
MARK = "‸"  # the cursor in a test document; removed before the text is sent


class Client:
    def __init__(self):
        script = Path(sys.executable).parent / "slapolicy"
        cmd = [str(script), "lsp"] if script.exists() else [sys.executable, "-c",
                                                            "import sys; from slapolicy.cli import main; main(['lsp'])"]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     cwd=ROOT)
        self.next_id, self.responses, self.notes = 0, {}, queue.Queue()
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        out = self.proc.stdout
        while True:
            headers = {}
            while True:
                line = out.readline()
                if not line:
                    return
                line = line.decode("ascii").strip()
                if not line:
                    break
                name, _, value = line.partition(":")
                headers[name.lower()] = value.strip()
            body = json.loads(out.read(int(headers["content-length"])))
            if "id" in body and "method" not in body:
                with self.cond:
                    self.responses[body["id"]] = body
                    self.cond.notify_all()
            elif "method" in body and "id" in body:  # a request from the server (e.g. workspace/configuration)
                self.send({"jsonrpc": "2.0", "id": body["id"], "result": None})
            else:
                self.notes.put(body)

    def send(self, message):
        data = json.dumps(message).encode("utf-8")
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(data) + data)
        self.proc.stdin.flush()

    def request(self, method, params, timeout=60):
        self.next_id += 1
        rid = self.next_id
        self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        with self.cond:
            assert self.cond.wait_for(lambda: rid in self.responses, timeout), f"no answer to {method}"
            answer = self.responses.pop(rid)
        assert "error" not in answer, answer
        return answer["result"]

    def notify(self, method, params):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def diagnostics(self, uri, timeout=60):
        """The next diagnostics published for `uri`."""
        while True:
            note = self.notes.get(timeout=timeout)
            if note.get("method") == "textDocument/publishDiagnostics" and note["params"]["uri"] == uri:
                return note["params"]["diagnostics"]

    def close(self):
        try:
            self.request("shutdown", None, timeout=20)
            self.notify("exit", None)
            self.proc.wait(timeout=20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def client():
    c = Client()
    result = c.request("initialize", {"processId": os.getpid(), "rootUri": ROOT.as_uri(), "capabilities": {}})
    caps = result["capabilities"]
    assert caps["completionProvider"] and caps["definitionProvider"] and caps["hoverProvider"]
    assert caps["referencesProvider"]
    c.notify("initialized", {})
    yield c
    c.close()


def marked(text):
    """(text without the mark, LSP position of the mark)."""
    i = text.index(MARK)
    line = text.count("\n", 0, i)
    return text.replace(MARK, "", 1), {"line": line, "character": i - (text.rfind("\n", 0, i) + 1)}


OPENED = iter(range(1, 10 ** 6))


def open_doc(client, text, folder=None):
    """Open `text` as a new document (a new name each time: one server serves the whole module)."""
    path = (folder or SHOP.parent) / f"shop-{next(OPENED)}.yaml"
    uri = path.as_uri()
    client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "yaml", "version": 1,
                                                            "text": text}})
    return uri


def labels(result):
    items = result["items"] if isinstance(result, dict) else result
    return [i["label"] for i in items]


SHOP_TEXT = SHOP.read_text("utf-8")
PARTNERS = '    when: customer.segment == "partner"\n    tier: partner\n'
assert PARTNERS in SHOP_TEXT


def test_segment_is_completed_after_customer_and_a_misspelt_field_is_a_diagnostic(client):
    text, pos = marked(SHOP_TEXT.replace(PARTNERS, '    when: "customer.‸"\n    tier: partner\n'))
    uri = open_doc(client, text)
    client.diagnostics(uri)
    got = labels(client.request("textDocument/completion", {"textDocument": {"uri": uri}, "position": pos}))
    assert "segment" in got and "license_active" in got
    assert "topic" not in got  # a top-level fact is not a field of customer

    bad = SHOP_TEXT.replace(PARTNERS, '    when: customer.segmnet == "partner"\n    tier: partner\n')
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2},
                                             "contentChanges": [{"text": bad}]})
    diags = client.diagnostics(uri)
    line = bad.split("\n").index('    when: customer.segmnet == "partner"')
    found = [d for d in diags if d["code"] == "unknown-field"]
    assert found, diags
    assert found[0]["range"]["start"]["line"] == line
    assert found[0]["severity"] == 1 and "segment" in found[0]["message"]  # did you mean
    assert bad.split("\n")[line][found[0]["range"]["start"]["character"]:].startswith("customer.segmnet")

    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 3},
                                             "contentChanges": [{"text": SHOP_TEXT}]})
    assert not [d for d in client.diagnostics(uri) if d["severity"] == 1]


@pytest.mark.parametrize("line, want, refuse", [
    ('    when: topic == "‸"', ["billing", "product_error"], ["partner"]),
    ('    when: topic == ‸', ['"billing"'], []),
    ('    when: channel in ["portal", ‸', ['"email"', '"chat"'], []),
    ('    when: customer.segment != "p‸', ["partner"], ["commercial"]),
    ('    when: is_open(created_at, "‸', ["support_hours"], []),
    ('    when: cust‸', ["customer"], ["topic"]),
    ('    when: eligibility == "in_scope" and days_‸', ["days_between"], []),
    ('    when: tier == "‸', ["partner", "vip", "commercial", "consulting"], []),
    ('    tier: ‸', ["partner", "vip", "commercial", "consulting"], ["support_hours"]),
    ('    assumptions: [‸', ["weekend-saturday"], []),
])
def test_completion_at_marked_positions(client, line, want, refuse):
    text, pos = marked(SHOP_TEXT.replace(PARTNERS, line + "\n    tier: partner\n" if "tier:" not in line else
                                         '    when: customer.segment == "partner"\n' + line + "\n"))
    uri = open_doc(client, text)
    got = labels(client.request("textDocument/completion", {"textDocument": {"uri": uri}, "position": pos}))
    for w in want:
        assert w in got, (line, got)
    for r in refuse:
        assert r not in got, (line, got)


def test_completion_in_a_block_expression(client):
    text, pos = marked(SHOP_TEXT.replace(PARTNERS, '    when: |\n      special_request == true and\n'
                                         '      customer.segment == ‸\n    tier: partner\n'))
    uri = open_doc(client, text)
    got = labels(client.request("textDocument/completion", {"textDocument": {"uri": uri}, "position": pos}))
    assert '"partner"' in got and '"demo"' in got


def _pos(text, needle, offset=1):
    i = text.index(needle) + offset
    return {"line": text.count("\n", 0, i), "character": i - (text.rfind("\n", 0, i) + 1)}


def test_definition_and_references_of_a_tier_and_a_calendar(client):
    uri = open_doc(client, SHOP_TEXT)
    lines = SHOP_TEXT.split("\n")
    defs = client.request("textDocument/definition", {"textDocument": {"uri": uri},
                                                      "position": _pos(SHOP_TEXT, "tier: partner", 7)})
    assert [d["range"]["start"]["line"] for d in defs] == [lines.index("  partner:")]
    refs = client.request("textDocument/references", {"textDocument": {"uri": uri},
                                                      "position": _pos(SHOP_TEXT, "  partner:", 3),
                                                      "context": {"includeDeclaration": True}})
    assert {r["range"]["start"]["line"] for r in refs} == {lines.index("  partner:"), lines.index("    tier: partner")}
    cal = client.request("textDocument/definition", {"textDocument": {"uri": uri},
                                                     "position": _pos(SHOP_TEXT, "calendar: support_hours", 11)})
    assert [d["range"]["start"]["line"] for d in cal] == [lines.index("  support_hours:")]
    used = client.request("textDocument/references", {"textDocument": {"uri": uri},
                                                      "position": _pos(SHOP_TEXT, "  support_hours:", 3),
                                                      "context": {"includeDeclaration": False}})
    assert len(used) == SHOP_TEXT.count("calendar: support_hours")
    a = client.request("textDocument/definition", {"textDocument": {"uri": uri},
                                                   "position": _pos(SHOP_TEXT, "[weekend-saturday]", 2)})
    assert [d["range"]["start"]["line"] for d in a] == [lines.index("  - id: weekend-saturday")]


def test_hover_shows_the_clause_text_and_the_assumption(client, tmp_path):
    (tmp_path / "shop.txt").write_text("1. General\n\n3.1 Working hours: Monday to Friday 9 to 18.\n"
                                       "Saturday 10 to 14.\n3.2 Partners get an answer in 3 hours.\n", "utf-8")
    uri = open_doc(client, SHOP_TEXT, folder=tmp_path)
    h = client.request("textDocument/hover", {"textDocument": {"uri": uri},
                                              "position": _pos(SHOP_TEXT, 'source: "3.1"', 9)})
    assert "Monday to Friday 9 to 18" in h["contents"]["value"] and "Saturday 10 to 14" in h["contents"]["value"]
    assert "Partners get" not in h["contents"]["value"]
    h = client.request("textDocument/hover", {"textDocument": {"uri": uri},
                                              "position": _pos(SHOP_TEXT, "[weekend-saturday]", 3)})
    assert "Saturday mornings count as working time" in h["contents"]["value"]
    h = client.request("textDocument/hover", {"textDocument": {"uri": uri},
                                              "position": _pos(SHOP_TEXT, "tier: partner", 7)})
    assert "Partner support" in h["contents"]["value"] and "3 hours" in h["contents"]["value"]


def test_lint_findings_are_published_on_open(client):
    uri = open_doc(client, SHOP_TEXT)
    diags = client.diagnostics(uri)
    assert any(d["code"] == "holiday-data-limit" and d["severity"] == 2 for d in diags), diags


def test_the_vscode_extension_is_well_formed():
    folder = ROOT / "editors" / "vscode"
    pkg = json.loads((folder / "package.json").read_text("utf-8"))
    assert pkg["main"].lstrip("./") in {p.name for p in folder.iterdir()}
    assert "vscode-languageclient" in pkg["dependencies"] and pkg["engines"]["vscode"]
    assert any(e.startswith("onLanguage:") for e in pkg.get("activationEvents", [])) or pkg["contributes"]
    source = (folder / pkg["main"].lstrip("./")).read_text("utf-8")
    assert "LanguageClient" in source and '"lsp"' in source
