"""Completion: inside expression strings (`when:`, definitions' `expr:`) and for the ids a policy refers to.

The context is read from the text before the cursor on its line (so it works while the YAML is half
typed): after `when:` / `expr:` (plain, quoted, or a `|` / `>` block under it) it is an expression, after
`tier:`, `calendar:` or inside `assumptions: [...]` / an `assumptions:` list it is an id.

In an expression:
  `customer.`            the fields of `customer` (nested as deep as the vocabulary goes)
  `topic == ` / `"`       the enum values of `topic` (quoted unless the quote is already typed)
  `channel in ["portal", ` the enum values again
  `is_open(created_at, "` the calendar ids
  `tier == "`            the tier ids
  anything else          the facts of the ticket vocabulary, the policy's definitions, the stage values
                         the rule's stage may read, the built-in functions, the keywords
"""
from __future__ import annotations

import re
from functools import lru_cache

from slapolicy.language.check import ELIGIBILITY, STAGE_VALUES, Checker
from slapolicy.language.schema import schema_json
from slapolicy.language.types import BOOL, Type, enum, vocabulary
from slapolicy.tools.lsp.document import Document

# kinds, as lsprotocol.types.CompletionItemKind numbers (the module stays free of pygls)
FIELD, ENUM, FUNCTION, KEYWORD, REFERENCE, VARIABLE, CONSTANT = 5, 20, 3, 14, 18, 6, 21
KEYWORDS = ("and", "or", "not", "in", "true", "false", "any", "all", "where")
FUNCTION_DOCS = {
    "days_between": "days_between(a, b): whole days from date a to date b (timestamps: their dates in the policy's zone)",
    "hours_between": "hours_between(a, b): hours from timestamp a to timestamp b",
    "date": "date(t): the date of timestamp t in the policy's time zone",
    "lower": "lower(s): s in lower case",
    "len": "len(x): the length of a list or a string",
    "exists(": "exists(field): the ticket has the field (a missing optional fact is unknown, not false)",
    "is_open": "is_open(t, \"calendar\"): the calendar is open at timestamp t",
    "any": "any(x in list where condition)",
    "all": "all(x in list where condition)",
}
FUNCTION_DOCS["exists"] = FUNCTION_DOCS.pop("exists(")

_PATH = r"([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
_EXPR_KEY = re.compile(r"(^\s*(?:-\s+)?|[{,]\s*)(when|expr)\s*:\s?(.*)$")
_BLOCK_KEY = re.compile(r"^(\s*(?:-\s+)?)(when|expr)\s*:\s*[|>][-+]?\s*$")
_ID_KEY = re.compile(r"(?:^|[{,\s])(tier|calendar)\s*:\s*([\"']?)([A-Za-z0-9_\-]*)$")
_ASSUMPTIONS_FLOW = re.compile(r"assumptions\s*:\s*\[([^\]]*)$")
_LIST_ITEM = re.compile(r"^(\s*)-\s*([A-Za-z0-9_\-]*)$")


def complete(doc: Document, line0: int, char0: int) -> list:
    """Completion items ({label, kind, detail, documentation, insertText?}) at a 0-based position."""
    lines = doc.text.split("\n")
    if line0 >= len(lines):
        return []
    before = lines[line0][:char0]
    if doc.loaded is None and not doc.data:  # half typed, and no earlier version: the ids of the rest
        rest = Document.open(doc.uri, "\n".join(lines[:line0] + [""] + lines[line0 + 1:]))
        doc.data = rest.data
    prefix = _expression_prefix(lines, line0, before)
    if prefix is not None:
        return expression_items(doc, prefix, _stage_at(lines, line0))
    m = _ID_KEY.search(before)
    if m:
        kind = m.group(1)
        return _ids(doc, kind, m.group(3))
    m = _ASSUMPTIONS_FLOW.search(before)
    if m:
        return _ids(doc, "assumption", m.group(1).split(",")[-1].strip())
    m = _LIST_ITEM.match(before)
    if m and _parent_key(lines, line0, len(m.group(1))) == "assumptions":
        return _ids(doc, "assumption", m.group(2))
    return []


def _ids(doc, kind, partial):
    return [{"label": name, "kind": REFERENCE, "detail": kind} for name in doc.ids(kind) if name.startswith(partial)]


def _expression_prefix(lines, line0, before):
    """The expression text before the cursor, or None when the cursor is not in an expression."""
    m = None
    for m in _EXPR_KEY.finditer(before):
        pass
    if m and not _BLOCK_KEY.match(lines[line0]):
        value = m.group(3).lstrip(" ")
        if value[:1] in ("'", '"'):
            if _open_string(value) is None:  # the quoted scalar is closed: the cursor is after it
                return None
            return value[1:]
        if m.group(1).strip() and re.search(r"[,}]", value):  # a plain value of a flow mapping has ended
            return None
        return value
    indent = len(before) - len(before.lstrip(" "))
    if not before.strip():
        indent = len(lines[line0]) - len(lines[line0].lstrip(" ")) if lines[line0].strip() else indent
    for k in range(line0 - 1, -1, -1):
        text = lines[k]
        if not text.strip():
            continue
        own = len(text) - len(text.lstrip(" "))
        if own >= indent and not text.lstrip().startswith("- "):
            continue  # an earlier line of the same scalar
        if own < indent and (_BLOCK_KEY.match(text) or (_EXPR_KEY.match(text) and _EXPR_KEY.match(text).group(3).strip())):
            return before.lstrip(" ")  # a `|` / `>` block, or a plain scalar continued from the key's line
        return None
    return None


def _parent_key(lines, line0, indent):
    for k in range(line0 - 1, -1, -1):
        text = lines[k]
        if not text.strip():
            continue
        own = len(text) - len(text.lstrip(" "))
        if own < indent or (own == indent and not text.lstrip().startswith("-")):
            m = re.match(r"^\s*(?:-\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*:", text)
            return m.group(1) if m else None
    return None


def _stage_at(lines, line0):
    """The top-level key the line belongs to (acceptance, scope, tier_rules, definitions...)."""
    for k in range(line0, -1, -1):
        m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)\s*:", lines[k])
        if m:
            return m.group(1)
    return ""


# -- the types of paths ------------------------------------------------------------------------------
def path_type(doc: Document, dotted: str, stage: str = "") -> Type | None:
    parts = dotted.split(".")
    head = parts[0]
    typ = vocabulary().field(head)
    if typ is None:
        if head == "tier" and len(parts) == 1:
            return enum(doc.ids("tier"), "tier")
        if head == "eligibility" and len(parts) == 1:
            return enum(ELIGIBILITY, "eligibility")
        if head == "accepted" and len(parts) == 1:
            return BOOL
        return None
    for part in parts[1:]:
        typ = typ.field(part) if typ.kind == "object" else None
        if typ is None:
            return None
    return typ


@lru_cache(maxsize=None)
def _schema_docs() -> dict:
    """dotted field -> its description in the ticket schema."""
    out, stack = {}, [("", schema_json("ticket"))]
    while stack:
        prefix, node = stack.pop()
        for name, sub in (node.get("properties") or {}).items():
            dotted = f"{prefix}.{name}" if prefix else name
            out[dotted] = sub.get("description") or ""
            if sub.get("type") == "object":
                stack.append((dotted, sub))
            if sub.get("type") == "array" and (sub.get("items") or {}).get("type") == "object":
                stack.append((dotted, sub["items"]))
    return out


def field_doc(dotted: str) -> str:
    return _schema_docs().get(dotted, "")


def _type_detail(typ: Type) -> str:
    if typ.values is not None:
        return "one of " + ", ".join(sorted(typ.values))
    return str(typ)


def expression_items(doc: Document, prefix: str, stage: str = "") -> list:
    in_string = _open_string(prefix)
    if in_string is not None:
        quote_at, partial = in_string
        head = prefix[:quote_at]
        if re.search(r"\bis_open\s*\([^()]*,\s*$", head):
            return [{"label": c, "kind": REFERENCE, "detail": "calendar"} for c in doc.ids("calendar")
                    if c.startswith(partial)]
        typ = _compared_type(doc, head, stage)
        if typ is not None and typ.values is not None:
            return [{"label": v, "kind": ENUM, "detail": typ.name or "enum value"} for v in sorted(typ.values)
                    if v.startswith(partial)]
        return []
    m = re.search(_PATH + r"\.([A-Za-z0-9_]*)$", prefix)
    if m:
        typ = path_type(doc, m.group(1), stage)
        if typ is not None and typ.kind == "list":
            typ = typ.item
        if typ is None or typ.kind != "object":
            return []
        return [{"label": name, "kind": FIELD, "detail": _type_detail(sub),
                 "documentation": field_doc(f"{m.group(1)}.{name}")}
                for name, sub in typ.fields or () if name.startswith(m.group(2))]
    typ = _compared_type(doc, prefix, stage)
    if typ is not None and typ.values is not None:
        return [{"label": f'"{v}"', "kind": ENUM, "detail": typ.name or "enum value", "insertText": f'"{v}"'}
                for v in sorted(typ.values)]
    word = re.search(r"[A-Za-z_][A-Za-z0-9_]*$", prefix)
    partial = word.group(0) if word else ""
    if word and word.start() > 0 and prefix[word.start() - 1] == ".":
        return []
    items = []
    for name, sub in vocabulary().fields or ():
        items.append({"label": name, "kind": FIELD, "detail": _type_detail(sub), "documentation": field_doc(name)})
    for name in doc.ids("definition"):
        d = (doc.data.get("definitions") or {}).get(name) or {}
        items.append({"label": name, "kind": VARIABLE, "detail": "definition",
                      "documentation": str(d.get("description") or d.get("expr") or "")})
    for name, stages in STAGE_VALUES.items():
        if not stage or stage in stages:
            items.append({"label": name, "kind": VARIABLE, "detail": "stage value"})
    for name in Checker.FUNCTIONS:
        items.append({"label": name, "kind": FUNCTION, "detail": "function", "documentation": FUNCTION_DOCS.get(name, ""),
                      "insertText": name + "("})
    for name in KEYWORDS:
        items.append({"label": name, "kind": KEYWORD, "detail": "keyword"})
    return [i for i in items if i["label"].startswith(partial)]


def _open_string(prefix: str):
    """(index of the opening quote, the text typed after it) when the prefix ends inside a string."""
    i, quote, start = 0, None, -1
    while i < len(prefix):
        ch = prefix[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote, start = ch, i
        i += 1
    return (start, prefix[start + 1:]) if quote else None


def _compared_type(doc, head: str, stage: str):
    """The type of the path compared with what comes next: `path == `, `path != `, `path in [..., `."""
    m = re.search(_PATH + r"\s*(?:==|!=)\s*$", head)
    if not m:
        m = re.search(_PATH + r"\s+(?:not\s+)?in\s*\[[^\]]*$", head)
        if m and not re.search(r"(?:\[|,)\s*$", head):
            return None
    if not m:
        return None
    typ = path_type(doc, m.group(1), stage)
    if typ is not None and typ.kind == "list":
        typ = typ.item
    return typ
