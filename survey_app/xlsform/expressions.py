"""Translate between XLSForm's XPath expressions and our expression language.

XLSForm -> ours (:func:`translate_xpath`, :func:`xpath_to_tree`)::

    ${q}                      q   (through ``resolve``, which renames and finds matrix rows)
    .                         the question's own id (``self_name``; constraints only)
    = != < <= > >=            the same
    and or, not(x)            and or, not x
    + - *, div, mod, -x       + - *, /, %, -x
    'text', "text", 3, 2.5    the same ('' is null: XLSForm's empty answer)
    true(), false()           true, false
    selected(${q}, 'a')       selected(q, 'a')
    count-selected(${q})      count(q)
    count(${repeat})          count(repeat)
    string-length(x)          len(x)   (``string-length()`` and ``string-length(.)``: len(self))
    if, coalesce, min, max, abs, round
    date('2024-05-01')        '2024-05-01'  (our dates compare as ISO text)

A run of ``${q} = 'a' or ${q} = 'b'`` becomes ``q in ['a', 'b']`` and ``not(...)`` of
one ``q not in [...]``; a number compared with a choice question (``${q} = 1``) is
quoted, because choice values are text. Anything else (``today()``, ``regex()``,
``jr:choice-name()``, ``position(..)``, ``indexed-repeat()``, paths, predicates, ``|``)
raises :class:`Unsupported`, naming the function or construct and its position in
the XPath text. The result always parses with
:func:`survey_app.questionnaire.expressions.parse_expression`.

Ours -> XLSForm (:func:`to_xpath`) is the inverse, used by the export.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from decimal import Decimal
from typing import NamedTuple

from survey_app.questionnaire.expressions import (
    Call,
    ExpressionError,
    ListOf,
    Lit,
    Node,
    Op,
    Ref,
    parse_expression,
)


class Unsupported(ExpressionError):
    """An XPath expression (or part of one) that our language cannot express."""


# ---------------------------------------------------------------- XPath tokens


class _Tok(NamedTuple):
    kind: str  # "ref", "number", "string", "name", "op", "end"
    text: str
    pos: int


_XSPACE = re.compile(r"\s+")
_XREF = re.compile(r"\$\{\s*([^{}\s]*)\s*\}")
_XNUMBER = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")
_XNAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*(?::[A-Za-z_][A-Za-z0-9_.\-]*)?")
_XSYMBOL = re.compile(r"!=|<=|>=|//|\.\.|::|[=<>+\-*|()\[\],/@$.]")
_SMART_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
#: Tokens after which a name is an operator (and, or, div, mod) and '*' multiplies.
_OPERAND_END = {"ref", "number", "string"}


def _xpath_tokens(source: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(source):
        if space := _XSPACE.match(source, pos):
            pos = space.end()
            continue
        char = source[pos]
        if ref := _XREF.match(source, pos):
            tokens.append(_Tok("ref", ref.group(1), pos))
            pos = ref.end()
            continue
        if char in "'\"":
            end = source.find(char, pos + 1)
            if end < 0:
                raise Unsupported("this text has no closing quote", pos)
            tokens.append(_Tok("string", source[pos + 1:end], pos))
            pos = end + 1
            continue
        if (number := _XNUMBER.match(source, pos)) and not (char == "." and _after_operand(tokens)):
            tokens.append(_Tok("number", number.group(), pos))
            pos = number.end()
            continue
        if name := _XNAME.match(source, pos):
            text = name.group()
            kind = "op" if text in ("and", "or", "div", "mod") and _after_operand(tokens) else "name"
            tokens.append(_Tok(kind, text, pos))
            pos = name.end()
            continue
        if symbol := _XSYMBOL.match(source, pos):
            tokens.append(_Tok("op", symbol.group(), pos))
            pos = symbol.end()
            continue
        raise Unsupported(f"unexpected character {char!r}", pos)
    tokens.append(_Tok("end", "", pos))
    return tokens


def _after_operand(tokens: list[_Tok]) -> bool:
    if not tokens:
        return False
    last = tokens[-1]
    return last.kind in _OPERAND_END or (last.kind == "op" and last.text in (")", "]", ".", "..")) or \
        (last.kind == "name" and last.text not in ("and", "or", "div", "mod"))


# ---------------------------------------------------------------- XPath -> our tree

#: Functions we translate, with their fewest and most arguments.
_FUNCTIONS: dict[str, tuple[int, int]] = {
    "not": (1, 1), "true": (0, 0), "false": (0, 0), "selected": (2, 2), "count-selected": (1, 1),
    "count": (1, 1), "string-length": (0, 1), "if": (3, 3), "coalesce": (2, 50), "min": (2, 50),
    "max": (2, 50), "abs": (1, 1), "round": (1, 2), "date": (1, 1), "regex": (2, 2),
}
_RENAMED = {"count-selected": "count", "string-length": "len"}
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

Resolver = Callable[[str], str | None]


def translate_xpath(
    source: str,
    *,
    resolve: Resolver | None = None,
    self_name: str | None = None,
    choice_names: Collection[str] = (),
) -> str:
    """``source`` (an XLSForm expression) in our expression language.

    ``resolve`` maps an XLSForm name to our name (default: unchanged) and returns
    None for a name that does not exist; ``self_name`` is what ``.`` stands for
    (only constraints have one); ``choice_names`` are the choice questions, whose
    values are text. Raises :class:`Unsupported`.
    """
    return render(xpath_to_tree(source, resolve=resolve, self_name=self_name, choice_names=choice_names))


def xpath_to_tree(
    source: str,
    *,
    resolve: Resolver | None = None,
    self_name: str | None = None,
    choice_names: Collection[str] = (),
    allow_regex: bool = False,
) -> Node:
    """Like :func:`translate_xpath`, but the tree. With ``allow_regex``, ``regex(., 'p')``
    is kept as ``Call('regex', ...)`` for the caller to turn into a pattern."""
    source = source.translate(_SMART_QUOTES)
    if not source.strip():
        raise Unsupported("the expression is empty", 0)
    parser = _XPathParser(_xpath_tokens(source), resolve or (lambda name: name), self_name,
                          frozenset(choice_names), allow_regex)
    return parser.parse()


class _XPathParser:
    """Recursive descent over XPath 1.0's operator levels, building our tree directly."""

    def __init__(self, tokens: list[_Tok], resolve: Resolver, self_name: str | None,
                 choice_names: frozenset[str], allow_regex: bool):
        self.tokens, self.index = tokens, 0
        self.resolve, self.self_name = resolve, self_name
        self.choice_names, self.allow_regex = choice_names, allow_regex
        self.depth = 0

    def parse(self) -> Node:
        tree = self._or()
        if self._peek().kind != "end":
            raise self._unexpected(self._peek())
        return tree

    def _peek(self) -> _Tok:
        return self.tokens[self.index]

    def _take(self) -> _Tok:
        token = self.tokens[self.index]
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def _at(self, *texts: str) -> bool:
        token = self._peek()
        return token.kind == "op" and token.text in texts

    def _unexpected(self, token: _Tok) -> Unsupported:
        if token.kind == "end":
            return Unsupported("the expression is incomplete", token.pos)
        if token.text in ("/", "//", "..", "@", "[", "]", "|", "::", "$"):
            return Unsupported(f"XPath paths, predicates and '{token.text}' are not supported; "
                               "refer to questions as ${name}", token.pos)
        return Unsupported(f"unexpected '{token.text}'", token.pos)

    def _or(self) -> Node:
        items = [self._and()]
        positions = []
        while self._at("or"):
            positions.append(self._take().pos)
            items.append(self._and())
        if len(items) == 1:
            return items[0]
        return _group_memberships(items, positions)

    def _and(self) -> Node:
        left = self._equality()
        while self._at("and"):
            token = self._take()
            left = Op("and", (left, self._equality()), token.pos)
        return left

    def _equality(self) -> Node:
        left = self._relational()
        while self._at("=", "!="):
            token = self._take()
            right = self._relational()
            left = Op(token.text, self._quote_choice_numbers(left, right), token.pos)
        return left

    def _relational(self) -> Node:
        left = self._additive()
        while self._at("<", "<=", ">", ">="):
            token = self._take()
            left = Op(token.text, (left, self._additive()), token.pos)
        return left

    def _additive(self) -> Node:
        left = self._multiplicative()
        while self._at("+", "-"):
            token = self._take()
            left = Op(token.text, (left, self._multiplicative()), token.pos)
        return left

    def _multiplicative(self) -> Node:
        left = self._unary()
        while self._at("*", "div", "mod"):
            token = self._take()
            op = {"*": "*", "div": "/", "mod": "%"}[token.text]
            left = Op(op, (left, self._unary()), token.pos)
        return left

    def _unary(self) -> Node:
        if not self._at("-"):
            operand = self._primary()
            if self._at("|"):
                raise Unsupported("the union operator '|' is not supported", self._peek().pos)
            return operand
        token = self._take()
        self._enter(token.pos)
        operand = self._unary()
        self.depth -= 1
        if isinstance(operand, Lit) and isinstance(operand.value, int | float) and not isinstance(operand.value, bool):
            return Lit(-operand.value, token.pos)
        return Op("neg", (operand,), token.pos)

    def _enter(self, pos: int) -> None:
        self.depth += 1
        if self.depth > 32:
            raise Unsupported("the expression nests too deeply", pos)

    def _primary(self) -> Node:
        token = self._take()
        if token.kind == "ref":
            return self._ref(token)
        if token.kind == "number":
            value = Decimal(token.text if not token.text.endswith(".") else token.text[:-1])
            number = int(value) if value == value.to_integral_value() else float(value)
            return Lit(number, token.pos)
        if token.kind == "string":
            return Lit(token.text if token.text else None, token.pos)
        if token.kind == "op" and token.text == ".":
            if self._at("/", "//", "["):
                raise self._unexpected(self._peek())
            if self.self_name is None:
                raise Unsupported("'.' (the question's own answer) can only be used in a constraint", token.pos)
            return Ref(self.self_name, token.pos)
        if token.kind == "op" and token.text == "(":
            self._enter(token.pos)
            inner = self._or()
            self.depth -= 1
            self._close(token)
            if self._at("/", "//", "["):
                raise self._unexpected(self._peek())
            return inner
        if token.kind == "name" and self._at("("):
            return self._call(token)
        if token.kind == "name":
            raise Unsupported(f"'{token.text}' is an XPath path; refer to questions as ${{name}}", token.pos)
        raise self._unexpected(token)

    def _ref(self, token: _Tok) -> Node:
        if self._at("/", "//", "["):
            raise self._unexpected(self._peek())
        resolved = self.resolve(token.text)
        if resolved is None:
            raise Unsupported(f"there is no question named '{token.text}' for ${{{token.text}}}", token.pos)
        return Ref(resolved, token.pos)

    def _close(self, opening: _Tok) -> None:
        token = self._take()
        if not (token.kind == "op" and token.text == ")"):
            if token.kind == "end":
                raise Unsupported("this '(' is never closed", opening.pos)
            raise self._unexpected(token)

    def _call(self, name: _Tok) -> Node:
        opening = self._take()
        fn = name.text
        if fn not in _FUNCTIONS or (fn == "regex" and not self.allow_regex):
            raise Unsupported(f"the function {fn}() is not supported", name.pos)
        self._enter(opening.pos)
        args: list[Node] = []
        if not self._at(")"):
            args.append(self._argument(fn, 0))
            while self._at(","):
                self._take()
                args.append(self._argument(fn, len(args)))
        self.depth -= 1
        self._close(opening)
        fewest, most = _FUNCTIONS[fn]
        if not fewest <= len(args) <= most:
            raise Unsupported(f"{fn}() takes {fewest}" + (f" to {most}" if most != fewest else "")
                              + f" values, not {len(args)}", name.pos)
        return self._function(fn, args, name.pos)

    def _argument(self, fn: str, index: int) -> Node:
        if fn in ("selected", "regex") and index == 1 and self._peek().kind == "string":
            token = self._take()  # '' stays text here: it is a value, not an empty answer
            return Lit(token.text, token.pos)
        if fn == "regex" and index == 1:
            raise Unsupported("regex() needs its pattern written as text in quotes", self._peek().pos)
        return self._or()

    def _function(self, fn: str, args: list[Node], pos: int) -> Node:
        if fn == "not":
            inner = args[0]
            if isinstance(inner, Op) and inner.op == "in":
                return Op("not in", inner.args, inner.pos)
            return Op("not", (inner,), pos)
        if fn in ("true", "false"):
            return Lit(fn == "true", pos)
        if fn == "date":
            arg = args[0]
            if isinstance(arg, Lit) and isinstance(arg.value, str) and _ISO_DATE.fullmatch(arg.value):
                return Lit(arg.value, arg.pos)
            raise Unsupported("date() is only supported with a date written 'YYYY-MM-DD'", pos)
        if fn == "string-length" and not args:
            if self.self_name is None:
                raise Unsupported("string-length() without a value can only be used in a constraint", pos)
            args = [Ref(self.self_name, pos)]
        if fn == "selected":
            value = args[1]
            if isinstance(value, Lit) and isinstance(value.value, int | float) and not isinstance(value.value, bool):
                args[1] = Lit(_number_text(value.value), value.pos)
        return Call(_RENAMED.get(fn, fn), tuple(args), pos)

    def _quote_choice_numbers(self, left: Node, right: Node) -> tuple[Node, Node]:
        """``${choice} = 1`` compares text in XPath; write the number as text."""
        def quoted(ref: Node, other: Node) -> Node:
            if isinstance(ref, Ref) and ref.name in self.choice_names and isinstance(other, Lit) \
                    and isinstance(other.value, int | float) and not isinstance(other.value, bool):
                return Lit(_number_text(other.value), other.pos)
            return other

        return quoted(right, left), quoted(left, right)


def _group_memberships(items: list[Node], positions: list[int]) -> Node:
    """``a = 'x' or a = 'y' or b = 'z'`` -> ``a in ['x', 'y'] or b = 'z'`` (runs of two or more)."""
    grouped: list[Node] = []
    run: list[Op] = []

    def flush() -> None:
        if len(run) >= 2:
            first = run[0]
            values = tuple(_membership(item)[1] for item in run)
            grouped.append(Op("in", (_membership(first)[0], ListOf(values, values[0].pos)), first.pos))
        else:
            grouped.extend(run)
        run.clear()

    for item in items:
        member = _membership(item)
        if member is not None and (not run or _membership(run[0])[0].name == member[0].name):
            run.append(item)
            continue
        flush()
        if member is not None:
            run.append(item)
        else:
            grouped.append(item)
    flush()
    tree = grouped[0]
    for item, pos in zip(grouped[1:], positions):
        tree = Op("or", (tree, item), pos)
    return tree


def _membership(node: Node) -> tuple[Ref, Lit] | None:
    if isinstance(node, Op) and node.op == "=":
        left, right = node.args
        if isinstance(left, Lit):
            left, right = right, left
        if isinstance(left, Ref) and isinstance(right, Lit) and isinstance(right.value, str):
            return Ref(left.name, left.pos), right
    return None


def _number_text(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value) if isinstance(value, int) else format(Decimal(repr(value)), "f")


# ---------------------------------------------------------------- our tree -> our text

_PRECEDENCE = {"or": 1, "and": 2, "not": 3, "=": 4, "!=": 4, "<": 4, "<=": 4, ">": 4, ">=": 4, "in": 4,
               "not in": 4, "+": 5, "-": 5, "*": 6, "/": 6, "%": 6, "neg": 7}
_COMPARISONS = frozenset({"=", "!=", "<", "<=", ">", ">=", "in", "not in"})


def render(node: Node) -> str:
    """Our expression language's text for ``node``; raises :class:`Unsupported` if it would
    not parse (say, over the length limits)."""
    text = _render(node, 0)
    try:
        parse_expression(text)
    except ExpressionError as error:
        raise Unsupported(f"the translated expression is not valid: {error}", getattr(node, "pos", 0)) from error
    return text


def _render(node: Node, minimum: int) -> str:
    if isinstance(node, Lit):
        text = _literal(node.value)
        return f"({text})" if text.startswith("-") and minimum > 7 else text
    if isinstance(node, Ref):
        return node.name
    if isinstance(node, ListOf):
        return "[" + ", ".join(_render(item, 0) for item in node.items) + "]"
    if isinstance(node, Call):
        if node.fn == "regex":
            raise Unsupported("the function regex() is not supported here", node.pos)
        return f"{node.fn}(" + ", ".join(_render(arg, 0) for arg in node.args) + ")"
    level = _PRECEDENCE[node.op]
    if node.op == "not":
        text = "not " + _render(node.args[0], 3)
    elif node.op == "neg":
        inner = _render(node.args[0], 7)
        text = "-" + (f" {inner}" if inner.startswith("-") else inner)
    elif node.op in _COMPARISONS:
        text = f"{_render(node.args[0], 5)} {node.op} {_render(node.args[1], 5)}"
    else:
        text = f"{_render(node.args[0], level)} {node.op} {_render(node.args[1], level + 1)}"
    return f"({text})" if level < minimum else text


def _literal(value: object) -> str:
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number_text(value)
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


# ---------------------------------------------------------------- ours -> XPath

_XPATH_PRECEDENCE = {"or": 1, "and": 2, "=": 3, "!=": 3, "<": 4, "<=": 4, ">": 4, ">=": 4,
                     "+": 5, "-": 5, "*": 6, "/": 6, "%": 6, "neg": 7}
_XPATH_OPERATORS = {"/": "div", "%": "mod"}


def to_xpath(
    expression: str | Node,
    *,
    self_name: str | None = None,
    names: Mapping[str, str] | None = None,
    types: Mapping[str, str] | None = None,
    minimum: int = 0,
) -> str:
    """``expression`` (our language, text or tree) as an XLSForm expression.

    ``self_name`` is written ``.`` (a constraint's own question); ``names`` maps our
    names to XLSForm names where they differ (matrix rows: ``m.row`` -> ``m_row``);
    ``types`` gives question types, so that ``count()`` becomes ``count-selected()``
    for choices and stays ``count()`` for repeat groups. ``minimum`` is the XPath
    precedence the result must bind at least as tightly as (2: an operand of ``and``).
    """
    tree = parse_expression(expression).tree if isinstance(expression, str) else expression
    return _XPathWriter(self_name, names or {}, types or {}).write(tree, minimum)


class _XPathWriter:
    def __init__(self, self_name: str | None, names: Mapping[str, str], types: Mapping[str, str]):
        self.self_name, self.names, self.types = self_name, names, types

    def write(self, node: Node, minimum: int) -> str:
        if isinstance(node, Lit):
            text = _xpath_literal(node.value)
            return f"({text})" if text.startswith("-") and minimum > 7 else text
        if isinstance(node, Ref):
            return self.ref(node.name)
        if isinstance(node, ListOf):
            raise Unsupported("a list can only be written after 'in' in XLSForm", node.pos)
        if isinstance(node, Call):
            return self.call(node, minimum)
        if node.op == "not":
            return f"not({self.write(node.args[0], 0)})"
        if node.op in ("in", "not in"):
            return self.membership(node, minimum)
        level = _XPATH_PRECEDENCE[node.op]
        if node.op == "neg":
            inner = self.write(node.args[0], 7)
            text = "-" + (f" {inner}" if inner.startswith("-") else inner)
        elif level in (3, 4):  # comparisons: ours never chain them
            text = f"{self.write(node.args[0], 5)} {node.op} {self.write(node.args[1], 5)}"
        else:
            op = _XPATH_OPERATORS.get(node.op, node.op)
            text = f"{self.write(node.args[0], level)} {op} {self.write(node.args[1], level + 1)}"
        return f"({text})" if level < minimum else text

    def ref(self, name: str) -> str:
        if name == self.self_name:
            return "."
        return "${" + self.names.get(name, name) + "}"

    def membership(self, node: Op, minimum: int) -> str:
        item, collection = node.args
        if isinstance(collection, ListOf):
            if not collection.items:
                return "true()" if node.op == "not in" else "false()"
            left = self.write(item, 5)
            tests = " or ".join(f"{left} = {self.write(value, 5)}" for value in collection.items)
            if node.op == "not in":
                return f"not({tests})"
            return f"({tests})" if len(collection.items) > 1 and minimum > 1 else tests
        test = f"selected({self.write(collection, 0)}, {self.write(item, 0)})"
        return f"not({test})" if node.op == "not in" else test

    def call(self, node: Call, minimum: int) -> str:
        fn, args = node.fn, node.args
        if fn == "answered":
            arg = args[0]
            if isinstance(arg, Ref) and self.types.get(arg.name) == "repeat":
                return self.write(Op(">", (Call("count", args, node.pos), Lit(0, node.pos)), node.pos), minimum)
            return self.write(Op("!=", (arg, Lit(None, node.pos)), node.pos), minimum)
        if fn == "count":
            arg = args[0]
            repeat = isinstance(arg, Ref) and self.types.get(arg.name) == "repeat"
            fn = "count" if repeat else "count-selected"
        elif fn == "len":
            fn = "string-length"
        return f"{fn}(" + ", ".join(self.write(arg, 0) for arg in args) + ")"


def _xpath_literal(value: object) -> str:
    if value is None:
        return "''"
    if value is True or value is False:
        return "true()" if value else "false()"
    if isinstance(value, int | float):
        return _number_text(value)
    text = str(value)
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    raise Unsupported("XLSForm text cannot hold both ' and \" quotes", 0)
