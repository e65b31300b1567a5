"""The workbench's ticket form and shareable URL (engine/service/workbench/ uses them).

* The ticket travels in a URL as base64url JSON without padding: `encode_ticket` / `decode_ticket`.
* The form is generated from the ticket JSON Schema (`engine/language/schemas/ticket.schema.json`): enums as
  selects, booleans as tri-state selects (unknown / true / false: a missing fact means unknown,
  CONTRACT 2), integers and dates as typed inputs, timestamps as a local date-time plus a time zone
  (IANA name or offset), lists as JSON. A blank field is unknown and left out of the ticket; `""`
  typed in a text field is the empty string. `form_values(ticket)` and `ticket_from_form(fields)`
  are inverses for every valid ticket (tested on the bundled policies' test tickets).
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
import urllib.parse
import zoneinfo
from functools import lru_cache

__all__ = ["encode_ticket", "decode_ticket", "share_query", "Field", "form_fields", "GROUPS", "ticket_from_form",
           "form_values", "ordered", "EMPTY", "MAX_TICKET_CHARS"]

MAX_TICKET_CHARS = 64 * 1024  # the encoded ticket in a URL
EMPTY = '""'  # typed in a text field: the empty string (a blank field means unknown: left out of the ticket)
# A text typed in double quotes is a JSON string: "" is the empty string, "   " keeps its blanks (a field of
# spaces is a value, not unknown; the form strips unquoted text).
_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")


# -- the ticket in a URL ---------------------------------------------------------------------------
def encode_ticket(ticket) -> str:
    """base64url (no padding) of the compact UTF-8 JSON of the ticket."""
    raw = json.dumps(ticket, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_ticket(text: str):
    """The ticket of a shareable URL; ValueError with a readable message when it is damaged."""
    text = (text or "").strip()
    if len(text) > MAX_TICKET_CHARS:
        raise ValueError(f"the ticket in the link is longer than {MAX_TICKET_CHARS} characters")
    from slapolicy.decide import jsonio
    from slapolicy.language.diagnostics import InputError, TicketError

    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return jsonio.loads(raw.decode("utf-8"))  # the input limits of every reader
    except (InputError, TicketError) as exc:
        raise ValueError(f"the ticket in the link is refused: {exc}") from None
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"the ticket in the link is damaged (not base64url JSON: {exc})") from None


def share_query(policy_id, ticket, edition=None, as_of=None, target=None, tz=None) -> str:
    params = {"policy": policy_id, "ticket": encode_ticket(ticket)}
    if edition:
        params["edition"] = edition
    if as_of:
        params["as_of"] = as_of
    if target:
        params["target"] = target
    if tz:
        params["tz"] = tz
    return urllib.parse.urlencode(params)


# -- the form, generated from the ticket JSON Schema ------------------------------------------------
class Field:
    __slots__ = ("path", "kind", "options", "required", "description", "minimum", "maximum", "group")

    def __init__(self, path, kind, options=(), required=False, description="", minimum=None, maximum=None, group=""):
        self.path, self.kind, self.options, self.required = path, kind, tuple(options), required
        self.description, self.minimum, self.maximum, self.group = description, minimum, maximum, group

    @property
    def name(self) -> str:
        return ".".join(self.path)


def _kind(node: dict) -> str:
    if "enum" in node:
        return "enum"
    kind = node.get("type")
    if kind == "string":
        return {"date": "date", "date-time": "datetime"}.get(node.get("format"), "string")
    return {"boolean": "boolean", "integer": "integer", "number": "number", "array": "json", "object": "object"}.get(kind, "json")


def form_fields(vocabulary=None) -> tuple:
    """The form's fields in schema order, grouped: ticket, customer, facts, registration form, lists.
    `vocabulary`: the policy's (CompiledPolicy.vocabulary), with the fields and values it adds."""
    return _form_fields(vocabulary.key if vocabulary is not None and vocabulary.key else "", vocabulary)


_extended_forms: dict = {}


def _form_fields(key, vocabulary):
    if not key:
        return _base_form_fields()
    hit = _extended_forms.get(key)
    if hit is None:
        if len(_extended_forms) > 64:
            _extended_forms.clear()
        hit = _extended_forms[key] = _fields_of(vocabulary.schema)
    return hit


@lru_cache(maxsize=1)
def _base_form_fields() -> tuple:
    from slapolicy.language.schema import schema_json

    return _fields_of(schema_json("ticket"))


def _fields_of(schema) -> tuple:
    out = []

    def walk(node, prefix, required, group):
        for key, sub in (node.get("properties") or {}).items():
            path = prefix + (key,)
            kind = _kind(sub)
            if kind == "object":
                walk(sub, path, set(sub.get("required") or ()), "customer" if path[0] == "customer" else "form")
                continue
            g = group
            if not prefix:
                g = "facts" if kind == "boolean" else "lists" if kind == "json" else "ticket"
            out.append(Field(path, kind, sub.get("enum") or (), key in required and all(p in ("customer",) for p in prefix),
                             sub.get("description") or "", sub.get("minimum"), sub.get("maximum"), g))

    walk(schema, (), set(schema.get("required") or ()), "ticket")
    return tuple(out)


GROUPS = (("ticket", "Ticket"), ("customer", "Customer"), ("facts", "Facts (unknown unless set)"),
          ("form", "Registration form"), ("lists", "Lists (JSON)"))


def _get(ticket, path):
    cur = ticket
    for p in path:
        if not isinstance(cur, dict) or p not in cur:
            return None
        cur = cur[p]
    return cur


def _put(ticket: dict, path, value):
    cur = ticket
    for p in path[:-1]:
        cur = cur.setdefault(p, {})
    cur[path[-1]] = value


def _zone_or_offset(text: str, default_tz):
    """An IANA zone name or a UTC offset (+03:00, Z, UTC) -> tzinfo; ValueError otherwise."""
    text = (text or "").strip()
    if not text:
        return default_tz
    if text.upper() in ("Z", "UTC"):
        return dt.timezone.utc
    m = _OFFSET.match(text)
    if m:
        sign, hh, mm = m.groups()
        delta = dt.timedelta(hours=int(hh), minutes=int(mm))
        if delta >= dt.timedelta(hours=24):
            raise ValueError(f"'{text}' is not a UTC offset")
        return dt.timezone(-delta if sign == "-" else delta)
    try:
        return zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"'{text}' is neither an IANA time zone (Europe/Moscow) nor an offset (+03:00)") from None


def _split_timestamp(value, policy_tz):
    """A ticket timestamp -> (local 'YYYY-MM-DDTHH:MM[:SS]', zone text) for the form."""
    if not isinstance(value, str) or not value:
        return "", ""
    try:
        t = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return value, ""
    if t.tzinfo is None:
        return t.isoformat(), ""
    local = t.replace(tzinfo=None).isoformat(timespec="seconds")  # as the decision writes instants
    if policy_tz is not None and t.astimezone(policy_tz).utcoffset() == t.utcoffset():
        return local, policy_tz.key
    off = t.utcoffset()
    if off == dt.timedelta(0):
        return local, "UTC"
    minutes = int(off.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return local, f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def ticket_from_form(form: dict, policy_tz, vocabulary=None) -> tuple[dict, dict]:
    """(ticket, errors by field name) from the posted form fields; empty means unknown (left out)."""
    ticket, errors = {}, {}
    for f in form_fields(vocabulary):
        raw = (form.get(f.name) or "").strip()
        if f.kind == "datetime":
            if not raw:
                continue
            try:
                local = dt.datetime.fromisoformat(raw)
            except ValueError:
                errors[f.name] = f"'{raw}' is not a date and time (YYYY-MM-DDTHH:MM)"
                continue
            if local.tzinfo is None:
                try:
                    tz = _zone_or_offset(form.get(f.name + "@tz", ""), policy_tz)
                except ValueError as exc:
                    errors[f.name] = str(exc)
                    continue
                local = local.replace(tzinfo=tz)
            _put(ticket, f.path, local.isoformat(timespec="seconds" if not local.microsecond else "microseconds"))
            continue
        if not raw:
            continue
        if f.kind == "boolean":
            if raw not in ("true", "false"):
                errors[f.name] = f"'{raw}' is not true, false or unknown"
                continue
            _put(ticket, f.path, raw == "true")
        elif f.kind in ("integer", "number"):
            try:
                _put(ticket, f.path, int(raw) if f.kind == "integer" else float(raw))
            except ValueError:
                errors[f.name] = f"'{raw}' is not {'an integer' if f.kind == 'integer' else 'a number'}"
        elif f.kind == "json":
            from slapolicy.decide import jsonio
            from slapolicy.language.diagnostics import InputError, TicketError

            try:
                value = jsonio.loads(raw)
            except json.JSONDecodeError as exc:
                errors[f.name] = f"not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
                continue
            except (InputError, TicketError) as exc:
                errors[f.name] = str(exc)
                continue
            _put(ticket, f.path, value)
        else:
            _put(ticket, f.path, _unquoted(raw))
    return ordered(ticket, vocabulary), errors


def ordered(ticket: dict, vocabulary=None) -> dict:
    """Keys in the schema's order (the shared URL and the JSON view read like the samples)."""
    order = {}
    for i, f in enumerate(form_fields(vocabulary)):
        order.setdefault(f.path[0], i)
    return {k: ticket[k] for k in sorted(ticket, key=lambda k: order.get(k, 1 << 20))}


def _unquoted(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            return raw
        return value if isinstance(value, str) else raw
    return raw


def form_values(ticket, policy_tz, vocabulary=None) -> dict:
    """name -> value for the form inputs, from a ticket (what is not there stays empty: unknown)."""
    values = {}
    if not isinstance(ticket, dict):
        return values
    for f in form_fields(vocabulary):
        v = _get(ticket, f.path)
        if v is None:
            continue
        if f.kind == "datetime":
            values[f.name], values[f.name + "@tz"] = _split_timestamp(v, policy_tz)
        elif f.kind == "boolean":
            values[f.name] = "true" if v is True else "false" if v is False else str(v)
        elif f.kind == "json":
            values[f.name] = json.dumps(v, ensure_ascii=False, indent=1)
        elif f.kind == "string" and isinstance(v, str) and (v == "" or v != v.strip()):
            values[f.name] = json.dumps(v, ensure_ascii=False)  # "" is EMPTY
        else:
            values[f.name] = str(v)
    return values
