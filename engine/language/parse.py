"""Stage 3: parse expressions with the lark grammar into the typed tree of slapolicy.language.ast.

The grammar ships as package data (slapolicy.grammar/policy.lark) and the LALR parser is built once.
Errors are `ExprSyntaxError(message, line, col)` in the expression's own coordinates.

The parser builds the ast nodes while it parses (lark's embedded transformer, `_Builder`): no lark
tree is built and walked again, which made parsing ~1.5x slower (a 5,000-rule policy spent most of its
load here). Positions follow lark's `propagate_positions` rule exactly: a node spans from the start of
its first child's container to the end of its last one, tokens included, where a parenthesised
expression keeps its own span but is contained in its parentheses. `parse_expression_reference` is the
former way (a lark tree with propagated positions, then `_build`), kept for the tests that hold the two
to the same trees and errors.
"""
from __future__ import annotations

import datetime as dt
import re
import threading

from slapolicy.language import ast

MAX_LENGTH = 2000
MAX_DEPTH = 32

_parsers: dict = {}
_lock = threading.Lock()


class ExprSyntaxError(Exception):
    def __init__(self, message: str, line: int = 1, col: int = 1, length: int = 1, code: str = "expr-syntax"):
        super().__init__(message)
        self.message, self.line, self.col, self.length, self.code = message, line, col, length, code


def grammar_text() -> str:
    from slapolicy.language.resources import data_dir

    return data_dir("grammar").joinpath("policy.lark").read_text("utf-8")


def parser(reference: bool = False):
    """The LALR parser that builds ast nodes (or, `reference`, the one that builds lark trees)."""
    got = _parsers.get(reference)
    if got is None:
        with _lock:
            got = _parsers.get(reference)
            if got is None:
                import lark

                if reference:
                    options = dict(parser="lalr", propagate_positions=True, maybe_placeholders=False)
                else:  # every token kept, for the positions of the nodes (_Builder leaves them out)
                    options = dict(parser="lalr", keep_all_tokens=True, maybe_placeholders=False,
                                   transformer=_Builder())
                try:  # lark keeps the analysed LALR tables in a temp file keyed by the grammar's hash
                    got = lark.Lark(grammar_text(), cache=True, **options)
                except OSError:  # no writable temp dir: build the tables every time
                    got = lark.Lark(grammar_text(), **options)
                _parsers[reference] = got
    return got


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
    """Lark tree -> ast nodes, bottom-up without recursion (the reference parse)."""
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
        name = node.data if isinstance(node.data, str) else node.data.value
        out[id(node)] = _make(name, _pos(node.meta), kids)
    return out[id(tree)]


class _Paren:
    """a parenthesised expression while it is parsed: the node, and the span of its parentheses"""
    __slots__ = ("node", "outer")

    def __init__(self, node, outer):
        self.node, self.outer = node, outer


class _Invalid:
    """a literal that does not stand (2026-02-30) while the rest is parsed: its error is raised once the whole
    text has parsed, as the reference (which builds nodes after parsing) does"""
    __slots__ = ("error", "pos")

    def __init__(self, error, pos):
        self.error, self.pos = error, pos


def _span(first, last) -> tuple:
    """the span from the start of `first`'s container to the end of `last`'s (lark's propagate_positions:
    a token, a node, or a parenthesised node's parentheses)"""
    a = first.outer if first.__class__ is _Paren else getattr(first, "pos", None)
    b = last.outer if last.__class__ is _Paren else getattr(last, "pos", None)
    return ((a[0], a[1]) if a is not None else (first.line, first.column)) + \
        ((b[2], b[3]) if b is not None else (last.end_line, last.end_column))


def _bare(child):
    return child.node if child.__class__ is _Paren else child


class _PerParse(threading.local):
    """per thread, for the parse under way: the nodes built (a tree of at most 2 * MAX_DEPTH nodes is never too
    deep to walk for its depth) and the invalid literals met"""

    def __init__(self):
        self.nodes, self.invalid = 0, []


_local = _PerParse()


class _Builder:
    """lark's embedded transformer: one callback per grammar rule, called with every token of the rule
    (keep_all_tokens), so that a node's span starts at its first token ("not", "(") as in the reference;
    the callbacks take the children _make would get from a lark tree (tokens of named terminals, nodes)"""

    def __default__(self, data, children, meta):
        if data.startswith("_"):  # a repetition lark made a rule of (`("." NAME)*`): inlined into its parent
            return _Inline(children)
        raise AssertionError(f"unhandled grammar rule {data}")

    @staticmethod
    def atom(c):  # "(" expr ")": the expression, contained in its parentheses
        return _Paren(_bare(c[1]), _span(c[0], c[2]))

    @staticmethod
    def or_(c):
        return _bool("or", c)

    @staticmethod
    def and_(c):
        return _bool("and", c)

    @staticmethod
    def not_(c):  # "not" x
        _local.nodes += 1
        return ast.Not(_span(c[0], c[1]), _bare(c[1]))

    @staticmethod
    def compare(c):  # a OP b
        _local.nodes += 1
        return ast.Compare(_span(c[0], c[2]), str(c[1]), _bare(c[0]), _bare(c[2]))

    @staticmethod
    def in_(c):  # a "in" b
        _local.nodes += 1
        return ast.Membership(_span(c[0], c[2]), False, _bare(c[0]), _bare(c[2]))

    @staticmethod
    def not_in(c):  # a "not" "in" b
        _local.nodes += 1
        return ast.Membership(_span(c[0], c[3]), True, _bare(c[0]), _bare(c[3]))

    @staticmethod
    def arith(c):  # a ADD_OP b
        _local.nodes += 1
        return ast.Arith(_span(c[0], c[2]), str(c[1]), _bare(c[0]), _bare(c[2]))

    @staticmethod
    def path(c):  # NAME ("." NAME)*
        _local.nodes += 1
        return ast.Path(_span(c[0], c[-1]), tuple(str(k) for k in c[::2]))

    @staticmethod
    def list(c):  # "[" [expr ("," expr)*] "]"
        _local.nodes += 1
        return ast.ListExpr(_span(c[0], c[-1]), tuple(_bare(k) for k in c[1:-1:2]))

    @staticmethod
    def call(c):  # NAME "(" [expr ("," expr)*] ")"
        _local.nodes += 1
        return ast.Call(_span(c[0], c[-1]), str(c[0]), tuple(_bare(k) for k in c[2:-1:2]))

    @staticmethod
    def quantifier(c):  # (ANY | ALL) "(" NAME "in" expr ("where" | ":") expr ")"
        _local.nodes += 1
        return ast.Quantifier(_span(c[0], c[-1]), str(c[0]), str(c[2]), _bare(c[4]), _bare(c[6]))


def _bool(op, c):
    _local.nodes += 1
    left, right = _bare(c[0]), _bare(c[2])
    operands = left.operands if isinstance(left, ast.BoolOp) and left.op == op else (left,)
    operands += right.operands if isinstance(right, ast.BoolOp) and right.op == op else (right,)
    return ast.BoolOp(_span(c[0], c[2]), op, operands)


def _literal(name):
    keyword = name in ("true", "false")  # its token is not a child

    def build(c):
        _local.nodes += 1
        try:
            return _make(name, _span(c[0], c[-1]), [] if keyword else c)
        except ExprSyntaxError as exc:  # raised after the parse, as the reference does
            _local.invalid.append(exc)
            return _Invalid(exc, _span(c[0], c[-1]))
    return staticmethod(build)


for _rule in ("string", "number", "true", "false", "date", "timestamp", "duration"):
    setattr(_Builder, _rule, _literal(_rule))


class _Inline:
    __slots__ = ("children",)

    def __init__(self, children):
        self.children = children


def _make(name, pos, kids):
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
        value = re.sub(r"\\(.)", r"\1", body) if "\\" in body else body
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
    return _parse(text, False)


def parse_expression_reference(text: str) -> ast.Node:
    """The same tree (or error) through a lark tree with propagated positions (the tests compare the two)."""
    return _parse(text, True)


def _parse(text: str, reference: bool) -> ast.Node:
    import lark

    if len(text) > MAX_LENGTH:
        raise ExprSyntaxError(f"expression is longer than {MAX_LENGTH} characters", 1, 1, 1, "expr-too-long")
    depth = 0
    for i, ch in enumerate(text if text.count("(") + text.count("[") > MAX_DEPTH else ""):  # bound nesting first
        depth += ch in "(["
        depth -= ch in ")]"
        if depth > MAX_DEPTH:
            line = text.count("\n", 0, i) + 1
            col = i - (text.rfind("\n", 0, i) + 1) + 1
            raise ExprSyntaxError(f"expression nests deeper than {MAX_DEPTH} levels", line, col, 1, "expr-too-deep")
    _local.nodes, _local.invalid = 0, []
    try:
        tree = parser(reference).parse(text)
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
    if reference:
        node = _build(tree)
    else:
        node = _bare(tree)
        if _local.invalid:  # the last one in the text: the reference builds its nodes from the right
            raise _local.invalid[-1]
    if (reference or _local.nodes > MAX_DEPTH * 2) and _depth(node) > MAX_DEPTH * 2:
        raise ExprSyntaxError(f"expression nests deeper than {MAX_DEPTH} levels", 1, 1, 1, "expr-too-deep")
    return node
