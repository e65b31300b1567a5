"""The OpenAPI 3.1 document of the HTTP service (served as /openapi.json).

Written out rather than derived from models: the bodies are raw JSON / JSON Lines. The ticket
schema is the shipped one (engine/language/schemas/ticket.schema.json, JSON Schema 2020-12, which OpenAPI
3.1 uses as is), so the document follows the vocabulary without being edited.
"""
from __future__ import annotations

import copy


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema, description):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description):
    return _json(_ref("Error"), description)


NULLABLE_STRING = {"type": ["string", "null"]}

DEADLINE = {
    "type": ["object", "null"],
    "description": "`due` is null when the regulation guarantees no time; `not_before` is set for a lower bound",
    "properties": {"due": NULLABLE_STRING, "not_before": NULLABLE_STRING, "target": NULLABLE_STRING,
                   "calendar": NULLABLE_STRING, "source": NULLABLE_STRING},
}

DECISION = {
    "type": "object",
    "description": "The decision (CONTRACT section 3 and docs/evaluation.md), the same JSON as `slapolicy evaluate`.",
    "required": ["ticket", "policy", "eligibility", "tier", "deadlines", "delay_reasons", "explanation"],
    "properties": {
        "ticket": {"type": ["string", "null"]},
        "policy": {"type": "object", "required": ["id", "version", "hash"],
                   "properties": {"id": {"type": "string"}, "version": {"type": "string"},
                                  "hash": {"type": "string", "description": "content hash of the policy text that decided"},
                                  "effective_from": {"type": "string"}, "edition": {"type": "string"},
                                  "edition_chosen": {"type": "string"}}},
        "eligibility": {"type": "object", "required": ["status", "reasons"],
                        "properties": {"status": {"enum": ["in_scope", "out_of_scope", "consultation_only", "not_accepted"]},
                                       "reasons": {"type": "array", "items": {"type": "object"}}}},
        "tier": {"type": ["object", "null"], "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                                                             "source": {"type": "string"}}},
        "deadlines": {"type": "object", "additionalProperties": DEADLINE},
        "delay_reasons": {"type": "array", "items": {"type": "object", "required": ["code"],
                                                     "properties": {"code": {"type": "string"}}}},
        "notices": {"type": "array", "items": {"type": "object"}},
        "billing": {"type": "object"},
        "missing_facts": {"type": "array", "items": {"type": "string"}},
        "assumptions": {"type": "array", "items": {"type": "object"}},
        "as_of": {"type": "string"},
        "explanation": {"type": "array", "items": {"type": "object"}},
        "why_not": {"type": "array", "items": {"type": "object"},
                    "description": "explanation on (and why_not not false): the failing conditions of the tier rules "
                                   "before the chosen one, of each refusal and of an out-of-scope verdict "
                                   "(docs/evaluation.md)"},
        "unknown_facts": {"type": "array", "items": {"type": "object"},
                          "description": "explanation on: the missing facts ranked by what they could change"},
    },
}

ERROR_BODY = {
    "type": "object",
    "required": ["code", "message"],
    "description": "code: json-syntax, invalid-ticket, invalid-batch, invalid-parameter, unknown-policy, not-found, "
                   "method-not-allowed, body-too-large, policy-unavailable, internal-error; beyond the input limits "
                   "(README \"Input limits\"): input-too-large, input-too-deep, input-number-too-large, "
                   "input-string-too-long, query-too-long, too-many-parameters, body-timeout; "
                   "unsupported-media-type, cross-site-request, decision-log-failed",
    "properties": {
        "code": {"type": "string"},
        "message": {"type": "string"},
        "problems": {"type": "array", "description": "invalid-ticket / invalid-parameter: every offending field",
                     "items": {"type": "object", "required": ["field", "message"],
                               "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}},
        "line": {"type": "integer", "description": "json-syntax: 1-based line of the body"},
        "column": {"type": "integer", "description": "json-syntax: 1-based column"},
        "limit": {"type": "number", "description": "body-too-large and the input limits: the limit (bytes, "
                                                   "characters, levels, digits or seconds)"},
        "field": {"type": "string", "description": "the input limits: the field path, when there is one"},
        "diagnostics": {"type": "array", "items": {"type": "object"},
                        "description": "policy-unavailable: the checker's diagnostics (file, line, col, code, message)"},
    },
}

ITEM_ERROR = {
    "type": "object",
    "description": "A batch item that could not be decided, in its place: `index` (0-based) for a JSON list, "
                   "`line` (1-based) for JSON Lines",
    "required": ["error"],
    "properties": {"index": {"type": "integer"}, "line": {"type": "integer"}, "error": _ref("ErrorBody")},
}

POLICY_SUMMARY = {
    "type": "object",
    "required": ["id", "title", "version", "hash"],
    "properties": {
        "id": {"type": "string"}, "title": {"type": "string"}, "version": {"type": "string"},
        "effective_from": NULLABLE_STRING, "hash": {"type": "string"},
        "stale": {"type": "boolean", "description": "a newer file on disk was refused; this version still serves"},
        "editions": {"type": "array", "items": {"type": "object"}},
    },
}

POLICY_ID = {"name": "id", "in": "path", "required": True, "description": "policy id (a file <id>.yaml of the served directory)",
             "schema": {"type": "string", "pattern": "^[A-Za-z0-9_\\-]+$"}}
AS_OF = {"name": "as_of", "in": "query", "required": False,
         "description": "evaluation time for lifecycle / clock questions, RFC 3339 with offset (default: now)",
         "schema": {"type": "string", "format": "date-time"}}
EXPLAIN = {"name": "explain", "in": "query", "required": False,
           "description": "include the explanation (rules fired, facts, assumptions); default true",
           "schema": {"type": "boolean", "default": True}}
UNKNOWN_FACTS = {"name": "unknown_facts", "in": "query", "required": False,
                 "description": "with the explanation: also unknown_facts, the missing facts ranked by what they could "
                                "change (it decides the ticket again per value tried); default false",
                 "schema": {"type": "boolean", "default": False}}
WHY_NOT = {"name": "why_not", "in": "query", "required": False,
           "description": "with the explanation: also why_not, the failing conditions and the nearest change of facts "
                          "(most of an explained decision's cost); default true",
           "schema": {"type": "boolean", "default": True}}
EDITION = {"name": "edition", "in": "query", "required": False,
           "description": "force an edition (its effective_from date, or 'current'); default: the one in force at created_at",
           "schema": {"type": "string"}}

CLASSIFICATION = {
    "type": "object",
    "description": "The decision's eligibility status and tier id, nothing else (docs/contract.md \"classify\")",
    "required": ["ticket", "status", "tier"],
    "additionalProperties": False,
    "properties": {"ticket": {"type": ["string", "null"]},
                   "status": {"enum": ["in_scope", "out_of_scope", "consultation_only", "not_accepted", None]},
                   "tier": NULLABLE_STRING},
}

EVALUATION_ERRORS = {
    "400": _error("the body is not valid JSON (`json-syntax`, with line and column), or beyond an input limit "
                  "(`input-too-deep`, `input-number-too-large`, ...; README \"Input limits\")"),
    "403": _error("a browser's cross-site request (`cross-site-request`)"),
    "404": _error("unknown policy"),
    "408": _error("the body did not arrive within --body-timeout (`body-timeout`)"),
    "413": _error("the body is larger than the limit (--max-body-bytes)"),
    "415": _error("a Content-Type other than JSON or JSON Lines (`unsupported-media-type`)"),
    "422": _error("a ticket that violates the vocabulary (`invalid-ticket`, every field path), or a bad query parameter"),
    "503": _error("the policy's file failed its check and no earlier version was loaded, or the decision log "
                  "cannot be written (`decision-log-failed`)"),
}


def _monitor_paths() -> dict:
    """The live monitor's endpoints (`slapolicy serve --store URL`; engine/service/monitor_routes.py)."""
    disabled = {"404": _error("`monitor-disabled`: the server runs without --store (or `unknown-ticket`)")}
    outcome = {"type": "object", "properties": {
        "line": {"type": "integer"}, "status": {"enum": ["applied", "duplicate"]}, "ticket": {"type": "string"},
        "alerts": {"type": "array", "items": {"type": "string"}, "description": "ids of the alerts the event produced"},
        "error": _ref("ErrorBody")}}
    event = {"type": "object", "required": ["type"], "description":
             "`{\"type\": \"created\", \"ticket\": {...}, \"policy\"?: ID}` or `{\"ticket\": ID, \"type\": EVENT, "
             "\"at\": ..., \"event_id\"?: ...}` (docs/lifecycle.md, docs/monitor.md)"}
    return {
        "/v1/events": {"post": {
            "operationId": "applyEvents",
            "summary": "Apply ticket events to the monitor's store",
            "description": "One event (application/json) or JSON Lines (application/x-ndjson), applied as "
                           "`slapolicy watch --store` applies them: one transaction per event with the alerts it "
                           "produces, idempotent by `event_id` (else a hash of the content); order per ticket.",
            "parameters": [{"name": "policy", "in": "query", "required": False, "schema": {"type": "string"},
                            "description": "the policy a `created` event without a `policy` field starts under"}],
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": event},
                "application/x-ndjson": {"schema": {"type": "array", "items": event}}}},
            "responses": {
                "200": {"description": "the outcome (JSON), or one outcome or error per line (JSON Lines)",
                        "headers": {"X-Items-Failed": {"schema": {"type": "integer"}}},
                        "content": {"application/json": {"schema": outcome},
                                    "application/x-ndjson": {"schema": {"type": "array", "items": outcome}}}},
                "400": _error("not JSON (`json-syntax`, `input-too-deep`, `input-number-too-large`)"),
                "415": _error("a Content-Type other than application/json or application/x-ndjson"),
                "422": _error("an event refused: `invalid-event`, `unknown-ticket`, `out-of-order`, "
                              "`duplicate-ticket`, `unknown-policy`"),
                "413": _error("the body is larger than the limit"), **disabled},
        }},
        "/v1/tickets/{id}/clocks": {"get": {
            "operationId": "ticketClocks",
            "summary": "A ticket's SLA clocks from the monitor's store",
            "description": "The `lifecycle` block `evaluate --as-of` gives for the ticket's stored events, with the "
                           "policy and the pinned edition (its content hash).",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}, AS_OF],
            "responses": {"200": _json({"type": "object", "required": ["ticket", "policy", "edition", "lifecycle"],
                                        "properties": {"ticket": {"type": "string"}, "policy": {"type": "string"},
                                                       "edition": {"type": "string"},
                                                       "last_event_at": NULLABLE_STRING,
                                                       "lifecycle": {"type": "object"}}}, "the clocks"),
                          "409": _error("`unknown-edition`: the pinned edition is neither loaded nor kept"),
                          "422": _error("a bad query parameter"), **disabled},
        }},
        "/v1/at-risk": {"get": {
            "operationId": "atRisk",
            "summary": "Open clocks nearest to breach",
            "parameters": [{"name": "within", "in": "query", "required": False,
                            "schema": {"type": "string", "default": "2h", "pattern": "^[0-9.]+(s|m|h|d)$"}},
                           {"name": "limit", "in": "query", "required": False,
                            "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}}],
            "responses": {"200": _json({"type": "object", "properties": {
                "now": {"type": "string"}, "within_seconds": {"type": "integer"},
                "clocks": {"type": "array", "items": {"type": "object", "properties": {
                    "ticket": {"type": "string"}, "target": {"type": "string"}, "due": {"type": "string"},
                    "remaining_seconds": {"type": "integer"}, "next_alert": NULLABLE_STRING,
                    "next_at": NULLABLE_STRING}}}}}, "the clocks due within the window, nearest first"),
                "422": _error("a bad query parameter"), **disabled},
        }},
    }


def openapi_document() -> dict:
    from slapolicy import __version__
    from slapolicy.language.schema import schema_json

    ticket = copy.deepcopy(schema_json("ticket"))
    ticket.pop("$schema", None)
    ticket.pop("$id", None)
    paths = {
        "/v1/policies/{id}/evaluate": {"post": {
            "operationId": "evaluate",
            "summary": "Decide one ticket",
            "description": "One ticket (JSON object) in, one decision out: the same JSON as `slapolicy evaluate`.",
            "parameters": [POLICY_ID, AS_OF, EXPLAIN, UNKNOWN_FACTS, WHY_NOT, EDITION],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("Ticket")}}},
            "responses": {"200": _json(_ref("Decision"), "the decision"), **EVALUATION_ERRORS},
        }},
        "/v1/policies/{id}/evaluate-batch": {"post": {
            "operationId": "evaluateBatch",
            "summary": "Decide many tickets",
            "description": "A JSON list of tickets -> a JSON list of the same length; or JSON Lines "
                           "(Content-Type: application/x-ndjson) -> JSON Lines, one line out per line in. A ticket "
                           "that cannot be decided yields `{\"index\"|\"line\": N, \"error\": {...}}` in its place; "
                           "nothing is dropped, the order is kept. Header X-Items-Failed counts them.",
            "parameters": [POLICY_ID, AS_OF, EXPLAIN, UNKNOWN_FACTS, WHY_NOT, EDITION],
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": {"type": "array", "items": _ref("Ticket")}},
                "application/x-ndjson": {"schema": {"type": "array", "items": _ref("Ticket"),
                                                    "description": "JSON Lines: one ticket (JSON object) per line"}},
            }},
            "responses": {
                "200": {"description": "one decision or item error per ticket, in order",
                        "headers": {"X-Items-Failed": {"schema": {"type": "integer"}}},
                        "content": {"application/json": {"schema": {"type": "array", "items": {
                                        "anyOf": [_ref("Decision"), _ref("ItemError")]}}},
                                    "application/x-ndjson": {"schema": {
                                        "type": "array", "items": {"anyOf": [_ref("Decision"), _ref("ItemError")]},
                                        "description": "JSON Lines: one decision or item error per line"}}}},
                **EVALUATION_ERRORS,
                "422": _error("the body is not a JSON list (`invalid-batch`), or a bad query parameter"),
            },
        }},
        "/v1/policies/{id}/classify": {"post": {
            "operationId": "classify",
            "summary": "The eligibility status and tier of one ticket (not a decision)",
            "description": "One ticket (JSON object) in, `{ticket, status, tier}` out: the decision's "
                           "eligibility status and tier id, from the answer-only function (acceptance stops at "
                           "the first refusal). NOT a decision: no reasons, no missing facts, no deadlines; "
                           "ask /evaluate for those. The ticket is validated as /evaluate validates it.",
            "parameters": [POLICY_ID, EDITION],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("Ticket")}}},
            "responses": {"200": _json(_ref("Classification"), "the status and the tier id"), **EVALUATION_ERRORS},
        }},
        "/v1/policies": {"get": {
            "operationId": "listPolicies",
            "summary": "The policies served",
            "responses": {"200": _json({"type": "object", "required": ["policies"], "properties": {
                "policies": {"type": "array", "items": _ref("PolicySummary")}}}, "the policies")},
        }},
        "/v1/policies/{id}": {"get": {
            "operationId": "getPolicy",
            "summary": "A policy as JSON (its data, as written in the YAML file)",
            "parameters": [POLICY_ID, EDITION],
            "responses": {"200": _json({"type": "object"}, "the policy data"),
                          "404": _error("unknown policy"), "422": _error("a bad query parameter"),
                          "503": EVALUATION_ERRORS["503"]},
        }},
        "/v1/policies/{id}/render": {"get": {
            "operationId": "renderPolicy",
            "summary": "A policy as a readable HTML page",
            "parameters": [POLICY_ID, EDITION],
            "responses": {"200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}},
                          "404": _error("unknown policy"), "422": _error("a bad query parameter"),
                          "503": EVALUATION_ERRORS["503"]},
        }},
        "/healthz": {"get": {
            "operationId": "healthz", "summary": "Liveness: the process answers",
            "responses": {"200": _json({"type": "object", "required": ["status"]}, "alive")},
        }},
        "/readyz": {"get": {
            "operationId": "readyz",
            "summary": "Readiness: every policy file on disk is the one served",
            "description": "503 while a policy file is refused by the checker (the last good version keeps "
                           "serving; `reasons` and `refused` say which file, line, column and why), while the "
                           "directory cannot be read, or when it holds no policy.",
            "responses": {"200": _json(_ref("Readiness"), "ready"), "503": _json(_ref("Readiness"), "not ready, and why")},
        }},
        "/metrics": {"get": {
            "operationId": "metrics", "summary": "Prometheus metrics (text format)",
            "responses": {"200": {"description": "metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}},
        }},
        "/openapi.json": {"get": {
            "operationId": "openapi", "summary": "This document",
            "responses": {"200": _json({"type": "object"}, "the OpenAPI document")},
        }},
    }
    paths.update(_monitor_paths())
    return {
        "openapi": "3.1.0",
        "info": {"title": "slapolicy", "version": __version__,
                 "description": "Support regulations (SLA documents) as checked, compiled policies: a ticket in, "
                                "a decision out (eligibility, tier, deadlines, delay reasons), explained."},
        "paths": paths,
        "components": {"schemas": {
            "Ticket": ticket, "Decision": DECISION, "Classification": CLASSIFICATION, "ItemError": ITEM_ERROR, "PolicySummary": POLICY_SUMMARY,
            "ErrorBody": ERROR_BODY,
            "Error": {"type": "object", "required": ["error"], "properties": {"error": _ref("ErrorBody")}},
            "Readiness": {"type": "object", "required": ["status", "reasons"], "properties": {
                "status": {"enum": ["ready", "not_ready"]}, "reasons": {"type": "array", "items": {"type": "string"}},
                "policies": {"type": "object"}, "refused": {"type": "array", "items": {"type": "object"}},
                "pending": {"type": "array", "items": {"type": "object"}, "description": "files changed on disk and "
                            "not yet standing still: swapped in once they are the same over two polls"},
                "checked_at": {"type": "string"}}},
        }},
    }
