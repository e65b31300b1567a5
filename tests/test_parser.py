"""The expression parser builds its tree while it parses (lark's embedded transformer, slapolicy.language.parse);
it must give exactly the trees (positions included) and the errors (message, line, column, length, code) of
the reference: a lark tree with propagated positions, converted afterwards. Held on every string of the
bundled policies and the test policies, on generated expressions, and on broken variants of them."""
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from slapolicy.language.parse import ExprSyntaxError, parse_expression, parse_expression_reference

ROOT = Path(__file__).resolve().parents[1]


def outcome(parse, text):
    try:
        return ("tree", parse(text))
    except ExprSyntaxError as exc:
        return ("error", exc.message, exc.line, exc.col, exc.length, exc.code)


def same(text):
    fast, reference = outcome(parse_expression, text), outcome(parse_expression_reference, text)
    assert fast == reference, text
    return fast


def _strings(value):
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            yield v
        elif isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)


def corpus() -> list[str]:
    files = sorted((ROOT / "policies").glob("*.yaml")) + sorted((ROOT / "tests").rglob("*.yaml"))
    out = set()
    for f in files:
        try:
            out.update(s for s in _strings(yaml.safe_load(f.read_text("utf-8"))) if len(s) < 400)
        except yaml.YAMLError:
            continue
    return sorted(out)


CORPUS = corpus()

EDGE = ["a == 1", "not (a or b) and (c)", "((x + 2 days)) > date(created_at)", "(a) == (b)", " ( a ) ", "[]", "f()",
        'any(a in attachments where a.format == "bmp")', "all(x in (items) : (x.y))", '[1, 2,3] == x',
        'x in ["a"] or not y not in z', "true", "false and (true)", "a\n and\n (b)", "a.b.c == (d.e)",
        "f(a, (b), [c])", "(not a)", "- 1", "1.5 months", "2 years", "x == 2026-02-29T10:00:00Z",
        "d == 2026-02-30 or e == 2026-13-01", "x == 2026-02-30T10:00:00Z or y == 2026-02-30", "1.5 years + 2026-02-30",
        "a ==", "a +* b", "(a", "a)", "", "   ", "a == 'it\\'s'", '"a\\"b" == x', "@", "a == 1 #", "and",
        "not " * 40 + "a", " + ".join(["a"] * 70), "(" * 33 + "a" + ")" * 33, "[" * 20 + "]" * 20,
        "a or (b or c) or ((d or e))", "a and (b or c) and (d and e)", "x in [1, 2] and y not in [3]"]


def test_the_corpus_is_large():
    assert len(CORPUS) > 500 and sum(outcome(parse_expression, s)[0] == "tree" for s in CORPUS) > 200


@pytest.mark.parametrize("text", EDGE)
def test_edge_cases(text):
    same(text)


def test_every_string_of_the_policies_and_tests():
    for text in CORPUS:
        same(text)


def test_broken_variants_of_the_policies_expressions():
    """every expression of the corpus cut short, with a character dropped, doubled or replaced"""
    trees = [s for s in CORPUS if outcome(parse_expression, s)[0] == "tree"][:400]
    for text in trees:
        n = len(text)
        for i in sorted({0, n // 3, n // 2, (2 * n) // 3, n - 1}):
            for variant in (text[:i], text[:i] + text[i + 1:], text[:i] + text[i] * 2 + text[i:],
                            text[:i] + "(" + text[i:], text[:i] + ")" + text[i + 1:], text[:i] + "," + text[i:]):
                same(variant)


NAMES = st.sampled_from(["a", "x", "customer", "segment", "tier", "days", "day", "in_", "notes", "anyone", "all_",
                         "created_at", "topic", "month", "hours"])
ATOMS = st.one_of(
    st.lists(NAMES, min_size=1, max_size=3).map(".".join),
    st.integers(0, 999).map(str), st.sampled_from(["1.5", "0.25", "true", "false", '"s"', "'q'", '"e\\"x"']),
    st.tuples(st.integers(0, 40), st.sampled_from(["minute", "hours", "day", "weeks", "month", "years"])).map(
        lambda t: f"{t[0]} {t[1]}"),
    st.sampled_from(["2026-03-10", "2026-02-30", "2026-03-10T11:00:00Z", "2026-03-10T11:00+02:00", "2026-13-10T11:00:00Z"]),
)
SPACE = st.sampled_from([" ", "  ", "\n ", ""])


def _combine(children):
    binary = st.tuples(children, st.sampled_from(["and", "or", "==", "!=", "<", ">=", "+", "-", "in", "not in"]),
                       children, SPACE).map(lambda t: f"{t[0]}{t[3] or ' '}{t[1]} {t[2]}")
    return st.one_of(
        binary,
        children.map(lambda c: f"not {c}"),
        st.tuples(children, SPACE).map(lambda t: f"({t[1]}{t[0]})"),
        st.lists(children, max_size=3).map(lambda cs: "[" + ", ".join(cs) + "]"),
        st.tuples(NAMES, st.lists(children, max_size=3)).map(lambda t: f"{t[0]}(" + ", ".join(t[1]) + ")"),
        st.tuples(st.sampled_from(["any", "all"]), NAMES, children, st.sampled_from(["where", ":"]), children).map(
            lambda t: f"{t[0]}({t[1]} in {t[2]} {t[3]} {t[4]})"),
    )


EXPRESSIONS = st.recursive(ATOMS, _combine, max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(EXPRESSIONS)
def test_generated_expressions(text):
    same(text)


@settings(max_examples=300, deadline=None)
@given(EXPRESSIONS, st.integers(0, 200), st.sampled_from(["", "(", ")", ",", ".", "==", "not", "@", "'", "]"]))
def test_generated_expressions_broken(text, at, insert):
    i = at % (len(text) + 1)
    same(text[:i] + insert + text[i + 1:])
