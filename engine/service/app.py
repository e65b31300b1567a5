"""The HTTP service: the evaluator for other systems (helpdesks, CRMs, bots), as an ASGI app.

    slapolicy serve --policies DIR --host 127.0.0.1 --port 8080

    POST /v1/policies/{id}/evaluate         one ticket (JSON) -> one decision, as `slapolicy evaluate`
    POST /v1/policies/{id}/evaluate-batch   a JSON list -> a JSON list, or JSON Lines
                                            (Content-Type: application/x-ndjson) -> JSON Lines; a bad
                                            item becomes {"index"|"line": N, "error": {...}} in place
    GET  /v1/policies                       the policies served: id, title, version, effective_from, hash
    GET  /v1/policies/{id}                  the policy as JSON (its data)
    GET  /v1/policies/{id}/render           the policy as a readable HTML page
    GET  /healthz  /readyz  /metrics  /openapi.json

Starlette rather than FastAPI: on this machine FastAPI's request handling cost about twice the
framework CPU per request (measured; see README "HTTP service"), and the request bodies here are
raw JSON / JSON Lines read by hand anyway (to report line:column and to cap their size), so the
OpenAPI document is written out in `server_openapi.py` instead of being derived from models.

The decisions come from `slapolicy.api` exactly as for the CLI. Errors use the CLI's diagnostics:
400 `json-syntax` with line and column, 422 `invalid-ticket` with every field path
(`TicketError.to_json()`), 422 `invalid-parameter`, 404 `unknown-policy`, 413 `body-too-large`,
503 `policy-unavailable`; bad input never gets a 500. Every response carries `X-Request-Id`
(the caller's, if it sent a sane one); with a decision log, each decision is logged under it.
"""
from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import time

from slapolicy.api import TicketError
from slapolicy.language.diagnostics import InputError
from slapolicy.decide import jsonio
from slapolicy.service.http import (
    _METHODS,
    CLASSIFY,
    DEFAULT_MAX_BODY,
    EVALUATE,
    EVALUATE_BATCH,
    JSON,
    NDJSON,
    NDJSON_TYPES,
    POLICY,
    RENDER,
    ApiError,
    _check_edition,
    _edition,
    _error_response,
    _evaluation_options,
    _json_response,
    _query,
    dumps,
    parse_json,
)
from slapolicy.service import hardening
from slapolicy.service.decisionlog import DecisionLog, encode
from slapolicy.service.fastroute import FastEvaluate, LightRequest, RawResponse, raw_error, read_body, response_headers
from slapolicy.service.fastroute import decode_ticket as _decode_ticket  # (the name bench/asgi_split.py imports)
from slapolicy.service.fastroute import request_id_header
from slapolicy.service.metrics import Metrics
from slapolicy.service.store import PolicyStore
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

log = logging.getLogger("slapolicy.server")
_timeout = getattr(asyncio, "timeout", None)

# -- the application ------------------------------------------------------------------------------
class Service:
    """State shared by the handlers: the policy store, metrics, limits, the decision log."""

    def __init__(self, policies_dir, max_body_bytes=DEFAULT_MAX_BODY, decision_log=None, reload_interval=1.0,
                 base_url=None, body_timeout=hardening.DEFAULTS["body_timeout"]):
        self.metrics = Metrics()
        self.base_url = base_url.rstrip("/") if base_url else None  # share links; never the Host header
        self.body_timeout = body_timeout
        self.store = PolicyStore(policies_dir, on_change=self._on_store_change)
        self.max_body_bytes = int(max_body_bytes)
        self.reload_interval = reload_interval
        self.decision_log = DecisionLog(decision_log) if decision_log else None
        self.started = time.time()
        self.store.poll()

    def _on_store_change(self, event, pid):
        self.metrics.reloads.labels(pid, event).inc()

    def policy(self, pid: str):
        snap = self.store.snapshot
        policy = snap.policies.get(pid)
        if policy is not None:
            return policy
        refusal = snap.refused.get(pid)
        if refusal is not None:
            raise ApiError(503, "policy-unavailable",
                           f"policy '{pid}' failed its check and no earlier version of it was loaded; "
                           "see /readyz", diagnostics=list(refusal.diagnostics))
        known = ", ".join(sorted(snap.policies)) or "none"
        raise ApiError(404, "unknown-policy", f"unknown policy '{pid}' (served: {known})")

    async def read_body(self, request: Request) -> bytes:
        limit = self.max_body_bytes
        if isinstance(request, LightRequest):  # the fast route: the timer only if the body is not whole at once
            return await read_body(request.receive, request.headers.get("content-length"), limit, self.body_timeout)
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise ApiError(413, "body-too-large", f"the body has {declared} bytes; the limit is {limit}", limit=limit)
        chunks, size = [], 0

        async def read():
            nonlocal size
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise ApiError(413, "body-too-large", f"the body is larger than the limit of {limit} bytes",
                                   limit=limit)
                chunks.append(chunk)

        try:
            if _timeout is not None:  # no task per request, as wait_for makes (Python 3.11+)
                async with _timeout(self.body_timeout):
                    await read()
            else:
                await asyncio.wait_for(read(), self.body_timeout)
        except asyncio.TimeoutError:
            raise ApiError(408, "body-timeout", f"the body did not arrive within {self.body_timeout:g} seconds",
                           limit=self.body_timeout) from None
        return b"".join(chunks)

    # -- evaluation -----------------------------------------------------------------------------
    def decide(self, policy, ticket, options, route, check_text=False, normal=None) -> tuple[dict | None, dict | None]:
        """(decision, None) or (None, error body) for one decoded ticket (`check_text`: an item of a batch,
        whose strings were not checked yet, slapolicy.decide.jsonio), or one already validated (`normal`). The
        decision is only serialised (encode) and counted: `shared` (slapolicy.api.Policy.decide)."""
        try:
            if check_text:
                jsonio.check_text_of(ticket)
            decision = policy.evaluate(ticket, **options, shared=True) if normal is None \
                else policy.decide(normal, **options, shared=True)
        except TicketError as exc:
            self.metrics.error(route, "invalid-ticket")
            return None, exc.to_json()
        except Exception:  # a bug, not bad input: logged with its traceback, answered in place
            log.exception("evaluation failed (policy %s)", policy.id)
            self.metrics.error(route, "internal-error")
            return None, {"code": "internal-error", "message": "the evaluation failed; the server log has details"}
        self.metrics.decision(decision)
        return decision, None

    def batch_json(self, policy, body: bytes, options, route):
        tickets = parse_json(body, check_text=False)
        if not isinstance(tickets, list):
            raise ApiError(422, "invalid-batch", f"a batch must be a JSON list of tickets, not "
                           f"{type(tickets).__name__ if tickets is not None else 'null'} "
                           f"(or JSON Lines with Content-Type: {NDJSON})")
        out, logged, failed = [], [], 0
        for index, ticket in enumerate(tickets):
            decision, error = self.decide(policy, ticket, options, route, check_text=True)
            if error is not None:
                failed += 1
                out.append(dumps({"index": index, "error": error}))
            else:
                encoded, exact = encode(decision)  # (its bytes go into the decision log's record too)
                out.append(encoded)
                logged.append((index, ticket, decision, encoded if exact else None))
        return b"[" + b",".join(out) + b"]", JSON, failed, logged

    def batch_lines(self, policy, body: bytes, options, route):
        """JSON Lines, read exactly as `slapolicy evaluate --jsonl` reads them (universal newlines,
        orjson per line), so that the records out are the CLI's, byte for byte."""
        out, logged, failed = [], [], 0
        lines = io.StringIO(body.decode("utf-8", "replace"), newline=None)
        for number, line in enumerate(lines, start=1):
            error = None
            try:
                ticket = jsonio.loads(line)
            except (json.JSONDecodeError, InputError, TicketError) as exc:  # orjson.JSONDecodeError is one
                error = jsonio.error_record(exc)
                self.metrics.error(route, error["code"])
            else:
                decision, error = self.decide(policy, ticket, options, route)
            if error is not None:
                failed += 1
                out.append(dumps({"line": number, "error": error}))
            else:
                encoded, exact = encode(decision)
                out.append(encoded)
                logged.append((number, ticket, decision, encoded if exact else None))
        return b"".join(r + b"\n" for r in out), NDJSON, failed, logged


def create_app(policies_dir=None, *, max_body_bytes: int = DEFAULT_MAX_BODY, decision_log=None,
               reload_interval: float = 1.0, base_url: str | None = None,
               body_timeout: float = hardening.DEFAULTS["body_timeout"],
               monitor_store: str | None = None, monitor_sinks=(), webhook_secret: str | None = None,
               reports_dir=None) -> Starlette:
    """The ASGI app. Loads the policies of `policies_dir` (default: the bundled ones) at once; the
    watcher thread starts with the app's lifespan and polls every `reload_interval` seconds. Share links
    start with `base_url` (without one they are relative: the Host header is never used)."""
    from contextlib import asynccontextmanager

    from slapolicy.api import default_policies_dir
    from slapolicy.service.openapi import openapi_document

    service = Service(policies_dir or default_policies_dir(), max_body_bytes, decision_log, reload_interval,
                      base_url, body_timeout)
    service.reports_dir = reports_dir  # the workbench's Reports page reads tickets files only under it (issue 14)
    metrics = service.metrics
    service.monitor = None
    if monitor_store is not None:  # the live monitor's store behind /v1/events (engine/service/monitor_routes.py)
        from slapolicy.service.monitor_routes import MonitorService

        service.monitor = MonitorService(monitor_store, service, monitor_sinks, webhook_secret)

    def evaluate_start(request, pid: str):
        """(policy, options) of an evaluate request, or ApiError"""
        hardening.check_api_post(request, hardening.API_TYPES)
        policy = service.policy(pid)
        return policy, _evaluation_options(request, policy)

    def evaluate_finish(request, policy, options, body: bytes) -> tuple[int, list, bytes]:
        route = EVALUATE
        try:
            normal = _decode_ticket(body, policy)  # a valid ticket: decoded and validated in one step
            ticket = parse_json(body) if normal is None or service.decision_log is not None else None
        except ApiError as exc:
            metrics.error(route, exc.code)
            return raw_error(exc.status, {"error": exc.body})
        decision, error = service.decide(policy, ticket, options, route, normal=normal)
        if error is not None:
            return raw_error(500 if error["code"] == "internal-error" else 422, {"error": error})
        payload, exact = encode(decision)  # the response's bytes, and the decision log's
        if service.decision_log is not None:
            try:
                service.decision_log.write(request.scope["request_id"], route,
                                           [(None, ticket, decision, payload if exact else None)])
            except ApiError as exc:
                metrics.error(route, exc.code)
                return raw_error(exc.status, {"error": exc.body})
        hash_header = (b"x-policy-hash", decision["policy"]["hash"].encode("latin-1"))
        return 200, response_headers([hash_header], payload, JSON, 200), payload

    async def evaluate_core(request, pid: str) -> tuple[int, list, bytes]:
        """-> (status, raw headers, body); run by ServiceMiddleware's fast route and by the Starlette route"""
        try:
            policy, options = evaluate_start(request, pid)
            body = await service.read_body(request)
        except ApiError as exc:
            metrics.error(EVALUATE, exc.code)
            return raw_error(exc.status, {"error": exc.body})
        return evaluate_finish(request, policy, options, body)

    def evaluate_whole(request, pid: str, body: bytes) -> tuple[int, list, bytes]:
        """evaluate_core of a request whose body is in hand and within the limit (slapolicy.service.lane)"""
        try:
            policy, options = evaluate_start(request, pid)
        except ApiError as exc:
            metrics.error(EVALUATE, exc.code)
            return raw_error(exc.status, {"error": exc.body})
        return evaluate_finish(request, policy, options, body)

    async def evaluate(request: Request) -> Response:
        return RawResponse(*await evaluate_core(request, request.path_params["id"]))

    async def evaluate_batch(request: Request) -> Response:
        route = EVALUATE_BATCH
        try:
            hardening.check_api_post(request, hardening.BATCH_TYPES)
            policy = service.policy(request.path_params["id"])
            options = _evaluation_options(request, policy)
            body = await service.read_body(request)
            kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
            run = service.batch_lines if kind in NDJSON_TYPES else service.batch_json
            # off the event loop: a large batch must not hold up /healthz or the other requests
            payload, media, failed, logged = await run_in_threadpool(run, policy, body, options, route)
        except ApiError as exc:
            metrics.error(route, exc.code)
            return _error_response(exc)
        if service.decision_log is not None and logged:
            try:
                await run_in_threadpool(service.decision_log.write, request.scope["request_id"], route, logged)
            except ApiError as exc:
                metrics.error(route, exc.code)
                return _error_response(exc)
        # no X-Policy-Hash here: with editions, items may be decided by different texts; each names its own
        return Response(payload, media_type=media, headers={"X-Items-Failed": str(failed)})

    async def classify(request: Request) -> Response:
        """the eligibility status and tier id of one ticket (Policy.classify): NOT a decision, no reasons, no
        missing facts (docs/contract.md "classify")"""
        route = CLASSIFY
        try:
            hardening.check_api_post(request, hardening.API_TYPES)
            policy = service.policy(request.path_params["id"])
            edition = _query(request, ("edition",)).get("edition")
            if edition is not None:
                _check_edition(policy, edition)
            body = await service.read_body(request)
            normal = _decode_ticket(body, policy)  # a valid ticket: decoded and validated in one step
            ticket = parse_json(body) if normal is None else None
        except ApiError as exc:
            metrics.error(route, exc.code)
            return _error_response(exc)
        try:
            status, tier = policy.classify(ticket, edition) if normal is None else policy.classify_validated(normal, edition)
        except TicketError as exc:
            metrics.error(route, "invalid-ticket")
            return _json_response({"error": exc.to_json()}, 422)
        except Exception:  # a bug, not bad input: logged with its traceback, answered in place
            log.exception("classify failed (policy %s)", policy.id)
            metrics.error(route, "internal-error")
            return _json_response({"error": {"code": "internal-error",
                                             "message": "the evaluation failed; the server log has details"}}, 500)
        return _json_response({"ticket": (normal or ticket).get("id"), "status": status, "tier": tier})

    async def list_policies(request: Request) -> Response:
        snap = service.store.snapshot
        items = []
        for pid in sorted(snap.policies):
            p = snap.policies[pid]
            c = p.compiled
            items.append({"id": pid, "title": c.title, "version": c.version, "effective_from": c.effective_from,
                          "hash": c.content_hash, "stale": pid in snap.refused,
                          "editions": [{"effective_from": e.effective_from, "version": e.version,
                                        "hash": e.content_hash} for _, e in p.editions]})
        return _json_response({"policies": items})

    async def get_policy(request: Request) -> Response:
        try:
            policy = service.policy(request.path_params["id"])
            compiled = _edition(policy, _query(request, ("edition",)).get("edition"))
        except ApiError as exc:
            metrics.error(POLICY, exc.code)
            return _error_response(exc)
        return Response(dumps(compiled.data), media_type=JSON, headers={"ETag": f'"{compiled.content_hash}"'})

    async def render_policy(request: Request) -> Response:
        from slapolicy.service.render import render_html

        try:
            policy = service.policy(request.path_params["id"])
            compiled = _edition(policy, _query(request, ("edition",)).get("edition"))
        except ApiError as exc:
            metrics.error(RENDER, exc.code)
            return _error_response(exc)
        html = await run_in_threadpool(render_html, policy, compiled)
        return Response(html, media_type="text/html; charset=utf-8", headers={"ETag": f'"{compiled.content_hash}"'})

    async def healthz(request: Request) -> Response:
        return _json_response({"status": "ok", "uptime_seconds": round(time.time() - service.started, 1)})

    async def readyz(request: Request) -> Response:
        snap = service.store.snapshot
        metrics.sync_store(snap)
        reasons = []
        if snap.problem:
            reasons.append(snap.problem)
        if not snap.policies and not snap.refused and not snap.pending:
            reasons.append(f"no policy files in {service.store.directory}")
        failure = service.decision_log.failure if service.decision_log is not None else None
        if failure is not None:
            reasons.append(f"decision log: {failure[1]} (since {failure[0]}); decisions are refused with 503")
        for pid, refusal in sorted(snap.refused.items()):
            serving = snap.policies.get(pid)
            where = (f"still serving version {serving.version} (hash {serving.content_hash})" if serving
                     else "not served")
            first = refusal.diagnostics[0] if refusal.diagnostics else {}
            at = f"{first.get('file')}:{first.get('line')}:{first.get('col')}: " if first.get("file") else ""
            reasons.append(f"policy '{pid}': the file on disk was refused ({len(refusal.diagnostics)} error(s), "
                           f"first: {at}{first.get('code', '')}: {first.get('message', '')}); {where}")
        body = {
            "status": "not_ready" if reasons else "ready",
            "reasons": reasons,
            "policies": {pid: {"version": p.version, "hash": p.content_hash, "status": "stale" if pid in snap.refused else "ok"}
                         for pid, p in sorted(snap.policies.items())},
            "refused": [r.to_json(snap.policies.get(pid)) for pid, r in sorted(snap.refused.items())],
            # changed on disk and still changing: swapped in once it stands still for one poll
            "pending": [{"policy": pid, "since": since} for pid, since in snap.pending.items()],
            "checked_at": snap.loaded_at,
        }
        return _json_response(body, 503 if reasons else 200)

    async def metrics_endpoint(request: Request) -> Response:
        metrics.sync_store(service.store.snapshot)
        return Response(metrics.render(), media_type=metrics.content_type)

    document = openapi_document()
    document_bytes = dumps(document)

    async def openapi(request: Request) -> Response:
        return Response(document_bytes, media_type=JSON)

    async def http_error(request: Request, exc: HTTPException) -> Response:
        code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        metrics.error("unmatched" if exc.status_code == 404 else "other", code)
        headers = dict(exc.headers or {})
        for name in [n for n in headers if n.lower() == "allow"]:  # (Starlette joins a set: an order per process)
            headers[name] = ", ".join(sorted(m.strip() for m in headers[name].split(",")))
        return Response(dumps({"error": {"code": code, "message": str(exc.detail)}}), status_code=exc.status_code,
                        media_type=JSON, headers=headers)

    async def server_error(request: Request, exc: Exception) -> Response:
        metrics.error("other", "internal-error")
        return _json_response({"error": {"code": "internal-error",
                                         "message": "internal error; the server log has details"}}, 500)

    @asynccontextmanager
    async def lifespan(app):
        service.store.start(service.reload_interval)
        if service.monitor is not None:
            service.monitor.start()
        log.info("serving %d policies from %s (reload every %ss)", len(service.store.snapshot.policies),
                 service.store.directory, service.reload_interval)
        try:
            yield
        finally:
            service.store.stop()
            if service.monitor is not None:
                service.monitor.stop()
            if service.decision_log is not None:
                service.decision_log.close()

    routes = [
        Route(EVALUATE, evaluate, methods=["POST"]),
        Route(EVALUATE_BATCH, evaluate_batch, methods=["POST"]),
        Route(CLASSIFY, classify, methods=["POST"]),
        Route("/v1/policies", list_policies, methods=["GET"]),
        Route(POLICY, get_policy, methods=["GET"]),
        Route(RENDER, render_policy, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]
    from slapolicy.service.workbench.app import (
        routes as workbench_routes,  # the web workbench at / (issue 8, engine/service/workbench/)
    )

    from slapolicy.service.monitor_routes import routes as monitor_routes

    routes += workbench_routes(service) + monitor_routes(service)
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={HTTPException: http_error, Exception: server_error})
    app.state.service = service
    evaluate_route = next(r for r in routes if getattr(r, "path", None) == EVALUATE and r.endpoint is evaluate)
    return ServiceMiddleware(app, metrics, FastEvaluate(evaluate_route, evaluate_core, metrics, server_error,
                                                                service.max_body_bytes, evaluate_whole))


class ServiceMiddleware:
    """Pure ASGI: a request id on every response (X-Request-Id), and the request metrics."""

    def __init__(self, app, metrics: Metrics, fast: FastEvaluate | None = None):
        self.app = app
        self.metrics = metrics
        self.fast = fast  # POST /v1/policies/{id}/evaluate without Starlette (slapolicy.service.fastroute)
        self.lane = fast  # ... and answered inside the HTTP protocol (slapolicy.service.lane)

    @property
    def state(self):
        return self.app.state

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        header = request_id_header(scope)
        request_id = scope["request_id"]
        status = 500
        refusal = hardening.query_problem(scope.get("query_string") or b"")
        if refusal is not None:  # before anything parses the query string
            self.metrics.error("unmatched", refusal.code)
            self.metrics.requests.labels("unmatched", "other", str(refusal.status)).inc()
            response = _error_response(refusal)
            response.headers["x-request-id"] = request_id
            await response(scope, receive, send)
            return

        pid = self.fast.match(scope) if self.fast is not None else None
        if pid is not None:  # POST /v1/policies/{id}/evaluate
            await self.fast(scope, receive, send, pid, header, start)
            return

        async def send_wrapper(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = list(message.get("headers") or ()) + [header]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            label = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            metrics = self.metrics
            metrics.child(metrics.requests, label, method if method in _METHODS else "other", str(status)).inc()
            metrics.child(metrics.latency, label).observe(time.perf_counter() - start)


_WORKER_CONFIG = "SLAPOLICY_SERVE_CONFIG"  # the app's settings, handed to uvicorn's worker processes


def app_from_environment() -> ServiceMiddleware:
    """The app of one uvicorn worker process (`serve --workers N`), made from the settings in the environment."""
    return create_app(**json.loads(os.environ[_WORKER_CONFIG]))


def serve(policies_dir=None, host="127.0.0.1", port=8080, *, max_body_bytes=DEFAULT_MAX_BODY, decision_log=None,
          reload_interval=1.0, log_level="info", access_log=False, base_url=None,
          timeout_keep_alive=hardening.DEFAULTS["timeout_keep_alive"],
          header_timeout=hardening.DEFAULTS["header_timeout"], body_timeout=hardening.DEFAULTS["body_timeout"],
          limit_concurrency=hardening.DEFAULTS["limit_concurrency"], monitor_store=None, monitor_sinks=(),
          webhook_secret=None, reports_dir=None, workers=1):
    """Run the service with uvicorn (httptools and uvloop when installed) until interrupted, with the
    limits of slapolicy.service.hardening; `workers` > 1 runs that many server processes on the one socket
    (each loads the policies and watches the files; the decision log is appended to by all, a whole line
    per write)."""
    import importlib.util

    import uvicorn

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = {"policies_dir": str(policies_dir) if policies_dir else None, "max_body_bytes": max_body_bytes,
                "decision_log": decision_log, "reload_interval": reload_interval,
                "base_url": base_url or hardening.default_base_url(host, port), "body_timeout": body_timeout,
                "monitor_store": monitor_store, "monitor_sinks": list(monitor_sinks), "webhook_secret": webhook_secret,
                "reports_dir": str(reports_dir) if reports_dir else None}
    limits = dict(timeout_keep_alive=timeout_keep_alive, header_timeout=header_timeout,
                  limit_concurrency=limit_concurrency, log_level=log_level, access_log=access_log,
                  log_config=None,  # uvicorn's loggers go through the root handler above: one log format
                  loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio")
    if workers <= 1:
        uvicorn.Server(hardening.server_config(create_app(**settings), host, port, **limits)).run()
        return
    from uvicorn.supervisors import Multiprocess

    if decision_log:
        DecisionLog(decision_log).close()  # a log that cannot be opened fails here, before the workers start
    os.environ[_WORKER_CONFIG] = json.dumps(settings)  # handed to each worker (app_from_environment)
    config = hardening.server_config("slapolicy.service.app:app_from_environment", host, port, factory=True,
                                     workers=workers, **limits)
    server = uvicorn.Server(config)
    Multiprocess(config, target=server.run, sockets=[config.bind_socket()]).run()
