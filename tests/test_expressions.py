"""The expression language: grammar, types, evaluation, limits, and the browser's logic.js."""
from __future__ import annotations

import dataclasses
import json
import random
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from survey_app.questionnaire import expressions
from survey_app.questionnaire.expressions import (
    Expression,
    ExpressionError,
    ValueType,
    check_types,
    evaluate,
    parse_expression,
    truthy,
)
from tests.helpers import cpu_time

ROOT = Path(__file__).resolve().parent.parent
CASES = json.loads((ROOT / "tests" / "expression_cases.json").read_text(encoding="utf-8"))
LOGIC_JS = ROOT / "survey_app" / "static" / "js" / "logic.js"
T = ValueType


def kind(value: object) -> str:
    return "number" if isinstance(value, int | float) and not isinstance(value, bool) else type(value).__name__


def same(a: object, b: object) -> bool:
    """Equal as JSON values: 2 and 2.0 are the same, 1 and true are not."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(same, a, b))
    return kind(a) == kind(b) and a == b


def run(source: str, **values: object) -> object:
    return evaluate(parse_expression(source), values)


def shape(source: str) -> str:
    """The tree of ``source`` as a compact s-expression, from its JSON form."""

    def render(node: dict) -> str:
        if node["op"] == "lit":
            return json.dumps(node["value"])
        if node["op"] == "ref":
            return node["name"]
        if node["op"] == "list":
            return "[" + " ".join(map(render, node["items"])) + "]"
        if node["op"] == "call":
            return node["fn"] + "(" + " ".join(map(render, node["args"])) + ")"
        return "(" + " ".join([node["op"], *map(render, node["args"])]) + ")"

    return render(parse_expression(source).to_json())


# ---------------------------------------------------------------- the shared cases


def test_cases_file_is_a_clean_list():
    assert isinstance(CASES, list) and len(CASES) > 150
    for case in CASES:
        assert set(case) == {"source", "values", "expected"}
        assert isinstance(case["source"], str) and isinstance(case["values"], dict)


@pytest.mark.parametrize("case", CASES, ids=[f"{c['source']} {json.dumps(c['values'])}" for c in CASES])
def test_shared_case(case):
    result = evaluate(parse_expression(case["source"]), case["values"])
    assert same(result, case["expected"]), result


# ---------------------------------------------------------------- grammar


@pytest.mark.parametrize(("source", "tree"), [
    ("a or b and c", "(or a (and b c))"),
    ("a and b or c", "(or (and a b) c)"),
    ("a or b or c", "(or (or a b) c)"),
    ("not a and b", "(and (not a) b)"),
    ("not a = b", "(not (= a b))"),
    ("not not a", "(not (not a))"),
    ("a = b + 1", "(= a (+ b 1))"),
    ("a + b * c", "(+ a (* b c))"),
    ("a - b - c", "(- (- a b) c)"),
    ("a / b * c % d", "(% (* (/ a b) c) d)"),
    ("-a * b", "(* (neg a) b)"),
    ("-(a + b)", "(neg (+ a b))"),
    ("a - -b", "(- a (neg b))"),
    ("-5", "-5"),
    ("- 2.5", "-2.5"),
    ("-(5)", "-5"),
    ("((a))", "a"),
    ("a == 'x'", '(= a "x")'),
    ("a != b", "(!= a b)"),
    ("a <= b", "(<= a b)"),
    ("a >= b", "(>= a b)"),
    ("a in ['x', 'y']", '(in a ["x" "y"])'),
    ("a not in []", "(not in a [])"),
    ("not a in b", "(not (in a b))"),
    ("count(q) > 2", "(> count(q) 2)"),
    ("if(a, b, c)", "if(a b c)"),
    ("coalesce(a, round(b, 1), 0)", "coalesce(a round(b 1) 0)"),
    ("m.r = 'a'", '(= m.r "a")'),
    ("m.1 = m.r_2", "(= m.1 m.r_2)"),
    ("a\n and\tb\r\n", "(and a b)"),
    ("true or false or null", "(or (or true false) null)"),
    ("1.50 + 3.0", "(+ 1.5 3)"),
    ('"it\'s" = \'say "hi"\'', '(= "it\'s" "say \\"hi\\"")'),
    ("'a\\'b\\\"c\\\\d'", '"a\'b\\"c\\\\d"'),
    ("[]", "[]"),
    ("[[a]]", "[[a]]"),
    ("answered(a) and not (b = 'mobile')", '(and answered(a) (not (= b "mobile")))'),
])
def test_tree(source, tree):
    assert shape(source) == tree


def test_expression_keeps_source_references_and_json():
    expression = parse_expression("a + m.r > count(g) and if(b, c, 1) in ['x']")
    assert expression.source == "a + m.r > count(g) and if(b, c, 1) in ['x']"
    assert expression.references == frozenset({"a", "m.r", "g", "b", "c"})
    assert json.loads(json.dumps(expression.to_json())) == expression.to_json()
    assert expression.to_json()["op"] == "and"
    assert parse_expression("1 + 2").references == frozenset()


def test_expression_is_immutable_and_hashable():
    expression = parse_expression("a in ['x'] and count(b) > 1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        expression.source = "b"  # type: ignore[misc]
    assert hash(expression) == hash(parse_expression("a in ['x'] and count(b) > 1"))
    assert expression == parse_expression("a in ['x'] and count(b) > 1")


def test_literal_values_are_typed():
    assert parse_expression("3").to_json() == {"op": "lit", "value": 3}
    assert type(parse_expression("3.0").to_json()["value"]) is int
    assert parse_expression("2.5").to_json() == {"op": "lit", "value": 2.5}
    assert parse_expression("null").to_json() == {"op": "lit", "value": None}
    assert parse_expression("false").to_json() == {"op": "lit", "value": False}
    assert parse_expression("999999999999999.9").to_json()["value"] == 999999999999999.9


def test_whole_results_are_ints():
    assert type(run("4 / 2")) is int
    assert type(run("round(2.4)")) is int
    assert type(run("x * 2", x=1.5)) is int
    assert type(run("10 / 4")) is float


# ---------------------------------------------------------------- syntax errors


@pytest.mark.parametrize(("source", "message", "position"), [
    ("a < b < c", "comparisons cannot be chained", 6),
    ("a = b = c", "comparisons cannot be chained", 6),
    ("a in b in c", "comparisons cannot be chained", 7),
    ("9**9**9", "there is no power operator", 1),
    ("2 ^ 3", "there is no power operator", 2),
    ("a && b", "write 'and' instead of '&&'", 2),
    ("a || b", "write 'or' instead of '||'", 2),
    ("!a", "write 'not' instead of '!'", 0),
    ("a.b.c", "'a.b.c' has too many dots", 0),
    ("x = m.", "a matrix row must follow the '.' in 'm.'", 4),
    ("__class__", "'__class__' is not a valid name", 0),
    ("x.__class__", "'x.__class__' is not a valid name", 0),
    ("q.__dict__ = 1", "'q.__dict__' is not a valid name", 0),
    ("__import__('os')", "'__import__' is not a valid name", 0),
    ("_private", "'_private' is not a valid name", 0),
    ("''.__class__", "unexpected character '.'", 2),
    ("().__class__", "unexpected character '.'", 2),
    ("()", "unexpected ')'", 1),
    ("a[0]", "unexpected '['", 1),
    ("lambda: 1", "unexpected character ':'", 6),
    ("exec('1')", "unknown function 'exec'", 0),
    ("eval('x')", "unknown function 'eval'", 0),
    ("open('/etc/passwd')", "unknown function 'open'", 0),
    ("a.b(1)", "unknown function 'a.b'", 0),
    ("1e5", "'1e5' is not a number", 0),
    ("1.2.3", "'1.2.3' is not a number", 0),
    ("x > 3abc", "'3abc' is not a number", 4),
    ("1.", "'1.' is not a number", 0),
    (".5", "unexpected character '.'", 0),
    ("10000000000000000", "this number is too large: numbers must stay within ±10^15", 0),
    ("x > 1000000000000001", "this number is too large: numbers must stay within ±10^15", 4),
    ("1000000000000000.5", "this number is too large: numbers must stay within ±10^15", 0),
    ("9" * 999, "this number is too large: numbers must stay within ±10^15", 0),
    ("a AND b", "unexpected 'AND'", 2),
    ("count()", "count() takes 1 value, not 0", 0),
    ("x or if(a, b)", "if() takes 3 values, not 2", 5),
    ("round(1, 2, 3)", "round() takes 1 or 2 values, not 3", 0),
    ("min(1)", "min() takes at least 2 values, not 1", 0),
    ("coalesce(a)", "coalesce() takes at least 2 values, not 1", 0),
    ("'abc", "this text has no closing quote", 0),
    ('x = "abc', "this text has no closing quote", 4),
    ("x = 'a\\'", "this text has no closing quote", 4),
    ("'a\\n'", "unknown escape '\\n' in text", 2),
    ("a =", "the expression is incomplete", 3),
    ("-", "the expression is incomplete", 1),
    ("(((", "the expression is incomplete", 3),
    ("", "the expression is empty", 0),
    (" \n\t", "the expression is empty", 0),
    ("a b", "unexpected 'b'", 2),
    ("[1, 2", "this '[' is never closed", 0),
    ("x and (a", "this '(' is never closed", 6),
    ("count(a", "this '(' is never closed", 5),
    ("(a))", "unexpected ')'", 3),
    ("a == == b", "unexpected '=='", 5),
    ("a & b", "unexpected character '&'", 2),
    ("a + * b", "unexpected '*'", 4),
    ("+a", "unexpected '+'", 0),
    ("[1,]", "unexpected ']'", 3),
    ("abs(1,)", "unexpected ')'", 6),
    ("a not b", "unexpected 'not'", 2),
    ("not in", "unexpected 'in'", 4),
    ("a = not b", "unexpected 'not'", 4),
    ("a <> b", "unexpected '>'", 3),
    ("x = #", "unexpected character '#'", 4),
    ("a\n  = )", "unexpected ')'", 6),
    ("возраст > 1", "unexpected character 'в'", 0),
])
def test_syntax_error(source, message, position):
    with pytest.raises(ExpressionError) as caught:
        parse_expression(source)
    assert (caught.value.message, caught.value.position) == (message, position)
    assert str(caught.value).startswith(f"{message} at position {position}")


@pytest.mark.parametrize(("source", "hint"), [
    ("a AND b", "write 'and' in lowercase"),
    ("cont(x)", "did you mean 'count'?"),
    ("answerd(x)", "did you mean 'answered'?"),
    ("1e5", "write numbers like 3 or 2.5"),
    ("a < b < c", "join them with 'and'"),
    ("'\\t'", "only \\', \\\" and \\\\ are allowed"),
    ("x.__y", "names cannot start with '_' or contain '__'"),
    ("foo(1)", None),
])
def test_syntax_hint(source, hint):
    with pytest.raises(ExpressionError) as caught:
        parse_expression(source)
    assert caught.value.hint == hint


def test_error_text():
    assert str(ExpressionError("unexpected ')'", 12)) == "unexpected ')' at position 12"
    assert str(ExpressionError("the expression is empty")) == "the expression is empty"
    error = ExpressionError("unknown question 'ballot_isue'", 0, "did you mean 'ballot_issue'?")
    assert str(error) == "unknown question 'ballot_isue' at position 0 (did you mean 'ballot_issue'?)"
    assert isinstance(error, ValueError)
    assert (error.message, error.position) == ("unknown question 'ballot_isue'", 0)


# ---------------------------------------------------------------- limits


def expect_error(source: str, message: str, position: int | None) -> None:
    with cpu_time() as took, pytest.raises(ExpressionError) as caught:
        parse_expression(source)
    assert took.seconds < 1
    assert (caught.value.message, caught.value.position) == (message, position)


def test_source_length_limit():
    assert parse_expression("x" + " " * 999).references == {"x"}
    expect_error("x" + " " * 1000, "the expression is longer than 1000 characters", 1000)
    expect_error("(" * 100_000, "the expression is longer than 1000 characters", 1000)
    expect_error("'" + "a" * 20_000 + "'", "the expression is longer than 1000 characters", 1000)
    assert run("'" + "a" * 998 + "'") == "a" * 998


def test_node_limit():
    assert run("+".join(["1"] * 100)) == 100  # 199 nodes
    expect_error("+".join(["1"] * 101), "the expression has more than 200 parts", 199)
    assert len(parse_expression("[" + ", ".join(["'a'"] * 199) + "]").to_json()["items"]) == 199
    expect_error("[" + ", ".join(["'a'"] * 200) + "]", "the expression has more than 200 parts", 0)


# Each opening nests one level more; the error points at the 33rd one's bracket or operator.
NESTINGS = [("(", ")", 0), ("abs(", ")", 3), ("[", "]", 0), ("not ", "", 0), ("-", "", 0), ("if(1,2,", ")", 2)]


@pytest.mark.parametrize(("opening", "closing", "offset"), NESTINGS)
def test_nesting_limit(opening, closing, offset):
    assert parse_expression(opening * 32 + "x" + closing * 32)
    expect_error(opening * 33 + "x" + closing * 33, "the expression nests more than 32 levels deep",
                 32 * len(opening) + offset)


@pytest.mark.parametrize(("opening", "closing", "offset"), NESTINGS)
def test_deep_nesting_fails_fast_without_recursion_error(monkeypatch, opening, closing, offset):
    monkeypatch.setattr(expressions, "MAX_SOURCE", 10**7)
    source = opening * (100_000 // len(opening))  # 100,000 characters
    expect_error(source, "the expression nests more than 32 levels deep", 32 * len(opening) + offset)


def test_huge_inputs_fail_fast(monkeypatch):
    monkeypatch.setattr(expressions, "MAX_SOURCE", 10**7)
    expect_error("1+" * 100_000 + "1", "the expression has more than 200 parts", 199)
    expect_error("9" * 100_000, "this number is too large: numbers must stay within ±10^15", 0)
    assert run("0" * 100_000 + ".5 + 1") == 1.5
    assert parse_expression("'" + "a" * 10_000 + "'").to_json()["value"] == "a" * 10_000
    expect_error("x = '" + "a" * 10_001 + "'", "this text is longer than 10000 characters", 4)


def test_number_limits():
    assert run("1000000000000000") == 10**15
    assert run("-1000000000000000") == -(10**15)
    assert run("999999999999999 + 1") == 10**15
    assert run("1000000000000000 + 1") is None
    assert run("x * x", x=10**8) is None
    assert run("x + 1", x=float("inf")) is None
    assert run("x + 1", x=float("nan")) is None
    assert run("x + 1", x=10**400) is None
    assert run("round(x)", x=10**400) is None
    assert run("x > 1", x=10**400) is True
    assert run("-x", x=-(10**15)) == 10**15


# ---------------------------------------------------------------- types

TYPES = {
    "age": T.NUMBER, "visits": T.NUMBER, "gender": T.STRING, "comment": T.STRING,
    "ballot_issue": T.STRING, "problems": T.LIST, "born": T.DATE, "group": T.ENTRIES,
    "calc": T.ANY, "flag": T.BOOLEAN, "m.r1": T.STRING,
}


@pytest.mark.parametrize(("source", "expected"), [
    ("gender = 'female' and age >= 18", T.BOOLEAN),
    ("age + 1", T.NUMBER),
    ("-age % 2", T.NUMBER),
    ("count(problems)", T.NUMBER),
    ("count(group) >= 2", T.BOOLEAN),
    ("answered(group)", T.BOOLEAN),
    ("answered(comment)", T.BOOLEAN),
    ("'a' in problems", T.BOOLEAN),
    ("'a' not in problems", T.BOOLEAN),
    ("gender in ['a', 'b']", T.BOOLEAN),
    ("age in [1, 2]", T.BOOLEAN),
    ("gender in null", T.BOOLEAN),
    ("gender in []", T.BOOLEAN),
    ("born < '2024-01-01'", T.BOOLEAN),
    ("'2024-02-29' <= born", T.BOOLEAN),
    ("born = '2024-02-29'", T.BOOLEAN),
    ("born in ['2024-01-01', '2024-12-31']", T.BOOLEAN),
    ("born > born", T.BOOLEAN),
    ("age < null", T.BOOLEAN),
    ("age = null", T.BOOLEAN),
    ("calc", T.ANY),
    ("calc + 1", T.NUMBER),
    ("calc = 'x'", T.BOOLEAN),
    ("calc < 3", T.BOOLEAN),
    ("if(flag, calc, 1)", T.ANY),
    ("if(flag, 1, null)", T.NUMBER),
    ("if(flag, null, null)", T.NULL),
    ("coalesce(null, 'a')", T.STRING),
    ("coalesce(born, '2024-01-01')", T.DATE),
    ("if(age > 1, '2024-01-01', born)", T.DATE),
    ("null", T.NULL),
    ("group", T.ENTRIES),
    ("problems", T.LIST),
    ("['a', 'b']", T.LIST),
    ("problems = ['a']", T.BOOLEAN),
    ("m.r1 = 'x'", T.BOOLEAN),
    ("selected(problems, 'a')", T.BOOLEAN),
    ("selected(gender, 'a')", T.BOOLEAN),
    ("len(comment) > 10", T.BOOLEAN),
    ("round(age / visits * 100, 1)", T.NUMBER),
    ("round(age)", T.NUMBER),
    ("min(age, 1, visits)", T.NUMBER),
    ("abs(age - visits)", T.NUMBER),
    ("not comment", T.BOOLEAN),
    ("age and flag or comment", T.BOOLEAN),
    ("flag = true", T.BOOLEAN),
    ("'yes'", T.STRING),
    ("2.5", T.NUMBER),
])
def test_type(source, expected):
    assert check_types(parse_expression(source), TYPES) is expected


@pytest.mark.parametrize(("source", "message", "position", "hint"), [
    ("ballot_isue = 'x'", "unknown question 'ballot_isue'", 0, "did you mean 'ballot_issue'?"),
    ("age > 1 and agee < 9", "unknown question 'agee'", 12, "did you mean 'age'?"),
    ("m.r2 = 'a'", "unknown question 'm.r2'", 0, "did you mean 'm.r1'?"),
    ("zzz", "unknown question 'zzz'", 0, None),
    ("answered(zzz)", "unknown question 'zzz'", 9, None),
    ("TRUE", "unknown question 'TRUE'", 0, "write 'true' in lowercase"),
    ("gender = 3", "cannot compare text with a number", 7, None),
    ("age = 'x'", "cannot compare a number with text", 4, None),
    ("flag != 1", "cannot compare true or false with a number", 5, None),
    ("problems = 'a'", "cannot compare a list with text", 9, None),
    ("age in ['a']", "cannot compare a number with text", 4, None),
    ("problems in ['a']", "cannot compare a list with text", 9, None),
    ("gender + 1", "'+' needs numbers, not text", 0, None),
    ("1 - comment", "'-' needs numbers, not text", 4, None),
    ("age * flag", "'*' needs numbers, not true or false", 6, None),
    ("-gender", "'-' needs numbers, not text", 1, None),
    ("age / problems", "'/' needs numbers, not a list", 6, None),
    ("count(age)", "count() needs a multiple-choice question or a repeat group, not a number", 6, None),
    ("count(gender)", "count() needs a multiple-choice question or a repeat group, not text", 6, None),
    ("age in 'abc'", "'in' needs a list on its right, not text", 7, None),
    ("'a' not in gender", "'not in' needs a list on its right, not text", 11, None),
    ("age in problems", "only text can be looked for in a list, not a number", 0, None),
    ("born < gender", "cannot compare a date with text", 5, None),
    ("born < '2024-13-01'", "'2024-13-01' is not a date", 7, "write dates as 'YYYY-MM-DD'"),
    ("'2023-02-29' = born", "'2023-02-29' is not a date", 0, "write dates as 'YYYY-MM-DD'"),
    ("born = 'soon'", "'soon' is not a date", 7, "write dates as 'YYYY-MM-DD'"),
    ("born = '20240101'", "'20240101' is not a date", 7, "write dates as 'YYYY-MM-DD'"),
    ("born = age", "cannot compare a date with a number", 5, None),
    ("gender < 'b'", "'<' needs numbers or dates, not text", 7, None),
    ("flag > true", "'>' needs numbers or dates, not true or false", 5, None),
    ("problems >= problems", "'>=' needs numbers or dates, not a list", 9, None),
    ("group = 1", "a repeat group can only be used in count() or answered()", 0, None),
    ("not group", "a repeat group can only be used in count() or answered()", 4, None),
    ("if(group, 1, 2)", "a repeat group can only be used in count() or answered()", 3, None),
    ("group + 1", "'+' needs numbers, not a repeat group", 0, None),
    ("if(flag, 'a', 1)", "if() can give text or a number", 0, "all its results must be of one type"),
    ("coalesce(age, gender)", "coalesce() can give a number or text", 0, "all its results must be of one type"),
    ("if(flag, born, '2024-1-1')", "if() can give a date or text", 0, "all its results must be of one type"),
    ("len(age)", "len() needs text, not a number", 4, None),
    ("len(born)", "len() needs text, not a date", 4, None),
    ("selected(age, 'a')", "selected() needs a choice question, not a number", 9, None),
    ("selected(problems, 1)", "selected() needs a choice value, not a number", 19, None),
    ("round(age, 11)", "round() keeps 0 to 10 decimal places", 11, None),
    ("round(age, 1.5)", "round() keeps 0 to 10 decimal places", 11, None),
    ("round(age, -1)", "round() keeps 0 to 10 decimal places", 11, None),
    ("round(age, gender)", "round() needs numbers, not text", 11, None),
    ("abs(gender)", "abs() needs numbers, not text", 4, None),
    ("max(1, age, flag)", "max() needs numbers, not true or false", 12, None),
    ("[1, 2]", "a list can only hold text, not a number", 1, None),
    ("problems = ['a', 1]", "a list can only hold text, not a number", 17, None),
    ("[group]", "a list can only hold text, not a repeat group", 1, None),
])
def test_type_error(source, message, position, hint):
    with pytest.raises(ExpressionError) as caught:
        check_types(parse_expression(source), TYPES)
    assert (caught.value.message, caught.value.position, caught.value.hint) == (message, position, hint)


def test_type_error_text_names_the_position_and_suggestion():
    with pytest.raises(ExpressionError) as caught:
        check_types(parse_expression("ballot_isue = 'x'"), TYPES)
    assert str(caught.value) == "unknown question 'ballot_isue' at position 0 (did you mean 'ballot_issue'?)"


# ---------------------------------------------------------------- evaluation


@pytest.mark.parametrize(("value", "expected"), [
    (None, False), (False, False), (0, False), (0.0, False), ("", False), ([], False), (float("nan"), False),
    (True, True), (1, True), (-0.5, True), ("0", True), (" ", True), (["a"], True), ([{}], True), ({}, True),
])
def test_truthy(value, expected):
    assert truthy(value) is expected


def test_if_is_lazy_and_logic_short_circuits():
    calls: list[str] = []

    class Spy(dict):
        def get(self, key, default=None):
            calls.append(key)
            return super().get(key, default)

    assert evaluate(parse_expression("if(a, b, c)"), Spy(a=True, b=1, c=2)) == 1
    assert calls == ["a", "b"]
    calls.clear()
    assert evaluate(parse_expression("a and b or c"), Spy(a=False, c=0)) is False
    assert calls == ["a", "c"]


@pytest.mark.parametrize("values", [
    {"x": float("nan"), "y": float("inf")},
    {"x": 10**400, "y": -(10**400)},
    {"x": {"a": 1}, "y": [[["deep"]]]},
    {"x": [1, None, {"a": []}], "y": object()},
    {"x": "\ud800", "y": "\U0001F600"},
    {"x": (1, 2), "y": b"bytes"},
])
@pytest.mark.parametrize("source", [
    "x + y", "x - y * 2 / x % y", "-x", "x < y", "x >= y", "x = y", "x != y", "x in y", "y not in x",
    "count(x)", "len(y)", "answered(x)", "selected(x, y)", "min(x, y)", "max(x, 1)", "abs(y)",
    "round(x, y)", "round(y)", "if(x, y, x)", "coalesce(x, y)", "x and y or not x", "[x, y] = [y, x]",
])
def test_evaluate_never_raises_on_odd_data(source, values):
    result = evaluate(parse_expression(source), values)
    assert isinstance(truthy(result), bool)
    if source in ("x + y", "-x", "abs(y)", "round(y)", "count(x)", "len(y)", "min(x, y)"):
        assert result is None or (kind(result) == "number" and abs(result) <= 10**15)


def test_missing_names_are_null():
    assert run("x = null") is True
    assert run("answered(x)") is False
    assert run("count(x) + len(y)") == 0


def test_repeat_entries():
    entries = [{"name": "a"}, {"name": "b"}]
    assert run("count(g)", g=entries) == 2
    assert run("answered(g)", g=entries) is True
    assert run("answered(g)", g=[]) is False


def test_no_eval_in_the_implementation():
    source = (ROOT / "survey_app" / "questionnaire" / "expressions.py").read_text(encoding="utf-8")
    assert not re.search(r"(?<![.\w])(eval|exec|compile|literal_eval|getattr|__import__)\s*\(", source)
    script = LOGIC_JS.read_text(encoding="utf-8")
    assert not re.search(r"\b(eval|Function|setTimeout|innerHTML)\b", script)
    assert len(script.encode()) < 8 * 1024


# ---------------------------------------------------------------- generated expressions

NAMES = ("a", "b", "n", "s", "l", "d", "g", "m.r")
ATOMS = ("0", "1", "2.5", "-3", "1000000000000000", "0.1", "'a'", "'b'", "''", "'2024-01-31'",
         '"x\\"y"', "true", "false", "null", "[]", "['a', 'b']", *NAMES)
BINARY = ("or", "and", "=", "==", "!=", "<", "<=", ">", ">=", "in", "not in", "+", "-", "*", "/", "%")
CALLS = {"answered": (1,), "count": (1,), "selected": (2,), "len": (1,), "min": (2, 3), "max": (2, 3),
         "abs": (1,), "round": (1, 2), "if": (3,), "coalesce": (2, 3)}
JSON_VALUES = (None, True, False, 0, 1, -2, 2.5, 0.1, 10**15, 7, "a", "b", "", "2024-01-31", "\U0001F600",
               ["a", "b"], ["b"], [], [{"x": 1}])


def random_source(pick: Callable[[Sequence], object], depth: int = 0) -> str:
    """A syntactically valid expression built from ``pick(options)`` choices."""
    kind = pick(("atom",) * (depth + 1) + ("unary", "binary", "call", "list")) if depth < 4 else "atom"
    if kind == "atom":
        return pick(ATOMS)
    sub = lambda: random_source(pick, depth + 1)  # noqa: E731
    if kind == "unary":
        return pick(("(not {})", "-({})")).format(sub())
    if kind == "binary":
        return f"({sub()} {pick(BINARY)} {sub()})"
    if kind == "list":
        return "[" + ", ".join(sub() for _ in range(pick((0, 1, 2)))) + "]"
    fn = pick(sorted(CALLS))
    return f"{fn}(" + ", ".join(sub() for _ in range(pick(CALLS[fn]))) + ")"


def parse_generated(source: str) -> Expression | None:
    """The parsed source, or None when it went over a size limit."""
    try:
        return parse_expression(source)
    except ExpressionError as error:
        assert "more than" in error.message or "longer than" in error.message, (source, error)
        return None


odd_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**16), 10**16), st.floats(), st.text(max_size=4),
    st.sampled_from(["a", "b", "2024-01-31", "", 10**400]),
)
odd_values = st.one_of(
    odd_scalars,
    st.lists(st.sampled_from(["a", "b", "c"]), max_size=3),
    st.lists(st.dictionaries(st.sampled_from(["a", "b"]), odd_scalars, max_size=2), max_size=2),
)
RESULT_KINDS = {"NoneType", "bool", "number", "str", "list"}
GRAMMAR_CHARACTERS = "()[]'\"\\ ,.=!<>+-*/%^&|0123456789abcdnotrulif_m"


@settings(max_examples=400, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=1100), st.text(alphabet=GRAMMAR_CHARACTERS, max_size=300)))
def test_any_text_parses_or_raises_expression_error(text):
    started = time.perf_counter()
    try:
        expression = parse_expression(text)
    except ExpressionError as error:
        assert error.position is None or 0 <= error.position <= len(text)
    else:
        json.dumps(expression.to_json(), allow_nan=False)
    assert time.perf_counter() - started < 1


@settings(max_examples=400, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.fixed_dictionaries({name: odd_values for name in NAMES}))
def test_generated_expressions_evaluate_and_check_without_surprises(data, values):
    source = random_source(lambda options: data.draw(st.sampled_from(options)))
    expression = parse_generated(source)
    if expression is None:
        return
    json.dumps(expression.to_json(), allow_nan=False)
    result = evaluate(expression, values)
    assert kind(result) in RESULT_KINDS
    assert isinstance(truthy(result), bool)
    top = expression.to_json()
    if top["op"] in ("+", "-", "*", "/", "%", "neg") or top.get("fn") in ("len", "min", "max", "abs", "round"):
        assert result is None or (kind(result) == "number" and abs(result) <= 10**15)
    if top["op"] in ("or", "and", "not", "=", "!=", "<", "<=", ">", ">=", "in", "not in"):
        assert isinstance(result, bool)
    types = dict(zip(NAMES, (T.NUMBER, T.STRING, T.NUMBER, T.STRING, T.LIST, T.DATE, T.ENTRIES, T.ANY), strict=True))
    try:
        assert isinstance(check_types(expression, types), ValueType)
    except ExpressionError as error:
        assert error.position is not None and 0 <= error.position < len(source)


# ---------------------------------------------------------------- logic.js agrees with Python

NODE_SCRIPT = """
const fs = require('fs'), vm = require('vm');
const context = {window: {}};
vm.runInNewContext(fs.readFileSync(%s, 'utf8'), context);
const logic = context.window.SurveyLogic;
const input = JSON.parse(fs.readFileSync(0, 'utf8'));
process.stdout.write(JSON.stringify({
  results: input.items.map(item => logic.evaluate(item.tree, item.values)),
  truthy: input.truthy.map(logic.truthy),
}));
"""


def run_in_node(items: list[dict], truthy_values: list[object]) -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    completed = subprocess.run(
        [node, "-e", NODE_SCRIPT % json.dumps(str(LOGIC_JS))],
        input=json.dumps({"items": items, "truthy": truthy_values}),
        capture_output=True, text=True, timeout=120, check=True,
    )
    return json.loads(completed.stdout)


def test_logic_js_agrees_with_python():
    rng = random.Random(20240131)
    items = [{"source": case["source"], "values": case["values"]} for case in CASES]
    while len(items) < len(CASES) + 3000:
        source = random_source(rng.choice)
        if parse_generated(source) is not None:
            items.append({"source": source, "values": {name: rng.choice(JSON_VALUES) for name in NAMES}})
    for item in items:
        expression = parse_expression(item["source"])
        item["tree"], item["python"] = expression.to_json(), evaluate(expression, item["values"])
    truthy_values = [None, False, True, 0, 0.5, "", "0", [], [""], {}, [{}]]
    answer = run_in_node([{"tree": i["tree"], "values": i["values"]} for i in items], truthy_values)
    differences = [(i["source"], i["values"], i["python"], js)
                   for i, js in zip(items, answer["results"], strict=True) if not same(i["python"], js)]
    assert differences == []
    assert answer["truthy"] == [truthy(value) for value in truthy_values]
    for case, js in zip(CASES, answer["results"][: len(CASES)], strict=True):
        assert same(js, case["expected"]), case


def test_logic_js_handles_names_of_object_properties():
    trees = [parse_expression(source).to_json() for source in ("constructor", "toString = null", "hasOwnProperty")]
    answer = run_in_node([{"tree": tree, "values": {}} for tree in trees], [])
    assert answer["results"] == [None, True, None]
