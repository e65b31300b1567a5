"""Stage 3: parse expressions with the lark grammar into the typed tree of slapolicy.language.ast.

The grammar ships as package data (slapolicy.grammar/policy.lark) and the LALR parser is built once.
Errors are `ExprSyntaxError(message, line, col)` in the expression's own coordinates.
"""
from __future__ import annotations

import datetime as dt
import re
import threading

from slapolicy.language import ast

MAX_LENGTH = 2000
MAX_DEPTH = 32

_parser = None
_lock = threading.Lock()


class ExprSyntaxError(Exception):
    def __init__(self, message: str, line: int = 1, col: int = 1, length: int = 1, code: str = "expr-syntax"):
        super().__init__(message)
        self.message, self.line, self.col, self.length, self.code = message, line, col, length, code


def grammar_text() -> str:
    from slapolicy.language.resources import data_dir

    return data_dir("grammar").joinpath("policy.lark").read_text("utf-8")


def parser():
    global _parser
    if _parser is None:
        with _lock:
            if _parser is None:
                import lark

                options = dict(parser="lalr", propagate_positions=True, maybe_placeholders=False)
                try:  # lark keeps the analysed LALR tables in a temp file keyed by the grammar's hash
                    _parser = lark.Lark(grammar_text(), cache=True, **options)
                except OSError:  # no writable temp dir: build the tables every time
                    _parser = lark.Lark(grammar_text(), **options)
    return _parser


_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400}
_TOKEN_NAMES = {
    "COMP_OP": "a comparison (==, !=, <, <=, >, >=)", "ADD_OP": "'+' or '-'", "NAME": "a name",
    "STRING": "a string", "NUMBER": "a number", "DATE": "a date", "TIMESTAMP": "a timestamp",
    "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'", "COMMA": "','", "DOT": "'.'",
    "COLON": "':'", "UNIT": "a unit (days, hours...)", "IN": "'in'", "NOT": "'not'", "AND": "'and'",
    "OR": "'or'", "TRUE": "'true'", "FALSE": "'false'", "ANY": "'any'", "ALL": "'all'", "$END": "the end",
}


def _pos(meta) -> tuple:
    return (meta.line, meta.column, meta.end_line, meta.end_column)


def _tok_pos(tok) -> tuple:
    return (tok.line, tok.column, tok.end_line or tok.line, tok.end_column or tok.column + len(tok))


def _build(tree):
    """Lark tree -> ast nodes, bottom-up without recursion."""
    from lark import Token, Tree

    out = {}
    stack = [(tree, False)]
    while stack:
        node, done = stack.pop()
        if isinstance(node, Token):
            continue
        if not done:
            stack.append((node, True))
            stack.extend((c, False) for c in node.children if isinstance(c, Tree))
            continue
        kids = [out.pop(id(c)) if isinstance(c, Tree) else c for c in node.children]
        out[id(node)] = _make(node, kids)
    return out[id(tree)]


def _make(tree, kids):
    name = tree.data if isinstance(tree.data, str) else tree.data.value
    pos = _pos(tree.meta)
    if name == "or_" or name == "and_":
        op = name[:-1]
        operands = []
        for k in kids:
            if isinstance(k, ast.BoolOp) and k.op == op:
                operands.extend(k.operands)
            else:
                operands.append(k)
        return ast.BoolOp(pos, op, tuple(operands))
    if name == "not_":
        return ast.Not(pos, kids[0])
    if name == "compare":
        return ast.Compare(pos, str(kids[1]), kids[0], kids[2])
    if name == "in_":
        return ast.Membership(pos, False, kids[0], kids[1])
    if name == "not_in":
        return ast.Membership(pos, True, kids[0], kids[1])
    if name == "arith":
        return ast.Arith(pos, str(kids[1]), kids[0], kids[2])
    if name == "path":
        return ast.Path(pos, tuple(str(k) for k in kids))
    if name == "list":
        return ast.ListExpr(pos, tuple(kids))
    if name == "call":
        return ast.Call(pos, str(kids[0]), tuple(kids[1:]))
    if name == "quantifier":
        return ast.Quantifier(pos, str(kids[0]), str(kids[1]), kids[2], kids[3])
    if name == "string":
        raw = str(kids[0])
        body = raw[1:-1]
        value = re.sub(r"\\(.)", r"\1", body)
        return ast.Literal(pos, value, "string")
    if name == "number":
        raw = str(kids[0])
        return ast.Literal(pos, float(raw) if "." in raw else int(raw), "number")
    if name == "true":
        return ast.Literal(pos, True, "bool")
    if name == "false":
        return ast.Literal(pos, False, "bool")
    if name == "date":
        try:
            return ast.Literal(pos, dt.date.fromisoformat(str(kids[0])), "date")
        except ValueError:
            raise ExprSyntaxError(f"{kids[0]} is not a valid date", *pos[:2], len(kids[0]), "bad-literal")
    if name == "timestamp":
        try:
            value = dt.datetime.fromisoformat(str(kids[0]).replace("Z", "+00:00"))
        except ValueError:
            raise ExprSyntaxError(f"{kids[0]} is not a valid timestamp", *pos[:2], len(kids[0]), "bad-literal")
        return ast.Literal(pos, value.astimezone(dt.timezone.utc), "timestamp")
    if name == "duration":
        amount, unit = str(kids[0]), str(kids[1])
        base = unit[:-1] if unit.endswith("s") else unit
        number = float(amount) if "." in amount else int(amount)
        text = f"{amount} {unit}"
        if base in ("month", "year"):
            if not isinstance(number, int):
                raise ExprSyntaxError(f"{text}: months and years must be whole numbers", *pos[:2], len(text), "bad-literal")
            return ast.Literal(pos, ast.Duration(months=number * (12 if base == "year" else 1), text=text), "duration")
        return ast.Literal(pos, ast.Duration(seconds=number * _UNIT_SECONDS[base], text=text), "duration")
    raise AssertionError(f"unhandled grammar rule {name}")


def _depth(node: ast.Node) -> int:
    best, stack = 0, [(node, 1)]
    while stack:
        n, d = stack.pop()
        best = max(best, d)
        stack.extend((c, d + 1) for c in _children(n))
    return best


def _children(n):
    if isinstance(n, ast.ListExpr):
        return n.items
    if isinstance(n, ast.Not):
        return (n.operand,)
    if isinstance(n, ast.BoolOp):
        return n.operands
    if isinstance(n, (ast.Compare, ast.Arith)):
        return (n.left, n.right)
    if isinstance(n, ast.Membership):
        return (n.item, n.container)
    if isinstance(n, ast.Call):
        return n.args
    if isinstance(n, ast.Quantifier):
        return (n.source, n.cond)
    return ()


def parse_expression(text: str) -> ast.Node:
    import lark

    if len(text) > MAX_LENGTH:
        raise ExprSyntaxError(f"expression is longer than {MAX_LENGTH} characters", 1, 1, 1, "expr-too-long")
    depth = 0
    for i, ch in enumerate(text):  # bound nesting before the parser sees it
        depth += ch in "(["
        depth -= ch in ")]"
        if depth > MAX_DEPTH:
            line = text.count("\n", 0, i) + 1
            col = i - (text.rfind("\n", 0, i) + 1) + 1
            raise ExprSyntaxError(f"expression nests deeper than {MAX_DEPTH} levels", line, col, 1, "expr-too-deep")
    try:
        tree = parser().parse(text)
    except lark.UnexpectedToken as exc:
        tok = exc.token
        expected = sorted({_TOKEN_NAMES.get(t, t.lower()) for t in exc.expected if not t.startswith("__")})
        got = "the end of the expression" if tok.type == "$END" else repr(str(tok))
        if tok.type == "$END":
            line = text.count("\n") + 1
            col = len(text) - (text.rfind("\n") + 1) + 1
        else:
            line, col = exc.line, exc.column
        raise ExprSyntaxError(f"unexpected {got}; expected {' or '.join(expected[:6])}", line, col,
                              max(len(str(tok)), 1)) from None
    except lark.UnexpectedCharacters as exc:
        raise ExprSyntaxError(f"unexpected character {text[exc.pos_in_stream]!r}", exc.line, exc.column) from None
    except lark.UnexpectedEOF:
        raise ExprSyntaxError("the expression ends too early", 1, len(text) + 1) from None
    node = _build(tree)
    if _depth(node) > MAX_DEPTH * 2:
        raise ExprSyntaxError(f"expression nests deeper than {MAX_DEPTH} levels", 1, 1, 1, "expr-too-deep")
    return node
