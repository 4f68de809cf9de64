"""XPath constraints taken apart: which parts of an ``and`` map onto our own
question keys (``min``, ``max_length``, ``pattern``, ``exclusive``...) and which
stay a general constraint expression."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from survey_app.questionnaire.expressions import Call, Lit, Node, Op, Ref


def and_(left: Node | None, right: Node | None) -> Node | None:
    """``left and right``, or whichever of them is not None."""
    if left is None or right is None:
        return left if right is None else right
    return Op("and", (left, right), 0)


def conjuncts(node: Node) -> Iterator[Node]:
    """The parts of ``node`` joined by ``and``, flattened (``node`` itself when it is no ``and``)."""
    if isinstance(node, Op) and node.op == "and":
        for arg in node.args:
            yield from conjuncts(arg)
    else:
        yield node


def join_and(nodes: list[Node]) -> Node:
    """The non-empty ``nodes`` joined by ``and``, left to right."""
    tree = nodes[0]
    for node in nodes[1:]:
        tree = Op("and", (tree, node), 0)
    return tree


def same_tree(a: Node, b: Node) -> bool:
    """Structural equality, ignoring positions."""
    if type(a) is not type(b):
        return False
    if isinstance(a, Lit):
        return type(a.value) is type(b.value) and a.value == b.value
    if isinstance(a, Ref):
        return a.name == b.name
    if isinstance(a, Call):
        return a.fn == b.fn and len(a.args) == len(b.args) and all(map(same_tree, a.args, b.args))
    if isinstance(a, Op):
        return a.op == b.op and len(a.args) == len(b.args) and all(map(same_tree, a.args, b.args))
    return len(a.items) == len(b.items) and all(map(same_tree, a.items, b.items))


def is_number_literal(node: Node, whole: bool = False) -> bool:
    """Whether ``node`` is a number literal (a whole one when ``whole``)."""
    return isinstance(node, Lit) and isinstance(node.value, int | float) and not isinstance(node.value, bool) \
        and (not whole or isinstance(node.value, int))


_FLIPPED = {">=": "<=", "<=": ">="}


def recognise(node: Node, own: str, kind: str) -> tuple[str | None, Any]:
    """The key of ours that ``node`` (one part of a constraint) stands for, and its value."""
    me = Ref(own, 0)
    if isinstance(node, Call) and node.fn == "regex" and kind in ("text", "long_text"):
        subject, pattern = node.args
        if same_tree(subject, me) and isinstance(pattern, Lit) and isinstance(pattern.value, str) and kind == "text":
            return "pattern", pattern.value
        return None, None
    if isinstance(node, Op) and node.op == "not" and kind == "multiple_choice":
        inner = node.args[0]
        if isinstance(inner, Op) and inner.op == "and":
            picked, counted = inner.args
            if isinstance(picked, Call) and picked.fn == "selected" and same_tree(picked.args[0], me) \
                    and isinstance(picked.args[1], Lit) and isinstance(counted, Op) and counted.op == ">" \
                    and same_tree(counted.args[0], Call("count", (me,), 0)) and same_tree(counted.args[1], Lit(1, 0)):
                return "exclusive", picked.args[1].value
        return None, None
    if not (isinstance(node, Op) and node.op in (">=", "<=")):
        return None, None
    left, right = node.args
    op = node.op
    if isinstance(left, Lit):
        left, right, op = right, left, _FLIPPED[op]
    low = op == ">="
    if kind in ("integer", "decimal") and same_tree(left, me) and is_number_literal(right, whole=kind == "integer"):
        return ("min" if low else "max"), right.value
    if kind == "date" and same_tree(left, me) and isinstance(right, Lit) and isinstance(right.value, str):
        return ("min" if low else "max"), right.value
    if kind in ("text", "long_text") and same_tree(left, Call("len", (me,), 0)) and is_number_literal(right, whole=True):
        return ("min_length" if low else "max_length"), right.value
    if kind == "multiple_choice" and same_tree(left, Call("count", (me,), 0)) and is_number_literal(right, whole=True):
        return ("min_selected" if low else "max_selected"), right.value
    return None, None


def split_constraint(tree: Node, own: str, kind: str) -> tuple[dict[str, Any], list[str], list[Node]]:
    """Take a constraint of question ``own`` (of our type ``kind``) apart: the keys of ours its
    ``and``-parts stand for (the first of each wins), the values its ``exclusive`` parts name, and
    the parts left over, which stay a general constraint."""
    found: dict[str, Any] = {}
    exclusive: list[str] = []
    rest: list[Node] = []
    for part in conjuncts(tree):
        key, value = recognise(part, own, kind)
        if key == "exclusive":
            exclusive.append(value)
        elif key is not None and key not in found:
            found[key] = value
        else:
            rest.append(part)
    return found, exclusive, rest


def pattern_from_xpath(pattern: str) -> str:
    """An XLSForm ``regex()`` (which matches anywhere in the answer) as our pattern (which
    must match the whole answer)."""
    if pattern.startswith("^(?:") and pattern.endswith(")$") and _balanced(pattern[4:-2]):
        return pattern[4:-2]
    if pattern.startswith("^") and pattern.endswith("$") and not pattern.endswith("\\$"):
        return pattern
    return f"(?s:.*)(?:{pattern})(?s:.*)"


def _balanced(text: str) -> bool:
    depth, escaped, in_class = 0, False, False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and not escaped
