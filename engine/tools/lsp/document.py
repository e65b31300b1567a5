"""One open policy document as the language server sees it: its YAML positions, its expressions, its ids.

Positions: the LSP's are 0-based (line, character); slapolicy's Spans are 1-based with an exclusive end
column (slapolicy.language.source). The loader keeps the span of every YAML value and key
(slapolicy.language.load); a position inside an expression string is mapped through
slapolicy.language.check.expr_span, the same function that places the checker's diagnostics, so
completion, navigation and diagnostics agree on where a character is.

A document that does not load (a half-typed line) keeps the ids of the last version that did, so
completion still offers tiers, calendars and assumptions while the user types.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from slapolicy.language.check import expr_span
from slapolicy.language.diagnostics import PolicyError
from slapolicy.language.load import Loaded, load_yaml
from slapolicy.language.source import Span

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_STRING = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'")


def is_expression_path(path: tuple) -> bool:
    return bool(path) and (path[-1] == "when" or (len(path) == 3 and path[0] == "definitions" and path[2] == "expr"))


def stage_of(path: tuple) -> str:
    return str(path[0]) if path else ""


@dataclass
class Ref:
    """A place where an id is defined or used: kind (tier, calendar, assumption, definition), id, span."""

    kind: str
    name: str
    span: Span
    definition: bool = False


@dataclass
class Document:
    uri: str
    file: str  # the path shown in diagnostics (and where holidays_file and the regulation are looked up)
    text: str
    loaded: Loaded | None = None
    data: dict = field(default_factory=dict)  # the last data that loaded (possibly of an earlier version)
    refs: list = field(default_factory=list)

    @classmethod
    def open(cls, uri: str, text: str, previous: "Document | None" = None) -> "Document":
        doc = cls(uri, uri_to_path(uri), text)
        try:
            doc.loaded = load_yaml(text, doc.file)
        except PolicyError:
            doc.loaded = None
        if doc.loaded is not None and isinstance(doc.loaded.data, dict):
            doc.data = doc.loaded.data
            doc.refs = collect_refs(doc.loaded)
        elif previous is not None:
            doc.data = previous.data
        return doc

    # -- ids -----------------------------------------------------------------------------------
    def ids(self, kind: str) -> list:
        data = self.data or {}
        if kind == "tier":
            return list((data.get("tiers") or {}).keys()) if isinstance(data.get("tiers"), dict) else []
        if kind == "calendar":
            return list((data.get("calendars") or {}).keys()) if isinstance(data.get("calendars"), dict) else []
        if kind == "definition":
            return list((data.get("definitions") or {}).keys()) if isinstance(data.get("definitions"), dict) else []
        if kind == "assumption":
            return [a.get("id") for a in data.get("assumptions") or [] if isinstance(a, dict) and a.get("id")]
        return []

    def assumption(self, name: str) -> dict | None:
        for a in self.data.get("assumptions") or []:
            if isinstance(a, dict) and a.get("id") == name:
                return a
        return None

    # -- positions -----------------------------------------------------------------------------
    def scalar_at(self, line: int, col: int):
        """(path, Span) of the innermost YAML scalar or key holding the 1-based (line, col), or None."""
        if self.loaded is None:
            return None
        best = None
        for path, info in self.loaded.spans.items():
            span = info.span
            if not _contains(span, line, col):
                continue
            if best is None or _size(span) < _size(best[1]):
                best = (path, span)
        return best

    def expression_offset(self, path: tuple, line: int, col: int) -> int | None:
        """The index into the expression text at `path` of the file position (1-based), or None."""
        text = self.expression_text(path)
        if text is None:
            return None
        for i, (ln, cl) in enumerate(self.expression_positions(path)):
            if (ln, cl) == (line, col):
                return i
        # the end of the expression (a cursor just after its last character)
        positions = self.expression_positions(path)
        if positions and positions[-1][0] == line and positions[-1][1] + 1 == col:
            return len(text)
        return None

    def expression_text(self, path: tuple) -> str | None:
        value = self.loaded.data if self.loaded is not None else None
        for key in path:
            try:
                value = value[key]
            except (KeyError, IndexError, TypeError):
                return None
        return str(value) if value is not None and not isinstance(value, (dict, list)) else None

    def expression_positions(self, path: tuple) -> list:
        """The file position (1-based line, col) of every character of the expression at `path`."""
        text = self.expression_text(path) or ""
        out, line, col = [], 1, 1
        for ch in text:
            span = expr_span(self.loaded, path, (line, col, line, col + 1))
            out.append((span.line, span.col))
            if ch == "\n":
                line, col = line + 1, 1
            else:
                col += 1
        return out

    def expression_span(self, path: tuple, start: int, end: int) -> Span:
        """The file span of characters start..end of the expression at `path`."""
        text = self.expression_text(path) or ""
        line = text.count("\n", 0, start) + 1
        col = start - (text.rfind("\n", 0, start) + 1) + 1
        return expr_span(self.loaded, path, (line, col, line, col + max(1, end - start)))

    def word_at(self, line: int, col: int):
        """What the cursor is on: ("expr", path, token text, start, end) inside an expression, ("value",
        path, text, span) on a YAML scalar, ("key", path, text, span) on a key; or None."""
        found = self.scalar_at(line, col)
        if found is None:
            return None
        path, span = found
        if path and path[-1] == "#key":
            return ("key", path[:-1], str(path[-2]), span)
        if is_expression_path(path):
            text = self.expression_text(path) or ""
            i = self.expression_offset(path, line, col)
            if i is None:
                return None
            for m in list(_STRING.finditer(text)) + list(IDENT.finditer(text)):
                if m.start() <= i < m.end() or (i == m.end() and i > m.start()):
                    return ("expr", path, m.group(0), m.start(), m.end())
            return None
        value = self.expression_text(path)
        return ("value", path, value, span) if value is not None else None


def _contains(span: Span, line: int, col: int) -> bool:
    end_line = span.end_line or span.line
    end_col = span.end_col or span.col + 1
    if line < span.line or line > end_line:
        return False
    if line == span.line and col < span.col:
        return False
    if line == end_line and col > end_col:  # the cursor right after the last character still counts
        return False
    return True


def _size(span: Span):
    return ((span.end_line or span.line) - span.line, (span.end_col or span.col) - span.col)


def uri_to_path(uri: str) -> str:
    from urllib.parse import unquote, urlparse

    if uri.startswith("file:"):
        return unquote(urlparse(uri).path)
    return uri


def path_to_uri(path: str) -> str:
    return Path(path).resolve().as_uri()


# -- ids: where they are defined and used ------------------------------------------------------------
def collect_refs(loaded: Loaded) -> list:
    data = loaded.data
    out: list = []
    doc = Document("", loaded.file, loaded.text, loaded, data)

    def key(kind, path):
        out.append(Ref(kind, str(path[-1]), loaded.key_span(path), True))

    for name in (data.get("tiers") or {}) if isinstance(data.get("tiers"), dict) else ():
        key("tier", ("tiers", name))
    for name in (data.get("calendars") or {}) if isinstance(data.get("calendars"), dict) else ():
        key("calendar", ("calendars", name))
    for name in (data.get("definitions") or {}) if isinstance(data.get("definitions"), dict) else ():
        key("definition", ("definitions", name))
    for i, a in enumerate(data.get("assumptions") or []):
        if isinstance(a, dict) and a.get("id"):
            out.append(Ref("assumption", str(a["id"]), loaded.span(("assumptions", i, "id")), True))
    definitions = set((data.get("definitions") or {}) if isinstance(data.get("definitions"), dict) else ())

    for path, info in loaded.spans.items():
        if not path or path[-1] == "#key":
            continue
        value = doc.expression_text(path)
        if value is None:
            continue
        if path[-1] == "tier" and len(path) >= 3:
            out.append(Ref("tier", value, info.span))
        elif path[-1] == "calendar":
            out.append(Ref("calendar", value, info.span))
        elif len(path) >= 2 and path[-2] == "assumptions" and isinstance(path[-1], int) and path[0] != "assumptions":
            out.append(Ref("assumption", value, info.span))
        elif is_expression_path(path):
            out.extend(_expression_refs(doc, path, value, definitions))
    return out


_IS_OPEN = re.compile(r"\bis_open\s*\([^()]*?,\s*([\"'])([^\"']*)\1")
_TIER_CMP = re.compile(r"\btier\s*(?:==|!=|(?:not\s+)?in)\s*(\[[^\]]*\]|\"[^\"]*\"|'[^']*')")


def _expression_refs(doc: Document, path: tuple, text: str, definitions: set) -> list:
    out = []
    strings = [m.span() for m in _STRING.finditer(text)]
    for m in IDENT.finditer(text):
        if m.group(0) in definitions and not any(a <= m.start() < b for a, b in strings):
            if m.start() == 0 or text[m.start() - 1] != ".":
                out.append(Ref("definition", m.group(0), doc.expression_span(path, m.start(), m.end())))
    for m in _IS_OPEN.finditer(text):
        out.append(Ref("calendar", m.group(2), doc.expression_span(path, m.start(2), m.end(2))))
    for m in _TIER_CMP.finditer(text):
        base = m.start(1)
        for s in _STRING.finditer(m.group(1)):
            out.append(Ref("tier", s.group(0)[1:-1], doc.expression_span(path, base + s.start() + 1, base + s.end() - 1)))
    return out
