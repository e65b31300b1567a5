"""Stage 2: validate loaded policy data against the policy JSON Schema (draft 2020-12).

Every schema error becomes a diagnostic at the position of the offending value, with a short
message a support lead can act on ("unknown key 'whne' (did you mean 'when'?)").
"""
from __future__ import annotations

import difflib
import json
from functools import lru_cache
from importlib import resources

from slapolicy.language.diagnostics import Diagnostic
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # not imported at run time: it brings PyYAML, which a cached start does not need
    from slapolicy.language.load import Loaded


@lru_cache(maxsize=None)
def schema_json(name: str) -> dict:
    """The shipped schema `name` ("policy" or "ticket") as a dict."""
    text = resources.files("slapolicy.language").joinpath("schemas", f"{name}.schema.json").read_text("utf-8")
    return json.loads(text)


@lru_cache(maxsize=None)
def validator(name: str):
    import jsonschema

    schema = schema_json(name)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def did_you_mean(word: str, choices, cutoff: float = 0.6) -> str | None:
    match = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=cutoff)
    return match[0] if match else None


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
        desc = err.schema.get("description")
        return path, f"{where}: {err.instance!r} is not valid" + (f": expected {desc}" if desc else "")
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
