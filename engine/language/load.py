"""Stage 1: load a policy's YAML safely, keeping the position of every value.

`load_yaml(text, file)` returns a `Loaded` with the plain data (dicts, lists, str, int, float,
bool, None; YAML dates become ISO strings) and `spans`, a map from a key path tuple such as
("tier_rules", 2, "when") to the Span of that value (and ("...", "#key") for the key itself).
Duplicate keys are errors, not silent overwrites.

Nothing in a policy file can make the loader amplify, execute or reach outside it (README "Input
limits", docs/diagnostics.md): anchors and aliases are refused before anything is expanded (test
files, which may share tickets through aliases, are capped at MAX_NODES built values); every tag
but the standard ones of plain data is refused; nesting is capped at MAX_DEPTH, integers at
MAX_INT_DIGITS digits; `.nan` / `.inf` are refused. `read_policy_file(path)` is the one reader of
policy and test files for every command and the server: regular files only (a FIFO, a device or a
directory is refused without being opened for a blocking read), at most MAX_BYTES, UTF-8; a symlink
only to a regular file in the link's own directory tree (a ConfigMap-style `..data/` link works; a
link to /etc/passwd is refused and its content never read). A file that
is plain text (one scalar) is `not-a-policy`, reported without an excerpt of its text.
"""
from __future__ import annotations

import datetime as dt
import math
import os
import stat
from pathlib import Path

from slapolicy.language.diagnostics import Diagnostic, PolicyError
from slapolicy.language.source import Span

MAX_BYTES = 2_000_000
MAX_DEPTH = 64  # mappings / lists nested in a policy (the deepest bundled one is 6)
MAX_INT_DIGITS = 40
MAX_NODES = 500_000  # values built from one file: caps what aliases (test files only) may expand to
_STANDARD_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq")}
# PyYAML is imported on the first load_yaml, not with this module: reading a policy file (read_policy_file)
# and a start from the compile cache (slapolicy.language.cache) do not need it (about 20 ms a start)


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


def _span(file: str, node) -> Span:
    s, e = node.start_mark, node.end_mark
    return Span(file, s.line + 1, s.column + 1, e.line + 1, e.column + 1)


def _yaml():
    """PyYAML, and libyaml's safe loader when PyYAML was built with it (several times faster), else the
    pure-Python one"""
    import yaml

    return yaml, getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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


def load_yaml(text: str, file: str, allow_aliases: bool = False, test_file: bool = False) -> Loaded:
    """The file's data and spans; PolicyError with every problem. A policy is a mapping; a test file
    (`test_file`) a list of cases, and may share tickets through aliases (`allow_aliases`)."""
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise PolicyError([Diagnostic("file-too-large", f"policy file is larger than {MAX_BYTES} bytes",
                                      Span(file, 1, 1, 1, 2))])
    yaml, loader = _yaml()
    try:
        node = yaml.compose(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        span = Span(file, mark.line + 1, mark.column + 1, mark.line + 1, mark.column + 2) if mark else Span(file, 1, 1)
        raise PolicyError([Diagnostic("yaml-syntax", f"{exc.problem or exc.context}", span)], {file: text}) from None
    except yaml.YAMLError as exc:
        raise PolicyError([Diagnostic("yaml-syntax", str(exc), Span(file, 1, 1, 1, 2))], {file: text}) from None
    except RecursionError:  # the pure-Python composer on deep nesting
        raise PolicyError([Diagnostic("yaml-too-deep", f"values are nested deeper than {MAX_DEPTH} levels",
                                      Span(file, 1, 1, 1, 2))]) from None
    loaded = Loaded(file, text, None)
    problems: list[Diagnostic] = []
    constructor = yaml.constructor.SafeConstructor()
    built = 0

    class _Stop(Exception):
        pass

    def build(node, path):
        nonlocal built
        built += 1
        if built > MAX_NODES:
            problems.append(Diagnostic("yaml-too-large", f"the file expands to more than {MAX_NODES} values "
                                       "(aliases repeat what they name)", _span(file, node)))
            raise _Stop
        if len(path) > MAX_DEPTH:
            problems.append(Diagnostic("yaml-too-deep", f"values are nested deeper than {MAX_DEPTH} levels",
                                       _span(file, node)))
            raise _Stop
        loaded.spans[path] = ScalarInfo(_span(file, node), getattr(node, "style", None))
        if node.tag not in _STANDARD_TAGS:
            problems.append(Diagnostic("yaml-tag", f"tag {node.tag} is not allowed in a policy (only plain data)",
                                       _span(file, node)))
            return None
        if isinstance(node, yaml.MappingNode):
            out = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    problems.append(Diagnostic("yaml-key", "mapping keys must be plain text", _span(file, key_node)))
                    continue
                if key_node.tag not in _STANDARD_TAGS:
                    problems.append(Diagnostic("yaml-tag", f"tag {key_node.tag} is not allowed in a policy "
                                               "(only plain data)", _span(file, key_node)))
                    continue
                key = key_node.value  # keys are text: `on:` stays "on", not YAML 1.1's True
                if key in out:
                    problems.append(Diagnostic("duplicate-key", f"key '{key}' appears twice in this mapping",
                                               _span(file, key_node)))
                    continue
                loaded.spans[path + (key, "#key")] = ScalarInfo(_span(file, key_node), key_node.style)
                out[key] = build(value_node, path + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [build(child, path + (i,)) for i, child in enumerate(node.value)]
        return _scalar(node)

    def _scalar(node):
        if node.tag == "tag:yaml.org,2002:int":
            digits = sum(c.isdigit() or c in "abcdefABCDEF" for c in node.value)
            if digits > MAX_INT_DIGITS:
                problems.append(Diagnostic("yaml-number", f"an integer of {digits} digits; the limit is "
                                           f"{MAX_INT_DIGITS}", _span(file, node)))
                return None
        if node.tag == "tag:yaml.org,2002:str":  # what SafeConstructor.construct_yaml_str returns, without its call
            return node.value
        try:
            value = constructor.construct_object(node)
        except Exception as exc:  # noqa: BLE001 - 2026-02-30, `!!timestamp x` (AttributeError in PyYAML)
            problems.append(Diagnostic("yaml-value", f"cannot read this value: {str(exc).splitlines()[0][:200]}",
                                       _span(file, node)))
            return None
        if isinstance(value, float) and not math.isfinite(value):
            problems.append(Diagnostic("yaml-number", f"{node.value} is not a finite number", _span(file, node)))
            return None
        if isinstance(value, (dt.datetime, dt.date)):
            return value.isoformat()
        return value

    if node is None:
        raise PolicyError([Diagnostic("empty-policy", "the policy file is empty", Span(file, 1, 1, 1, 2))], {file: text})
    if isinstance(node, yaml.ScalarNode) or (test_file and not isinstance(node, yaml.SequenceNode)):
        # not a policy: no excerpt of its text (it may be any file a link or a typo pointed at)
        raise PolicyError([Diagnostic("test-file", "a test file is a list of cases", Span(file, 1, 1, 1, 2))]
                          if test_file else [Diagnostic("not-a-policy", "the file is plain text, not a YAML mapping of policy keys",
                                                        Span(file, 1, 1, 1, 2))])
    if not allow_aliases and "&" in text:  # (an alias needs an anchor: no "&", no alias)
        shared = _first_alias(node)
        if shared is not None:  # refused before anything is expanded
            raise PolicyError([Diagnostic("yaml-alias", "anchors and aliases are not allowed in a policy",
                                          _span(file, shared))], {file: text})
    try:
        loaded.data = build(node, ())
    except _Stop:
        pass
    except RecursionError:
        problems.append(Diagnostic("yaml-too-deep", f"values are nested deeper than {MAX_DEPTH} levels",
                                   Span(file, 1, 1, 1, 2)))
    if problems:
        raise PolicyError(problems, {file: text})
    return loaded


def _first_alias(root):
    """The first node reached twice (an alias), or None: they hide structure and allow billion laughs."""
    import yaml

    seen, stack = set(), [root]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            return n
        seen.add(id(n))
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                stack.extend((k, v))
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
    return None
