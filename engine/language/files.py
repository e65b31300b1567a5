"""Policy files without YAML: the one safe reader of policy and test files (`read_policy_file`), and what a
loaded file is (`Loaded`: the data, and the position and style of every value, `ScalarInfo`), with the map
of a position inside an expression to the file (`expr_span`).

Apart from slapolicy.language.load (the YAML loader) so that a start from the compile cache, which needs
these but no YAML, compiles neither the loader nor PyYAML. slapolicy.language.load re-exports all of it.

`read_policy_file(path)`: regular files only (a FIFO, a device or a directory is refused without being
opened for a blocking read), at most MAX_BYTES, UTF-8; a symlink only to a regular file in the link's
own directory tree (a ConfigMap-style `..data/` link works; a link to /etc/passwd is refused and its
content never read).
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from slapolicy.language.diagnostics import Diagnostic, PolicyError
from slapolicy.language.source import Span

MAX_BYTES = 2_000_000


class ScalarInfo:
    """where a value is: its span, and its style (None plain, "'" / '"' quoted, "|" / ">" block)"""
    __slots__ = ("span", "style")  # (a plain class: one per value of a policy; a dataclass costs each start)

    def __init__(self, span: Span, style: str | None) -> None:
        self.span, self.style = span, style

    def __eq__(self, other):
        return type(other) is ScalarInfo and (self.span, self.style) == (other.span, other.style)

    __hash__ = None  # mutable, as the dataclass it was

    def __repr__(self):
        return f"ScalarInfo(span={self.span!r}, style={self.style!r})"


class Loaded:
    """a loaded file: its name, text and data, and the ScalarInfo of each value (`spans`, by key path)"""

    def __init__(self, file: str, text: str, data: object, spans: dict[tuple, ScalarInfo] | None = None) -> None:
        self.file, self.text, self.data = file, text, data
        self.spans = {} if spans is None else spans

    def __repr__(self):
        return f"Loaded(file={self.file!r}, {len(self.spans)} spans)"

    def span(self, path: tuple) -> Span:
        """The span of the value at `path`, or of its closest ancestor that has one."""
        path = tuple(path)
        while path:
            info = self.spans.get(path)
            if info is not None:
                return info.span
            path = path[:-1]
        info = self.spans.get(())
        return info.span if info else Span(self.file, 1, 1, 1, 2)

    def key_span(self, path: tuple) -> Span:
        info = self.spans.get(tuple(path) + ("#key",))
        return info.span if info else self.span(path)

    @property
    def lines(self) -> list:
        """the text's lines (split once: every position mapped into the file reads them)"""
        got = self.__dict__.get("_lines")
        if got is None or got[0] is not self.text:
            got = self.__dict__["_lines"] = (self.text, self.text.splitlines())
        return got[1]


def expr_span(loaded: Loaded, path: tuple, pos: tuple) -> Span:
    """Map a position inside an expression to the policy file."""
    info = loaded.spans.get(tuple(path))
    if info is None:
        return loaded.span(path)
    base = info.span
    line, col, end_line, end_col = pos
    length = max(1, (end_col - col) if end_line == line else 1)
    lines = loaded.lines
    if info.style in ("|",):  # literal block: one expression line per file line, after the indicator
        file_line = base.line + line
        if 0 < file_line <= len(lines):
            text = lines[file_line - 1]
            indent = len(text) - len(text.lstrip(" "))
            return Span(base.file, file_line, indent + col, file_line, indent + col + length)
        return base
    first_col = base.col + (1 if info.style in ("'", '"') else 0)
    if base.end_line == base.line or info.style is None and line == 1 and base.end_line == base.line:
        return Span(base.file, base.line, first_col + col - 1, base.line, first_col + col - 1 + length)
    # folded / multi-line plain or quoted scalar: file lines are joined with single spaces
    offset = col - 1
    file_line = base.line + (1 if info.style == ">" else 0)
    start_col = first_col if file_line == base.line else None
    while file_line <= min(base.end_line, len(lines)):
        raw = lines[file_line - 1]
        if start_col is None:
            start_col = len(raw) - len(raw.lstrip(" ")) + 1
        chunk = raw[start_col - 1:].rstrip()
        if offset <= len(chunk):
            return Span(base.file, file_line, start_col + offset, file_line, start_col + offset + length)
        offset -= len(chunk) + 1
        file_line += 1
        start_col = None
    return base


def _refuse(file: str, code: str, message: str, text: str | None = None, span: Span | None = None):
    raise PolicyError([Diagnostic(code, message, span or Span(file, 1, 1, 1, 2))], {file: text} if text else {})


def read_policy_file(path, display: str | None = None) -> str:
    """The text of a policy (or test) file, read safely; PolicyError with one diagnostic otherwise:
    `unreadable` (missing, not UTF-8, an OS error), `not-a-regular-file` (FIFO, device, directory...),
    `unsafe-symlink` (a link out of its directory tree), `file-too-large` (over MAX_BYTES)."""
    path = Path(path)
    file = display or str(path)
    try:
        if path.is_symlink():
            target = path.resolve(strict=True)
            home = path.parent.resolve(strict=True)
            if home != target.parent and home not in target.parents:
                _refuse(file, "unsafe-symlink", "the file is a symbolic link to a file outside its directory; "
                        "a policy file may link only to a file in the same directory tree")
        # O_NONBLOCK: opening a FIFO does not wait for a writer; nothing but a regular file is read
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except PolicyError:
        raise
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop on older Pythons
        _refuse(file, "unreadable", f"cannot read the file: {getattr(exc, 'strerror', None) or exc}")
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = ("a directory" if stat.S_ISDIR(info.st_mode) else "a FIFO" if stat.S_ISFIFO(info.st_mode)
                    else "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else "a socket"
                    if stat.S_ISSOCK(info.st_mode) else "not a regular file")
            _refuse(file, "not-a-regular-file", f"the file is {kind}, not a regular file: not read")
        if info.st_size > MAX_BYTES:
            _refuse(file, "file-too-large", f"the file has {info.st_size} bytes; the limit is {MAX_BYTES}")
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            size += len(chunk)
            if size > MAX_BYTES:  # it grew while being read
                _refuse(file, "file-too-large", f"the file has more than {MAX_BYTES} bytes")
            chunks.append(chunk)
    except OSError as exc:
        _refuse(file, "unreadable", f"cannot read the file: {exc.strerror or exc}")
    finally:
        os.close(fd)
    data = b"".join(chunks)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        _refuse(file, "unreadable", f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})",
                span=Span(file, line, col, line, col + 1))
