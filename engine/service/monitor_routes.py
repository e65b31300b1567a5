"""The live monitor's store behind the HTTP service (issue 13): `slapolicy serve --store URL`.

    POST /v1/events                 one event (application/json) or JSON Lines (application/x-ndjson):
                                    applied as `slapolicy watch --store` applies them (one transaction
                                    per event, idempotent by event_id or content hash); a `created` event
                                    starts under `?policy=ID` or its own `policy` field
    GET  /v1/tickets/{id}/clocks    the ticket's clocks as `evaluate --as-of` reports them (`?as_of=`,
                                    default now), from the stored state
    GET  /v1/at-risk?within=2h      open clocks due within that window, nearest to breach first
    GET  /workbench/at-risk         the same list as a page for support leads

The monitor runs live (wall clock): a background thread fires the due clocks every `interval` seconds
into the outbox and, with `--sink`, delivers it. One store object, used under one lock (a store is one
connection and not thread-safe); the handlers run in the thread pool. Without --store the routes
answer 404 `monitor-disabled`.
"""
from __future__ import annotations

import datetime as dt
import io
import logging
import re
import threading

from slapolicy.service.http import (
    JSON,
    NDJSON,
    NDJSON_TYPES,
    ApiError,
    _bad_param,
    _error_response,
    _json_response,
    _query,
    dumps,
)
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

log = logging.getLogger("slapolicy.server.monitor")
EVENTS, CLOCKS, AT_RISK = "/v1/events", "/v1/tickets/{id}/clocks", "/v1/at-risk"
_WITHIN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_WITHIN = dt.timedelta(days=366)


def parse_within(text: str) -> dt.timedelta:
    match = _WITHIN.match(text or "")
    if not match:
        raise _bad_param("within", f"{text!r} is not a duration such as 90s, 30m, 2h or 3d")
    value = dt.timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
    if value > MAX_WITHIN:
        raise _bad_param("within", f"{text!r} is longer than {MAX_WITHIN.days} days")
    return value


class MonitorService:
    def __init__(self, url: str, service, sinks=(), secret=None, interval: float = 1.0):
        from slapolicy.monitor.durable import Monitor
        from slapolicy.monitor.run import open_sinks
        from slapolicy.monitor.store import open_store

        self.service = service
        self.store = open_store(url)
        self.url = self.store.url
        self.lock = threading.Lock()
        self.sink = open_sinks(sinks, secret) if sinks else None
        self.interval = interval
        self.monitor = Monitor(self.store, self._policy, replay=False)
        self._stop = threading.Event()
        self._thread = None

    def _policy(self, pid):
        return self.service.store.snapshot.policies.get(pid)

    # -- timers ---------------------------------------------------------------------------------
    def tick(self):
        from slapolicy.monitor.durable import drain, now_utc

        with self.lock:
            self.monitor.advance(now_utc())
            if self.sink is not None:
                drain(self.store, self.sink)

    def _run(self):
        with self.lock:
            self.monitor.start()
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception:  # a store that went away: logged, retried at the next tick
                log.exception("monitor: the timer pass failed")

    def start(self):
        self._thread = threading.Thread(target=self._run, name="slapolicy-monitor", daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self.lock:
            self.store.close()

    # -- requests -------------------------------------------------------------------------------
    def apply_lines(self, lines, policy_id):
        """[(number or None, line)] -> [outcome or {"line"?, "error"}], under the lock."""
        from slapolicy.monitor.watch import parse_line

        out = []
        with self.lock:
            errors = []
            self.monitor.on_error = lambda number, message: errors.append(message)
            self.monitor.default_policy = policy_id
            for number, line in lines:
                if not line.strip():
                    continue
                record, problem = parse_line(line)
                outcome = None
                if problem is None:
                    errors.clear()
                    outcome = self.monitor.feed(record, number)
                    problem = errors[0] if errors else None
                item = {"line": number} if number is not None else {}
                if outcome is not None:
                    item.update(outcome)
                else:
                    code, _, message = problem.partition(": ")
                    item["error"] = {"code": code, "message": message}
                out.append(item)
            if self.sink is not None:
                from slapolicy.monitor.durable import drain

                drain(self.store, self.sink)
        return out

    def clocks(self, tid, as_of):
        with self.lock:
            return self.monitor.snapshot(tid, as_of)

    def at_risk(self, now, within, limit):
        with self.lock:
            return self.monitor.at_risk(now, within, limit)


def _disabled():
    return ApiError(404, "monitor-disabled", "the monitor is not enabled: start the server with --store URL")


def routes(service) -> list:
    def monitor():
        if getattr(service, "monitor", None) is None:
            raise _disabled()
        return service.monitor

    async def post_events(request: Request) -> Response:
        try:
            mon = monitor()
            q = _query(request, ("policy",))
            kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if kind != JSON and kind not in NDJSON_TYPES:
                raise ApiError(415, "unsupported-media-type", f"POST {EVENTS} takes {JSON} (one event) or {NDJSON} "
                               f"(JSON Lines), not {kind or 'no Content-Type'}")
            if q.get("policy") and service.store.snapshot.policies.get(q["policy"]) is None:
                service.policy(q["policy"])  # 404 unknown-policy / 503
            body = await service.read_body(request)
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ApiError(400, "json-syntax", f"the body is not UTF-8 text ({exc.reason})") from None
            if kind == JSON:
                [item] = await run_in_threadpool(mon.apply_lines, [(None, text)], q.get("policy")) or [
                    {"error": {"code": "invalid-event", "message": "the body is empty"}}]
                if "error" in item:
                    status = 400 if item["error"]["code"].startswith(("json-", "input-")) else 422
                    return _json_response({"error": item["error"]}, status)
                return _json_response(item)
            lines = list(enumerate(io.StringIO(text, newline=None), start=1))
            items = await run_in_threadpool(mon.apply_lines, lines, q.get("policy"))
        except ApiError as exc:
            service.metrics.error(EVENTS, exc.code)
            return _error_response(exc)
        failed = sum("error" in i for i in items)
        return Response(b"".join(dumps(i) + b"\n" for i in items), media_type=NDJSON,
                        headers={"X-Items-Failed": str(failed)})

    async def get_clocks(request: Request) -> Response:
        from slapolicy.api import parse_timestamp

        try:
            mon = monitor()
            q = _query(request, ("as_of",))
            as_of = dt.datetime.now(dt.timezone.utc)
            if "as_of" in q:
                try:
                    as_of = parse_timestamp(q["as_of"])
                except ValueError:
                    raise _bad_param("as_of", f"{q['as_of']!r} is not an RFC 3339 timestamp with a UTC offset") from None
            tid = request.path_params["id"]
            snap = await run_in_threadpool(mon.clocks, tid, as_of)
            if snap is None:
                raise ApiError(404, "unknown-ticket", f"the monitor store has no ticket {tid!r}")
        except ApiError as exc:
            service.metrics.error(CLOCKS, exc.code)
            return _error_response(exc)
        except Exception as exc:  # a pinned edition that cannot be restored, a store that went away
            from slapolicy.monitor.durable import MonitorError

            if not isinstance(exc, MonitorError):
                raise
            return _error_response(ApiError(409, exc.code, exc.message))
        return _json_response(snap)

    async def get_at_risk(request: Request) -> Response:
        try:
            mon = monitor()
            q = _query(request, ("within", "limit"))
            within = parse_within(q.get("within", "2h"))
            limit = q.get("limit", "100")
            if not limit.isdigit() or not 1 <= int(limit) <= 1000:
                raise _bad_param("limit", f"{limit!r} is not an integer from 1 to 1000")
            now = dt.datetime.now(dt.timezone.utc)
            clocks = await run_in_threadpool(mon.at_risk, now, within, int(limit))
        except ApiError as exc:
            service.metrics.error(AT_RISK, exc.code)
            return _error_response(exc)
        return _json_response({"now": now.isoformat(), "within_seconds": round(within.total_seconds()),
                               "clocks": clocks})

    async def at_risk_page(request: Request) -> Response:
        from slapolicy.service.workbench.at_risk import page

        mon = getattr(service, "monitor", None)
        within_text = request.query_params.get("within") or "2h"
        try:
            within = parse_within(within_text)
            error = None
        except ApiError as exc:
            within, error = dt.timedelta(hours=2), exc.body["message"]
        now = dt.datetime.now(dt.timezone.utc)
        clocks = await run_in_threadpool(mon.at_risk, now, within, 200) if mon is not None else None
        html, headers = page(service, clocks, now, within_text, error)
        return Response(html, media_type="text/html; charset=utf-8", headers=headers,
                        status_code=422 if error else 200)

    return [
        Route(EVENTS, post_events, methods=["POST"]),
        Route(CLOCKS, get_clocks, methods=["GET"]),
        Route(AT_RISK, get_at_risk, methods=["GET"]),
        Route("/workbench/at-risk", at_risk_page, methods=["GET"]),
    ]
