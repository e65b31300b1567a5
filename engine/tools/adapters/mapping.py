"""Mapping files (engine/tools/adapters/README.md): load, check like a policy, compile.

`load_mapping(path_or_id)` returns a checked `Mapping` or raises MappingError with every diagnostic found, each
located at file:line:col with a code (docs/adapters.md lists them): unknown keys, vocabulary fields that are not in
the ticket schema, map targets outside a field's enum, enum fields without a map, maps that miss a value of a
documented closed list, paths that do not parse or use an undeclared lookup, event types and their required fields.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from slapolicy.language.diagnostics import Diagnostic, PolicyError
from slapolicy.language.load import load_yaml
from slapolicy.language.schema import did_you_mean, schema_json
from slapolicy.language.source import Span
from slapolicy.tools.adapters.paths import PathError, as_text, parse
from slapolicy.tools.adapters.values import TRANSFORMS, TYPES, Timestamps, pattern_regex, timezone

FORMATS = ("zendesk", "jsm", "bitrix")
TOP_KEYS = {"mapping", "id", "vendor", "policy", "docs", "input", "timestamps", "fields", "events"}
REQUIRED_TOP = ("mapping", "id", "vendor", "input", "timestamps", "fields")
SPEC_KEYS = {"from", "first_of", "const", "match", "map", "unmapped", "type", "transform", "template", "default"}
RULE_KEYS = {"id", "each", "when", "emit", "at", "set"}
REQUIRED_FIELDS = ("id", "created_at", "channel", "customer.segment")
EVENT_REQUIRED = {"status_changed": "status", "escalated": "to", "severity_changed": "severity"}
# Sources with a documented closed list of values: a map on them must list every value (null: no vocabulary value).
# Zendesk: the via types a ticket's via.channel takes and the four priorities; JSM: the default priority scheme.
CLOSED_LISTS = {
    ("zendesk", "via.channel"): ("web", "web_widget", "mobile_sdk", "email", "chat", "native_messaging", "voice",
                                 "twitter", "facebook", "sms", "api", "any_channel", "mobile", "rule", "closed_ticket"),
    ("zendesk", "priority"): ("urgent", "high", "normal", "low"),
    ("zendesk", "value"): None,  # event values depend on the field changed: not checked
    ("jira", "fields.priority.name"): ("Highest", "High", "Medium", "Low", "Lowest"),
}


class MappingError(PolicyError):
    """A mapping that does not load or check: every diagnostic, located."""

    code = "invalid-mapping"


@dataclass
class Spec:
    field: str
    loc: tuple  # key path in the YAML, for spans
    paths: list = field(default_factory=list)  # from / first_of
    const: object = None
    has_const: bool = False
    match: object = None
    map: dict | None = None
    unmapped: str = "error"
    type: str | None = None
    transform: str | None = None
    template: str | None = None
    default: object = None


@dataclass
class Rule:
    id: str
    each: object
    when: list  # [(Path, condition)]
    emit: str
    at: object
    set: list  # [Spec]


@dataclass
class Mapping:
    file: str
    text: str
    id: str
    vendor: str
    policy: str | None
    records: dict
    lookups: dict
    stamps: Timestamps
    fields: list
    events: list
    data: dict


def bundled_path(name: str) -> Path:
    return Path(str(resources.files("slapolicy.tools.adapters").joinpath(f"{name}.mapping.yaml")))


def load_mapping(source) -> Mapping:
    """A mapping by bundled id (zendesk, jsm, bitrix) or file path; MappingError with diagnostics if it is bad."""
    path = bundled_path(source) if str(source) in FORMATS else Path(source)
    file = str(path)
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError([Diagnostic("unreadable", f"cannot read the mapping: {exc}", Span(file, 1, 1, 1, 2))],
                           {file: ""}) from None
    return check_mapping(text, file)


def check_mapping(text: str, file: str) -> Mapping:
    loaded = load_yaml(text, file)  # raises PolicyError (yaml-syntax, duplicate keys) with spans
    checker = _Checker(loaded)
    mapping = checker.run()
    if checker.problems:
        raise MappingError(sorted(checker.problems, key=Diagnostic.sort_key), {file: text})
    return mapping


def _family(data: dict) -> str:
    text = f"{data.get('id', '')} {data.get('vendor', '')}".lower()
    return "zendesk" if "zendesk" in text else "jira" if ("jira" in text or "jsm" in text) else ""


class _Checker:
    def __init__(self, loaded):
        self.loaded = loaded
        self.problems: list[Diagnostic] = []
        self.schema = schema_json("ticket")
        self.lookup_names: set = set()

    def err(self, code, message, loc, key=False, hint=None):
        span = self.loaded.key_span(loc) if key else self.loaded.span(loc)
        self.problems.append(Diagnostic(code, message, span, hint=hint))

    def keys(self, obj, allowed, loc, what):
        if not isinstance(obj, dict):
            self.err("mapping-bad-value", f"{what} must be a map", loc)
            return False
        for key in obj:
            if key not in allowed:
                guess = did_you_mean(key, allowed)
                self.err("mapping-unknown-key", f"unknown key {key!r} in {what}", loc + (key,), key=True,
                         hint=f"did you mean {guess!r}?" if guess else f"known keys: {', '.join(sorted(allowed))}")
        return True

    def path(self, text, loc, in_rule=False):
        try:
            p = parse(text)
        except PathError as exc:
            self.err("mapping-bad-path", f"path {text!r}: {exc.message} (column {exc.column})", loc)
            return None
        for name in p.lookups:
            if name not in self.lookup_names:
                self.err("mapping-bad-path", f"path {text!r} uses the lookup {name!r}, which input.lookups does not "
                                             "declare", loc)
        if p.uses_parent and not in_rule:
            self.err("mapping-bad-path", f"path {text!r}: '^' (the parent item) is only meaningful in an event rule",
                     loc)
        return p

    # -- top level ---------------------------------------------------------------------------------
    def run(self):
        data = self.loaded.data
        if not self.keys(data, TOP_KEYS, (), "the mapping"):
            return None
        for key in REQUIRED_TOP:
            if key not in data:
                self.err("mapping-missing-key", f"the mapping has no {key!r}", ())
        if "mapping" in data and data["mapping"] != 1:
            self.err("mapping-bad-value", f"mapping: format version {data['mapping']!r} is not supported (1)",
                     ("mapping",))
        records, lookups = self.input(data.get("input"))
        stamps = self.timestamps(data.get("timestamps"))
        self.family = _family(data)
        fields = self.fields(data.get("fields"))
        events = self.events(data.get("events"))
        return Mapping(self.loaded.file, self.loaded.text, str(data.get("id", "")), str(data.get("vendor", "")),
                       data.get("policy"), records, lookups, stamps, fields, events, data)

    def input(self, spec):
        records, lookups = {}, {}
        if spec is None:
            return records, lookups
        loc = ("input",)
        if not self.keys(spec, {"records", "lookups", "ignored"}, loc, "input"):
            return records, lookups
        rec = spec.get("records")
        if rec is None:
            self.err("mapping-missing-key", "input has no 'records'", loc)
        elif self.keys(rec, {"file", "path", "id"}, loc + ("records",), "input.records"):
            for key in ("file", "path"):
                if not isinstance(rec.get(key), str):
                    self.err("mapping-missing-key", f"input.records needs a {key!r} (a string)", loc + ("records",))
            records = dict(rec)
            if isinstance(rec.get("path"), str):
                records["_path"] = self.list_path(rec["path"], loc + ("records", "path"))
        for name, lk in (spec.get("lookups") or {}).items():
            where = loc + ("lookups", name)
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(name)):
                self.err("mapping-bad-value", f"lookup name {name!r} must be a plain name", where, key=True)
            if not self.keys(lk, {"file", "path", "key", "many"}, where, f"input.lookups.{name}"):
                continue
            for key in ("file", "path", "key"):
                if not isinstance(lk.get(key), str):
                    self.err("mapping-missing-key", f"input.lookups.{name} needs a {key!r} (a string)", where)
            if "many" in lk and not isinstance(lk["many"], bool):
                self.err("mapping-bad-value", "many must be true or false", where + ("many",))
            entry = dict(lk)
            if isinstance(lk.get("path"), str):
                entry["_path"] = self.list_path(lk["path"], where + ("path",))
            lookups[str(name)] = entry
            self.lookup_names.add(str(name))
        for i, ign in enumerate(spec.get("ignored") or []):
            where = loc + ("ignored", i)
            if self.keys(ign, {"file", "path", "why"}, where, "an ignored entry"):
                if not isinstance(ign.get("why"), str) or not ign["why"].strip():
                    self.err("mapping-missing-key", "an ignored part of the export needs a 'why'", where)
                if "file" not in ign and "path" not in ign:
                    self.err("mapping-missing-key", "an ignored entry names a 'file' or a 'path'", where)
        return records, lookups

    def list_path(self, text, loc):
        if text == "[]":
            return None
        if not text.endswith("[]"):
            self.err("mapping-bad-path", f"path {text!r} must select a list (end in '[]')", loc)
            return None
        try:
            return parse(text[:-2])
        except PathError as exc:
            self.err("mapping-bad-path", f"path {text!r}: {exc.message}", loc)
            return None

    def timestamps(self, spec):
        loc = ("timestamps",)
        if spec is None or not self.keys(spec, {"format", "timezone"}, loc, "timestamps"):
            return Timestamps("rfc3339", timezone("UTC"))
        fmt = spec.get("format")
        if not isinstance(fmt, str) or (fmt not in ("rfc3339", "jira") and pattern_regex(fmt) is None):
            self.err("mapping-bad-value", f"timestamps.format {fmt!r}: rfc3339, jira, or a pattern with the tokens "
                                          "YYYY MM DD (HH MI SS)", loc + ("format",))
            fmt = "rfc3339"
        tz = timezone(str(spec.get("timezone", "UTC")))
        if tz is None:
            self.err("mapping-bad-value", f"timestamps.timezone {spec.get('timezone')!r} is not an IANA time zone",
                     loc + ("timezone",))
            tz = timezone("UTC")
        return Timestamps(fmt, tz)

    # -- fields ------------------------------------------------------------------------------------
    def schema_of(self, dotted, root=None):
        node = root or self.schema
        for part in dotted.split("."):
            props = node.get("properties") if isinstance(node, dict) else None
            if not props or part not in props:
                return None
            node = props[part]
        return node

    def fields(self, spec):
        out = []
        if spec is None:
            return out
        loc = ("fields",)
        if not isinstance(spec, dict):
            self.err("mapping-bad-value", "fields must be a map of vocabulary field -> field spec", loc)
            return out
        for name, body in spec.items():
            where = loc + (name,)
            sch = self.schema_of(str(name)) if name != "events" else None
            if sch is None or sch.get("type") == "object" or "properties" in sch:
                known = [k for k in self.schema["properties"] if k != "events"]
                guess = did_you_mean(str(name).split(".")[-1], known + list(self.schema_of("customer")["properties"]))
                self.err("mapping-unknown-field", f"{name!r} is not a field of the ticket vocabulary"
                         + (" (an object: map its fields, e.g. customer.segment)" if sch else ""), where, key=True,
                         hint=f"did you mean {guess!r}?" if guess and not sch else None)
                continue
            s = self.spec(str(name), body, where, sch)
            if s is not None:
                out.append(s)
        mapped = {s.field for s in out}
        for name in REQUIRED_FIELDS:
            if name not in mapped and name not in spec:
                self.err("mapping-missing-field", f"the required vocabulary field {name!r} is not mapped", loc, key=True)
        return out

    def spec(self, name, body, where, sch, in_rule=False):
        if not isinstance(body, dict):
            self.err("mapping-bad-value", f"{name}: a field spec is a map (from / first_of / const, ...)", where)
            return None
        self.keys(body, SPEC_KEYS, where, f"the spec of {name}")
        sources = [k for k in ("from", "first_of", "const") if k in body]
        if len(sources) != 1:
            self.err("mapping-bad-source", f"{name}: a field spec has exactly one of from, first_of, const "
                                           f"(found {', '.join(sources) or 'none'})", where, key=True)
            return None
        s = Spec(name, where)
        if "from" in body:
            p = self.path(body["from"], where + ("from",), in_rule) if isinstance(body["from"], str) else None
            if not isinstance(body["from"], str):
                self.err("mapping-bad-path", f"{name}: from is a path (a string)", where + ("from",))
            s.paths = [p] if p else []
        elif "first_of" in body:
            if not isinstance(body["first_of"], list) or not body["first_of"]:
                self.err("mapping-bad-path", f"{name}: first_of is a non-empty list of paths", where + ("first_of",))
            else:
                s.paths = [p for i, t in enumerate(body["first_of"])
                           if (p := self.path(str(t), where + ("first_of", i), in_rule))]
        else:
            s.const, s.has_const = body["const"], True
        if "match" in body:
            try:
                s.match = re.compile(str(body["match"]))
                if s.match.groups != 1:
                    self.err("mapping-bad-value", f"{name}: match needs exactly one group ({s.match.groups} found)",
                             where + ("match",))
            except re.error as exc:
                self.err("mapping-bad-value", f"{name}: match is not a regular expression ({exc})", where + ("match",))
        enum = sch.get("enum")
        if "map" in body:
            if not isinstance(body["map"], dict):
                self.err("mapping-bad-value", f"{name}: map is source value -> vocabulary value", where + ("map",))
            else:
                s.map = {}
                for key, target in body["map"].items():
                    s.map[as_text(key)] = target
                    if target is not None and not _fits(target, sch):
                        allowed = ", ".join(map(str, enum)) if enum else _describe(sch)
                        guess = did_you_mean(str(target), enum) if enum else None
                        self.err("mapping-bad-target", f"{name}: {key!r} maps to {target!r}, which is not a value of "
                                 f"{name} ({allowed})", where + ("map", key),
                                 hint=f"did you mean {guess!r}?" if guess else None)
                self.closed_list(name, body, s, where)
        elif enum is not None or (sch.get("type") == "integer" and "maximum" in sch):
            if not (s.has_const and _fits(s.const, sch)):
                self.err("mapping-no-map", f"{name} has a closed set of values: give a map from the source's values "
                         "(or a const of the field's values)", where, key=True)
        if s.has_const and not _fits(s.const, sch):
            self.err("mapping-bad-target", f"{name}: const {s.const!r} is not a value of {name} ({_describe(sch)})",
                     where + ("const",))
        if "unmapped" in body:
            if body["unmapped"] not in ("error", "omit"):
                self.err("mapping-bad-value", f"{name}: unmapped is error or omit", where + ("unmapped",))
            s.unmapped = body["unmapped"]
        if "type" in body:
            if body["type"] not in TYPES:
                self.err("mapping-bad-value", f"{name}: type {body['type']!r} is not one of {', '.join(TYPES)}",
                         where + ("type",))
            s.type = body["type"]
        if "transform" in body:
            if body["transform"] not in TRANSFORMS:
                self.err("mapping-bad-value", f"{name}: transform is one of {', '.join(TRANSFORMS)}",
                         where + ("transform",))
            s.transform = body["transform"]
        if "template" in body:
            if not isinstance(body["template"], str) or "{value}" not in body["template"]:
                self.err("mapping-bad-value", f"{name}: a template is a string with {{value}}", where + ("template",))
            s.template = body["template"]
        if "default" in body:
            s.default = body["default"]
            if not _fits(s.default, sch):
                self.err("mapping-bad-target", f"{name}: default {s.default!r} is not a value of {name}",
                         where + ("default",))
        return s

    def closed_list(self, name, body, s, where):
        src = body.get("from")
        documented = CLOSED_LISTS.get((self.family, src))
        if not documented:
            return
        missing = [v for v in documented if v not in s.map]
        if missing:
            self.err("mapping-incomplete-map", f"{name}: {src} has a documented closed list; the map misses "
                     f"{', '.join(map(repr, missing))} (map them, or to null for no vocabulary value)", where + ("map",))

    # -- events ------------------------------------------------------------------------------------
    def events(self, spec):
        out = []
        if spec is None:
            return out
        if not isinstance(spec, list):
            self.err("mapping-bad-value", "events is a list of event rules", ("events",))
            return out
        event_schema = self.schema["properties"]["events"]["items"]
        types = event_schema["properties"]["type"]["enum"]
        seen = set()
        for i, body in enumerate(spec):
            where = ("events", i)
            if not self.keys(body, RULE_KEYS, where, "an event rule"):
                continue
            rid = str(body.get("id", f"#{i + 1}"))
            if rid in seen:
                self.err("mapping-bad-value", f"event rule id {rid!r} is used twice", where + ("id",))
            seen.add(rid)
            emit = body.get("emit")
            if emit not in types:
                guess = did_you_mean(str(emit), types)
                self.err("mapping-unknown-event", f"event rule {rid}: emit {emit!r} is not an event type "
                         f"({', '.join(types)})", where + ("emit",), hint=f"did you mean {guess!r}?" if guess else None)
            each = self.path(body["each"], where + ("each",), True) if isinstance(body.get("each"), str) else None
            if "each" in body and not isinstance(body["each"], str):
                self.err("mapping-bad-path", f"event rule {rid}: each is a path", where + ("each",))
            if "at" not in body:
                self.err("mapping-missing-key", f"event rule {rid} has no 'at' (the path to the instant)", where)
            at = self.path(str(body["at"]), where + ("at",), True) if "at" in body else None
            when = []
            cond = body.get("when") or {}
            if not isinstance(cond, dict):
                self.err("mapping-bad-value", f"event rule {rid}: when is a map path -> condition", where + ("when",))
                cond = {}
            for key, c in cond.items():
                p = self.path(str(key), where + ("when", key), True)
                if isinstance(c, dict):
                    if len(c) != 1 or next(iter(c)) not in ("not", "exists", "match"):
                        self.err("mapping-bad-value", f"event rule {rid}: condition on {key!r} is a literal, a list, "
                                 "{not: [...]}, {exists: true|false} or {match: REGEX}", where + ("when", key))
                        continue
                    if "match" in c:
                        try:
                            c = {"match": re.compile(str(c["match"]))}
                        except re.error as exc:
                            self.err("mapping-bad-value", f"bad regular expression ({exc})", where + ("when", key))
                            continue
                    elif "exists" in c and not isinstance(c["exists"], bool):
                        self.err("mapping-bad-value", "exists is true or false", where + ("when", key))
                if p:
                    when.append((p, c))
            sets = []
            set_spec = body.get("set") or {}
            if not isinstance(set_spec, dict):
                self.err("mapping-bad-value", f"event rule {rid}: set is a map event field -> field spec",
                         where + ("set",))
                set_spec = {}
            for fname, fbody in set_spec.items():
                fsch = event_schema["properties"].get(fname)
                if fsch is None or fname in ("type", "at"):
                    self.err("mapping-unknown-field", f"event rule {rid}: {fname!r} is not a field of an event "
                             f"({', '.join(k for k in event_schema['properties'] if k not in ('type', 'at'))})",
                             where + ("set", fname), key=True)
                    continue
                if fname == "status":
                    fsch = {"type": "string", "pattern": "^[a-z_]+$"}
                s = self.spec(fname, fbody, where + ("set", fname), fsch, in_rule=True)
                if s:
                    sets.append(s)
            needed = EVENT_REQUIRED.get(emit)
            if needed and needed not in set_spec:
                self.err("mapping-missing-event-field", f"event rule {rid}: a {emit} event needs {needed!r} (set it)",
                         where, key=False)
            out.append(Rule(rid, each, when, emit, at, sets))
        return out


def _fits(value, sch) -> bool:
    if "enum" in sch:
        return value in sch["enum"]
    t = sch.get("type")
    if t == "integer":
        return isinstance(value, int) and not isinstance(value, bool) and sch.get("minimum", value) <= value \
            <= sch.get("maximum", value)
    if t == "boolean":
        return isinstance(value, bool)
    if t == "string":
        return isinstance(value, str) and (not sch.get("pattern") or re.search(sch["pattern"], value) is not None)
    return True


def _describe(sch) -> str:
    if sch.get("type") == "integer" and "maximum" in sch:
        return f"an integer {sch.get('minimum')}..{sch['maximum']}"
    return sch.get("type", "any")
