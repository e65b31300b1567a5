"""HTTP pieces shared by the API (slapolicy.service.app) and the workbench: error answers with stable
codes, JSON in (located errors) and out, query-parameter discipline, evaluation options."""
from __future__ import annotations

import json
import re

import orjson
from slapolicy.api import parse_timestamp
from slapolicy.decide import jsonio
from slapolicy.decide.shared import plain
from slapolicy.language.diagnostics import InputError, TicketError
from starlette.requests import Request
from starlette.responses import Response

DEFAULT_MAX_BODY = 1 << 20  # 1 MiB
JSON = "application/json"
NDJSON = "application/x-ndjson"
NDJSON_TYPES = {"application/x-ndjson", "application/jsonl", "application/x-jsonlines", "application/json-seq"}
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
EVALUATE = "/v1/policies/{id}/evaluate"
EVALUATE_BATCH = "/v1/policies/{id}/evaluate-batch"
CLASSIFY = "/v1/policies/{id}/classify"
POLICY = "/v1/policies/{id}"
RENDER = "/v1/policies/{id}/render"
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
_BOOLEANS = _TRUE | _FALSE


class ApiError(Exception):
    """An error answer: HTTP status, a stable code (the OpenAPI document's ErrorBody lists them) and details."""

    def __init__(self, status: int, code: str, message: str, **extra):
        super().__init__(message)
        self.status = status
        self.body = {"code": code, "message": message, **extra}

    @property
    def code(self):
        return self.body["code"]


# -- JSON in and out ------------------------------------------------------------------------------
def dumps(obj) -> bytes:
    """Compact UTF-8 JSON. orjson: a decision takes ~15 us instead of ~115 us with json (measured), the
    largest cost of a request after the evaluation itself. What orjson refuses (a lone surrogate or an
    integer beyond 64 bits echoed from the input) goes through json, with \\u escapes if need be."""
    try:
        return orjson.dumps(obj)
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(plain(obj), ensure_ascii=True, separators=(",", ":")).encode("ascii")


def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def parse_json(body: bytes, check_text: bool = True):
    """Decode a JSON document within the input limits; ApiError 400 `json-syntax` with line and column
    (1-based), 400 with the limit's code (`input-too-deep`, ...), 422 `invalid-ticket` for text that is
    not Unicode (unless `check_text` is False: a batch checks each item, slapolicy.decide.jsonio)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = body[:exc.start].decode("utf-8", "replace")
        line, col = _line_col(before, len(before))
        raise ApiError(400, "json-syntax", f"the body is not UTF-8 text ({exc.reason})", line=line, column=col) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        return jsonio.loads(text, check_text=check_text)
    except json.JSONDecodeError as exc:
        raise ApiError(400, "json-syntax", exc.msg, line=exc.lineno, column=exc.colno) from None
    except TicketError as exc:  # text that is not Unicode (a lone surrogate), with its field path
        raise ApiError(422, "invalid-ticket", exc.to_json()["message"], problems=exc.to_json()["problems"]) from None
    except InputError as exc:  # beyond an input limit (slapolicy.decide.jsonio)
        raise ApiError(400, exc.code, exc.message, **({"field": exc.field} if exc.field else {}), **exc.extra) from None


# -- query parameters -----------------------------------------------------------------------------
def _query(request: Request, allowed: tuple) -> dict:
    """The query parameters of `allowed`; an unknown or repeated one is a 422 (a typo such as
    `asof` must not silently change a decision, as unknown ticket fields do not). An accepted query string
    is remembered (up to 512: clients send the same few), so a request does not parse it again."""
    raw = request.scope.get("query_string") or b""
    key = (raw, allowed)
    found = _QUERIES.get(key)
    if found is not None:
        return dict(found)
    problems, out = [], {}
    if raw:
        for name in request.query_params.keys():
            values = request.query_params.getlist(name)
            if name not in allowed:
                from slapolicy.language.schema import did_you_mean

                hint = did_you_mean(name, allowed)
                problems.append({"field": name, "message": "unknown query parameter" + (
                    f" (did you mean '{hint}'?)" if hint else f"; allowed: {', '.join(allowed) or 'none'}")})
            elif len(values) > 1:
                problems.append({"field": name, "message": "given more than once"})
            else:
                out[name] = values[0]
    if problems:
        raise ApiError(422, "invalid-parameter", "; ".join(f"{p['field']}: {p['message']}" for p in problems),
                       problems=problems)
    if len(_QUERIES) < 512:
        _QUERIES[key] = dict(out)
    return out


_QUERIES: dict = {}  # (query string, allowed) -> its accepted parameters


def _bad_param(field: str, message: str) -> ApiError:
    return ApiError(422, "invalid-parameter", f"{field}: {message}", problems=[{"field": field, "message": message}])


def _evaluation_options(request: Request, policy) -> dict:
    """The evaluation options of the query string (422 `invalid-parameter` for a bad one). Those of a query
    without `edition`, which depend on nothing else, are remembered (up to 512 query strings, as `_query`)."""
    raw = request.scope.get("query_string") or b""
    found = _OPTIONS.get(raw)
    if found is not None:
        return dict(found)
    q = _query(request, _OPTION_NAMES)
    as_of = None
    if "as_of" in q:
        try:
            as_of = parse_timestamp(q["as_of"])
        except ValueError:
            raise _bad_param("as_of", f"{q['as_of']!r} is not an RFC 3339 timestamp with a UTC offset "
                             "(e.g. 2026-03-10T11:00:00+02:00)") from None
    explain, unknown = _boolean(q, "explain", True), _boolean(q, "unknown_facts", False)
    why_not = _boolean(q, "why_not", True)
    edition = q.get("edition")
    if edition is not None:
        _check_edition(policy, edition)
    options = {"as_of": as_of, "explain": explain, "edition": edition, "unknown_facts": unknown, "why_not": why_not}
    if edition is None and len(_OPTIONS) < 512:
        _OPTIONS[raw] = dict(options)
    return options


_OPTION_NAMES = ("as_of", "explain", "edition", "unknown_facts", "why_not")
_OPTIONS: dict = {}  # query string -> its evaluation options (without `edition`: they depend on nothing else)


def _boolean(q: dict, name: str, default: bool) -> bool:
    if name not in q:
        return default
    value = q[name].strip().lower()
    if value not in _BOOLEANS:
        raise _bad_param(name, f"{q[name]!r} is not a boolean (true or false)")
    return value in _TRUE


def _check_edition(policy, edition: str):
    known = policy.edition_names() + [c.version for _, c in policy.editions] + ["current"]
    if edition not in known:
        raise _bad_param("edition", f"policy '{policy.id}' has no edition '{edition}' "
                         f"(editions: {', '.join(policy.edition_names())})")


def _edition(policy, edition: str | None):
    """The compiled edition named by `edition` (default: the current one)."""
    if edition is None:
        return policy.compiled
    _check_edition(policy, edition)
    compiled, _ = policy.select(None, edition)
    return compiled


def _json_response(obj, status=200, headers=None) -> Response:
    return Response(dumps(obj), status_code=status, media_type=JSON, headers=headers)


def _error_response(exc: ApiError) -> Response:
    return _json_response({"error": exc.body}, exc.status)
