"""Source positions: spans in policy files and caret excerpts for diagnostics."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Span:
    """A region of a source file; lines and columns are 1-based, `end_col` is exclusive."""

    file: str
    line: int
    col: int
    end_line: int = 0
    end_col: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def shifted(self, line_offset: int, col: int, length: int) -> "Span":
        """A span inside this one: `line_offset` lines down, at absolute column `col`."""
        line = self.line + line_offset
        return Span(self.file, line, col, line, col + max(length, 1))


def excerpt(text: str | None, span: Span) -> str:
    """The span's first line with a caret line under it (empty if the text is unknown)."""
    if not text or span.line < 1:
        return ""
    lines = text.splitlines()
    if span.line > len(lines):
        return ""
    line = lines[span.line - 1].rstrip("\n")
    width = 1
    if span.end_line == span.line and span.end_col > span.col:
        width = span.end_col - span.col
    width = max(1, min(width, len(line) - span.col + 1 if len(line) >= span.col else 1))
    col = span.col
    if len(line) > MAX_EXCERPT:  # a very long line: the part around the span, the caret at most MAX_EXCERPT wide
        start = max(0, col - 1 - MAX_EXCERPT // 4)
        line = ("..." if start else "") + line[start:start + MAX_EXCERPT] + "..."
        col = col - start + (3 if start else 0)
        width = min(width, MAX_EXCERPT - (col - 1) + (3 if start else 0))
    return f"    {line}\n    {' ' * (col - 1)}{'^' * max(1, width)}"


MAX_EXCERPT = 160  # characters of a source line shown under a diagnostic
