"""Stage 2: validate loaded policy data against the policy JSON Schema (draft 2020-12).

Every schema error becomes a diagnostic at the position of the offending value, with a short
message a support lead can act on ("unknown key 'whne' (did you mean 'when'?)").
"""
from __future__ import annotations

import json
import os
from functools import lru_cache

from slapolicy.language.diagnostics import Diagnostic
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # not imported at run time: it brings PyYAML, which a cached start does not need
    from slapolicy.language.load import Loaded


@lru_cache(maxsize=None)
def schema_json(name: str) -> dict:
    """The shipped schema `name` ("policy" or "ticket") as a dict."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemas", f"{name}.schema.json")
    try:  # the package's own directory (not importlib.resources: it costs a start ~7 ms)
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:  # a package that is not plain files (a zip)
        from importlib import resources

        text = resources.files("slapolicy.language").joinpath("schemas", f"{name}.schema.json").read_text("utf-8")
    return json.loads(text)


@lru_cache(maxsize=None)
def validator(name: str):
    import jsonschema

    schema = schema_json(name)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def did_you_mean(word: str, choices, cutoff: float = 0.6) -> str | None:
    import difflib

    match = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=cutoff)
    return match[0] if match else None


# A pattern failure is told in words, never as the regular expression (schemas/*.json keep the patterns).
PATTERN_MESSAGES = {
    "^[a-z][a-z0-9_\\-]*$": "an id: lower-case letters, digits, '_' and '-', starting with a letter (e.g. support-hours)",
    "^[a-z0-9][a-z0-9_\\-]*$": "a value of lower-case letters, digits, '_' and '-' (e.g. hardware_failure)",
    "^[a-z0-9_\\-]+$": "lower-case letters, digits, '_' and '-' only (e.g. business)",
    "^[a-z0-9]+$": "lower-case letters and digits only (e.g. png)",
    "^[a-z_]+$": "lower-case letters and '_' only",
    "^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)*$": "a dotted field path of lower-case names (e.g. customer.plan)",
    "^\\d{4}-\\d{2}-\\d{2}$": "a date YYYY-MM-DD (e.g. 2026-03-10)",
    "^\\d{4}-\\d{2}-\\d{2}[Tt]\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?([Zz]|[+-]\\d{2}:\\d{2})$":
        "an RFC 3339 timestamp with a UTC offset (e.g. 2026-03-10T11:00:00+02:00)",
    "^(mon|tue|wed|thu|fri|sat|sun)([-,](mon|tue|wed|thu|fri|sat|sun))*$":
        "days: mon..sun, a range (mon-fri) or a list (sat,sun)",
    "^\\s*\\d+(\\.\\d+)?\\s+((business|working)\\s+)?(minute|minutes|hour|hours|day|days)\\s*$":
        "a duration: a number, optionally 'business', then minutes, hours or days (e.g. '3 business hours', '14 days')",
    "^\\s*[a-z_]+\\s+within\\s+.+$": "'<event> within <duration>' (e.g. 'customer_replied within 3 business days')",
}


def pattern_message(schema: dict) -> str:
    """What a string that fails `schema`'s pattern should look like, in words."""
    return PATTERN_MESSAGES.get(schema.get("pattern")) or schema.get("description") or "text of another form"


def describe_error(err) -> tuple[list, str]:
    """(path, message) for one jsonschema error; the path may point below the error's own path."""
    path = list(err.absolute_path)
    where = ".".join(str(p) for p in path) or "(top level)"
    v = err.validator
    if v == "additionalProperties":
        allowed = list((err.schema.get("properties") or {}).keys())
        extra = [k for k in err.instance if k not in allowed] if isinstance(err.instance, dict) else []
        if extra:
            key = extra[0]
            hint = did_you_mean(key, allowed)
            msg = f"unknown key '{key}' in {where}" + (f" (did you mean '{hint}'?)" if hint else
                                                        f"; allowed: {', '.join(allowed)}")
            return path + [key, "#key"], msg
    if v == "required":
        return path, f"{where}: {err.message}"
    if v == "enum":
        hint = did_you_mean(err.instance, err.validator_value)
        choices = ", ".join(map(str, err.validator_value))
        if len(choices) > 160:
            choices = choices[:157] + "..."
        return path, f"{where}: {err.instance!r} is not allowed" + (
            f" (did you mean '{hint}'?)" if hint else f"; expected one of: {choices}")
    if v == "oneOf" and isinstance(err.instance, dict) and "within" in str(err.schema):
        return path, f"{where}: a target needs exactly one of 'within', 'from', 'no_guarantee'"
    if v == "pattern":
        return path, f"{where}: {err.instance!r} is not valid: expected {pattern_message(err.schema)}"
    near = [e for e in err.context or () if e.validator not in ("type", "const", "enum") or e.relative_path]
    if v in ("oneOf", "anyOf") and near:  # the branch of the value's own type tells what is wrong in it
        import jsonschema

        return describe_error(jsonschema.exceptions.best_match(near))
    if v == "propertyNames":
        return path, f"{where}: {err.message}"
    return path, f"{where}: {err.message}"


def validate_policy(loaded: Loaded) -> list[Diagnostic]:
    out = []
    for err in validator("policy").iter_errors(loaded.data):
        path, msg = describe_error(err)
        span = loaded.key_span(tuple(path[:-1])) if path and path[-1] == "#key" else loaded.span(tuple(path))
        out.append(Diagnostic("schema", msg, span))
    return out
