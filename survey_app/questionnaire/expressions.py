"""The expression language of ``show_if``, ``constraints`` and ``calculated``.

An expression is tokenized and parsed by hand into a tree of small frozen
dataclasses, checked against the types of the questionnaire's questions, and
interpreted by walking that tree. Nothing is ever given to ``eval``, ``exec`` or
``compile``. ``docs/questionnaire-format.md`` ("Expressions") is the contract.

The tree, and its JSON form from ``Expression.to_json()``, which the browser's
``survey_app/static/js/logic.js`` interprets with exactly the same rules:

``Lit(value)``        ``{"op": "lit", "value": 5}``: a number, string, true, false or null
``Ref(name)``         ``{"op": "ref", "name": "q"}``: an answer; ``"matrix.row"`` for a matrix row
``ListOf(items)``     ``{"op": "list", "items": [...]}``
``Call(fn, args)``    ``{"op": "call", "fn": "count", "args": [...]}``
``Op(op, args)``      ``{"op": "and", "args": [a, b]}``, where op is one of
                      ``or and = != < <= > >= in`` ``not in`` ``+ - * / %`` (two arguments)
                      or ``not`` and ``neg`` (unary minus; one argument)

``==`` is stored as ``=``, and ``-5`` as the literal -5. Numbers in the tree and
computed numbers are ints when whole, so Python and JavaScript give the same JSON
(a bare name gives its value as it was passed in).
Every node also has ``pos``, the 0-based offset of its first character (of its
operator for an ``Op``), which the JSON leaves out.

Rules beyond the format document: ``and``, ``or`` and ``not`` give true or false
and read their operands as ``truthy`` does; arithmetic, ``abs``, ``min`` and
``max`` give null for anything but numbers within ±10^15; ``round(x, digits)``
rounds halves away from zero, with 0 to 10 digits (0 when left out);
``count(null)`` and ``len(null)`` are 0; ``x in y`` is false unless y is a list;
``selected(q, v)`` also works on a single choice; ordering compares numbers with
numbers and strings (dates) with strings by code point, and is false otherwise.
"""
from __future__ import annotations

import difflib
import enum
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any, NamedTuple, TypeGuard

MAX_SOURCE = 1000
MAX_NODES = 200
MAX_DEPTH = 32
MAX_NUMBER = 10**15
MAX_STRING = 10_000
MAX_DIGITS = 10


class ExpressionError(ValueError):
    """A problem in an expression, for the author to fix.

    ``message`` is plain English without the position, ``position`` the 0-based
    character offset (or None) and ``hint`` an optional suggestion, so that
    ``str(err)`` reads "unknown question 'x' at position 0 (did you mean 'y'?)".
    """

    def __init__(self, message: str, position: int | None = None, hint: str | None = None):
        self.message, self.position, self.hint = message, position, hint
        text = message if position is None else f"{message} at position {position}"
        super().__init__(f"{text} ({hint})" if hint else text)


class ValueType(enum.Enum):
    """Static types for ``check_types``; each value is how messages name the type."""

    NUMBER = "a number"
    STRING = "text"  # text and single-choice answers
    BOOLEAN = "true or false"
    DATE = "a date"  # 'YYYY-MM-DD'
    LIST = "a list"  # multiple choice and ranking answers: lists of strings
    ENTRIES = "a repeat group"  # only count() and answered() accept it
    NULL = "null"
    ANY = "any value"  # fits everything


Scalar = bool | int | float | str | None


@dataclass(frozen=True)
class Lit:
    """A number, string, true, false or null."""

    value: Scalar
    pos: int


@dataclass(frozen=True)
class Ref:
    """A question's answer, or a matrix row's as ``matrix.row``."""

    name: str
    pos: int


@dataclass(frozen=True)
class ListOf:
    """A list written in brackets."""

    items: tuple[Node, ...]
    pos: int


@dataclass(frozen=True)
class Call:
    """A call of one of the built-in functions."""

    fn: str
    args: tuple[Node, ...]
    pos: int


@dataclass(frozen=True)
class Op:
    """An operator with its one or two operands."""

    op: str
    args: tuple[Node, ...]
    pos: int


Node = Lit | Ref | ListOf | Call | Op


@dataclass(frozen=True)
class Expression:
    """A parsed expression: its source, its tree and every name it uses."""

    source: str
    tree: Node
    references: frozenset[str]

    def to_json(self) -> dict:
        """The tree as JSON-serialisable dicts (see the module docstring), for the browser."""
        return _to_json(self.tree)


def _to_json(node: Node) -> dict:
    match node:
        case Lit(value):
            return {"op": "lit", "value": value}
        case Ref(name):
            return {"op": "ref", "name": name}
        case ListOf(items):
            return {"op": "list", "items": [_to_json(item) for item in items]}
        case Call(fn, args):
            return {"op": "call", "fn": fn, "args": [_to_json(arg) for arg in args]}
        case Op(op, args):
            return {"op": op, "args": [_to_json(arg) for arg in args]}


# ---------------------------------------------------------------- tokens

_CONSTANTS: dict[str, Scalar] = {"true": True, "false": False, "null": None}
_KEYWORDS = {"and", "or", "not", "in", *_CONSTANTS}
# The fewest and most arguments of each function.
_ARITY: dict[str, tuple[int, int]] = {
    "answered": (1, 1), "count": (1, 1), "selected": (2, 2), "len": (1, 1),
    "min": (2, MAX_NODES), "max": (2, MAX_NODES), "abs": (1, 1), "round": (1, 2),
    "if": (3, 3), "coalesce": (2, MAX_NODES),
}

_SPACE = re.compile(r"[ \t\r\n]+")
_WORD = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.]*")  # a name or a number, checked below
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_STRING = {quote: re.compile(rf"{quote}((?:[^{quote}\\]|\\.)*){quote}", re.S) for quote in "'\""}
_ESCAPE = re.compile(r"\\(.)", re.S)
_SYMBOL = re.compile(r"\*\*|&&|\|\||[=!<>]=|[-+*/%<>=()\[\],^!]")
_BAD_SYMBOLS = {
    "**": "there is no power operator", "^": "there is no power operator",
    "&&": "write 'and' instead of '&&'", "||": "write 'or' instead of '||'",
    "!": "write 'not' instead of '!'",
}
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class _Token(NamedTuple):
    kind: str  # "number", "string", "name", "op" (symbols and keywords) or "end"
    text: str
    pos: int
    value: Scalar = None


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(source):
        if space := _SPACE.match(source, pos):
            pos = space.end()
            continue
        if word := _WORD.match(source, pos):
            tokens.append(_word_token(word.group(), pos))
        elif source[pos] in "'\"":
            tokens.append(_string_token(source, pos))
        elif symbol := _SYMBOL.match(source, pos):
            if symbol.group() in _BAD_SYMBOLS:
                raise ExpressionError(_BAD_SYMBOLS[symbol.group()], pos)
            tokens.append(_Token("op", symbol.group(), pos))
        else:
            raise ExpressionError(f"unexpected character {source[pos]!r}", pos)
        pos += len(tokens[-1].text)
    tokens.append(_Token("end", "", pos))
    return tokens


def _word_token(word: str, pos: int) -> _Token:
    if word[0].isdigit():
        if not _NUMBER.fullmatch(word):
            raise ExpressionError(f"'{word}' is not a number", pos, "write numbers like 3 or 2.5")
        number = _number(float(word))
        if number is None:
            raise ExpressionError("this number is too large: numbers must stay within ±10^15", pos)
        return _Token("number", word, pos, number)
    if word.startswith("_") or "__" in word:
        raise ExpressionError(f"'{word}' is not a valid name", pos, "names cannot start with '_' or contain '__'")
    if word.endswith("."):
        raise ExpressionError(f"a matrix row must follow the '.' in '{word}'", pos)
    if word.count(".") > 1:
        raise ExpressionError(f"'{word}' has too many dots", pos,
                              "only a matrix row can follow a question, as in matrix.row")
    return _Token("op" if word in _KEYWORDS else "name", word, pos)


def _string_token(source: str, pos: int) -> _Token:
    found = _STRING[source[pos]].match(source, pos)
    if found is None:
        raise ExpressionError("this text has no closing quote", pos)
    for escape in _ESCAPE.finditer(found.group(1)):
        if escape.group(1) not in "'\"\\":
            raise ExpressionError(
                f"unknown escape '{escape.group()}' in text", pos + 1 + escape.start(),
                "only \\', \\\" and \\\\ are allowed")
    value = _ESCAPE.sub(r"\1", found.group(1))
    if len(value) > MAX_STRING:
        raise ExpressionError(f"this text is longer than {MAX_STRING} characters", pos)
    return _Token("string", found.group(), pos, value)


# ---------------------------------------------------------------- parsing


def parse_expression(source: str) -> Expression:
    """Parse ``source``; raise ExpressionError for bad syntax or an expression over the limits."""
    if len(source) > MAX_SOURCE:
        raise ExpressionError(f"the expression is longer than {MAX_SOURCE} characters", MAX_SOURCE)
    if not source.strip():
        raise ExpressionError("the expression is empty", 0)
    parser = _Parser(_tokenize(source))
    return Expression(source, parser.parse(), frozenset(parser.names))


class _Parser:
    """Recursive descent, one method per precedence level, loosest first."""

    def __init__(self, tokens: list[_Token]):
        self.tokens = tokens
        self.index = 0
        self.nodes = 0
        self.depth = 0
        self.names: set[str] = set()

    def parse(self) -> Node:
        tree = self._or()
        if self._peek().kind != "end":
            raise self._unexpected(self._peek())
        return tree

    def _peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def _take(self) -> _Token:
        token = self._peek()
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def _at(self, *texts: str, ahead: int = 0) -> bool:
        return _is(self._peek(ahead), *texts)

    def _node(self, node: Node) -> Node:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ExpressionError(f"the expression has more than {MAX_NODES} parts", node.pos)
        return node

    @contextmanager
    def _nested(self, pos: int) -> Iterator[None]:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"the expression nests more than {MAX_DEPTH} levels deep", pos)
        yield
        self.depth -= 1

    def _unexpected(self, token: _Token) -> ExpressionError:
        if token.kind == "end":
            return ExpressionError("the expression is incomplete", token.pos)
        lowercase = token.kind == "name" and token.text.lower() in _KEYWORDS
        hint = f"write '{token.text.lower()}' in lowercase" if lowercase else None
        return ExpressionError(f"unexpected '{token.text}'", token.pos, hint)

    def _binary(self, texts: tuple[str, ...], operand: Callable[[], Node]) -> Node:
        left = operand()
        while self._at(*texts):
            token = self._take()
            left = self._node(Op(token.text, (left, operand()), token.pos))
        return left

    def _or(self) -> Node:
        return self._binary(("or",), self._and)

    def _and(self) -> Node:
        return self._binary(("and",), self._not)

    def _not(self) -> Node:
        if not self._at("not"):
            return self._comparison()
        token = self._take()
        with self._nested(token.pos):
            return self._node(Op("not", (self._not(),), token.pos))

    def _comparison(self) -> Node:
        left = self._sum()
        if (comparison := self._comparison_operator()) is None:
            return left
        node = self._node(Op(comparison.text, (left, self._sum()), comparison.pos))
        if (chained := self._comparison_operator()) is not None:
            raise ExpressionError("comparisons cannot be chained", chained.pos, "join them with 'and'")
        return node

    def _comparison_operator(self) -> _Token | None:
        if self._at("not") and self._at("in", ahead=1):
            token = self._take()
            self._take()
            return token._replace(text="not in")
        if self._at("=", "==", "!=", "<", "<=", ">", ">=", "in"):
            token = self._take()
            return token._replace(text="=") if token.text == "==" else token
        return None

    def _sum(self) -> Node:
        return self._binary(("+", "-"), self._term)

    def _term(self) -> Node:
        return self._binary(("*", "/", "%"), self._unary)

    def _unary(self) -> Node:
        if not self._at("-"):
            return self._primary()
        token = self._take()
        with self._nested(token.pos):
            operand = self._unary()
        if isinstance(operand, Lit) and _is_number(operand.value):
            return Lit(-operand.value, token.pos)
        return self._node(Op("neg", (operand,), token.pos))

    def _primary(self) -> Node:
        token = self._take()
        if token.kind in ("number", "string"):
            return self._node(Lit(token.value, token.pos))
        if token.kind == "name" and self._at("("):
            return self._call(token)
        if token.kind == "name":
            self.names.add(token.text)
            return self._node(Ref(token.text, token.pos))
        if token.kind == "op" and token.text in _CONSTANTS:
            return self._node(Lit(_CONSTANTS[token.text], token.pos))
        if _is(token, "("):
            with self._nested(token.pos):
                inner = self._or()
            self._close(")", token)
            return inner
        if _is(token, "["):
            return self._node(ListOf(self._sequence("]", token), token.pos))
        raise self._unexpected(token)

    def _call(self, name: _Token) -> Node:
        if name.text not in _ARITY:
            raise ExpressionError(f"unknown function '{name.text}'", name.pos, _did_you_mean(name.text, _ARITY))
        args = self._sequence(")", self._take())
        fewest, most = _ARITY[name.text]
        if not fewest <= len(args) <= most:
            wanted = (f"{fewest} value" if fewest == most == 1 else f"{fewest} values" if fewest == most
                      else f"{fewest} or {most} values" if most < MAX_NODES else f"at least {fewest} values")
            raise ExpressionError(f"{name.text}() takes {wanted}, not {len(args)}", name.pos)
        return self._node(Call(name.text, args, name.pos))

    def _sequence(self, close: str, opening: _Token) -> tuple[Node, ...]:
        items: list[Node] = []
        with self._nested(opening.pos):
            if not self._at(close):
                items.append(self._or())
                while self._at(","):
                    self._take()
                    items.append(self._or())
        self._close(close, opening)
        return tuple(items)

    def _close(self, close: str, opening: _Token) -> None:
        token = self._take()
        if token.kind == "end":
            raise ExpressionError(f"this '{opening.text}' is never closed", opening.pos)
        if not _is(token, close):
            raise self._unexpected(token)


def _is(token: _Token, *texts: str) -> bool:
    return token.kind == "op" and token.text in texts


def _did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(name, list(candidates), n=1)
    return f"did you mean '{close[0]}'?" if close else None


# ---------------------------------------------------------------- types

_T = ValueType
_ORDERED = {_T.NUMBER, _T.DATE}


def check_types(expression: Expression, types: Mapping[str, ValueType]) -> ValueType:
    """The type of ``expression`` given each name's type; raise ExpressionError for unknown
    names and for operators or functions applied to the wrong types."""
    return _Checker(types).type_of(expression.tree)


def _literal_type(value: object) -> ValueType:
    if value is None:
        return _T.NULL
    if isinstance(value, bool):
        return _T.BOOLEAN
    return _T.STRING if isinstance(value, str) else _T.NUMBER


def _is_date_literal(node: Node) -> bool:
    if not (isinstance(node, Lit) and isinstance(node.value, str) and _ISO_DATE.fullmatch(node.value)):
        return False
    try:
        date.fromisoformat(node.value)
    except ValueError:
        return False
    return True


def _fit(a: ValueType, a_node: Node, b: ValueType, b_node: Node) -> bool:
    """Whether values of these types may be compared: the same type, null or any
    value, or a date with a string literal that is a valid date."""
    if a == b or {a, b} & {_T.NULL, _T.ANY}:
        return True
    return {a, b} == {_T.DATE, _T.STRING} and _is_date_literal(b_node if a is _T.DATE else a_node)


class _Checker:
    def __init__(self, types: Mapping[str, ValueType]):
        self.types = types

    def type_of(self, node: Node) -> ValueType:
        match node:
            case Lit(value):
                return _literal_type(value)
            case Ref(name, pos):
                if name in self.types:
                    return self.types[name]
                hint = (f"write '{name.lower()}' in lowercase" if name.lower() in _KEYWORDS
                        else _did_you_mean(name, self.types))
                raise ExpressionError(f"unknown question '{name}'", pos, hint)
            case ListOf(items):
                for item in items:
                    self.expect(item, {_T.STRING, _T.DATE}, "a list can only hold text")
                return _T.LIST
            case Call():
                return self.call(node)
            case Op("and" | "or" | "not", args):
                for arg in args:
                    self.operand(arg)
                return _T.BOOLEAN
            case Op("=" | "!=" | "<" | "<=" | ">" | ">=" as op, (left, right), pos):
                self.compare(op, left, right, pos)
                return _T.BOOLEAN
            case Op("in" | "not in" as op, (left, right), pos):
                self.membership(op, left, right, pos)
                return _T.BOOLEAN
            case Op(op, args):
                for arg in args:
                    self.expect(arg, {_T.NUMBER}, f"'{'-' if op == 'neg' else op}' needs numbers")
                return _T.NUMBER

    def operand(self, node: Node) -> ValueType:
        """The node's type, which must not be a repeat group's entries."""
        found = self.type_of(node)
        if found is _T.ENTRIES:
            raise ExpressionError("a repeat group can only be used in count() or answered()", node.pos)
        return found

    def expect(self, node: Node, allowed: set[ValueType], what: str) -> None:
        found = self.type_of(node)
        if found not in allowed | {_T.NULL, _T.ANY}:
            raise ExpressionError(f"{what}, not {found.value}", node.pos)

    def require_fit(self, left: Node, right: Node, pos: int) -> tuple[ValueType, ValueType]:
        a, b = self.operand(left), self.operand(right)
        if not _fit(a, left, b, right):
            literal = right if a is _T.DATE else left
            if {a, b} == {_T.DATE, _T.STRING} and isinstance(literal, Lit):
                raise ExpressionError(f"'{literal.value}' is not a date", literal.pos, "write dates as 'YYYY-MM-DD'")
            raise ExpressionError(f"cannot compare {a.value} with {b.value}", pos)
        return a, b

    def compare(self, op: str, left: Node, right: Node, pos: int) -> None:
        kinds = set(self.require_fit(left, right, pos)) - {_T.NULL, _T.ANY}
        if op in ("=", "!=") or kinds <= _ORDERED or kinds == {_T.DATE, _T.STRING}:
            return
        raise ExpressionError(f"'{op}' needs numbers or dates, not {(kinds - _ORDERED).pop().value}", pos)

    def membership(self, op: str, left: Node, right: Node, pos: int) -> None:
        if isinstance(right, ListOf):
            for item in right.items:
                self.require_fit(left, item, pos)
            if not right.items:
                self.operand(left)
            return
        self.expect(right, {_T.LIST}, f"'{op}' needs a list on its right")
        self.expect(left, {_T.STRING}, "only text can be looked for in a list")

    def call(self, node: Call) -> ValueType:
        fn, args = node.fn, node.args
        if fn == "answered":
            self.type_of(args[0])
            return _T.BOOLEAN
        if fn == "count":
            self.expect(args[0], {_T.LIST, _T.ENTRIES}, "count() needs a multiple-choice question or a repeat group")
            return _T.NUMBER
        if fn == "selected":
            self.expect(args[0], {_T.LIST, _T.STRING}, "selected() needs a choice question")
            self.expect(args[1], {_T.STRING}, "selected() needs a choice value")
            return _T.BOOLEAN
        if fn == "len":
            self.expect(args[0], {_T.STRING}, "len() needs text")
            return _T.NUMBER
        if fn == "if":
            self.operand(args[0])
            return self.unify(node, args[1:])
        if fn == "coalesce":
            return self.unify(node, args)
        for arg in args:
            self.expect(arg, {_T.NUMBER}, f"{fn}() needs numbers")
        if fn == "round" and len(args) == 2 and isinstance(args[1], Lit) and args[1].value not in range(MAX_DIGITS + 1):
            raise ExpressionError(f"round() keeps 0 to {MAX_DIGITS} decimal places", args[1].pos)
        return _T.NUMBER

    def unify(self, node: Call, branches: tuple[Node, ...]) -> ValueType:
        """The one type of ``branches``, whose value the call gives."""
        typed = [(self.operand(branch), branch) for branch in branches]
        kinds = list(dict.fromkeys(kind for kind, _ in typed if kind is not _T.NULL))
        if _T.ANY in kinds:
            return _T.ANY
        if set(kinds) == {_T.DATE, _T.STRING} and all(k is _T.DATE or _is_date_literal(b) for k, b in typed):
            return _T.DATE
        if len(kinds) > 1:
            raise ExpressionError(
                f"{node.fn}() can give {kinds[0].value} or {kinds[1].value}", node.pos,
                "all its results must be of one type")
        return kinds[0] if kinds else _T.NULL


# ---------------------------------------------------------------- evaluation

_DECIMAL = Context(prec=50)


def truthy(value: object) -> bool:
    """How show_if reads a result: null, false, 0, '' and [] are false, all else true."""
    if _is_number(value):
        return value == value and value != 0  # NaN is false, as in the browser
    return value is not None and value is not False and value != "" and value != []


def evaluate(expression: Expression, values: Mapping[str, object]) -> object:
    """The value of ``expression`` given each name's value (missing names are null).

    Never raises for data reasons: impossible arithmetic gives None.
    """
    return _eval(expression.tree, values)


def _eval(node: Node, values: Mapping[str, object]) -> object:
    match node:
        case Lit(value):
            return value
        case Ref(name):
            return values.get(name)
        case ListOf(items):
            return [_eval(item, values) for item in items]
        case Call("if", (condition, then, otherwise)):
            return _eval(then if truthy(_eval(condition, values)) else otherwise, values)
        case Call(fn, args):
            return _FUNCTIONS[fn](*(_eval(arg, values) for arg in args))
        case Op("and", (left, right)):
            return truthy(_eval(left, values)) and truthy(_eval(right, values))
        case Op("or", (left, right)):
            return truthy(_eval(left, values)) or truthy(_eval(right, values))
        case Op(op, args):
            return _OPERATORS[op](*(_eval(arg, values) for arg in args))


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: object) -> int | float | None:
    """A number within ±10^15 (whole floats as ints), or None for anything else."""
    if not _is_number(value) or not -MAX_NUMBER <= value <= MAX_NUMBER:  # NaN fails too
        return None
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _arithmetic(function: Callable[..., int | float]) -> Callable[..., int | float | None]:
    def apply(*operands: object) -> int | float | None:
        numbers = [_number(operand) for operand in operands]
        if any(number is None for number in numbers):
            return None
        if function in (operator.truediv, operator.mod) and numbers[1] == 0:
            return None
        return _number(function(*numbers))

    return apply


def _same(a: object, b: object) -> bool:
    """Equality of single values: numbers with numbers, strings with strings, booleans with booleans."""
    if a is None or b is None:
        return a is None and b is None
    if _is_number(a) and _is_number(b):
        return a == b
    return type(a) is type(b) and isinstance(a, str | bool) and a == b


def _equal(a: object, b: object) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same, a, b))
    return _same(a, b)


def _member(item: object, collection: object) -> bool:
    return isinstance(collection, list) and any(_same(item, element) for element in collection)


def _ordering(compare: Callable[[Any, Any], bool]) -> Callable[[object, object], bool]:
    def apply(a: object, b: object) -> bool:
        comparable = (_is_number(a) and _is_number(b)) or (isinstance(a, str) and isinstance(b, str))
        return comparable and compare(a, b)

    return apply


def _round(value: object, digits: object = 0) -> int | float | None:
    value, digits = _number(value), _number(digits)
    if value is None or not isinstance(digits, int) or not 0 <= digits <= MAX_DIGITS:
        return None
    exact = Decimal(value).quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP, _DECIMAL)
    return _number(float(exact))


def _length(value: object, of: type[list] | type[str]) -> int | None:
    return len(value) if isinstance(value, of) else 0 if value is None else None


def _selected(choice: object, value: object) -> bool:
    if isinstance(choice, list):
        return _member(value, choice)
    return isinstance(choice, str) and choice == value


_OPERATORS: dict[str, Callable[..., object]] = {
    "not": lambda value: not truthy(value),
    "=": _equal,
    "!=": lambda a, b: not _equal(a, b),
    "in": _member,
    "not in": lambda a, b: not _member(a, b),
    "<": _ordering(operator.lt), "<=": _ordering(operator.le),
    ">": _ordering(operator.gt), ">=": _ordering(operator.ge),
    "+": _arithmetic(operator.add), "-": _arithmetic(operator.sub),
    "*": _arithmetic(operator.mul), "/": _arithmetic(operator.truediv),
    "%": _arithmetic(operator.mod), "neg": _arithmetic(operator.neg),
}

_FUNCTIONS: dict[str, Callable[..., object]] = {
    "answered": lambda value: value is not None and value != "" and value != [],
    "count": lambda value: _length(value, list),
    "selected": _selected,
    "len": lambda value: _length(value, str),
    "min": _arithmetic(min), "max": _arithmetic(max), "abs": _arithmetic(abs),
    "round": _round,
    "coalesce": lambda *values: next((value for value in values if value is not None), None),
}
