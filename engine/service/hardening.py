"""What keeps the service up against slow, hostile or confused clients (README "Input limits").

* Slow clients: uvicorn times out an idle keep-alive connection (`timeout_keep_alive`) but waits for
  ever for the headers of a request: `protocol_class` closes a connection whose request headers are
  not complete `header_timeout` seconds after it opened (or after its previous response); the body of
  a request must arrive within `body_timeout` seconds (Service.read_body: 408 `body-timeout`);
  `limit_concurrency` answers 503 beyond that many connections; a request line and headers larger than
  `MAX_HEADER_BYTES` close the connection (httptools, uvicorn's parser when installed, has no limit of
  its own; h11's is set to the same). httptools refuses URLs of 64 KiB or more (400).
* The query string: at most MAX_QUERY_BYTES (414 `query-too-long`) and MAX_QUERY_PARAMS parameters
  (400 `too-many-parameters`), checked on the raw bytes before anything parses them.
* Cross-site requests: a POST to the API must be JSON (`application/json`, `+json`) or one of the JSON
  Lines types, or have no Content-Type; text/plain and form types, which a page on another site can
  send without a CORS preflight, are 415 `unsupported-media-type`; and a browser's
  `Sec-Fetch-Site: cross-site` is 403 `cross-site-request`. The workbench's form POST must come from
  the same origin (`same_origin`: Sec-Fetch-Site, else Origin against the base URL or the request's own
  address); a client that sends neither header (curl, scripts) is not a browser and passes.
* Share links are built from the configured base URL (`serve --base-url`; default from the bind
  address), never from the request's Host header.
"""
from __future__ import annotations

import socket
import urllib.parse

from slapolicy.service.http import JSON, NDJSON_TYPES, ApiError

MAX_QUERY_BYTES = 62 * 1024  # a share link carries its ticket in the query; httptools refuses URLs over 64 KiB
MAX_QUERY_PARAMS = 32
MAX_HEADER_BYTES = MAX_QUERY_BYTES + 32 * 1024  # the request line and headers: a query at the limit still gets its 414
DEFAULTS = {"timeout_keep_alive": 5.0, "header_timeout": 10.0, "body_timeout": 30.0, "limit_concurrency": 1000}


def query_problem(query_string: bytes) -> ApiError | None:
    """The refusal of an oversized query string, or None (cheap: no parsing)."""
    if len(query_string) > MAX_QUERY_BYTES:
        return ApiError(414, "query-too-long", f"the query string has {len(query_string)} bytes; the limit is "
                        f"{MAX_QUERY_BYTES}", limit=MAX_QUERY_BYTES)
    if query_string.count(b"&") + query_string.count(b";") + 1 > MAX_QUERY_PARAMS:
        return ApiError(400, "too-many-parameters", f"more than {MAX_QUERY_PARAMS} query parameters",
                        limit=MAX_QUERY_PARAMS)
    return None


def check_api_post(request, allowed: tuple) -> None:
    """ApiError for a POST a page on another site could have sent (see the module docstring)."""
    site = request.headers.get("sec-fetch-site")
    if site == "cross-site":
        raise ApiError(403, "cross-site-request", "a cross-site request from a browser is not accepted")
    declared = request.headers.get("content-type")
    if declared is None:
        return
    kind = declared.split(";")[0].strip().lower()
    if kind in allowed or (JSON in allowed and kind.startswith("application/") and kind.endswith("+json")):
        return
    raise ApiError(415, "unsupported-media-type", f"Content-Type {kind or declared!r} is not accepted here; send "
                   f"{' or '.join(allowed)}", accepted=list(allowed))


API_TYPES = (JSON,)
BATCH_TYPES = (JSON, *sorted(NDJSON_TYPES))


def same_origin(request, base_url: str | None) -> bool:
    """True if a browser's form POST comes from this site (Sec-Fetch-Site, else Origin), or from no browser."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        return True
    if origin == "null":
        return False
    allowed = set()
    if base_url:
        u = urllib.parse.urlsplit(base_url)
        allowed.add(f"{u.scheme}://{u.netloc}".lower())
    host = request.headers.get("host")
    if host:  # the browser writes Host; a page elsewhere cannot make it match its own Origin
        allowed.add(f"{request.url.scheme}://{host}".lower())
    return origin.lower().rstrip("/") in allowed


def default_base_url(host: str, port: int) -> str:
    """The base URL of share links when none is configured: the bind address (a wildcard address: this
    machine's name)."""
    if host in ("0.0.0.0", "::", ""):
        host = socket.getfqdn()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def protocol_class(header_timeout: float, lane: bool = True):
    """uvicorn's HTTP protocol (httptools when installed, else h11), closing connections whose request
    headers do not arrive in time; with httptools, each response's head goes out with its body
    (slapolicy.service.wire), and (`lane`) POST /v1/policies/{id}/evaluate is answered in the protocol
    (slapolicy.service.lane)."""
    import importlib.util

    from slapolicy.service.wire import HeadHolder

    holder = None  # h11 (httptools not installed): its two writes are left as they are
    if importlib.util.find_spec("httptools"):
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as Base

        holder = HeadHolder
    else:
        from uvicorn.protocols.http.h11_impl import H11Protocol as Base

    class TimedProtocol(Base):
        _header_timer = None

        _header_bytes = 0

        def _arm(self):
            self._disarm()
            self._header_bytes = 0
            self._header_timer = self.loop.call_later(header_timeout, self._header_timeout)

        def data_received(self, data):
            if self.cycle is None or self.cycle.response_complete:  # still reading a request's headers
                self._header_bytes += len(data)
                if self._header_bytes > MAX_HEADER_BYTES:  # httptools has no limit of its own
                    self.transport.close()
                    return
            super().data_received(data)

        def _disarm(self):
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _header_timeout(self):
            self._header_timer = None
            # no request in progress: the client has not finished sending headers (or anything at all)
            if self.cycle is None or self.cycle.response_complete:
                if not self.transport.is_closing():
                    self.transport.close()

        if holder is not None:
            def on_headers_complete(self):
                super().on_headers_complete()
                cycle = self.cycle  # a new cycle: its head and body in one write (slapolicy.service.wire)
                if cycle is not None and cycle.transport is self.transport:
                    cycle.transport = holder(self.transport, cycle, self.loop)

        def connection_made(self, transport):
            super().connection_made(transport)
            self._arm()

        def on_response_complete(self):
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()

        def connection_lost(self, exc):
            self._disarm()
            super().connection_lost(exc)

    if holder is None or not lane:
        return TimedProtocol
    from slapolicy.service.lane import EvaluateLane

    class LaneProtocol(EvaluateLane, TimedProtocol):  # POST .../evaluate answered in the protocol
        query_problem = staticmethod(query_problem)

    return LaneProtocol


def server_config(app, host="127.0.0.1", port=8080, *, timeout_keep_alive=DEFAULTS["timeout_keep_alive"],
                  header_timeout=DEFAULTS["header_timeout"], limit_concurrency=DEFAULTS["limit_concurrency"],
                  lane=True, **kwargs):
    """The uvicorn.Config of `slapolicy serve` (and of the tests' live servers), with the limits above
    (`lane`: the evaluate route inside the protocol, slapolicy.service.lane; False only to compare)."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, http=protocol_class(header_timeout, lane),
                          timeout_keep_alive=timeout_keep_alive, limit_concurrency=limit_concurrency,
                          h11_max_incomplete_event_size=MAX_HEADER_BYTES, server_header=False, **kwargs)
