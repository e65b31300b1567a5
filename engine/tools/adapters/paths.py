"""Paths of the mapping format (engine/tools/adapters/README.md, "Paths"): parse once, evaluate many times.

    via.source.from.address        dotted names
    audits(id)[].events[]          NAME(PATH): a lookup table row (or rows, `many`); `[]` iterates a list
    custom_fields[id=360].value    `[k=v]`: the first element whose k equals v (as strings)
    ^.created_at                   `^`: the parent item of an event rule's item

`parse(text)` returns a Path or raises PathError(message, column). `Path.items(ctx, env)` yields Items (the value,
its parent item, and a trace: the concrete location, e.g. `tickets[3].via.channel` or `organizations(905).name`,
used in error records). A missing key, a null, an empty list or no match gives no item.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_NAME = re.compile(r"[A-Za-z0-9_\-$@#]+")


class PathError(ValueError):
    def __init__(self, message: str, column: int):
        super().__init__(message)
        self.message, self.column = message, column


@dataclass(frozen=True)
class Step:
    kind: str  # "name" | "parent" | "lookup" | "all" | "find"
    name: str = ""
    arg: "Path | None" = None  # lookup key path
    key: str = ""  # find: k
    value: str = ""  # find: v


@dataclass(frozen=True)
class Path:
    text: str
    steps: tuple

    @property
    def lookups(self):
        """The lookup names this path uses (its own and its arguments')."""
        out = []
        for s in self.steps:
            if s.kind == "lookup":
                out.append(s.name)
                out.extend(s.arg.lookups)
        return out

    @property
    def iterates(self) -> bool:
        return any(s.kind == "all" for s in self.steps)

    @property
    def uses_parent(self) -> bool:
        return any(s.kind == "parent" for s in self.steps) or any(
            s.arg.uses_parent for s in self.steps if s.kind == "lookup")

    def items(self, ctx: "Item", env) -> list:
        return _walk(self.steps, [ctx], env)

    def first(self, ctx: "Item", env):
        """The first Item this path gives, or None."""
        found = self.items(ctx, env)
        return found[0] if found else None

    def trace(self, ctx: "Item", env) -> str:
        """Where this path points from ctx, as far as it resolves, then the rest as written."""
        current = [ctx]
        for i, step in enumerate(self.steps):
            nxt = _walk((step,), current, env)
            if not nxt:
                base = current[0].trace if current else ""
                if step.kind == "lookup" and current:
                    key = step.arg.first(current[0], env)
                    if key is not None and not isinstance(key.value, (dict, list)):
                        return _join(f"{step.name}({as_text(key.value)})", _render(self.steps[i + 1:]))
                return _join(base, _render(self.steps[i:]))
            current = nxt
        return current[0].trace


@dataclass
class Item:
    value: object
    parent: "Item | None"
    trace: str
    holder: "Item | None" = None  # the object this value was read from (for a list: its elements' parent)


def _join(base: str, rest: str) -> str:
    if not base:
        return rest
    if not rest:
        return base
    return base + rest if rest.startswith("[") else f"{base}.{rest}"


def _render(steps) -> str:
    out = ""
    for s in steps:
        if s.kind == "name":
            out = _join(out, s.name)
        elif s.kind == "parent":
            out = _join(out, "^")
        elif s.kind == "lookup":
            out = _join(out, f"{s.name}({s.arg.text})")
        elif s.kind == "all":
            out += "[]"
        else:
            out += f"[{s.key}={s.value}]"
    return out


def as_text(value) -> str:
    """The string form used to compare keys and conditions: true/false for booleans."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _empty(value) -> bool:
    return value is None or (isinstance(value, list) and not value)


def _walk(steps, current: list, env) -> list:
    for step in steps:
        nxt = []
        kind = step.kind
        for item in current:
            if kind == "name":
                if isinstance(item.value, dict) and not _empty(item.value.get(step.name)):
                    nxt.append(Item(item.value[step.name], item.parent, _join(item.trace, step.name), item))
            elif kind == "parent":
                if item.parent is not None:
                    nxt.append(item.parent)
            elif kind == "lookup":
                key_item = step.arg.first(item, env)
                if key_item is None or isinstance(key_item.value, (dict, list)):
                    continue
                key = as_text(key_item.value)
                row = env.lookup(step.name, key)
                if not _empty(row):
                    nxt.append(Item(row, item.parent, f"{step.name}({key})", item))
            elif isinstance(item.value, list):
                # the elements' parent is the object that holds the list (the audit for its events)
                holder = item.holder if item.holder is not None else item
                for i, element in enumerate(item.value):
                    if element is None:
                        continue
                    if kind == "all":
                        nxt.append(Item(element, holder, f"{item.trace}[{i}]"))
                    elif isinstance(element, dict) and element.get(step.key) is not None \
                            and as_text(element.get(step.key)) == step.value:
                        nxt.append(Item(element, holder, f"{item.trace}[{i}]"))
                        break
        current = nxt
        if not current:
            return []
    return current


def parse(text: str) -> Path:
    if not isinstance(text, str) or not text.strip():
        raise PathError("a path must be a non-empty string", 1)
    path, pos = _parse(text, 0, top=True)
    if pos != len(text):
        raise PathError(f"unexpected {text[pos]!r}", pos + 1)
    return path


def _parse(text: str, pos: int, top: bool):
    start = pos
    steps = []
    expect_segment = True
    while pos < len(text):
        ch = text[pos]
        if ch == ")" and not top:
            break
        if expect_segment:
            if ch == "^":
                steps.append(Step("parent"))
                pos += 1
            else:
                m = _NAME.match(text, pos)
                if not m:
                    if ch == "[" and not steps:
                        pass  # "[]": the value itself is the list
                    else:
                        raise PathError(f"expected a name at {text[pos:]!r}", pos + 1)
                else:
                    name = m.group(0)
                    pos = m.end()
                    if pos < len(text) and text[pos] == "(":
                        arg, pos = _parse(text, pos + 1, top=False)
                        if pos >= len(text) or text[pos] != ")":
                            raise PathError("a lookup's '(' is not closed", pos + 1)
                        pos += 1
                        steps.append(Step("lookup", name=name, arg=arg))
                    else:
                        steps.append(Step("name", name=name))
            expect_segment = False
            continue
        if ch == "[":
            end = text.find("]", pos)
            if end < 0:
                raise PathError("'[' is not closed", pos + 1)
            inner = text[pos + 1:end]
            if inner == "":
                steps.append(Step("all"))
            elif "=" in inner:
                k, v = inner.split("=", 1)
                if not _NAME.fullmatch(k.strip()):
                    raise PathError(f"[{inner}]: expected [key=value]", pos + 1)
                steps.append(Step("find", key=k.strip(), value=v.strip().strip("\"'")))
            else:
                raise PathError(f"[{inner}]: expected [] or [key=value]", pos + 1)
            pos = end + 1
            continue
        if ch == ".":
            pos += 1
            expect_segment = True
            if pos >= len(text) or text[pos] in ".)[":
                raise PathError("a '.' must be followed by a name", pos + 1)
            continue
        raise PathError(f"unexpected {ch!r}", pos + 1)
    if not steps:
        raise PathError("empty path", start + 1)
    return Path(text[start:pos], tuple(steps)), pos
