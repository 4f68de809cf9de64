"""Checks of the questionnaire's logic: every expression's names, types and order,
circular references, and piped answers.

Answers flow forwards: a ``show_if`` or calculation may use questions before it
(on earlier pages or earlier on the same page), a constraint may use anything on
its own page or before, and a label may pipe answers from earlier pages only.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass

from survey_app.questionnaire.errors import Problem
from survey_app.questionnaire.expressions import Expression, ExpressionError, ValueType, check_types
from survey_app.questionnaire.model import Question, Questionnaire
from survey_app.questionnaire.texts import placeholders

#: The type an answer has inside expressions.
ANSWER_TYPES = {
    "single_choice": ValueType.STRING, "yes_no": ValueType.STRING, "text": ValueType.STRING,
    "long_text": ValueType.STRING, "email": ValueType.STRING, "multiple_choice": ValueType.LIST,
    "ranking": ValueType.LIST, "integer": ValueType.NUMBER, "decimal": ValueType.NUMBER,
    "rating": ValueType.NUMBER, "date": ValueType.DATE, "repeat": ValueType.ENTRIES,
    "calculated": ValueType.ANY,
}

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
    types = _answer_types(questionnaire)
    sites = list(_sites(questionnaire, positions))
    cyclic = _cycle_problems(sites, questionnaire)
    problems.extend(cyclic)
    in_cycle = {problem.path for problem in cyclic}
    for site in sites:
        if site.path in in_cycle:
            continue
        problem = _site_problem(site, questionnaire, types, positions)
        if problem is not None:
            problems.append(problem)
        elif site.kind == "calculation":
            owner = questionnaire.questions[site.owner]
            types[site.owner] = check_types(site.expression, _scope(types, questionnaire, owner.repeat_id))
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


def _answer_types(questionnaire: Questionnaire) -> dict[str, ValueType]:
    types: dict[str, ValueType] = {}
    for question in questionnaire.all_questions():
        if question.type == "matrix":
            types.update({f"{question.id}.{row.value}": ValueType.STRING for row in question.rows})
        elif question.type in ANSWER_TYPES:
            types[question.id] = ANSWER_TYPES[question.type]
    return types


def _scope(types: dict[str, ValueType], questionnaire: Questionnaire, repeat_id: str | None) -> dict[str, ValueType]:
    """The names an expression may use: top-level answers, plus its own repeat group's."""
    def visible(name: str) -> bool:
        question = questionnaire.questions[name.split(".")[0]]
        return question.repeat_id is None or question.repeat_id == repeat_id

    return {name: value_type for name, value_type in types.items() if visible(name)}


def _sites(questionnaire: Questionnaire, positions: dict[str, Position]) -> Iterator[_Site]:
    for page_index, page in enumerate(questionnaire.pages):
        if page.show_if is not None:
            yield _Site(page.show_if, page.path + "/show_if", "page_show_if", (page_index, -1, -1), None, page.id)
        for question in questionnaire.all_questions():
            if question.page_id != page.id:
                continue
            where = positions[question.id]
            if question.show_if is not None:
                yield _Site(question.show_if, question.path + "/show_if", "show_if", where, question.repeat_id, question.id)
            if question.expression is not None:
                yield _Site(question.expression, question.path + "/expression", "calculation", where, question.repeat_id, question.id)
            for index, constraint in enumerate(question.constraints):
                if constraint.expression is not None:
                    yield _Site(constraint.expression, f"{question.path}/constraints/{index}/expression",
                                "constraint", where, question.repeat_id, question.id)


def _site_problem(site: _Site, questionnaire: Questionnaire, types: dict[str, ValueType],
                  positions: dict[str, Position]) -> Problem | None:
    for name in sorted(site.expression.references):
        question = questionnaire.questions.get(name.split(".")[0])
        if question is not None and question.repeat_id not in (None, site.repeat_id):
            return Problem(site.path, f"'{name}' is inside the repeat group '{question.repeat_id}'; "
                                      f"outside it, use count({question.repeat_id})")
    try:
        check_types(site.expression, _scope(types, questionnaire, site.repeat_id))
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
    """Circular references among show_if rules and calculations, each reported once,
    at every expression that forms a link of the circle."""
    links: dict[str, dict[str, str]] = {}  # owner -> referenced id -> path of the expression
    for site in sites:
        if site.kind in ("show_if", "calculation"):
            for name in site.expression.references:
                links.setdefault(site.owner, {}).setdefault(name.split(".")[0], site.path)
    edges = {owner: set(targets) for owner, targets in links.items()}
    problems, reported = [], set()
    for start in edges:
        cycle = _find_cycle(start, edges)
        if cycle and frozenset(cycle) not in reported:
            reported.add(frozenset(cycle))
            chain = " -> ".join([*cycle, cycle[0]])
            for node, following in zip(cycle, [*cycle[1:], cycle[0]]):
                problems.append(Problem(links[node][following], f"circular reference: {chain}"))
    return problems


def _find_cycle(start: str, edges: dict[str, set[str]]) -> list[str] | None:
    """A cycle through ``start`` (as a list of ids), found by depth-first search."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, trail = stack.pop()
        for target in sorted(edges.get(node, ())):
            if target == start:
                return trail
            if target not in seen:
                seen.add(target)
                stack.append((target, [*trail, target]))
    return None


def _piping_problems(questionnaire: Questionnaire, positions: dict[str, Position]) -> Iterator[Problem]:
    known = list(questionnaire.questions)
    for question in questionnaire.all_questions():
        for field in ("label", "hint"):
            text = getattr(question, field)
            for wording in [text] if isinstance(text, str) else (text or {}).values():
                for name in placeholders(wording):
                    if name == "n" and question.repeat_id is not None:
                        continue
                    target = positions.get(name)
                    inside_repeat = target is not None and questionnaire.questions[name].repeat_id is not None
                    if target is None or inside_repeat or target[0] >= positions[question.id][0]:
                        guess = difflib.get_close_matches(name, known, n=1)
                        hint = f" (did you mean '{guess[0]}'?)" if guess and target is None else ""
                        yield Problem(f"{question.path}/{field}",
                                      f"{{{name}}} must name a question on an earlier page{hint}")
                        break
