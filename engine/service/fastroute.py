"""The single-ticket evaluation (POST /v1/policies/{id}/evaluate) as pure ASGI, without Starlette's
routing, Request and Response objects (issue 17: the server's own CPU per request).

`ServiceMiddleware` (slapolicy.service.app) sends a POST whose path matches the evaluate route's own
pattern (the Starlette `Route`'s `path_regex`, so both agree on what matches) straight to `FastEvaluate`;
the Starlette route runs the same handler (`core`) for what the middleware does not take (a request
under a `root_path`). The response is the one Starlette would send, header for header: the handler's
headers, then `content-length` and `content-type` as `starlette.responses.Response` adds them, then
`x-request-id`; an exception is answered as Starlette's `ServerErrorMiddleware` answers it (the app's
500 handler, then re-raised for the server's log).

What costs CPU per request and is done once instead: the request metrics' children of the route (per
status); the headers the handler reads, picked from the scope in one pass (`LightRequest`); the body
timeout's timer, armed only when the body has not arrived whole by the first `receive()`
(`read_body`: a `receive()` that completes without waiting is not timed; one that waits is finished
under the timeout, as before; a body whole in the first message is returned as it is); the ticket
decoder, looked up once (`decode_ticket`, no function-local imports a request); the request ids,
taken 16 bytes at a time from 4 KiB of `os.urandom` (`new_request_id`: one getrandom(2) per 256
requests instead of one a request; the same kernel random bytes).
"""
from __future__ import annotations

import asyncio
import os
import time
import types

from slapolicy.decide.tickets import decode_valid as _decode_valid
from slapolicy.service.http import _REQUEST_ID, JSON, ApiError, dumps
from starlette.datastructures import QueryParams
from starlette.requests import ClientDisconnect
from starlette.responses import Response

_timeout = getattr(asyncio, "timeout", None)
_WANTED = (b"sec-fetch-site", b"content-type", b"content-length")


class LightRequest:
    """What the evaluate handler reads of a request (`headers.get`, `scope`, `query_params`, `receive`),
    as `starlette.requests.Request` gives it: the first value of a header, decoded as Latin-1."""

    __slots__ = ("scope", "receive", "headers")

    def __init__(self, scope, receive, picked: dict | None = None):
        """`picked`: the first value of each header (raw name -> raw value), if the caller has them already"""
        self.scope = scope
        self.receive = receive
        if picked is None:
            picked = {}
            for name, value in scope["headers"]:
                if name in _WANTED and name not in picked:
                    picked[name] = value
        self.headers = {name.decode("latin-1"): picked[name].decode("latin-1") for name in _WANTED if name in picked}

    @property
    def query_params(self) -> QueryParams:
        return QueryParams(self.scope["query_string"])


def _at_once(awaitable):
    """(True, result) if the coroutine finishes without waiting; else (False, an awaitable that finishes it)."""
    if not isinstance(awaitable, types.CoroutineType):
        return False, awaitable
    try:
        pending = awaitable.send(None)
    except StopIteration as stop:
        return True, stop.value
    return False, _resume(awaitable, pending)


@types.coroutine
def _resume(coroutine, pending):
    """Finish a coroutine that has yielded `pending` once, as `await coroutine` would have."""
    while True:
        try:
            sent = yield pending
        except GeneratorExit:
            coroutine.close()
            raise
        except BaseException as exc:  # a cancellation (the body timeout) goes on into the coroutine
            try:
                pending = coroutine.throw(exc)
            except StopIteration as stop:
                return stop.value
        else:
            try:
                pending = coroutine.send(sent)
            except StopIteration as stop:
                return stop.value


async def read_body(receive, declared: str | None, limit: int, body_timeout: float) -> bytes:
    """The request body, as `Service.read_body` reads it from a Starlette Request (the same 413 and 408
    answers, ClientDisconnect on a disconnect), with the timer armed only if the body is not whole at once."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "body-too-large", f"the body has {declared} bytes; the limit is {limit}", limit=limit)
    chunks, size = [], [0]

    def take(message) -> bool:
        """True once the last chunk is in"""
        kind = message["type"]
        if kind == "http.request":
            body = message.get("body", b"")
            if body:
                size[0] += len(body)
                if size[0] > limit:
                    raise ApiError(413, "body-too-large", f"the body is larger than the limit of {limit} bytes",
                                   limit=limit)
                chunks.append(body)
            return not message.get("more_body", False)
        if kind == "http.disconnect":
            raise ClientDisconnect()
        return False

    done, first = _at_once(receive())
    if done and first["type"] == "http.request" and not first.get("more_body", False):  # whole at once
        body = first.get("body", b"")
        if len(body) > limit:
            raise ApiError(413, "body-too-large", f"the body is larger than the limit of {limit} bytes", limit=limit)
        return body
    if done and take(first):
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def rest():
        if not done and take(await first):
            return
        while not take(await receive()):
            pass

    try:
        if _timeout is not None:
            async with _timeout(body_timeout):
                await rest()
        else:
            await asyncio.wait_for(rest(), body_timeout)
    except asyncio.TimeoutError:
        raise ApiError(408, "body-timeout", f"the body did not arrive within {body_timeout:g} seconds",
                       limit=body_timeout) from None
    return b"".join(chunks)


def decode_ticket(body: bytes, policy):
    """the normalised ticket when the one-step decoder vouches for the body (slapolicy.decide.tickets.
    decode_valid), else None: then the body is parsed and validated again by the reference path, whose
    messages name every problem"""
    return _decode_valid(body, policy.compiled.vocabulary)


_IDS = [b"", 0]  # os.urandom bytes, and how many of them are used
_ID_POOL = 4096


def new_request_id() -> str:
    """32 hex digits of kernel randomness, as os.urandom(16).hex() (and uuid4().hex) give them"""
    pool, at = _IDS
    if at >= len(pool):
        pool, at = os.urandom(_ID_POOL), 0
        _IDS[0] = pool
    _IDS[1] = at + 16
    return pool[at:at + 16].hex()


if hasattr(os, "register_at_fork"):  # a forked process never hands out its parent's ids
    os.register_at_fork(after_in_child=lambda: _IDS.__setitem__(slice(None), [b"", 0]))


_SCAN = object()  # request_id_header: the caller has not looked for the header


def request_id_header(scope, given=_SCAN) -> tuple[bytes, bytes]:
    """the X-Request-Id of a request's response: the caller's first one (`given`, if the caller has it: None
    for none) if it is sane, else a new one; kept in scope["request_id"] (for the decision log)"""
    request_id = None
    if given is _SCAN:
        given = None
        for name, value in scope.get("headers") or ():
            if name == b"x-request-id":
                given = value
                break
    if given is not None:
        candidate = given.decode("latin-1")
        if _REQUEST_ID.match(candidate):
            request_id = candidate
    if request_id is None:
        request_id = new_request_id()  # as random as uuid4().hex, without building a UUID
    scope["request_id"] = request_id
    return b"x-request-id", request_id.encode("latin-1")


def response_headers(headers: list, body: bytes, media_type: str, status: int) -> list:
    """`headers` (raw, lower-case names) + content-length + content-type, as starlette.responses.Response
    adds them (media types here are JSON: no charset is appended)."""
    names = [name for name, _ in headers]
    if b"content-length" not in names and not (status < 200 or status in (204, 304)):
        headers.append((b"content-length", str(len(body)).encode("latin-1")))
    if b"content-type" not in names:
        headers.append((b"content-type", media_type.encode("latin-1")))
    return headers


def raw_error(status: int, obj) -> tuple[int, list, bytes]:
    """(status, raw headers, body) of a JSON error answer, as http._json_response makes it"""
    payload = dumps(obj)
    return status, response_headers([], payload, JSON, status), payload


class RawResponse(Response):
    """A Starlette response of a status, raw headers and a body made already (`response_headers`)."""

    def __init__(self, status: int, headers: list, body: bytes):
        self.status_code, self.raw_headers, self.body, self.background = status, headers, body, None


class FastEvaluate:
    """The evaluate route for ServiceMiddleware: `core(request, pid)` -> (status, raw headers, body)."""

    def __init__(self, route, core, metrics, on_error, body_limit: int, whole=None):
        self.route = route  # the Starlette Route: its pattern and convertors decide what is taken here
        self.core = core
        self.metrics = metrics
        self.on_error = on_error  # the app's 500 handler (request, exc) -> Response
        self.body_limit = body_limit  # the service's max_body_bytes (slapolicy.service.lane takes no more)
        self.whole = whole  # core(request, pid, body) of a body in hand (slapolicy.service.lane), or None
        self.targets = {}  # the lane's: request URL -> what it makes of it (slapolicy.service.lane)
        self.latency = metrics.child(metrics.latency, route.path)
        self._requests = {}  # status -> the requests counter's child of (route, POST, status)

    def match(self, scope):
        """the policy id if this request is an evaluate POST the middleware may answer, else None"""
        if scope.get("method") != "POST" or scope.get("root_path"):
            return None
        found = self.route.path_regex.match(scope["path"])
        if found is None:
            return None
        return self.route.param_convertors["id"].convert(found.group("id"))

    async def __call__(self, scope, receive, send, pid, request_id_header, start):
        scope["path_params"] = {"id": pid}
        scope["route"] = self.route
        status = 500
        started = False
        try:
            status, headers, body = await self.core(LightRequest(scope, receive), pid)
            headers.append(request_id_header)
            started = True
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        except Exception as exc:  # as Starlette's ServerErrorMiddleware with the app's handler
            from starlette.requests import Request

            response = await self.on_error(Request(scope), exc)
            if not started:
                status = response.status_code
                response.raw_headers.append(request_id_header)
                await response(scope, receive, send)
            raise
        finally:
            self.count(status, start)

    def count(self, status: int, start: float) -> None:
        """the request metrics of one answer"""
        counter = self._requests.get(status)
        if counter is None:
            metrics = self.metrics
            counter = self._requests[status] = metrics.child(metrics.requests, self.route.path, "POST", str(status))
        counter.inc()
        self.latency.observe(time.perf_counter() - start)
