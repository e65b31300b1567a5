"""POST /v1/policies/{id}/evaluate answered inside uvicorn's httptools protocol (issue 17: the server's own
CPU per request): no ASGI scope handed to a task, no RequestResponseCycle, asyncio.Event or task, no
send/receive messages, one write.

`EvaluateLane` is mixed into the protocol of `slapolicy serve` (hardening.protocol_class, with httptools
only). When a request's headers are in (`on_headers_complete`) it takes the request if all of this holds,
else the request goes the normal way (the ASGI app, as before), untouched:

* the app is slapolicy's ServiceMiddleware (under uvicorn's ProxyHeadersMiddleware or not: the route reads
  neither the client address nor the scheme) with its evaluate route (`FastEvaluate`);
* a POST whose path the route's own pattern matches (`FastEvaluate.match`, as ServiceMiddleware asks it),
  no `root_path`, no `%` in the path, a query string ServiceMiddleware does not refuse
  (`hardening.query_problem`);
* a `Content-Length` within the body limit and no `Transfer-Encoding`, no `Expect: 100-continue`, no
  upgrade; no response still owed on the connection (a pipelined request waits its turn the normal way);
  writing not paused (a client that does not read its answers gets the cycle's wait for the drain, and
  the pipeline's pause of reading); uvicorn's concurrency limit not reached.

The body is kept (`on_body`) until the message is complete (`on_message_complete`); then the route's
handler decides: `FastEvaluate.whole`, the handler the ASGI route runs (app.py `evaluate_start` and
`evaluate_finish`) without the body reading the ASGI route awaits between them. The response goes out
as uvicorn's RequestResponseCycle writes it: the status line, uvicorn's default headers (date), the
handler's headers and `x-request-id` (ServiceMiddleware's, `fastroute.request_id_header`), `connection:
close` when the connection is not kept alive, then the body; one `writelines` (and uvicorn's access log
line, if it writes one). The request metrics, the decision log, the errors (4xx with their codes; an
exception: the app's 500 answer, uvicorn's log line and a close) are the route's. If the body has not
come whole by the end of the `data_received` that completed the headers, the request is handed to the
normal way there and then: uvicorn's cycle and task are made with what was read of the body so far,
and the route's body timeout runs from there. uvicorn's header checks (HEADER_RE) are not repeated:
every header here is the server's own or a request id that passed `fastroute.request_id_header`'s pattern.

tests/test_lane.py sends the same requests to two real servers, with and without the lane, and compares
the bytes on the wire (the date and generated request ids aside).
"""
from __future__ import annotations

import time

import httptools
from slapolicy.service.fastroute import FastEvaluate, LightRequest, _at_once, request_id_header
from starlette.requests import Request
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.protocols.http.httptools_impl import STATUS_LINE
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

_WANTED = {b"content-length", b"transfer-encoding", b"sec-fetch-site", b"content-type", b"x-request-id"}


def lane_of(app) -> FastEvaluate | None:
    """the evaluate route the protocol may answer itself, if `app` is ServiceMiddleware (behind uvicorn's
    proxy-headers middleware or not)"""
    if type(app) is ProxyHeadersMiddleware:
        app = app.app
    fast = getattr(app, "lane", None)
    return fast if isinstance(fast, FastEvaluate) else None


class EvaluateLane:
    """Mixed into uvicorn's HttpToolsProtocol (before it in the MRO); see the module docstring."""

    _lane = None  # [FastEvaluate, scope, body chunks, keep alive, start, policy id, headers] of the request held
    _lane_closed = False  # the lane closed the connection: what follows in the same data is not answered
    _fast = None
    query_problem = None  # hardening.query_problem (set by hardening.protocol_class, which imports this module)

    def connection_made(self, transport):
        super().connection_made(transport)
        self._fast = lane_of(self.app)

    def data_received(self, data):
        super().data_received(data)
        if self._lane is not None:  # the body is not whole yet: the request goes the normal way from here
            self._lane_hand_over()

    def on_headers_complete(self):
        if self._lane_closed:
            return
        fast = self._fast
        if fast is None or not self._lane_take(fast):
            super().on_headers_complete()

    def _lane_take(self, fast: FastEvaluate) -> bool:
        parser = self.parser
        if parser.get_method() != b"POST" or self.root_path or parser.should_upgrade():
            return False
        cycle = self.cycle
        if ((cycle is not None and not cycle.response_complete) or self.pipeline or self.transport.is_closing()
                or self.flow.write_paused):  # a client not reading its answers: the cycle waits for it to drain
            return False
        limit = self.limit_concurrency
        if limit is not None and (len(self.connections) >= limit or len(self.tasks) >= limit):
            return False
        found = {}
        for name, value in self.headers:
            if name in _WANTED and name not in found:
                found[name] = value
        declared = found.get(b"content-length")
        if (declared is None or not declared.isdigit() or int(declared) > fast.body_limit
                or b"transfer-encoding" in found or self.expect_100_continue or fast.whole is None):
            return False
        url = self.url
        target = fast.targets.get(url)
        if target is None:
            target = self._lane_target(fast, url)
            if len(url) <= 512 and len(fast.targets) < 512:  # clients send the same few URLs
                fast.targets[url] = target
        if not target:
            return False
        path, raw_path, query, pid = target
        scope = self.scope
        scope["method"] = "POST"
        version = parser.get_http_version()
        if version != "1.1":
            scope["http_version"] = version
        scope["path"] = path
        scope["raw_path"] = raw_path
        scope["query_string"] = query
        self._lane = [fast, scope, [], version != "1.0" and parser.should_keep_alive(), time.perf_counter(), pid,
                      found]
        return True

    def _lane_target(self, fast: FastEvaluate, url: bytes):
        """(path, raw path, query string, policy id) of an evaluate URL the lane takes, else False"""
        parsed = httptools.parse_url(url)
        path = parsed.path.decode("ascii")
        query = parsed.query or b""
        if "%" in path or self.query_problem(query) is not None:
            return False
        pid = fast.match({"method": "POST", "root_path": "", "path": path})
        return False if pid is None else (path, parsed.path, query, pid)

    def on_body(self, body: bytes):
        lane = self._lane
        if lane is not None:
            lane[2].append(body)
        elif not self._lane_closed and self.cycle is not None:
            super().on_body(body)

    def on_message_complete(self):
        lane = self._lane
        if lane is not None:
            self._lane = None
            self._lane_answer(*lane)
        elif not self._lane_closed and self.cycle is not None:
            super().on_message_complete()

    def _lane_hand_over(self):
        """the held request to uvicorn's cycle and the app, with the body read so far"""
        chunks = self._lane[2]
        self._lane = None
        super().on_headers_complete()
        cycle = self.cycle
        if chunks:
            cycle.body += b"".join(chunks)
            cycle.message_event.set()

    def _lane_answer(self, fast: FastEvaluate, scope, chunks, keep_alive, start, pid, found):
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        header = request_id_header(scope, found.get(b"x-request-id"))
        scope["path_params"] = {"id": pid}
        scope["route"] = fast.route
        failure = None
        try:
            status, headers, payload = fast.whole(LightRequest(scope, None, found), pid, body)
        except Exception as exc:  # as FastEvaluate answers it: the app's 500 handler; logged, then a close
            failure = exc
            done, response = _at_once(fast.on_error(Request(scope), exc))
            if not done:
                response.close()
                raise
            status, headers, payload = response.status_code, response.raw_headers, response.body
        headers.append(header)
        if self.access_log:  # uvicorn's access log line, as the cycle writes it
            self.access_logger.info('%s - "%s %s HTTP/%s" %d', get_client_addr(scope), "POST",
                                    get_path_with_query_string(scope), scope["http_version"], status)
        parts = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            parts += (name, b": ", value, b"\r\n")
        for name, value in headers:
            parts += (name, b": ", value, b"\r\n")
        if not keep_alive:
            parts.append(b"connection: close\r\n")
        parts.append(b"\r\n")
        transport = self.transport
        transport.writelines((b"".join(parts), payload))
        if not keep_alive:
            transport.close()
            self._lane_closed = True
        self.on_response_complete()
        fast.count(status, start)
        if failure is not None:
            self.logger.error("Exception in ASGI application\n", exc_info=failure)
            transport.close()
            self._lane_closed = True
