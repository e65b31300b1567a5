"""Source positions: spans in policy files and caret excerpts for diagnostics."""
from __future__ import annotations

_set = object.__setattr__


class Frozen:
    """What a frozen dataclass gives, for plain classes with __slots__: equality and hash by class and
    fields (`_key`, in `_fields` order), the same repr, no assignment after __init__, and copy / pickle
    through __init__. (A dataclass generates and compiles its methods at every import: ~1 ms a class
    when no bytecode is cached, PYTHONDONTWRITEBYTECODE=1, as on these machines.)"""

    __slots__ = ()
    _fields: tuple = ()

    def _key(self) -> tuple:
        return tuple(getattr(self, f) for f in self._fields)

    def __eq__(self, other):
        if other.__class__ is self.__class__:
            return self._key() == other._key()
        return NotImplemented

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return f"{type(self).__qualname__}({', '.join(f'{f}={getattr(self, f)!r}' for f in self._fields)})"

    def __setattr__(self, name, value):
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name):
        raise AttributeError(f"cannot delete field {name!r}")

    def __reduce__(self):
        return type(self), self._key()


class Span(Frozen):
    """A region of a source file; lines and columns are 1-based, `end_col` is exclusive. Ordered by its
    fields (file, line, col, end_line, end_col), as the dataclass(order=True) it was."""

    __slots__ = ("file", "line", "col", "end_line", "end_col")
    _fields = ("file", "line", "col", "end_line", "end_col")

    def __init__(self, file: str, line: int, col: int, end_line: int = 0, end_col: int = 0) -> None:
        _set(self, "file", file)
        _set(self, "line", line)
        _set(self, "col", col)
        _set(self, "end_line", end_line)
        _set(self, "end_col", end_col)

    def _key(self) -> tuple:
        return (self.file, self.line, self.col, self.end_line, self.end_col)

    def __lt__(self, other):
        return self._key() < other._key() if other.__class__ is self.__class__ else NotImplemented

    def __le__(self, other):
        return self._key() <= other._key() if other.__class__ is self.__class__ else NotImplemented

    def __gt__(self, other):
        return self._key() > other._key() if other.__class__ is self.__class__ else NotImplemented

    def __ge__(self, other):
        return self._key() >= other._key() if other.__class__ is self.__class__ else NotImplemented

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
