"""The web workbench for support leads, served by `slapolicy serve` at `/` (issue 8).

    GET  /                                 try a ticket: the form, the decision, the timeline
    POST /workbench/try                    the form (or pasted JSON) -> 303 to the shareable URL
    GET  /workbench/timeline.json          the timeline's data (what the picture is drawn from)
    GET  /workbench/regulation/{id}        the rendered regulation, an anchor per clause and rule
    GET  /workbench/diff                   `slapolicy diff` between two git revisions, as a page
    GET  /workbench/reports                SLA attainment of a tickets file (upload: POST), reports.py
    GET  /workbench/static/{name}          the CSS and the little JavaScript (no CDN, no fonts)

Plain server-rendered HTML (Starlette responses, no template engine: a page is a handful of small
functions, and every value from a ticket or a policy goes through `html.escape` in `_e`). The page
works without JavaScript; the script only adds the viewer's time zone to the instants, a copy
button, and keeps the edition list in step with the policy. A strict Content-Security-Policy
(no inline script) backs up the escaping.

The ticket travels in the URL as base64url JSON (`?policy=ID&ticket=...`), so every decision
on screen has a link that reproduces it. The form is generated from the ticket JSON Schema
(`engine/language/schemas/ticket.schema.json`): enums as selects, booleans as tri-state selects (unknown /
true / false: a missing fact means unknown, CONTRACT 2), integers and dates as typed inputs,
timestamps as a local date-time plus a time zone (IANA name or offset), lists as JSON.

Decisions come from `slapolicy.api` exactly as for the API; the form and the URL codec live in
`slapolicy.service.workbench.form`, the picture in `slapolicy.service.workbench.timeline`.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import urllib.parse
from pathlib import Path

from slapolicy.service.workbench.examples import DEFAULT_POLICY, example_for
from slapolicy.service.workbench.form import decode_ticket, ordered, share_query, ticket_from_form
from slapolicy.service.workbench.model import PageError, _e, build_timeline, log
from slapolicy.service.workbench.pages import layout, try_page
from slapolicy.service.workbench.reports import ReportsHandlers
from slapolicy.service.workbench.review import diff_page, recent_revisions, regulation_body, regulation_page, run_diff
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

STATIC_DIR = Path(__file__).resolve().parent / "static"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the ticket is in the URL: it must not leak to a followed link
    "Cache-Control": "no-store",
}


# -- the application's routes ----------------------------------------------------------------------
PATHS = ("/", "/workbench", "/workbench/try", "/workbench/timeline.json", "/workbench/regulation/{id}",
         "/workbench/diff", "/workbench/reports", "/workbench/static/{name}",
         "/workbench/at-risk")  # pages for people, not API: not in /openapi.json


def routes(service) -> list:
    """The workbench's routes, bound to the server's `Service` (its policy store and body limit)."""
    wb = Workbench(service)
    return [
        Route("/", wb.index, methods=["GET"]),
        Route("/workbench", wb.redirect_home, methods=["GET"]),
        Route("/workbench/try", wb.try_ticket, methods=["POST"]),
        Route("/workbench/timeline.json", wb.timeline_json, methods=["GET"]),
        Route("/workbench/regulation/{id}", wb.regulation, methods=["GET"]),
        Route("/workbench/diff", wb.diff_page, methods=["GET"]),
        Route("/workbench/static/{name}", wb.static, methods=["GET"]),
        Route("/workbench/reports", ReportsHandlers(wb).dispatch, methods=["GET", "POST"]),  # issue 14: reports.py
    ]


class Workbench:
    def __init__(self, service):
        self.service = service
        self._static = {}
        for path in sorted(STATIC_DIR.glob("*")) if STATIC_DIR.is_dir() else ():
            media = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                     ".svg": "image/svg+xml"}.get(path.suffix)
            if media:
                data = path.read_bytes()
                self._static[path.name] = (data, media, '"' + hashlib.sha256(data).hexdigest()[:16] + '"')

    # -- helpers ----------------------------------------------------------------------------------
    def policies(self) -> dict:
        return self.service.store.snapshot.policies

    def policy(self, pid):
        from slapolicy.service.http import ApiError

        try:
            return self.service.policy(pid)
        except ApiError as exc:
            raise PageError(exc.status, exc.body["message"]) from None

    def page(self, request, title, body, active, status=200) -> Response:
        return Response(layout(title, body, active, self.policies()), status_code=status,
                        media_type="text/html; charset=utf-8", headers=SECURITY_HEADERS)

    def error_page(self, request, status, message, active="try") -> Response:
        body = f'<section class="panel error-panel"><h1>Cannot show this page</h1><p class="error">{_e(message)}</p>' \
               f'<p><a href="/">Back to the workbench</a></p></section>'
        return self.page(request, "Error", body, active, status)

    async def redirect_home(self, request: Request) -> Response:
        return RedirectResponse("/", status_code=307)

    async def static(self, request: Request) -> Response:
        item = self._static.get(request.path_params["name"])
        if item is None:
            return Response("not found", status_code=404, media_type="text/plain")
        data, media, etag = item
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag})
        return Response(data, media_type=media, headers={"ETag": etag, "Cache-Control": "no-cache",
                                                         "X-Content-Type-Options": "nosniff"})

    def default_policy_id(self):
        ids = sorted(self.policies())
        return DEFAULT_POLICY if DEFAULT_POLICY in ids else (ids[0] if ids else None)

    # -- try a ticket ---------------------------------------------------------------------------
    async def index(self, request: Request) -> Response:
        q = request.query_params
        pid = q.get("policy") or self.default_policy_id()
        if pid is None:
            return self.error_page(request, 503, "no policy is served (see /readyz)")
        try:
            policy = self.policy(pid)
        except PageError as exc:
            return self.error_page(request, exc.status, exc.message)
        state = {"policy": policy, "edition": q.get("edition") or "", "as_of": q.get("as_of") or "",
                 "base_url": self.service.base_url or "",
                 "target": q.get("target") or "", "tz": q.get("tz") or "", "errors": {}, "problems": [],
                 "decision": None, "ticket": None, "json_text": None, "notice": None, "status": 200}
        if "ticket" in q:
            try:
                state["ticket"] = decode_ticket(q["ticket"])
            except ValueError as exc:
                state["problems"] = [("ticket", str(exc))]
                state["status"] = 400
        else:
            example = example_for(pid)
            if example:
                state["ticket"] = example["ticket"]
                state["notice"] = ("An example ticket" + (f" ({example['name']})" if example.get("name") else "") +
                                   ": change the fields (or paste JSON) and press Decide.")
            else:
                state["ticket"] = {"id": "T-1", "created_at": dt.datetime.now(policy.compiled.timezone).replace(
                    microsecond=0, second=0).isoformat(), "channel": "portal", "customer": {"segment": "commercial"}}
                state["notice"] = "Fill in what you know about the ticket and press Decide."
        if state["ticket"] is not None:
            await run_in_threadpool(self.decide, state)
        return self.page(request, f"Try a ticket: {pid}", try_page(state, self.policies(), request), "try",
                         state["status"])

    def decide(self, state):
        from slapolicy.api import TicketError, parse_timestamp

        policy = state["policy"]
        edition = state["edition"] or None
        if edition and edition not in policy.edition_names() + [c.version for _, c in policy.editions]:
            state["problems"].append(("edition", f"policy '{policy.id}' has no edition '{edition}' "
                                                 f"(editions: {', '.join(policy.edition_names())})"))
            state["status"] = 422
            return
        as_of = None
        if state["as_of"]:
            try:
                as_of = parse_timestamp(state["as_of"])
            except ValueError:
                state["problems"].append(("as_of", f"{state['as_of']!r} is not an RFC 3339 timestamp with a UTC "
                                                   "offset (e.g. 2026-03-10T11:00:00+02:00)"))
                state["status"] = 422
                return
        try:
            state["decision"] = policy.evaluate(state["ticket"], as_of=as_of, explain=True, edition=edition)
        except TicketError as exc:
            state["problems"].extend(exc.problems)
            state["status"] = 422
            return
        except Exception:  # a defect, not bad input: logged, shown as such
            log.exception("workbench: evaluation failed (policy %s)", policy.id)
            state["problems"].append(("", "the evaluation failed; the server log has details"))
            state["status"] = 500
            return
        try:
            state["timeline"] = build_timeline(policy, state["ticket"], state["decision"], state["target"],
                                               state["tz"], as_of, edition)
        except Exception as exc:  # noqa: BLE001 - the decision stands without its picture
            from slapolicy.service.workbench.timeline import TimelineError

            if not isinstance(exc, TimelineError):
                log.exception("workbench: timeline failed (policy %s)", policy.id)
            state["timeline_error"] = str(exc) if isinstance(exc, TimelineError) else "the timeline failed; see the server log"

    async def try_ticket(self, request: Request) -> Response:
        """The form (or the pasted JSON) -> 303 to the shareable URL; errors are shown in place."""
        from slapolicy.service.hardening import same_origin
        from slapolicy.service.http import ApiError, parse_json

        if not same_origin(request, self.service.base_url):  # CSRF: only this site's own form may post
            return self.error_page(request, 403, "this form can only be sent from the workbench's own pages")
        try:
            body = await self.service.read_body(request)
        except ApiError as exc:
            return self.error_page(request, exc.status, exc.body["message"])
        form = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        pid = form.get("policy") or self.default_policy_id()
        try:
            policy = self.policy(pid)
        except PageError as exc:
            return self.error_page(request, exc.status, exc.message)
        tz = policy.compiled.timezone
        state = {"policy": policy, "edition": form.get("edition", ""), "as_of": form.get("as_of", "").strip(),
                 "target": "", "tz": "", "errors": {}, "problems": [], "decision": None, "ticket": None,
                 "json_text": None, "notice": None, "status": 200}
        if form.get("source") == "json":
            text = form.get("ticket_json", "")
            try:
                ticket = parse_json(text.encode("utf-8"))
            except ApiError as exc:
                state["json_text"] = text
                state["problems"] = [("JSON", f"line {exc.body.get('line')}, column {exc.body.get('column')}: "
                                              f"{exc.body['message']}")]
                state["status"] = 400
                state["open_json"] = True
                return self.page(request, "Try a ticket", try_page(state, self.policies(), request), "try", 400)
            if isinstance(ticket, dict):
                ticket = ordered(ticket, policy.compiled.vocabulary)
        else:
            ticket, errors = ticket_from_form(form, tz, policy.compiled.vocabulary)
            if errors:
                state["errors"] = errors
                state["form"] = form
                state["problems"] = [(name, msg) for name, msg in errors.items()]
                state["status"] = 400
                return self.page(request, "Try a ticket", try_page(state, self.policies(), request), "try", 400)
        query = share_query(policy.id, ticket, state["edition"] or None, state["as_of"] or None)
        return RedirectResponse("/?" + query, status_code=303)

    async def timeline_json(self, request: Request) -> Response:
        from slapolicy.api import TicketError, parse_timestamp
        from slapolicy.service.http import _json_response
        from slapolicy.service.workbench.timeline import TimelineError

        q = request.query_params
        try:
            policy = self.policy(q.get("policy") or "")
            ticket = decode_ticket(q.get("ticket") or "")
            as_of = parse_timestamp(q["as_of"]) if q.get("as_of") else None
            edition = q.get("edition") or None
            decision = policy.evaluate(ticket, as_of=as_of, explain=False, edition=edition)
            model = build_timeline(policy, ticket, decision, q.get("target") or "", q.get("tz") or "", as_of, edition)
        except PageError as exc:
            return _json_response({"error": {"code": "unknown-policy", "message": exc.message}}, exc.status)
        except TicketError as exc:
            return _json_response({"error": exc.to_json()}, 422)
        except (ValueError, TimelineError) as exc:  # a damaged link, a bad as_of / zone, no due instant
            return _json_response({"error": {"code": "invalid-parameter", "message": str(exc)}}, 422)
        except Exception as exc:  # noqa: BLE001 - an edition name the policy lacks (PolicyNotFound) and such
            from slapolicy.api import PolicyNotFound

            if isinstance(exc, PolicyNotFound):
                return _json_response({"error": {"code": "invalid-parameter", "message": str(exc)}}, 422)
            raise
        return _json_response(model)

    # -- regulation -----------------------------------------------------------------------------
    async def regulation(self, request: Request) -> Response:
        pid = request.path_params["id"]
        other = request.query_params.get("policy")
        if other and other != pid:  # the picker without JavaScript
            return RedirectResponse(f"/workbench/regulation/{urllib.parse.quote(other, safe='')}", status_code=303)
        try:
            policy = self.policy(pid)
        except PageError as exc:
            return self.error_page(request, exc.status, exc.message, "regulation")
        edition = request.query_params.get("edition") or None
        compiled = policy.compiled
        if edition:
            try:
                compiled, _ = policy.select(None, edition)
            except Exception:  # noqa: BLE001 - PolicyNotFound: an edition the policy lacks
                return self.error_page(request, 404, f"policy '{pid}' has no edition '{edition}' "
                                                     f"(editions: {', '.join(policy.edition_names())})", "regulation")
        body = await run_in_threadpool(regulation_body, compiled)
        return self.page(request, f"Regulation: {pid}", regulation_page(policy, compiled, body, self.policies()),
                         "regulation")

    # -- diff -----------------------------------------------------------------------------------
    async def diff_page(self, request: Request) -> Response:
        q = request.query_params
        state = {"old": (q.get("old") or "").strip(), "new": (q.get("new") or "").strip(),
                 "policy": (q.get("policy") or "").strip(), "n": q.get("n") or "300", "report": None, "error": None,
                 "available": importlib.util.find_spec("slapolicy.tools.diff") is not None}
        directory = self.service.store.directory
        state["revisions"] = await run_in_threadpool(recent_revisions, directory)
        status = 200
        if state["available"] and state["old"]:
            try:
                state["report"] = await run_in_threadpool(run_diff, directory, state, self.policies())
            except PageError as exc:
                state["error"], status = exc.message, exc.status
        return self.page(request, "Diff report", diff_page(state, self.policies()), "diff", status)


