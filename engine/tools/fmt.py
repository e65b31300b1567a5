"""`slapolicy fmt`: the canonical layout of a policy file, comments kept (ruamel.yaml round trip).

Canonical means: 2-space mappings, sequences indented under their key (`  - id: ...`), no line
wrapping (expressions and messages stay on the lines their author chose: block scalars keep their
folds), quotes as written, and a stable key order:

  top level    id, title, version, regulation, effective_from, timezone, vocabulary, calendars, assumptions,
               definitions, acceptance, scope, tiers, tier_rules, delay_reasons, notices, billing, lifecycle
  rule         id, on, unless, when, set, status | tier | code | multiplier, message, source, assumptions, note
  tier         name, description, source, assumptions, targets (first_response, next_response, resolution)
  target       within | from | no_guarantee, calendar, source, assumptions, note
  calendar     description, timezone, week, holidays, holiday_hours, workday_hours, overrides, source, assumptions
  assumption   id, clause, text, why;  definition: expr, description, source, assumptions

Keys not listed keep their relative order after the listed ones. A comment stays with the key it
sits on or above when keys move (ruamel.yaml attaches a comment line to the end of the *previous*
node; `_reorder` moves it to the key it introduces). Formatting is idempotent, and the formatted
text is checked to load to exactly the same data as the original before it is used.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from slapolicy.language.diagnostics import Diagnostic, PolicyError
from slapolicy.language.source import Span

TOP = ("id", "title", "version", "regulation", "effective_from", "timezone", "vocabulary", "calendars", "assumptions",
       "definitions", "acceptance", "scope", "tiers", "tier_rules", "delay_reasons", "notices", "billing", "lifecycle")
RULE = ("id", "on", "unless", "when", "set", "status", "tier", "code", "multiplier", "message", "source",
        "assumptions", "note")
TIER = ("name", "description", "source", "assumptions", "targets")
TARGETS = ("first_response", "next_response", "resolution")
TARGET = ("within", "from", "no_guarantee", "calendar", "source", "assumptions", "note")
CALENDAR = ("description", "timezone", "week", "holidays", "holiday_hours", "workday_hours", "overrides", "source",
            "assumptions")
ASSUMPTION = ("id", "clause", "text", "why")
DEFINITION = ("expr", "description", "source", "assumptions")
REGULATION = ("file", "language", "edition", "url", "notes")
BILLING = ("minimum_minutes", "rates")
MINIMUM = ("value", "source")
LIFECYCLE = ("next_response", "pauses", "rules")
NEXT_RESPONSE = ("source", "assumptions", "note")
PAUSE = ("id", "target", "statuses", "source", "assumptions", "note")


def _yaml():
    from ruamel.yaml import YAML

    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.indent(mapping=2, sequence=4, offset=2)
    y.width = 1 << 16  # never re-wrap a line
    return y


# -- comments that move with their keys ---------------------------------------------------------

def _is_block(node) -> bool:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    return isinstance(node, (CommentedMap, CommentedSeq)) and len(node) > 0 and not node.fa.flow_style()


def _end_slot(container, key):
    """(container, key) whose comment token ends the subtree of container[key]."""
    from ruamel.yaml.comments import CommentedMap

    value = container[key]
    while _is_block(value):
        container, key = value, (list(value.keys())[-1] if isinstance(value, CommentedMap) else len(value) - 1)
        value = container[key]
    return container, key


def _slot_index(container) -> int:
    from ruamel.yaml.comments import CommentedMap

    return 2 if isinstance(container, CommentedMap) else 0


def _get(slot) -> str:
    container, key = slot
    entry = container.ca.items.get(key)
    tok = entry[_slot_index(container)] if entry else None
    return tok.value if tok is not None else ""


def _set(slot, text: str):
    from ruamel.yaml.error import CommentMark
    from ruamel.yaml.tokens import CommentToken

    container, key = slot
    idx = _slot_index(container)
    entry = container.ca.items.get(key)
    tok = entry[idx] if entry else None
    if tok is not None:
        tok.value = text or "\n"  # mutate in place: a flow collection shares the token with its parent
        return
    if not text or text == "\n":
        return
    new = CommentToken(text, CommentMark(0))
    if entry is None:
        container.ca.items[key] = [None, None, None, None] if idx == 2 else [None, None]
        entry = container.ca.items[key]
    entry[idx] = new


def _split(text: str, col: int) -> tuple[str, str]:
    """A token's text -> (what stays with the node it ends, what introduces the next key at column `col`).

    The first stays: the rest of the node's own line and the comment lines indented deeper than the
    next key (they still belong to the node); from the first blank line or shallower comment on, the
    lines introduce the next key."""
    if not text:
        return "", ""
    lines = text.splitlines(keepends=True)
    keep = 1
    while keep < len(lines):
        line = lines[keep]
        stripped = line.lstrip(" ")
        if not stripped.startswith("#") or len(line) - len(stripped) <= col:
            break
        keep += 1
    return "".join(lines[:keep]), "".join(lines[keep:])


def _key_col(cmap, key) -> int:
    try:
        return cmap.lc.key(key)[1]
    except Exception:  # noqa: BLE001 - a node built here has no position
        return 0


def _indent(text: str, col: int) -> str:
    """Comment lines of `text` re-indented to `col` (blank lines kept)."""
    return "".join(" " * col + line.lstrip(" ") if line.lstrip(" ").startswith("#") else line
                   for line in text.splitlines(keepends=True))


def _reorder(cmap, order, place_before=None, col=None) -> None:
    """Put the keys of `cmap` in `order`, moving each comment line with the key it introduces.

    `place_before(text)` puts comment lines in front of the mapping's first key (they introduced a key
    that is now first); without it they follow the new first key's line. Moved comment lines are
    indented at `col`, the canonical column of the mapping's keys."""
    keys = list(cmap.keys())
    wanted = [k for k in order if k in cmap] + [k for k in keys if k not in order]
    if keys == wanted:
        return
    own, lead = {}, {}
    tail = ""
    orig_col = _key_col(cmap, keys[0])  # the column of this mapping's keys in the input
    for i, k in enumerate(keys):
        mine, after = _split(_get(_end_slot(cmap, k)), orig_col)
        own[k] = mine
        if i + 1 < len(keys):
            lead[keys[i + 1]] = after if col is None else _indent(after, col)
        else:
            tail = after
    lead[keys[0]] = ""  # comments above the first key belong to the mapping: they stay on top
    for k in wanted:
        cmap.move_to_end(k)
    orphan = lead.get(wanted[0], "")
    if orphan and place_before is not None:
        place_before(orphan)
        orphan = ""
    for i, k in enumerate(wanted):
        following = lead.get(wanted[i + 1], "") if i + 1 < len(wanted) else tail
        if i == 0:
            following = orphan + following
        text = own[k]
        if following and not text:
            text = "\n"
        _set(_end_slot(cmap, k), text + following)


def _token(text):
    from ruamel.yaml.error import CommentMark
    from ruamel.yaml.tokens import CommentToken

    return CommentToken(text, CommentMark(0))


def _before_first_key(cmap):
    """Comment lines in front of the first key of a mapping (the document, or a mapping value)."""
    def place(text):
        first = next(iter(cmap))
        entry = cmap.ca.items.setdefault(first, [None, None, None, None])
        if entry[1]:
            entry[1][-1].value += text
        else:
            entry[1] = [_token(text)]
    return place


def _before_item(parent, key, index):
    """Comment lines in front of item `index` of the sequence parent[key] (above its `- ` line)."""
    def place(text):
        seq = parent[key]
        try:
            dash = max(0, seq.lc.item(index)[1] - 2)
        except Exception:  # noqa: BLE001
            dash = 0
        text = "".join((" " * dash + line.lstrip(" ")) if line.strip() else line for line in text.splitlines(keepends=True))
        if index > 0:
            slot = _end_slot(seq, index - 1)
            current = _get(slot) or "\n"
            _set(slot, current + text)
            return
        entry = parent.ca.items.setdefault(key, [None, None, None, None])
        if entry[3]:
            entry[3][-1].value += text
        else:
            entry[3] = [_token(text)]
    return place


# -- the canonical order, applied bottom-up -----------------------------------------------------

def _maps(node):
    from ruamel.yaml.comments import CommentedMap

    return isinstance(node, CommentedMap)


def _each_map(seq):
    for item in seq or ():
        if _maps(item):
            yield item


def canonicalise(doc) -> None:
    if not _maps(doc):
        return
    def values(parent, key, order, col):
        """Reorder every mapping value of the mapping parent[key] (their keys at column `col`)."""
        if _maps(parent.get(key)):
            for name, value in parent[key].items():
                if _maps(value):
                    _reorder(value, order, _before_first_key(value), col)

    def items(parent, key, order, col):
        """Reorder every mapping item of the sequence parent[key] (`- ` at col - 2, keys at `col`)."""
        if isinstance(parent.get(key), list):
            for i, value in enumerate(parent[key]):
                if _maps(value):
                    _reorder(value, order, _before_item(parent, key, i), col)

    def one(parent, key, order, col):
        if _maps(parent.get(key)):
            _reorder(parent[key], order, _before_first_key(parent[key]), col)

    one(doc, "regulation", REGULATION, 2)
    values(doc, "calendars", CALENDAR, 4)
    items(doc, "assumptions", ASSUMPTION, 4)
    values(doc, "definitions", DEFINITION, 4)
    for name in ("acceptance", "scope", "tier_rules", "delay_reasons", "notices"):
        items(doc, name, RULE, 4)
    if _maps(doc.get("tiers")):
        for tier in doc["tiers"].values():
            if _maps(tier):
                values(tier, "targets", TARGET, 8)
                one(tier, "targets", TARGETS, 6)
        values(doc, "tiers", TIER, 4)
    billing = doc.get("billing")
    if _maps(billing):
        one(billing, "minimum_minutes", MINIMUM, 4)
        items(billing, "rates", RULE, 6)
        one(doc, "billing", BILLING, 2)
    life = doc.get("lifecycle")
    if _maps(life):
        one(life, "next_response", NEXT_RESPONSE, 4)
        items(life, "pauses", PAUSE, 6)
        items(life, "rules", RULE, 6)
        one(doc, "lifecycle", LIFECYCLE, 2)
    _reorder(doc, TOP, _before_first_key(doc), 0)


# -- entry points -------------------------------------------------------------------------------

class FormatError(PolicyError):
    pass


def format_text(text: str, file: str = "<policy>") -> str:
    """The canonical form of a policy text. Raises FormatError (a PolicyError) if it is not YAML."""
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from slapolicy.language.load import load_yaml

    try:
        before = load_yaml(text, file).data  # the project's own loader: no aliases, tags or duplicate keys
    except PolicyError as exc:
        raise FormatError(exc.diagnostics, exc.texts) from None
    y = _yaml()
    try:
        doc = y.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        span = Span(file, mark.line + 1, mark.column + 1, mark.line + 1, mark.column + 2) if mark else Span(file, 1, 1)
        raise FormatError([Diagnostic("yaml-syntax", str(exc.problem or exc.context), span)], {file: text}) from None
    except YAMLError as exc:
        raise FormatError([Diagnostic("yaml-syntax", str(exc), Span(file, 1, 1, 1, 2))], {file: text}) from None
    if not _maps(doc):  # not a policy (a test or coverage list): there is no canonical form to give it
        return text
    canonicalise(doc)
    out = io.StringIO()
    y.dump(doc, out)
    result = out.getvalue().rstrip("\n") + "\n"
    after = load_yaml(result, file).data
    if after != before:  # never hand back a text that means something else
        raise FormatError([Diagnostic("fmt-changed-meaning", "formatting would change what the file means; "
                                      "it was left as it is (please report this)", Span(file, 1, 1, 1, 2))], {file: text})
    return result


@dataclass
class FormatResult:
    file: str
    text: str
    formatted: str | None
    error: PolicyError | None = None

    @property
    def changed(self) -> bool:
        return self.formatted is not None and self.formatted != self.text


def format_file(path) -> FormatResult:
    from slapolicy.api import _display

    path = Path(path)
    file = _display(path)
    from slapolicy.language.load import read_policy_file

    try:
        text = read_policy_file(path, file)  # the one safe reader (regular files only, size capped)
    except PolicyError as exc:
        return FormatResult(file, "", None, exc)
    try:
        return FormatResult(file, text, format_text(text, file))
    except PolicyError as exc:
        return FormatResult(file, text, None, exc)


def format_paths(paths) -> list[FormatResult]:
    from slapolicy.api import policy_files

    return [format_file(p) for p in policy_files(paths)]
