"""The web workbench for support leads, served by `slapolicy serve` at `/` (issue 8).

    GET  /                                 try a ticket: the form, the decision, the timeline
    POST /workbench/try                    the form (or pasted JSON) -> 303 to the shareable URL
    GET  /workbench/timeline.json          the timeline's data (what the picture is drawn from)
    GET  /workbench/regulation/{id}        the rendered regulation, an anchor per clause and rule
    GET  /workbench/diff                   `slapolicy diff` between two git revisions, as a page
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
import html
import importlib.util
import json
import logging
import re
import urllib.parse
from functools import lru_cache
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from slapolicy.service.workbench.form import (GROUPS, Field, decode_ticket, form_fields, form_values, ordered, share_query,
                             ticket_from_form)

log = logging.getLogger("slapolicy.server")

STATIC_DIR = Path(__file__).resolve().parent / "static"
SAMPLES_DIR = Path(__file__).resolve().parents[3] / "samples"  # the checkout's samples (absent in a wheel)
DEFAULT_POLICY = "advantshop"
# The README's example, for the landing page when the checkout's samples/ is not there (a wheel).
FRIDAY_EVENING = {"id": "AS-2", "created_at": "2026-03-06T19:00:00+03:00", "channel": "email",
                  "customer": {"segment": "commercial", "license_active": True},
                  "product_version_current": True, "topic": "functionality", "problems_count": 1}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the ticket is in the URL: it must not leak to a followed link
    "Cache-Control": "no-store",
}
_REVISION = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.~^/@{}+\-]{0,99}$")


def _e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


# -- the application's routes ----------------------------------------------------------------------
PATHS = ("/", "/workbench", "/workbench/try", "/workbench/timeline.json", "/workbench/regulation/{id}",
         "/workbench/diff", "/workbench/static/{name}")  # pages for people, not API: not in /openapi.json


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
    ]


class PageError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


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
        from slapolicy.service.http import ApiError, parse_json

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
                ticket = ordered(ticket)
        else:
            ticket, errors = ticket_from_form(form, tz)
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


# -- examples ---------------------------------------------------------------------------------------
@lru_cache(maxsize=4)
def _samples(stamp) -> tuple:
    out = []
    for f in sorted(SAMPLES_DIR.glob("*.json")):
        try:
            ticket = json.loads(f.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(ticket, dict):
            out.append((f.stem, ticket))
    return tuple(out)


def all_examples() -> tuple:
    """(name, ticket) of the checkout's samples/ (none in an installed wheel)."""
    try:
        files = list(SAMPLES_DIR.glob("*.json")) if SAMPLES_DIR.is_dir() else []
        stamp = (len(files), max((p.stat().st_mtime for p in files), default=0))
    except OSError:
        return ()
    return _samples(stamp) if files else ()


def _example_policy(name, pid) -> bool:
    return name == pid or name.startswith(pid + "-")


def example_for(pid) -> dict | None:
    """The landing page's ticket for a policy: a named sample `<id>-<what>.json` first, then `<id>.json`;
    for advantshop without samples/, the README's Friday-evening ticket."""
    found = [(n, t) for n, t in all_examples() if _example_policy(n, pid)]
    if found:
        name, ticket = min(found, key=lambda x: (x[0] == pid, x[0]))
        return {"name": name, "ticket": ticket}
    if pid == "advantshop":
        return {"name": "advantshop-friday-evening", "ticket": FRIDAY_EVENING}
    return None


# -- the timeline of a decision -------------------------------------------------------------------
def build_timeline(policy, ticket, decision, target_name, tz_name, as_of, edition) -> dict:
    """The timeline model of one deadline of a decision (default: first_response)."""
    from slapolicy.api import parse_timestamp
    from slapolicy.decide.tickets import validate_ticket
    from slapolicy.service.workbench.timeline import TimelineError, timeline, zone

    display = zone(tz_name) if tz_name else None
    tier = decision.get("tier")
    if not tier:
        raise TimelineError("the ticket is not accepted: there is no tier, so no deadline to draw")
    normal = validate_ticket(ticket)
    compiled, _ = policy.select(normal["created_at"], edition)
    deadlines = {d.name: d for d in compiled.tiers[tier["id"]].deadlines}
    drawable = [name for name, d in (decision.get("deadlines") or {}).items()
                if d and (d.get("due") or d.get("not_before"))]
    name = target_name or ("first_response" if "first_response" in drawable else (drawable[0] if drawable else "first_response"))
    entry = (decision.get("deadlines") or {}).get(name)
    life = ((decision.get("lifecycle") or {}).get("targets") or {}).get(name)
    definition = deadlines.get(name) or (deadlines.get("first_response") if name == "next_response" else None)
    if definition is None or entry is None and life is None:
        raise TimelineError(f"the decision has no target '{name}'" + (f" (targets: {', '.join(drawable)})" if drawable else ""))
    source = life or entry
    end_text = source.get("due") or source.get("not_before")
    if not end_text:
        what = "is paused" if (life or {}).get("status") == "paused" else "has no guaranteed time"
        raise TimelineError(f"the target '{name}' {what} ({source.get('target')}): there is no due instant to draw")
    end_kind = "due" if source.get("due") else "not_before"
    start = parse_timestamp(source.get("started") or ticket["created_at"])
    pauses, marks = [], []
    if life is not None or normal.get("events"):
        pauses, marks = _lifecycle_marks(compiled, normal, name, as_of, life)
    model = timeline(calendar=definition.calendar, target=definition.target, start=start, end=parse_timestamp(end_text),
                     end_kind=end_kind, pauses=pauses, marks=marks, display_tz=display,
                     calendar_name=definition.calendar_name, target_name=name, text=source.get("target"),
                     policy_id=policy.id)
    model["drawable"] = drawable
    model["source"] = source.get("source")
    model["registration_due"] = (entry or {}).get("due")
    return model


def _lifecycle_marks(compiled, normal, name, as_of, life):
    """Pauses of the target (replayed as slapolicy.decide.lifecycle replays them) and the as-of / met marks."""
    from slapolicy.api import parse_timestamp
    from slapolicy.decide.lifecycle import TicketClock

    now = as_of or dt.datetime.now(dt.timezone.utc)
    clock = TicketClock(compiled, normal)
    for event in normal.get("events") or []:
        if event["at"] > now:
            break
        clock.apply(event)
    clock.advance(now)
    mine = [t for t in clock.targets if t.name == name]
    pauses, marks = [], []
    if mine:
        t = mine[-1]
        pauses = list(t.pauses) + ([(t.paused_since, now)] if t.paused_since is not None else [])
        if t.met_at is not None:
            marks.append(("met", t.met_at, "met"))
    if life is not None:
        marks.append(("as_of", now, "as of"))
        if life.get("met_at") and not any(k == "met" for k, _, _ in marks):
            marks.append(("met", parse_timestamp(life["met_at"]), "met"))
    return pauses, marks


# -- clause links -----------------------------------------------------------------------------------
_anchor_cache: dict = {}


def clause_anchors(compiled) -> dict | None:
    """clause key -> anchor id in slapolicy.tools.render's page (None when slapolicy.tools.render is not there)."""
    key = (compiled.id, compiled.content_hash, compiled.version)
    if key in _anchor_cache:
        return _anchor_cache[key]
    anchors = None
    if importlib.util.find_spec("slapolicy.tools.render") is not None:
        try:
            from slapolicy.tools.render import build

            anchors = dict(build(compiled).anchors)
        except Exception:  # noqa: BLE001 - links are a nicety; the text stays
            log.exception("slapolicy.tools.render.build failed for policy '%s'", compiled.id)
    if len(_anchor_cache) > 64:
        _anchor_cache.clear()
    _anchor_cache[key] = anchors
    return anchors


def _split_clauses(source):
    if importlib.util.find_spec("slapolicy.tools.render") is not None:
        try:
            from slapolicy.tools.render import split_clauses

            return split_clauses(source)
        except Exception:  # noqa: BLE001
            pass
    return [(str(source), str(source))] if source else []


def _slug(text) -> str:
    if importlib.util.find_spec("slapolicy.tools.render") is not None:
        try:
            from slapolicy.tools.render import slug

            return slug(text)
        except Exception:  # noqa: BLE001
            pass
    s = re.sub(r"\s+", "-", str(text).strip().lower())
    return re.sub(r"[^\w.\-]", "", s).strip("-") or "x"


class Links:
    """Links from a decision to the regulation page: clauses (#clause-...) and rules (#rule-...)."""

    def __init__(self, compiled, edition=None):
        self.base = f"/workbench/regulation/{urllib.parse.quote(compiled.id, safe='')}"
        if edition:
            self.base += "?" + urllib.parse.urlencode({"edition": edition})
        self.anchors = clause_anchors(compiled)

    def clauses(self, source) -> str:
        if not source:
            return ""
        if self.anchors is None:
            return f'<a class="clause" href="{_e(self.base)}">§ {_e(source)}</a>'
        out = []
        for key, shown in _split_clauses(source):
            anchor = self.anchors.get(key)
            href = self.base + ("#" + anchor if anchor else "#clauses")
            out.append(f'<a class="clause" href="{_e(href)}">§ {_e(shown)}</a>')
        return ", ".join(out)

    def rule(self, rule_id) -> str:
        if not rule_id:
            return ""
        if self.anchors is None:
            return f"<code>{_e(rule_id)}</code>"
        return f'<a class="rule" href="{_e(self.base)}#rule-{_e(_slug(rule_id))}"><code>{_e(rule_id)}</code></a>'


# -- pages ----------------------------------------------------------------------------------------
def layout(title, body, active, policies) -> str:
    def nav(key, href, text):
        cls = ' class="active"' if key == active else ""
        return f'<a{cls} href="{_e(href)}">{_e(text)}</a>'

    first = DEFAULT_POLICY if DEFAULT_POLICY in policies else (sorted(policies)[0] if policies else "")
    items = [nav("try", "/", "Try a ticket"),
             nav("regulation", f"/workbench/regulation/{urllib.parse.quote(first, safe='')}" if first else "/", "Regulation"),
             nav("diff", "/workbench/diff", "Diff report"),
             '<a href="/v1/policies">API: policies</a>', '<a href="/openapi.json">OpenAPI</a>']
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{_e(title)} · slapolicy workbench</title>"
            "<link rel=\"icon\" href=\"/workbench/static/favicon.svg\" type=\"image/svg+xml\">"
            "<link rel=\"stylesheet\" href=\"/workbench/static/workbench.css\">"
            "<script defer src=\"/workbench/static/workbench.js\"></script></head>"
            f"<body class=\"page-{_e(active)}\"><header class=\"top\"><span class=\"brand\">slapolicy workbench</span>"
            f"<nav>{''.join(items)}</nav></header><main>{body}</main></body></html>\n")


def _policy_select(policies, selected, name="policy", attrs="") -> str:
    opts = []
    for pid in sorted(policies):
        p = policies[pid]
        sel = " selected" if pid == selected else ""
        editions = "|".join(p.edition_names())
        opts.append(f'<option value="{_e(pid)}" data-editions="{_e(editions)}"{sel}>{_e(pid)} — '
                    f'{_e(p.compiled.title)}</option>')
    return f'<select name="{_e(name)}" id="f-{_e(name)}"{attrs}>{"".join(opts)}</select>'


def _edition_select(policy, selected) -> str:
    opts = ['<option value="">in force at created_at (auto)</option>']
    for ed_name, c in policy.editions:
        value = ed_name or "current"
        label = (f"{ed_name} (version {c.version})" if ed_name else f"current (version {c.version})")
        sel = " selected" if value == selected else ""
        opts.append(f'<option value="{_e(value)}"{sel}>{_e(label)}</option>')
    if selected and selected not in [n or "current" for n, _ in policy.editions]:
        opts.append(f'<option value="{_e(selected)}" selected>{_e(selected)} (unknown)</option>')
    return f'<select name="edition" id="f-edition">{"".join(opts)}</select>'


def _input(f: Field, values: dict, errors: dict, policy_tz) -> str:
    name = f.name
    value = values.get(name, "")
    fid = "f-" + name.replace(".", "-")
    label_text = ".".join(f.path[1:]) if f.path[0] in ("customer", "form") and len(f.path) > 1 else name
    req = '<abbr class="req" title="required">*</abbr>' if f.required else ""
    hint = f' title="{_e(f.description)}"' if f.description else ""
    invalid = ' aria-invalid="true"' if name in errors else ""
    if f.kind == "enum":
        options = list(f.options)
        if value and value not in options:
            options.append(value)
        opts = ([] if f.required and value else ['<option value="">unknown</option>']) + [
            f'<option value="{_e(o)}"{" selected" if o == value else ""}>{_e(o)}</option>' for o in options]
        control = f'<select id="{fid}" name="{_e(name)}"{invalid}>{"".join(opts)}</select>'
    elif f.kind == "boolean":
        opts = "".join(f'<option value="{v}"{" selected" if v == value else ""}>{t}</option>'
                       for v, t in (("", "unknown"), ("true", "true"), ("false", "false")))
        if value and value not in ("true", "false"):
            opts += f'<option value="{_e(value)}" selected>{_e(value)}</option>'
        control = f'<select id="{fid}" name="{_e(name)}" class="tri"{invalid}>{opts}</select>'
    elif f.kind == "datetime":
        zone_value = values.get(name + "@tz", "") or (policy_tz.key if not value else "")
        control = (f'<span class="dt"><input type="datetime-local" step="1" id="{fid}" name="{_e(name)}" '
                   f'value="{_e(value)}"{invalid}><input type="text" class="tz" list="zones" '
                   f'id="{fid}-tz" name="{_e(name)}@tz" value="{_e(zone_value)}" placeholder="{_e(policy_tz.key)}" '
                   f'aria-label="time zone of {_e(name)}" title="IANA time zone or UTC offset (+03:00)"></span>')
    elif f.kind in ("integer", "number"):
        bounds = (f' min="{f.minimum}"' if f.minimum is not None else "") + (f' max="{f.maximum}"' if f.maximum is not None else "")
        control = (f'<input type="number" id="{fid}" name="{_e(name)}" value="{_e(value)}"{bounds}'
                   f'{" step=any" if f.kind == "number" else ""}{invalid}>')
    elif f.kind == "date":
        control = f'<input type="date" id="{fid}" name="{_e(name)}" value="{_e(value)}"{invalid}>'
    elif f.kind == "json":
        control = (f'<textarea id="{fid}" name="{_e(name)}" rows="2" spellcheck="false" '
                   f'placeholder="JSON list"{invalid}>{_e(value)}</textarea>')
    else:
        control = (f'<input type="text" id="{fid}" name="{_e(name)}" value="{_e(value)}" '
                   f'placeholder="unknown" title="blank: unknown; type &quot;&quot; for an empty value"{invalid}>')
    error = f'<span class="field-error">{_e(errors[name])}</span>' if name in errors else ""
    return (f'<div class="field field-{f.kind}"><label for="{fid}"{hint}>{_e(label_text)}{req}</label>'
            f'{control}{error}</div>')


def try_page(state, policies, request) -> str:
    policy = state["policy"]
    compiled = policy.compiled
    tz = compiled.timezone
    ticket = state["ticket"]
    values = state.get("form") or form_values(ticket, tz)
    errors = state["errors"]
    groups = []
    for key, title in GROUPS:
        fields = [f for f in form_fields() if f.group == key]
        if not fields:
            continue
        inner = "".join(_input(f, values, errors, tz) for f in fields)
        open_attr = " open" if key in ("ticket", "customer", "facts") or any(f.name in errors for f in fields) \
            or any(values.get(f.name) for f in fields) else ""
        groups.append(f'<details class="group group-{key}"{open_attr}><summary>{_e(title)}</summary>'
                      f'<div class="fields">{inner}</div></details>')
    zones = sorted({p.compiled.timezone.key for p in policies.values()} | {"UTC"})
    datalist = '<datalist id="zones">' + "".join(f'<option value="{_e(z)}">' for z in zones) + "</datalist>"
    json_text = state["json_text"] if state["json_text"] is not None else (
        json.dumps(ticket, ensure_ascii=False, indent=2) if ticket is not None else "")
    ex = _examples_links(policies)
    form = (
        f'<form id="ticket-form" class="ticket-form" method="post" action="/workbench/try" novalidate>'
        f'<div class="field"><label for="f-policy">policy</label>{_policy_select(policies, policy.id)}</div>'
        f'<div class="field"><label for="f-edition">edition</label>{_edition_select(policy, state["edition"])}</div>'
        f'<div class="field"><label for="f-as_of" title="evaluation time for lifecycle clocks (events)">as of</label>'
        f'<input type="text" id="f-as_of" name="as_of" value="{_e(state["as_of"])}" '
        f'placeholder="optional, e.g. 2026-03-09T12:00:00+03:00"></div>'
        f'<div class="actions"><button type="submit" name="source" value="form" id="decide">Decide</button></div>'
        + "".join(groups) + datalist +
        f'<details class="group group-json"{" open" if state.get("open_json") else ""}><summary>Paste JSON</summary>'
        f'<textarea id="ticket-json" name="ticket_json" rows="14" spellcheck="false">{_e(json_text)}</textarea>'
        f'<div class="actions"><button type="submit" name="source" value="json" id="decide-json">Decide from JSON</button>'
        f'</div></details>'
        f'<div class="actions bottom"><button type="submit" name="source" value="form">Decide</button></div></form>')
    left = f'<aside class="side"><h2>Ticket</h2>{ex}{form}</aside>'
    parts = []
    if state.get("notice"):
        parts.append(f'<p class="notice">{_e(state["notice"])}</p>')
    if state["problems"]:
        items = "".join(f'<li><code>{_e(path or "ticket")}</code>: {_e(msg)}</li>' for path, msg in state["problems"])
        parts.append(f'<section class="panel error-panel" id="problems"><h2>The ticket cannot be decided</h2>'
                     f'<ul class="problems">{items}</ul></section>')
    if state["decision"] is not None:
        parts.append(decision_html(state, request))
    right = f'<div class="result">{"".join(parts)}</div>'
    return f'<div class="try">{left}{right}</div>'


def _examples_links(policies) -> str:
    items = []
    for name, ticket in all_examples():
        pid = next((p for p in sorted(policies, key=len, reverse=True) if _example_policy(name, p)), None)
        if pid is None or not isinstance(ticket, dict):
            continue
        items.append(f'<a href="/?{_e(share_query(pid, ticket))}">{_e(name)}</a>')
    if not items:
        return ""
    return f'<p class="examples">Examples: {" · ".join(items)}</p>'


STATUS_TEXT = {"in_scope": "in scope", "out_of_scope": "out of scope", "consultation_only": "consultation only",
               "not_accepted": "not accepted"}


def _instant(text, tz_key, cls="instant", viewer=True) -> str:
    """A timestamp of the decision: in the policy's zone (as written), and a slot the script fills
    with the viewer's zone."""
    if not text:
        return "—"
    try:
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        return _e(text)
    shown = f"{t:%a} {t.day} {t:%b %Y %H:%M}" + (f":{t:%S}" if t.second else "")
    utc = t.astimezone(dt.timezone.utc).isoformat()
    return (f'<time class="{cls}" datetime="{_e(utc)}" title="{_e(text)}">{_e(shown)}</time>'
            f' <span class="zone">{_e(tz_key)}, {_e(_offset(t))}</span>'
            + (f'<span class="viewer" data-at="{_e(utc)}"></span>' if viewer else ""))


def _offset(t: dt.datetime) -> str:
    minutes = int(t.utcoffset().total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def decision_html(state, request) -> str:
    d = state["decision"]
    policy = state["policy"]
    edition = state["edition"] or None
    compiled = policy.compiled
    if d.get("policy", {}).get("edition") and len(policy.editions) > 1:
        try:
            compiled, _ = policy.select(None, d["policy"]["edition"])
        except Exception:  # noqa: BLE001
            pass
    links = Links(compiled, d.get("policy", {}).get("edition") if len(policy.editions) > 1 else None)
    tz_key = compiled.timezone.key
    status = d["eligibility"]["status"]
    out = []
    query = share_query(policy.id, state["ticket"], edition, state["as_of"] or None)
    share = str(request.base_url).rstrip("/") + "/?" + query
    # summary
    tier = d.get("tier")
    reasons = "".join(f'<li>{links.rule(r.get("rule"))} {_e(r.get("message"))} {links.clauses(r.get("source"))}</li>'
                      for r in d["eligibility"].get("reasons") or [])
    ed = d["policy"].get("edition")
    out.append(
        f'<section class="panel summary" id="decision"><h2>Decision for ticket <span class="ticket-id" id="ticket-id">'
        f'{_e(d.get("ticket"))}</span></h2>'
        f'<p class="meta">policy <code>{_e(d["policy"]["id"])}</code> version {_e(d["policy"].get("version"))}'
        f'{(" · edition " + _e(ed) + " (" + _e(d["policy"].get("edition_chosen")) + ")") if ed else ""}'
        f' · hash <code>{_e(d["policy"].get("hash"))}</code>'
        f' · <a href="{_e(links.base)}">read the regulation</a></p>'
        f'<div class="cards"><div class="card"><span class="k">eligibility</span>'
        f'<span class="badge status-{_e(status)}" id="eligibility">{_e(STATUS_TEXT.get(status, status))}</span>'
        f'<ul class="reasons">{reasons}</ul></div>'
        f'<div class="card"><span class="k">tier</span>'
        + (f'<span class="v" id="tier">{_e(tier.get("name"))} <code>{_e(tier.get("id"))}</code></span>'
           f'<span class="src">{links.clauses(tier.get("source"))}</span>' if tier else
           '<span class="v" id="tier">none (not accepted)</span>')
        + '</div></div>')
    # deadlines
    rows = []
    for name, x in (d.get("deadlines") or {}).items():
        if not x:
            rows.append(f'<tr id="deadline-{_e(name)}"><th>{_e(name.replace("_", " "))}</th><td colspan="4">none open</td></tr>')
            continue
        due = _instant(x.get("due"), tz_key, "instant due") if x.get("due") else (
            '<span class="none">no guaranteed time</span>' if not x.get("not_before") else "—")
        nb = _instant(x.get("not_before"), tz_key, "instant not-before") if x.get("not_before") else ""
        extra = f' <span class="status">{_e(x["status"])}</span>' if x.get("status") else ""
        rows.append(f'<tr id="deadline-{_e(name)}"><th>{_e(name.replace("_", " "))}{extra}</th>'
                    f'<td class="due">{due}</td><td>{nb}</td><td>{_e(x.get("target"))}'
                    f'{("<br><span class=cal>" + _e(x.get("calendar")) + "</span>") if x.get("calendar") else ""}</td>'
                    f'<td>{links.clauses(x.get("source"))}</td></tr>')
    out.append('<h3>Deadlines</h3><table class="deadlines"><thead><tr><th>target</th><th>due</th><th>not before</th>'
               '<th>target and calendar</th><th>clause</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table>")
    out.append(f'<p class="share"><label for="share-url">Shareable link</label>'
               f'<input id="share-url" type="text" readonly value="{_e(share)}">'
               f'<button type="button" class="copy" data-copy="share-url">Copy</button> '
               f'<a href="/?{_e(query)}" id="share-link">open</a></p></section>')
    # timeline
    out.append(timeline_html(state, query))
    # reasons, notices, missing facts, assumptions
    delays = "".join(f'<li><code>{_e(r.get("code"))}</code> {_e(r.get("message"))} {links.rule(r.get("rule"))} '
                     f'{links.clauses(r.get("source"))}</li>' for r in d.get("delay_reasons") or [])
    notices = "".join(f'<li>{_e(r.get("message"))} {links.rule(r.get("rule"))} {links.clauses(r.get("source"))}</li>'
                      for r in d.get("notices") or [])
    missing = "".join(f"<li><code>{_e(m)}</code></li>" for m in d.get("missing_facts") or [])
    assumptions = "".join(f'<li><strong>{_e(a.get("id"))}</strong> {links.clauses(a.get("clause"))}: {_e(a.get("text"))}</li>'
                          for a in d.get("assumptions") or [])
    out.append('<section class="panel lists"><div class="col">'
               f'<h3>Delay reasons</h3><ul id="delay-reasons">{delays or "<li class=none>none</li>"}</ul>'
               f'<h3>Notices</h3><ul id="notices">{notices or "<li class=none>none</li>"}</ul>'
               f'<h3>Missing facts</h3><p class="hint">Unknown facts: a rule that needs one does not fire. '
               f'Set them in the form to see what changes.</p><ul id="missing-facts" class="inline">'
               f'{missing or "<li class=none>none</li>"}</ul></div>'
               f'<div class="col"><h3>Assumptions relied on</h3><ul id="assumptions">'
               f'{assumptions or "<li class=none>none</li>"}</ul></div></section>')
    if d.get("billing"):
        b = d["billing"]
        rates = "".join(f'<li>× {_e(r.get("multiplier"))} {_e(r.get("message"))} {links.rule(r.get("rule"))} '
                        f'{links.clauses(r.get("source"))}</li>' for r in b.get("rates") or [])
        out.append(f'<section class="panel"><h3>Billing</h3><p>minimum {_e(b.get("minimum_minutes"))} minutes '
                   f'{links.clauses(b.get("minimum_source"))}; rate × {_e(b.get("rate_multiplier"))}</p><ul>{rates}</ul></section>')
    if d.get("lifecycle"):
        out.append(lifecycle_html(d["lifecycle"], tz_key, links))
    # explanation
    rows = []
    for x in d.get("explanation") or []:
        if x.get("stage") == "deadlines":
            what = (f'{_e(x.get("target"))}: {_e(x.get("text"))}' + (f' in <code>{_e(x.get("calendar"))}</code>' if x.get("calendar") else "")
                    + (f'<br><span class="hours">{_e(x.get("hours"))}</span>' if x.get("hours") else ""))
        elif x.get("result") == "unknown":
            what = "missing: " + ", ".join(f"<code>{_e(m)}</code>" for m in x.get("missing") or [])
        else:
            facts = x.get("facts") or {}
            what = ", ".join(f"<code>{_e(k)}</code> = {_e(json.dumps(v, ensure_ascii=False))}" for k, v in facts.items())
            if x.get("default"):
                what = what or "default rule (always fires)"
            if x.get("at"):
                what += f' at {_e(x.get("at"))} → tier <code>{_e(x.get("tier"))}</code>'
        rule = links.rule(x.get("rule")) if x.get("stage") != "deadlines" else f'tier <code>{_e(x.get("rule"))}</code>'
        rows.append(f'<tr class="result-{_e(x.get("result"))}"><td>{_e(x.get("stage"))}</td><td>{rule}</td>'
                    f'<td>{_e(x.get("result"))}</td><td>{what}</td><td>{links.clauses(x.get("source"))}</td></tr>')
    out.append('<section class="panel"><h3>Explanation</h3><p class="hint">Rules in the order the engine tried them: '
               'fired, or unknown for lack of a fact. Each clause links to the regulation.</p>'
               '<table class="explanation"><thead><tr><th>stage</th><th>rule</th><th>result</th><th>facts</th>'
               '<th>clause</th></tr></thead><tbody>' + "".join(rows) + '</tbody></table>'
               f'<details><summary>The decision as JSON</summary><pre class="json">'
               f'{_e(json.dumps(d, ensure_ascii=False, indent=2))}</pre></details></section>')
    return "".join(out)


def lifecycle_html(life, tz_key, links) -> str:
    rows = []
    for name, x in (life.get("targets") or {}).items():
        rows.append(f'<tr><th>{_e(name)}</th><td><span class="badge life-{_e(x.get("status"))}">{_e(x.get("status"))}</span></td>'
                    f'<td>{_instant(x.get("due"), tz_key)}</td><td>{_instant(x.get("met_at"), tz_key) if x.get("met_at") else "—"}</td>'
                    f'<td>{_e(round((x.get("elapsed_seconds") or 0) / 3600, 2))} h</td>'
                    f'<td>{_e(round(x["remaining_seconds"] / 3600, 2)) + " h" if x.get("remaining_seconds") is not None else "—"}</td>'
                    f'<td>{_e(round((x.get("paused_seconds") or 0) / 3600, 2))} h</td></tr>')
    history = "".join(f'<li>{_e(h.get("tier"))} from {_e(h.get("from"))} {links.rule(h.get("rule"))} '
                      f'{links.clauses(h.get("source"))}</li>' for h in life.get("tier_history") or [])
    alerts = "".join(f'<li>{_e(a.get("alert"))} at {_e(a.get("at"))} {_e(a.get("target") or "")}</li>'
                     for a in life.get("alerts") or [])
    return (f'<section class="panel" id="lifecycle"><h3>Lifecycle as of {_instant(life.get("as_of"), tz_key)}</h3>'
            '<table><thead><tr><th>target</th><th>status</th><th>due</th><th>met</th><th>elapsed</th><th>remaining</th>'
            f'<th>paused</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
            f'<h4>Tier history</h4><ul>{history}</ul>' + (f'<h4>Alerts</h4><ul>{alerts}</ul>' if alerts else "") + '</section>')


def _duration(seconds) -> str:
    from slapolicy.service.workbench.timeline import _duration as d

    return d(seconds or 0)


def timeline_html(state, query) -> str:
    from slapolicy.service.workbench.timeline import render_svg

    model = state.get("timeline")
    if model is None:
        why = state.get("timeline_error") or "no timeline"
        return (f'<section class="panel timeline-panel" id="timeline"><h3>Timeline</h3>'
                f'<p class="none">{_e(why)}</p></section>')
    base = "/?" + query
    tabs = []
    for name in model.get("drawable") or []:
        cls = ' class="active"' if name == model["target"] else ""
        href = base + "&" + urllib.parse.urlencode({"target": name, **({"tz": state["tz"]} if state["tz"] else {})})
        tabs.append(f'<a{cls} href="{_e(href)}">{_e(name.replace("_", " "))}</a>')
    policy_tz = model["timezone"]
    shown_tz = model["display_timezone"]
    tz_links = [f'<a href="{_e(base + "&" + urllib.parse.urlencode({"target": model["target"]}))}"'
                f'{" class=active" if shown_tz == policy_tz else ""}>policy time ({_e(policy_tz)})</a>',
                f'<a id="tz-viewer" data-base="{_e(base + "&" + urllib.parse.urlencode({"target": model["target"]}))}" '
                f'href="{_e(base + "&" + urllib.parse.urlencode({"target": model["target"], "tz": "UTC"}))}"'
                f'{" class=active" if shown_tz != policy_tz else ""}>'
                f'{"your time" if shown_tz == policy_tz else _e(shown_tz)}</a>']
    specials = "".join(f'<li class="special special-{_e(s["kind"])}" data-date="{_e(s["date"])}"><strong>{_e(s["date"])}</strong> '
                       f'{_e(s.get("name") or s["kind"].replace("_", " "))}: hours {_e(s["hours"])}</li>'
                       for s in model.get("special_days") or [])
    dst = "".join(f'<li>{_instant(c["at"], shown_tz, viewer=False)}: {_e(c["timezone"])} changes from {_e(c["from"])} '
                  f'to {_e(c["to"])}</li>' for c in model.get("dst") or [])
    marks = "".join(f'<tr class="mark-{_e(m["kind"])}"><th>{_e(m["label"])}</th><td>{_instant(m["at"], policy_tz, viewer=False)}</td>'
                    f'<td class="viewer-cell" data-at="{_e(m["at_utc"])}">—</td></tr>' for m in model.get("marks") or [])
    pauses = "".join(f'<li>{_e(a)} → {_e(b)}</li>' for a, b in model.get("pauses") or [])
    counted = model["counted_seconds"]
    why = (f'{_e(model["text"])} counted in <code>{_e(model.get("calendar") or "24x7")}</code> '
           f'({_e(model["hours"])})' if not model.get("elapsed") else f'{_e(model["text"])} of elapsed time (24x7)')
    return (
        f'<section class="panel timeline-panel" id="timeline"><h3>Timeline: why it is due then</h3>'
        f'<nav class="tabs">{"".join(tabs)}<span class="sep"></span>{"".join(tz_links)}</nav>'
        f'<p class="why">{why}: from {_instant(model["start"], policy_tz, viewer=False)} to '
        f'{"due" if model["end_kind"] == "due" else "not before"} {_instant(model["end"], policy_tz, viewer=False)}; '
        f'<strong>{_e(_duration(counted))}</strong> of {"un-paused " if model.get("pauses") else ""}'
        f'{"time" if model.get("elapsed") else "open time"} counted. Rows are days in <strong>{_e(shown_tz)}</strong>.</p>'
        f'<div class="svg-wrap">{render_svg(model)}</div>'
        '<ul class="legend"><li><span class="sw sw-closed"></span>closed</li><li><span class="sw sw-open"></span>open hours</li>'
        '<li><span class="sw sw-counted"></span>counted toward the target</li><li><span class="sw sw-weekend"></span>weekend</li>'
        '<li><span class="sw sw-holiday"></span>public holiday</li><li><span class="sw sw-paused"></span>paused</li>'
        '<li><span class="sw sw-dst"></span>DST change</li></ul>'
        f'<div class="timeline-notes"><table class="marks"><thead><tr><th>mark</th><th>policy time</th>'
        f'<th>your time <span class="viewer-zone"></span></th></tr></thead><tbody>{marks}</tbody></table>'
        + (f'<div><h4>Holidays and special days</h4><ul id="special-days">{specials}</ul></div>' if specials else "")
        + (f'<div><h4>DST changes</h4><ul id="dst-changes">{dst}</ul></div>' if dst else "")
        + (f'<div><h4>Pauses</h4><ul id="pauses">{pauses}</ul></div>' if pauses else "")
        + f'</div><p class="hint"><a href="/workbench/timeline.json?{_e(query)}&amp;'
          f'{_e(urllib.parse.urlencode({"target": model["target"], **({"tz": state["tz"]} if state["tz"] else {})}))}">'
          f'the timeline as JSON</a></p></section>')


# -- the regulation -------------------------------------------------------------------------------
def regulation_body(compiled) -> dict:
    """{"html": the body of slapolicy.tools.render's page, "rendered": bool, "notice": str | None}."""
    if importlib.util.find_spec("slapolicy.tools.render") is not None:
        try:
            from slapolicy.tools.render import render

            return {"html": _body_of(render(compiled, "html")), "rendered": True, "notice": None}
        except Exception:  # noqa: BLE001 - the page must not go down with the renderer
            log.exception("slapolicy.tools.render failed for policy '%s'", compiled.id)
            notice = "engine/tools/render.py failed on this policy (see the server log); a plain view without clause anchors follows."
    else:
        notice = "engine/tools/render.py is not installed in this build: a plain view without clause anchors follows."
    from slapolicy.service.render import fallback_html

    return {"html": _body_of(fallback_html(compiled.data, compiled.content_hash)), "rendered": False, "notice": notice}


def _body_of(document: str) -> str:
    """The inside of <body> of a whole HTML document (its own <style> is left out: the page has ours)."""
    lo = re.search(r"<body[^>]*>", document, re.IGNORECASE)
    hi = document.lower().rfind("</body>")
    if lo is None or hi < 0:
        return document
    return document[lo.end():hi]


def regulation_page(policy, compiled, body, policies) -> str:
    picker = (f'<form class="inline" method="get" action="/workbench/regulation/{_e(urllib.parse.quote(policy.id, safe=""))}" '
              f'id="regulation-picker"><label for="f-policy">policy</label>'
              f'{_policy_select(policies, policy.id, attrs=" data-navigate=regulation")}'
              + ('<label for="f-reg-edition">edition</label><select name="edition" id="f-reg-edition">' + "".join(
                  f'<option value="{_e(n or "current")}"{" selected" if c is compiled else ""}>{_e(n or "current")} '
                  f'(version {_e(c.version)})</option>' for n, c in policy.editions) + "</select>"
                 if len(policy.editions) > 1 else "")
              + '<button type="submit">Show</button></form>')
    notice = (f'<p class="notice">{_e(body["notice"])}</p>' if body["notice"] else
              '<p class="hint">Every clause has an anchor (<code>#clause-…</code>) and every rule one (<code>#rule-…</code>): '
              'a rule links to its clauses, and the clause index at the end links back to the rules that implement each '
              'clause. The decision page links here.</p>')
    return (f'<section class="panel regulation-head">{picker}{notice}'
            f'<p><a href="/?policy={_e(urllib.parse.quote(policy.id, safe=""))}">Try a ticket with this policy</a></p></section>'
            f'<article class="regulation panel" id="regulation">{body["html"]}</article>')


# -- the diff report ------------------------------------------------------------------------------
def recent_revisions(directory) -> list:
    """[(short hash, subject)] of the last commits that touched the policies directory ([] without git)."""
    import subprocess

    try:
        proc = subprocess.run(["git", "log", "-n", "15", "--format=%h%x09%ad%x09%s", "--date=short", "--", "."],
                              cwd=directory, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return []
    if proc.returncode != 0:
        return []
    return [tuple(line.split("\t", 2)) for line in proc.stdout.splitlines() if line.count("\t") >= 2]


def _repo_top(directory) -> tuple:
    """(the repository's top directory, the policies directory relative to it); PageError without git."""
    import subprocess

    try:
        proc = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=directory, capture_output=True,
                              text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PageError(422, f"git is not available: {exc}") from None
    if proc.returncode != 0:
        raise PageError(422, f"the policies directory {directory} is not in a git repository")
    top = Path(proc.stdout.strip()).resolve()
    return top, Path(directory).resolve().relative_to(top).as_posix()


def run_diff(directory, state, policies) -> dict:
    from slapolicy.tools import diff as diffmod

    old, new, pid = state["old"], state["new"], state["policy"]
    for label, rev in (("old", old), ("new", new)):
        if rev and (not _REVISION.match(rev) or ".." in rev):
            raise PageError(422, f"{label}: '{rev}' is not a git revision name (e.g. HEAD~1, main, a commit hash)")
    if pid and pid not in policies:
        raise PageError(422, f"policy: unknown policy '{pid}' (served: {', '.join(sorted(policies))})")
    try:
        n = max(1, min(2000, int(state["n"])))
    except ValueError:
        raise PageError(422, f"n: '{state['n']}' is not a number of tickets") from None
    state["n"] = str(n)
    # git paths from the top of the repository (git ls-tree filters by the working directory when run below it)
    top, where = _repo_top(directory)
    rel = "/".join(p for p in (where, f"{pid}.yaml" if pid else "") if p and p != ".") or "."
    old_spec = f"{old}:{rel}"
    new_spec = f"{new}:{rel}" if new else str(Path(directory) / f"{pid}.yaml") if pid else str(Path(directory))
    try:
        diffs = diffmod.diff(old_spec, new_spec, n=n, cwd=top)
    except diffmod.DiffError as exc:
        raise PageError(422, f"slapolicy diff: {exc}") from None
    renderers = getattr(diffmod, "RENDERERS", {})
    markdown = renderers["markdown"](diffs) if "markdown" in renderers else diffmod.render_markdown(diffs)
    html_report = None
    html_fn = renderers.get("html") or getattr(diffmod, "render_html", None)
    if html_fn is not None:
        html_report = _body_of(html_fn(diffs))
    return {"diffs": [d.to_json() for d in diffs], "markdown": markdown, "html": html_report,
            "old": old_spec, "new": new_spec}


def diff_page(state, policies) -> str:
    revs = "".join(f'<option value="{_e(h)}">{_e(day)} {_e(subject)}</option>' for h, day, subject in state["revisions"])
    pol = ('<option value="">all policies</option>' + "".join(
        f'<option value="{_e(p)}"{" selected" if p == state["policy"] else ""}>{_e(p)}</option>' for p in sorted(policies)))
    head = (
        '<section class="panel"><h1>Diff report</h1>'
        '<p class="hint">What a policy change says (semantic changes, each with its clause) and what it does to tickets '
        '(a generated corpus decided by both sides), as <code>slapolicy diff</code> reports it. Give two git revisions of '
        'the policies directory; leave “new” empty for the files being served now.</p>'
        '<form method="get" action="/workbench/diff" class="diff-form" id="diff-form">'
        f'<label for="f-old">old revision</label><input id="f-old" name="old" list="revisions" value="{_e(state["old"])}" '
        'placeholder="e.g. HEAD~1" required>'
        f'<label for="f-new">new revision</label><input id="f-new" name="new" list="revisions" value="{_e(state["new"])}" '
        'placeholder="empty: the served files">'
        f'<label for="f-diff-policy">policy</label><select id="f-diff-policy" name="policy">{pol}</select>'
        f'<label for="f-n">tickets</label><input id="f-n" name="n" type="number" min="1" max="2000" value="{_e(state["n"])}">'
        f'<button type="submit">Compare</button><datalist id="revisions">{revs}</datalist></form>'
        + ('<p class="hint">Recent commits of the policies: ' + ", ".join(
            f'<code>{_e(h)}</code> {_e(s)}' for h, _, s in state["revisions"][:5]) + "</p>" if state["revisions"] else
           '<p class="hint">The policies directory is not in a git repository (or git is missing): only revisions can be compared.</p>')
        + '</section>')
    if not state["available"]:
        return head + ('<section class="panel"><p class="notice" id="diff-unavailable">engine/tools/diff.py (slapolicy diff) is '
                       'not installed in this build: the diff report cannot be shown here.</p></section>')
    if state["error"]:
        return head + f'<section class="panel error-panel"><p class="error" id="diff-error">{_e(state["error"])}</p></section>'
    report = state["report"]
    if report is None:
        return head
    if report["html"] is not None:
        body = f'<div class="diff-html">{report["html"]}</div>'
    else:
        body = "".join(_diff_policy_html(d) for d in report["diffs"]) or "<p>No policy files on either side.</p>"
    return (head + f'<section class="panel" id="diff-report"><h2><code>{_e(report["old"])}</code> → '
            f'<code>{_e(report["new"])}</code></h2>{body}'
            f'<details><summary>The report as Markdown (<code>slapolicy diff --format markdown</code>)</summary>'
            f'<pre class="json" id="diff-markdown">{_e(report["markdown"])}</pre></details></section>')


def _diff_policy_html(d: dict) -> str:
    changes = "".join(f'<li><span class="kind">{_e(c.get("kind"))}</span> {_e(c.get("text"))}'
                      + (f' <span class="clause">§ {_e(c["clause"])}</span>' if c.get("clause") else "") + "</li>"
                      for c in d.get("changes") or [])
    out = [f'<h3>Policy <code>{_e(d.get("policy"))}</code>: <code>{_e(d.get("old") or "(none)")}</code> → '
           f'<code>{_e(d.get("new") or "(none)")}</code></h3>',
           f'<ul class="changes">{changes}</ul>' if changes else '<p class="none">No semantic changes.</p>']
    imp = d.get("impact")
    if imp:
        rows = "".join(f'<tr><td>{_e(g.get("change"))}</td><td class="num">{_e(g.get("count"))}</td>'
                       f'<td>{_e(_duration(g["median_seconds"]) + " / " + _duration(g["max_seconds"])) if "median_seconds" in g else ""}</td>'
                       f'<td>{_e(", ".join(map(str, g.get("examples") or [])))}</td></tr>' for g in imp.get("changes") or [])
        out.append(f'<p><strong>Impact</strong>: {_e(imp.get("changed"))} of {_e(imp.get("tickets"))} tickets get a '
                   f'different decision ({_e(imp.get("corpus"))}).</p>')
        if rows:
            out.append('<table><thead><tr><th>change</th><th>tickets</th><th>shift (median / max)</th><th>examples</th>'
                       f'</tr></thead><tbody>{rows}</tbody></table>')
    return "".join(out)
