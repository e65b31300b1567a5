"""The importer: a checked Mapping and a helpdesk export in, one ticket (or error record) per source record out.

    for line in import_records(mapping, "tests/fixtures/helpdesks/zendesk"):   # dicts, in input order
        ...

INPUT is a directory (files named by the mapping's `input`) or one file: the records file itself (`.jsonl`:
one record per line; error records then carry `line`, 1-based, instead of `index`); lookups are read from the
file's directory. Each record gives a ticket in the vocabulary (validated as `slapolicy evaluate` validates it)
or `{"index"|"line", "source_id", "error": {"code", "field", "path", "message"}}`: never a silent guess.
"""
from __future__ import annotations

import json
from pathlib import Path

from slapolicy.language.diagnostics import InputError, TicketError
from slapolicy.tools.adapters.mapping import REQUIRED_FIELDS, Mapping
from slapolicy.tools.adapters.paths import Item, as_text
from slapolicy.tools.adapters.values import TRANSFORMS, BadValue, convert

NO_VALUE = object()


class RecordError(Exception):
    def __init__(self, code, field, path, message):
        super().__init__(message)
        self.record = {"code": code, "field": field, "path": path, "message": message}


class Env:
    """The lookup tables of one export (key values compared as strings)."""

    def __init__(self, tables: dict):
        self.tables = tables

    def lookup(self, name, key):
        return self.tables.get(name, {}).get(key)


def _read_json(path: Path):
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise InputError("unreadable", f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError("json-syntax", f"{path}:{exc.lineno}:{exc.colno}: {exc.msg}") from None


def _select(data, path, file):
    """The list a `path: "x[]"` selects in a loaded file."""
    value = data
    if path is not None:
        found = path.first(Item(data, None, ""), Env({}))
        value = found.value if found else None
    if not isinstance(value, list):
        raise InputError("bad-input", f"{file}: {('the file' if path is None else path.text)} is not a list")
    return value


def _base_name(mapping: Mapping, file: Path) -> str:
    path = mapping.records.get("_path")
    return path.text if path is not None else file.stem


def load_input(mapping: Mapping, source):
    """(records, base trace name, line numbers or None, Env) from a directory or a records file."""
    source = Path(source)
    if source.is_dir():
        folder, records_file = source, source / mapping.records["file"]
    elif source.is_file():
        folder, records_file = source.parent, source
    else:
        raise InputError("bad-input", f"{source}: no such file or directory")
    lines = None
    if records_file.suffix == ".jsonl":
        records, lines = [], []
        try:
            text = records_file.read_text("utf-8")
        except OSError as exc:
            raise InputError("unreadable", f"{records_file}: cannot read: {exc}") from None
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    records.append(exc)
                lines.append(number)
    else:
        records = _select(_read_json(records_file), mapping.records.get("_path"), records_file)
    tables = {}
    for name, spec in mapping.lookups.items():
        rows = _select(_read_json(folder / spec["file"]), spec.get("_path"), folder / spec["file"])
        table = {}
        for row in rows:
            if not isinstance(row, dict) or row.get(spec["key"]) is None:
                continue
            key = as_text(row[spec["key"]])
            if spec.get("many"):
                table.setdefault(key, []).append(row)
            else:
                table.setdefault(key, row)
        tables[name] = table
    return records, _base_name(mapping, records_file), lines, Env(tables)


def import_records(mapping: Mapping, source):
    """Yield one dict per source record: a ticket, or an error record."""
    from slapolicy.decide.tickets import validate_ticket

    records, base, lines, env = load_input(mapping, source)
    id_key = mapping.records.get("id")
    for i, record in enumerate(records):
        where = {"line": lines[i]} if lines is not None else {"index": i}
        source_id = record.get(id_key) if isinstance(record, dict) and id_key else None
        try:
            if isinstance(record, Exception):
                raise RecordError("bad-value", None, f"line {lines[i]}", f"not JSON: {record}")
            if not isinstance(record, dict):
                raise RecordError("bad-value", None, f"{base}[{i}]", "a record is a JSON object")
            trace = f"{base}[{i}]" if lines is None else f"line {lines[i]}"
            ticket = map_record(mapping, Item(record, None, trace), env)
            try:
                validate_ticket(json.loads(json.dumps(ticket)))
            except TicketError as exc:
                problem = exc.problems[0] if getattr(exc, "problems", None) else (None, str(exc))
                raise RecordError("bad-value", problem[0] if isinstance(problem, tuple) else None, trace,
                                  f"the mapped ticket is not valid: {exc}") from None
            yield ticket
        except RecordError as exc:
            yield {**where, "source_id": source_id, "error": exc.record}


def map_record(mapping: Mapping, ctx: Item, env) -> dict:
    ticket: dict = {}
    for spec in mapping.fields:
        value, trace = value_of(spec, ctx, env, mapping)
        if value is NO_VALUE:
            if spec.field in REQUIRED_FIELDS:
                raise RecordError("missing-value", spec.field, trace,
                                  f"{spec.field} is required and {trace} has no value")
            continue
        _put(ticket, spec.field, value)
    created = ticket.get("created_at")
    events = []
    for order, rule in enumerate(mapping.events):
        items = rule.each.items(ctx, env) if rule.each is not None else [ctx]
        for item in items:
            if not all(_holds(cond, path.first(item, env)) for path, cond in rule.when):
                continue
            at_item = rule.at.first(item, env) if rule.at is not None else None
            at_trace = rule.at.trace(item, env) if rule.at is not None else item.trace
            if at_item is None:
                raise RecordError("missing-value", f"events[{rule.id}].at", at_trace,
                                  f"event rule {rule.id}: {at_trace} has no instant")
            try:
                at = convert(at_item.value, "timestamp", mapping.stamps)
            except BadValue as exc:
                raise RecordError("bad-value", f"events[{rule.id}].at", at_trace, str(exc)) from None
            event = {"type": rule.emit, "at": at}
            for spec in rule.set:
                value, trace = value_of(spec, item, env, mapping, label=f"events[{rule.id}].{spec.field}")
                if value is NO_VALUE:
                    raise RecordError("missing-value", f"events[{rule.id}].{spec.field}", trace,
                                      f"a {rule.emit} event needs {spec.field} and {trace} has no value")
                event[spec.field] = value
            events.append((_instant(at), order, event, at_trace))
    if events and created is not None:
        events.sort(key=lambda e: (e[0], e[1]))
        start = _instant(created)
        for instant, _, event, trace in events:
            if instant < start:
                raise RecordError("event-before-created", "events", trace,
                                  f"a {event['type']} event at {event['at']} is earlier than created_at {created}")
        ticket["events"] = [e[2] for e in events]
    return ticket


def _instant(text):
    import datetime as dt

    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _put(ticket, dotted, value):
    parts = dotted.split(".")
    node = ticket
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def value_of(spec, ctx, env, mapping, label=None):
    """(value or NO_VALUE, trace): the spec's steps in order (match, map, unmapped, type, transform, template,
    default); RecordError for unmapped or bad values."""
    field = label or spec.field
    if spec.has_const:
        value, trace = spec.const, f"const {spec.const!r}"
    else:
        value, trace = NO_VALUE, spec.paths[0].trace(ctx, env) if spec.paths else ""
        for path in spec.paths:
            found = path.first(ctx, env)
            if found is not None:
                value, trace = found.value, found.trace
                break
    if value is not NO_VALUE and spec.match is not None:
        m = spec.match.search(as_text(value)) if not isinstance(value, (dict, list)) else None
        value = m.group(1) if m else NO_VALUE
    if value is not NO_VALUE and spec.map is not None:
        key = as_text(value) if not isinstance(value, (dict, list)) else None
        if key in spec.map:
            value = spec.map[key]
            if value is None:
                if spec.field in REQUIRED_FIELDS:
                    raise RecordError("unmapped-value", field, trace,
                                      f"{trace} is {_q(key)}, which the {field} map sends to null (no vocabulary value)")
                value = NO_VALUE
        elif spec.unmapped == "omit":
            value = NO_VALUE
        else:
            raise RecordError("unmapped-value", field, trace,
                              f"{trace} is {_q(key) if key is not None else 'an object'}, which is not in the {field} map")
    if value is not NO_VALUE and spec.type is not None:
        try:
            value = convert(value, spec.type, mapping.stamps)
        except BadValue as exc:
            raise RecordError("bad-value", field, trace, f"{trace}: {exc}") from None
    if value is not NO_VALUE and spec.transform is not None and isinstance(value, str):
        value = TRANSFORMS[spec.transform](value)
    if value is not NO_VALUE and spec.template is not None:
        value = spec.template.replace("{value}", as_text(value))
    if value is NO_VALUE and spec.default is not None:
        value = spec.default
    if value is not NO_VALUE and spec.type is None and spec.map is None and isinstance(value, (dict, list)):
        raise RecordError("bad-value", field, trace, f"{trace} is an object or a list, not a value (give a type "
                                                     "or a longer path)")
    return value, trace


def _q(text) -> str:
    return json.dumps(text, ensure_ascii=False)


def _holds(cond, item) -> bool:
    value = None if item is None else item.value
    present = item is not None
    if isinstance(cond, dict):
        if "exists" in cond:
            return present == cond["exists"]
        if "not" in cond:
            options = cond["not"] if isinstance(cond["not"], list) else [cond["not"]]
            return not present or as_text(value) not in {as_text(o) for o in options}
        if "match" in cond:
            return present and not isinstance(value, (dict, list)) and cond["match"].search(as_text(value)) is not None
    if not present or isinstance(value, (dict, list)):
        return False
    if isinstance(cond, list):
        return as_text(value) in {as_text(o) for o in cond}
    return as_text(value) == as_text(cond)
