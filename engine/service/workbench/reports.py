"""The workbench's Reports page (issue 14): SLA attainment of a tickets file, with charts and the breach list.

    GET  /workbench/reports                       the forms; with ?file=NAME&policy=ID[&as_of=T&by=month|week]:
                                                  the report of a file under `serve --reports-dir DIR`
    POST /workbench/reports                       an uploaded tickets.jsonl (multipart/form-data, capped at
                                                  REPORT_MAX_BYTES) -> the report

A pointed-to file is a name relative to the reports directory: it must resolve inside it (no `..`, no symbolic
link out of it, no absolute path) and end in .jsonl; without --reports-dir only uploads work. The report is
`slapolicy report` (slapolicy.tools.report) with its charts as SVG images (data: URIs: the page's CSP allows no
inline style, an image keeps its own); each breach links to the ticket's timeline on the Try page at the
report's as_of, on the breached target.
"""
from __future__ import annotations

import base64
import datetime as dt
import email.parser
import email.policy
from pathlib import Path

from slapolicy.service.workbench.form import share_query
from slapolicy.service.workbench.model import PageError, _e

REPORT_MAX_BYTES = 8 << 20
MAX_LISTED = 200


def list_files(root: Path | None) -> list[str]:
    if root is None or not root.is_dir():
        return []
    names = sorted(str(p.relative_to(root)) for p in root.rglob("*.jsonl") if p.is_file() and _inside(root, p))
    return names[:MAX_LISTED]


def _inside(root: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def resolve_file(root: Path | None, name: str) -> Path:
    """The file `name` under `root`; PageError 404 for anything else (never an arbitrary path)."""
    if root is None:
        raise PageError(404, "no reports directory is served (start the server with --reports-dir DIR)")
    candidate = root / name
    if not name or name.startswith(("/", "\\")) or ".." in Path(name).parts or not name.endswith(".jsonl") \
            or not _inside(root, candidate) or not candidate.is_file():
        raise PageError(404, f"{name!r} is not a .jsonl file in the reports directory")
    return candidate


def parse_upload(content_type: str, body: bytes) -> dict:
    """The fields of a multipart/form-data body: name -> str, and "file" -> bytes (the standard library's MIME
    parser: no extra dependency for one form)."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise PageError(415, "upload the tickets file with the form (multipart/form-data)")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\nMIME-Version: 1.0\r\n\r\n" + body)
    if not message.is_multipart():
        raise PageError(400, "the upload is not a well-formed multipart/form-data body")
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        data = part.get_payload(decode=True) or b""
        fields[name] = data if part.get_param("filename", header="content-disposition") is not None \
            else data.decode("utf-8", "replace")
    return fields


def _svg_image(name, svg) -> str:
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img class="chart" alt="{_e(name)} chart" src="data:image/svg+xml;base64,{data}">'


def build(policy, lines, as_of_text, by):
    """(report body HTML, report) for the lines of a tickets file."""
    from slapolicy.api import parse_timestamp
    from slapolicy.tools.report.charts import render_charts
    from slapolicy.tools.report.cli import make_report, read_tickets
    from slapolicy.tools.report.formats import render_html

    try:
        as_of = parse_timestamp(as_of_text) if as_of_text else dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    except ValueError:
        raise PageError(422, f"{as_of_text!r} is not an RFC 3339 timestamp with a UTC offset "
                             "(e.g. 2026-04-01T00:00:00+03:00)") from None
    if by not in ("month", "week"):
        raise PageError(422, "by is month or week")
    tickets = {t["id"]: t for _, t in read_tickets(lines) if isinstance(t, dict) and isinstance(t.get("id"), str)}
    report = make_report(policy, lines, as_of, by)
    charts = {name: _svg_image(name, svg) for name, svg in render_charts(report, policy.compiled.timezone).items()}
    at = as_of.astimezone(policy.compiled.timezone).isoformat()
    targets = {b["ticket"]: b["target"] for b in reversed(report.breaches())}

    def link(ticket_id):
        ticket = tickets.get(ticket_id)
        if ticket is None:
            return "/"
        return "/?" + share_query(policy.id, ticket, None, at, targets.get(ticket_id))

    body = render_html(report, charts, ticket_link=link, standalone=False)
    return body, report


def page(policies, reports_dir, files, state) -> str:
    """The Reports page: the upload form, the pointing form (when a reports directory is served), the report."""
    def policy_options(selected):
        return "".join(f'<option value="{_e(p)}"{" selected" if p == selected else ""}>{_e(p)}</option>'
                       for p in sorted(policies))

    def by_options(selected):
        return "".join(f'<option value="{v}"{" selected" if v == selected else ""}>{v}</option>' for v in ("month", "week"))

    pid, as_of, by = state.get("policy") or "", state.get("as_of") or "", state.get("by") or "month"
    common = (f'<label>Policy <select name="policy">{policy_options(pid)}</select></label>'
              f'<label>As of <input name="as_of" value="{_e(as_of)}" placeholder="2026-04-01T00:00:00+03:00" '
              f'title="RFC 3339 with offset; empty: now"></label>'
              f'<label>Period <select name="by">{by_options(by)}</select></label>')
    parts = ['<section class="panel reports-forms"><h1>Reports: SLA attainment</h1>'
             '<p class="muted">Per period, tier and target: met, breached, open; business time to first response '
             'and to resolution; the breaches, each linked to its timeline. A tickets file is JSON Lines '
             '(<code>slapolicy import</code> writes one).</p>',
             f'<form class="report-form" method="post" action="/workbench/reports" enctype="multipart/form-data">'
             f'<h2>Upload</h2>{common}<label>Tickets file <input type="file" name="file" accept=".jsonl,.json" '
             f'required></label><button type="submit">Report</button>'
             f'<p class="muted">Up to {REPORT_MAX_BYTES >> 20} MB.</p></form>']
    if reports_dir is not None:
        options = "".join(f'<option value="{_e(f)}"{" selected" if f == state.get("file") else ""}>{_e(f)}</option>'
                          for f in files)
        parts.append(f'<form class="report-form" method="get" action="/workbench/reports"><h2>From the reports '
                     f'directory</h2>{common}<label>File <select name="file">{options}</select></label>'
                     f'<button type="submit">Report</button></form>' if files else
                     '<p class="muted">The reports directory has no .jsonl file.</p>')
    if state.get("error"):
        parts.append(f'<p class="error">{_e(state["error"])}</p>')
    parts.append("</section>")
    if state.get("body"):
        parts.append(f'<section class="panel report" id="report">{state["body"]}</section>')
    return "".join(parts)


class ReportsHandlers:
    """The two routes, bound to the workbench (its policies, page layout and error page)."""

    def __init__(self, workbench):
        self.wb = workbench

    @property
    def root(self) -> Path | None:
        d = getattr(self.wb.service, "reports_dir", None)
        return Path(d) if d else None

    def _render(self, request, state, status=200):
        body = page(self.wb.policies(), self.root, list_files(self.root), state)
        return self.wb.page(request, "Reports", body, "reports", status)

    async def _report(self, request, state, lines):
        from starlette.concurrency import run_in_threadpool

        try:
            policy = self.wb.policy(state["policy"] or self.wb.default_policy_id())
            state["policy"] = policy.id
            state["body"], _ = await run_in_threadpool(build, policy, lines, state["as_of"], state["by"])
        except PageError as exc:
            state["error"] = exc.message
            return self._render(request, state, exc.status)
        except ImportError as exc:
            state["error"] = f"the report's charts need matplotlib: pip install 'slapolicy[report]' ({exc})"
            return self._render(request, state, 501)
        return self._render(request, state)

    async def dispatch(self, request):
        return await (self.post(request) if request.method == "POST" else self.get(request))

    async def get(self, request):
        q = request.query_params
        state = {"policy": q.get("policy") or self.wb.default_policy_id(), "as_of": q.get("as_of", "").strip(),
                 "by": q.get("by") or "month", "file": q.get("file")}
        if not state["file"]:
            return self._render(request, state)
        try:
            path = resolve_file(self.root, state["file"])
            if path.stat().st_size > REPORT_MAX_BYTES * 8:
                raise PageError(413, f"{state['file']} is larger than {REPORT_MAX_BYTES * 8 >> 20} MB")
            lines = path.read_text("utf-8", "replace").splitlines(True)
        except PageError as exc:
            state["error"] = exc.message
            return self._render(request, state, exc.status)
        return await self._report(request, state, lines)

    async def post(self, request):
        declared = request.headers.get("content-length")
        state = {"policy": "", "as_of": "", "by": "month"}
        try:
            if declared is not None and declared.isdigit() and int(declared) > REPORT_MAX_BYTES:
                raise PageError(413, f"the upload has {declared} bytes; the limit is {REPORT_MAX_BYTES >> 20} MB")
            chunks, size = [], 0
            async for chunk in request.stream():
                size += len(chunk)
                if size > REPORT_MAX_BYTES:
                    raise PageError(413, f"the upload is larger than the limit of {REPORT_MAX_BYTES >> 20} MB")
                chunks.append(chunk)
            fields = parse_upload(request.headers.get("content-type", ""), b"".join(chunks))
        except PageError as exc:
            state["error"] = exc.message
            return self._render(request, state, exc.status)
        state.update({k: fields.get(k, "").strip() if isinstance(fields.get(k), str) else "" for k in
                      ("policy", "as_of", "by")})
        state["by"] = state["by"] or "month"
        data = fields.get("file")
        if not isinstance(data, bytes) or not data.strip():
            state["error"] = "choose a tickets file (JSON Lines) to upload"
            return self._render(request, state, 400)
        return await self._report(request, state, data.decode("utf-8", "replace").splitlines(True))
