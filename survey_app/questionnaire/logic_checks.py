"""Checks of the questionnaire's logic: every expression's names, types and order,
circular references, and piped answers.

Answers flow forwards: a ``show_if`` or calculation may use questions before it
(on earlier pages or earlier on the same page), a constraint may use anything on
its own page or before, and a label may pipe answers from earlier pages only.
"""
from __future__ import annotations

import difflib
from collections import ChainMap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache

from survey_app.questionnaire.errors import Problem
from survey_app.questionnaire.expressions import Expression, ExpressionError, ValueType, check_types
from survey_app.questionnaire.model import Questionnaire
from survey_app.questionnaire.texts import placeholders

#: The type an answer has inside expressions.
ANSWER_TYPES = {
    "single_choice": ValueType.STRING, "yes_no": ValueType.STRING, "text": ValueType.STRING,
    "long_text": ValueType.STRING, "email": ValueType.STRING, "multiple_choice": ValueType.LIST,
    "ranking": ValueType.LIST, "integer": ValueType.NUMBER, "decimal": ValueType.NUMBER,
    "rating": ValueType.NUMBER, "date": ValueType.DATE, "repeat": ValueType.ENTRIES,
    "calculated": ValueType.ANY,
}
#: The type the answer to a question of a plugin type has, by the type's ``value_kind``.
KIND_TYPES = {"text": ValueType.STRING, "number": ValueType.NUMBER, "date": ValueType.DATE}

Position = tuple[int, int, int]  # page, question, repeat child (-1 outside repeats)


@dataclass(frozen=True)
class _Site:
    """Where an expression stands: its owner, the kind of rule, its JSON path."""

    expression: Expression
    path: str
    kind: str  # "show_if", "page_show_if", "constraint" or "calculation"
    position: Position
    repeat_id: str | None
    owner: str


def check_logic(questionnaire: Questionnaire) -> list[Problem]:
    """Every problem with the questionnaire's expressions and piping."""
    positions = _positions(questionnaire)
    problems: list[Problem] = []
    scopes = _Scopes(questionnaire)
    sites = list(_sites(questionnaire, positions))
    cyclic = _cycle_problems(sites, questionnaire)
    problems.extend(cyclic)
    in_cycle = {problem.path for problem in cyclic}
    for site in sites:
        if site.path in in_cycle:
            continue
        problem = _site_problem(site, questionnaire, scopes, positions)
        if problem is not None:
            problems.append(problem)
        elif site.kind == "calculation":
            scopes.learn(site.owner, site.repeat_id, check_types(site.expression, scopes.visible_from(site.repeat_id)))
    problems.extend(_piping_problems(questionnaire, positions))
    return problems


def _positions(questionnaire: Questionnaire) -> dict[str, Position]:
    positions: dict[str, Position] = {}
    for page_index, page in enumerate(questionnaire.pages):
        for question_index, question in enumerate(page.questions):
            positions[question.id] = (page_index, question_index, -1)
            for child_index, child in enumerate(question.questions):
                positions[child.id] = (page_index, question_index, child_index)
    return positions


class _Scopes:
    """The type of every name an expression may use: top-level answers everywhere,
    a repeat group's own answers only inside that group."""

    def __init__(self, questionnaire: Questionnaire):
        self.top: dict[str, ValueType] = {}
        self.groups: dict[str, dict[str, ValueType]] = {}
        for question in questionnaire.all_questions():
            names = self.groups.setdefault(question.repeat_id, {}) if question.repeat_id else self.top
            if question.type == "matrix":
                names.update({f"{question.id}.{row.value}": ValueType.STRING for row in question.rows})
            elif question.plugin_type is not None:
                names[question.id] = KIND_TYPES[question.plugin_type.value_kind]
            elif question.type in ANSWER_TYPES:
                names[question.id] = ANSWER_TYPES[question.type]

    def visible_from(self, repeat_id: str | None) -> Mapping[str, ValueType]:
        """The names visible to an expression inside ``repeat_id`` (None: outside any group)."""
        return ChainMap(self.groups.get(repeat_id, {}), self.top) if repeat_id else self.top

    def learn(self, name: str, repeat_id: str | None, value_type: ValueType) -> None:
        """Record the type a calculation turned out to have."""
        (self.groups[repeat_id] if repeat_id else self.top)[name] = value_type


def _sites(questionnaire: Questionnaire, positions: dict[str, Position]) -> Iterator[_Site]:
    for page_index, page in enumerate(questionnaire.pages):
        if page.show_if is not None:
            yield _Site(page.show_if, page.path + "/show_if", "page_show_if", (page_index, -1, -1), None, page.id)
        for question in (q for top in page.questions for q in (top, *top.questions)):
            where = positions[question.id]
            if question.show_if is not None:
                yield _Site(question.show_if, question.path + "/show_if", "show_if", where, question.repeat_id, question.id)
            if question.expression is not None:
                yield _Site(question.expression, question.path + "/expression", "calculation", where, question.repeat_id, question.id)
            for index, constraint in enumerate(question.constraints):
                if constraint.expression is not None:
                    yield _Site(constraint.expression, f"{question.path}/constraints/{index}/expression",
                                "constraint", where, question.repeat_id, question.id)


def _site_problem(site: _Site, questionnaire: Questionnaire, scopes: _Scopes,
                  positions: dict[str, Position]) -> Problem | None:
    for name in sorted(site.expression.references):
        question = questionnaire.questions.get(name.split(".")[0])
        if question is not None and question.repeat_id not in (None, site.repeat_id):
            return Problem(site.path, f"'{name}' is inside the repeat group '{question.repeat_id}'; "
                                      f"outside it, use count({question.repeat_id})")
    try:
        check_types(site.expression, scopes.visible_from(site.repeat_id))
    except ExpressionError as error:
        return Problem(site.path, str(error))
    for name in sorted(site.expression.references):
        target = positions[name.split(".")[0]]
        if not _may_use(site, target):
            return Problem(site.path, _order_message(site, name))
    return None


def _may_use(site: _Site, target: Position) -> bool:
    if site.kind == "page_show_if":
        return target[0] < site.position[0]
    if site.kind == "constraint":
        if site.repeat_id is not None and target[:2] == site.position[:2]:
            return True  # any question of the same repeat entry
        return target[0] < site.position[0] or (target[0] == site.position[0] and target[2] == -1)
    return target < site.position


def _order_message(site: _Site, name: str) -> str:
    if site.kind == "page_show_if":
        return f"a page's show_if may only use questions on earlier pages, and '{name}' is not on one"
    if site.kind == "constraint":
        return f"'{name}' is on a later page; a constraint may only use answers from its own page or earlier"
    return f"'{name}' comes later in the questionnaire (or is this question itself); {site.kind.replace('_', ' ')} may only use earlier answers"


def _cycle_problems(sites: list[_Site], questionnaire: Questionnaire) -> list[Problem]:
    """Circular references among show_if rules and calculations, each circle reported once,
    at every expression that forms a link of it."""
    links: dict[str, dict[str, str]] = {}  # owner -> referenced id -> path of the expression
    for site in sites:
        if site.kind in ("show_if", "calculation"):
            for name in site.expression.references:
                links.setdefault(site.owner, {}).setdefault(name.split(".")[0], site.path)
    problems = []
    for component in _strongly_connected(links):
        cycle = _cycle_within(component, links)
        chain = " -> ".join([*cycle, cycle[0]])
        for node, following in zip(cycle, [*cycle[1:], cycle[0]]):
            problems.append(Problem(links[node][following], f"circular reference: {chain}"))
    return problems


def _strongly_connected(links: dict[str, dict[str, str]]) -> list[set[str]]:
    """The groups of ids that reach each other (Tarjan's algorithm, iterative): each
    group of two or more, or one id that refers to itself, holds a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in links:
        if root in index:
            continue
        work = [(root, iter(sorted(links.get(root, {}))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, targets = work[-1]
            target = next(targets, None)
            if target is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1 or node in links.get(node, {}):
                        found.append(component)
            elif target not in index:
                index[target] = low[target] = len(index)
                stack.append(target)
                on_stack.add(target)
                work.append((target, iter(sorted(links.get(target, {})))))
            elif target in on_stack:
                low[node] = min(low[node], index[target])
    return found


def _cycle_within(component: set[str], links: dict[str, dict[str, str]]) -> list[str]:
    """One cycle through the group's first id, found by a depth-first walk inside the group."""
    start = min(component)
    if start in links.get(start, {}):
        return [start]
    trail, seen = [start], {start}
    while trail:
        node = trail[-1]
        if len(trail) > 1 and start in links.get(node, {}):
            return trail
        following = next((t for t in sorted(links.get(node, {})) if t in component and t not in seen), None)
        if following is None:
            trail.pop()  # a dead end inside the group: step back
        else:
            trail.append(following)
            seen.add(following)
    raise AssertionError("a strongly connected group always holds a cycle")


def _piping_problems(questionnaire: Questionnaire, positions: dict[str, Position]) -> Iterator[Problem]:
    """Piped names that are not questions on earlier pages: one problem per field and name."""
    for question in questionnaire.all_questions():
        for field in ("label", "hint"):
            text = getattr(question, field)
            names = {name for wording in ([text] if isinstance(text, str) else (text or {}).values())
                     for name in placeholders(wording)}
            for name in sorted(names):
                if name == "n" and question.repeat_id is not None:
                    continue
                target = positions.get(name)
                inside_repeat = target is not None and questionnaire.questions[name].repeat_id is not None
                if target is None or inside_repeat or target[0] >= positions[question.id][0]:
                    hint = _did_you_mean(name, tuple(questionnaire.questions)) if target is None else ""
                    yield Problem(f"{question.path}/{field}", f"{{{name}}} must name a question on an earlier page{hint}")


@lru_cache(maxsize=256)
def _did_you_mean(name: str, known: tuple[str, ...]) -> str:
    guess = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean '{guess[0]}'?)" if guess else ""
