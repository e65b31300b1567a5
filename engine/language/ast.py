"""The typed expression tree: frozen dataclasses named after grammar rules.

Every node keeps `pos = (line, col, end_line, end_col)` in the expression's own text (1-based);
the checker maps it into the policy file with the scalar's position.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Pos = tuple  # (line, col, end_line, end_col)


@dataclass(frozen=True)
class Duration:
    months: int = 0
    seconds: float = 0.0
    text: str = ""

    def __str__(self):
        return self.text


@dataclass(frozen=True)
class Node:
    pos: Pos


@dataclass(frozen=True)
class Literal(Node):
    value: Any
    type: str  # string, number, bool, date, timestamp, duration


@dataclass(frozen=True)
class Path(Node):
    parts: tuple

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class ListExpr(Node):
    items: tuple


@dataclass(frozen=True)
class Not(Node):
    operand: Node


@dataclass(frozen=True)
class BoolOp(Node):
    op: str  # "and" | "or"
    operands: tuple


@dataclass(frozen=True)
class Compare(Node):
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Membership(Node):
    negated: bool
    item: Node
    container: Node


@dataclass(frozen=True)
class Arith(Node):
    op: str  # "+" | "-"
    left: Node
    right: Node


@dataclass(frozen=True)
class Call(Node):
    name: str
    args: tuple


@dataclass(frozen=True)
class Quantifier(Node):
    kind: str  # "any" | "all"
    var: str
    source: Node
    cond: Node


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
