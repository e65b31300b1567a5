"""Go to definition and find references of tier, calendar, assumption and definition ids.

Where ids are defined and used is collected once per document version (document.collect_refs): the
keys under `tiers`, `calendars`, `definitions` and the `id` of each assumption; the `tier:` of tier
rules, the `calendar:` of targets, the items of every `assumptions:` list, `is_open(..., "calendar")`
and `tier == "id"` / `tier in [...]` inside expressions, and definitions named in expressions.
"""
from __future__ import annotations

from slapolicy.tools.lsp.document import Document, Ref


def ref_at(doc: Document, line: int, col: int) -> Ref | None:
    """The id under the 1-based (line, col): one of the document's refs whose span holds it."""
    best = None
    for ref in doc.refs:
        s = ref.span
        if s.line == line and s.col <= col <= (s.end_col or s.col + 1) and (s.end_line or s.line) == line:
            if best is None or (s.end_col - s.col) < (best.span.end_col - best.span.col):
                best = ref
    return best


def definition(doc: Document, line: int, col: int) -> list:
    ref = ref_at(doc, line, col)
    if ref is None:
        return []
    return [r.span for r in doc.refs if r.definition and r.kind == ref.kind and r.name == ref.name]


def references(doc: Document, line: int, col: int, include_declaration: bool = True) -> list:
    ref = ref_at(doc, line, col)
    if ref is None:
        return []
    return [r.span for r in doc.refs if r.kind == ref.kind and r.name == ref.name
            and (include_declaration or not r.definition)]
