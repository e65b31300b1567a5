"""The typed expression tree: immutable nodes named after grammar rules.

Every node keeps `pos = (line, col, end_line, end_col)` in the expression's own text (1-based);
the checker maps it into the policy file with the scalar's position.

The nodes behave as frozen dataclasses (fields in order, equality and hash by class and fields, the
same repr, assignment refused: slapolicy.language.source.Frozen) but are plain classes with __slots__:
creating a dataclass generates and compiles its methods at every import, which cost a start ~10 ms for
these eleven classes when no bytecode is cached (PYTHONDONTWRITEBYTECODE=1), and slotted nodes are
smaller and faster to build (a 5,000-rule policy builds ~100,000 of them).
"""
from __future__ import annotations

from typing import Any

from slapolicy.language.source import Frozen as _Frozen
from slapolicy.language.source import _set

Pos = tuple  # (line, col, end_line, end_col)


class Duration(_Frozen):
    __slots__ = ("months", "seconds", "text")
    _fields = ("months", "seconds", "text")

    def __init__(self, months: int = 0, seconds: float = 0.0, text: str = "") -> None:
        _set(self, "months", months)
        _set(self, "seconds", seconds)
        _set(self, "text", text)

    def _key(self) -> tuple:
        return (self.months, self.seconds, self.text)

    def __str__(self):
        return self.text


class Node(_Frozen):
    __slots__ = ("pos",)
    _fields = ("pos",)

    def __init__(self, pos: Pos) -> None:
        _set(self, "pos", pos)

    def _key(self) -> tuple:
        return (self.pos,)


class Literal(Node):
    """type: string, number, bool, date, timestamp, duration"""

    __slots__ = ("value", "type")
    _fields = ("pos", "value", "type")

    def __init__(self, pos: Pos, value: Any, type: str) -> None:
        _set(self, "pos", pos)
        _set(self, "value", value)
        _set(self, "type", type)

    def _key(self) -> tuple:
        return (self.pos, self.value, self.type,)


class Path(Node):
    __slots__ = ("parts",)
    _fields = ("pos", "parts")

    def __init__(self, pos: Pos, parts: tuple) -> None:
        _set(self, "pos", pos)
        _set(self, "parts", parts)

    def _key(self) -> tuple:
        return (self.pos, self.parts,)

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


class ListExpr(Node):
    __slots__ = ("items",)
    _fields = ("pos", "items")

    def __init__(self, pos: Pos, items: tuple) -> None:
        _set(self, "pos", pos)
        _set(self, "items", items)

    def _key(self) -> tuple:
        return (self.pos, self.items,)


class Not(Node):
    __slots__ = ("operand",)
    _fields = ("pos", "operand")

    def __init__(self, pos: Pos, operand: Node) -> None:
        _set(self, "pos", pos)
        _set(self, "operand", operand)

    def _key(self) -> tuple:
        return (self.pos, self.operand,)


class BoolOp(Node):
    """op: and, or"""

    __slots__ = ("op", "operands")
    _fields = ("pos", "op", "operands")

    def __init__(self, pos: Pos, op: str, operands: tuple) -> None:
        _set(self, "pos", pos)
        _set(self, "op", op)
        _set(self, "operands", operands)

    def _key(self) -> tuple:
        return (self.pos, self.op, self.operands,)


class Compare(Node):
    __slots__ = ("op", "left", "right")
    _fields = ("pos", "op", "left", "right")

    def __init__(self, pos: Pos, op: str, left: Node, right: Node) -> None:
        _set(self, "pos", pos)
        _set(self, "op", op)
        _set(self, "left", left)
        _set(self, "right", right)

    def _key(self) -> tuple:
        return (self.pos, self.op, self.left, self.right,)


class Membership(Node):
    __slots__ = ("negated", "item", "container")
    _fields = ("pos", "negated", "item", "container")

    def __init__(self, pos: Pos, negated: bool, item: Node, container: Node) -> None:
        _set(self, "pos", pos)
        _set(self, "negated", negated)
        _set(self, "item", item)
        _set(self, "container", container)

    def _key(self) -> tuple:
        return (self.pos, self.negated, self.item, self.container,)


class Arith(Node):
    """op: + or -"""

    __slots__ = ("op", "left", "right")
    _fields = ("pos", "op", "left", "right")

    def __init__(self, pos: Pos, op: str, left: Node, right: Node) -> None:
        _set(self, "pos", pos)
        _set(self, "op", op)
        _set(self, "left", left)
        _set(self, "right", right)

    def _key(self) -> tuple:
        return (self.pos, self.op, self.left, self.right,)


class Call(Node):
    __slots__ = ("name", "args")
    _fields = ("pos", "name", "args")

    def __init__(self, pos: Pos, name: str, args: tuple) -> None:
        _set(self, "pos", pos)
        _set(self, "name", name)
        _set(self, "args", args)

    def _key(self) -> tuple:
        return (self.pos, self.name, self.args,)


class Quantifier(Node):
    """kind: any, all"""

    __slots__ = ("kind", "var", "source", "cond")
    _fields = ("pos", "kind", "var", "source", "cond")

    def __init__(self, pos: Pos, kind: str, var: str, source: Node, cond: Node) -> None:
        _set(self, "pos", pos)
        _set(self, "kind", kind)
        _set(self, "var", var)
        _set(self, "source", source)
        _set(self, "cond", cond)

    def _key(self) -> tuple:
        return (self.pos, self.kind, self.var, self.source, self.cond,)


def walk(node: Node):
    """Every node of the tree, parents first (iterative: no recursion limit)."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, ListExpr):
            stack.extend(reversed(n.items))
        elif isinstance(n, Not):
            stack.append(n.operand)
        elif isinstance(n, BoolOp):
            stack.extend(reversed(n.operands))
        elif isinstance(n, (Compare, Arith)):
            stack.extend((n.right, n.left))
        elif isinstance(n, Membership):
            stack.extend((n.container, n.item))
        elif isinstance(n, Call):
            stack.extend(reversed(n.args))
        elif isinstance(n, Quantifier):
            stack.extend((n.cond, n.source))
