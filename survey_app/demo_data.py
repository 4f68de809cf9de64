"""Realistic demo responses: ``survey-app demo-data SURVEY --responses N``.

:func:`generate_answers` fills one response the way a respondent would: it
walks the pages in order, shows a question only when its ``show_if`` holds for
the answers given so far (the same rules as
:func:`~survey_app.responses.logic.resolve`), and checks every answer it makes
with :func:`~survey_app.responses.validation.question_issue` (types, limits,
patterns, exclusive choices, "other, please specify" and constraints), so
generated data always passes the final submit's checks.

The proportions are meant to look like fieldwork, not like noise:

* each choice question gets its own skewed weights (a Dirichlet draw with a
  floor), and "don't know" / "prefer not to say" / "n/a" / "other" choices are
  rarer; multiple choice picks ~1-3 choices, an exclusive "none" sometimes;
* a *group* question (``gender``, else the first short required single choice
  of the first page) shifts the weights of the later questions a little, so
  breakdowns show differences;
* ratings lean to the middle-high end, yes/no questions lean one way, and a
  respondent's latent mood shifts all of them together (answers correlate);
* numbers follow a beta shape inside narrow ranges and a log-normal one
  otherwise; a number bounded by a constraint (``women_winners <= winners_total``)
  is drawn as a share of its bound, anything else is rejection-sampled, then a
  boundary value that satisfies the constraint is tried, then an optional
  question is left unanswered;
* optional questions are answered ~85% of the time (free-text comments less);
* dates cluster on a few days of a plausible range; texts with a ``pattern``
  are derived from it (digits, ``HH:MM`` times, URLs, or any simple regular
  expression), with a small table of per-question overrides for realism;
* questions of a plugin's type get the type's own ``example`` answers.

All proportions come from the *seed*: the same seed gives the same population
and, with the same random generator state, the same answers.

The command writes batches (1,000 responses by default) with bulk inserts, one
transaction each, then calls the plugins' ``response_completed`` hook for the
batch's complete responses (``--no-plugins`` skips it: it usually costs more
than everything else). The n-th response of a run draws from its own generator
seeded with (seed, n), so a seed reproduces the same answers whatever the batch
size, and whether the responses are generated here or in ``--workers``
processes. Timestamps are relative to the time of the run, and submission ids
are fresh uuid4s, so a run can be repeated on the same survey.
"""
from __future__ import annotations

import bisect
import math
import random
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy import insert, select

from survey_app import db, plugins
from survey_app.models import Answer, Response, ResponseStatus, Survey
from survey_app.models.types import utcnow
from survey_app.questionnaire.expressions import Call, Expression, Lit, Node, Op, Ref, evaluate, truthy
from survey_app.questionnaire.model import OTHER_VALUE, Question, Questionnaire
from survey_app.questionnaire.patterns import matches
from survey_app.questionnaire.values import DEFAULT_MAX_LENGTH, check_answer, parse_date
from survey_app.responses.logic import other_key, resolve
from survey_app.responses.storage import answer_rows, content_hash
from survey_app.responses.validation import question_issue
from survey_app.surveys import questionnaire_of

#: Draws of one answer before falling back to boundary values.
MAX_TRIES = 25
#: Fresh starts of a whole response whose required question found no acceptable answer.
MAX_RESPONSE_TRIES = 20
#: Marks generated responses in ``responses.user_agent``, so that they can be told apart and deleted.
DEMO_USER_AGENT = "survey-app demo-data"

_RARE = re.compile(r"(^|_)(prefer_not|dont_know|don_t_know|not_known|unknown|hard_to_say|cannot_assess|cant_assess|"
                   r"refuse|refused|no_answer|not_applicable|na|n_a|other|unsure|not_sure)(_|$)")


class DemoDataError(Exception):
    """The generator cannot fill this questionnaire (e.g. a pattern it cannot produce)."""


class _Retry(Exception):
    """A required question found no acceptable answer: start the response again."""

    def __init__(self, question_id: str):
        super().__init__(question_id)
        self.question_id = question_id


# --- Sampling helpers -------------------------------------------------------


def _cumulative(weights: Sequence[float]) -> list[float]:
    total, out = 0.0, []
    for weight in weights:
        total += weight
        out.append(total)
    return out


def _pick(rng: random.Random, values: Sequence[Any], cumulative: Sequence[float]) -> Any:
    return values[min(bisect.bisect_right(cumulative, rng.random() * cumulative[-1]), len(values) - 1)]


def _normalised(weights: Sequence[float]) -> list[float]:
    total = sum(weights) or 1.0
    return [weight / total for weight in weights]


def _is_rare(value: str) -> bool:
    """Whether a choice is a "don't know", "prefer not to say", "n/a" or "other" kind of answer."""
    return bool(_RARE.search(value.lower()))


def _skewed(prng: random.Random, values: Sequence[str], alpha: float = 0.8, floor: float = 0.15) -> list[float]:
    """Skewed weights: a Dirichlet(alpha) draw mixed with a floor; rare-kind choices scaled down."""
    raw = [prng.gammavariate(alpha, 1.0) for _ in values]
    total, n = sum(raw) or 1.0, len(values)
    weights = [(1 - floor) * r / total + floor / n for r in raw]
    return _normalised([w * (prng.uniform(0.05, 0.25) if _is_rare(v) else 1.0) for w, v in zip(weights, values)])


def _perturbed(prng: random.Random, weights: Sequence[float], sigma: float) -> list[float]:
    return _normalised([w * math.exp(prng.gauss(0.0, sigma)) for w in weights])


def _clamp(value: float, low: float, high: float) -> float:
    return low if value < low else high if value > high else value


def _geometric(rng: random.Random, mean: float) -> int:
    """A count >= 0 with the given mean, most often 0 or 1."""
    if mean <= 0:
        return 0
    p = 1.0 / (1.0 + mean)
    return int(math.log(1.0 - rng.random()) / math.log(1.0 - p)) if p < 1 else 0


# --- Texts ------------------------------------------------------------------

_COMMENTS = {
    "en": ["No further comments.", "The information is hard to find on the website.",
           "Everything was organised well.", "Residents should be informed about decisions in advance.",
           "The procedure is formal and there is hardly any feedback.",
           "Online tools help, but not everyone can use them.",
           "Decisions should be explained in plain language.",
           "The staff were polite but did not answer the question.", "The deadline was not respected.",
           "Thank you for the survey."],
    "ru": ["Других комментариев нет.", "Информацию трудно найти на сайте.", "Всё было организовано хорошо.",
           "Жителей нужно заранее информировать о решениях.", "Процедура формальная, обратной связи почти нет.",
           "Онлайн-инструменты помогают, но доступны не всем.", "Решения нужно объяснять простым языком.",
           "Сотрудники были вежливы, но на вопрос не ответили.", "Срок ответа не был соблюдён.",
           "Спасибо за опрос."],
    "kk": ["Басқа пікір жоқ.", "Сайттан ақпаратты табу қиын.", "Барлығы жақсы ұйымдастырылған.",
           "Тұрғындарға шешімдер туралы алдын ала хабарлау керек.", "Рәсім формалды, кері байланыс жоқ.",
           "Онлайн құралдар көмектеседі, бірақ бәріне қолжетімді емес.",
           "Шешімдерді қарапайым тілмен түсіндіру керек.", "Қызметкерлер сыпайы болды, бірақ сұраққа жауап бермеді.",
           "Жауап беру мерзімі сақталмады.", "Сауалнама үшін рахмет."],
}
_SHORT_TEXTS = {
    "en": ["Local radio", "Through work", "Neighbours' chat", "Community meeting", "Relatives", "Not sure"],
    "ru": ["Местное радио", "Через работу", "Чат соседей", "Собрание жителей", "Родственники", "Затрудняюсь"],
    "kk": ["Жергілікті радио", "Жұмыс арқылы", "Көршілер чаты", "Тұрғындар жиналысы", "Туыстар", "Білмеймін"],
}
_FIRST_NAMES = ["aigerim", "nurlan", "dana", "yerlan", "saule", "timur", "asel", "daniyar", "madina", "arman", "olga"]
_LAST_NAMES = ["akhmetova", "bekov", "sadykova", "ospanov", "zhumabaeva", "ivanov", "kim", "nurpeisova", "li"]
_DOMAINS = ["example.org", "example.kz", "mail.example.com"]
_URL_NAMES = ["almaty", "astana", "shymkent", "karaganda", "aktobe", "pavlodar", "minjust", "minfin", "election",
              "akimat-almaty", "maslikhat-astana", "turkistan"]

#: Realistic values for questions of the example questionnaires (checked against each question before use).
TEXT_OVERRIDES: Mapping[str, Sequence[str]] = {
    "monitor_code": ["ALA-07", "ALA-12", "AST-03", "AST-15", "SHY-04", "KRG-21", "PVL-09", "AKT-11", "ATR-06",
                     "TRZ-14", "KST-02", "TUR-05", "ZHT-08", "ABA-01"],
    "body_name": ["Акимат города Алматы", "Министерство юстиции РК", "Маслихат Карагандинской области",
                  "Управление образования города Астаны", "ЦИК Республики Казахстан", "Акимат Бостандыкского района",
                  "Министерство финансов РК", "Акимат Павлодарской области", "Маслихат города Шымкента",
                  "Управление здравоохранения Актюбинской области"],
    "district_name": ["Бостандыкский район", "Аксуский район", "Карасайский район", "город Талдыкорган",
                      "Шетский район", "Енбекшиказахский район", "город Экибастуз", "Сарыагашский район",
                      "Жамбылский район", "Бурабайский район", "Зерендинский район", "Уланский район"],
}


def _comment(rng: random.Random, language: str, sentences: int) -> str:
    bank = _COMMENTS.get(language.split("-")[0], _COMMENTS["en"])
    return " ".join(rng.sample(bank, min(sentences, len(bank))))


def _short_text(rng: random.Random, language: str) -> str:
    return rng.choice(_SHORT_TEXTS.get(language.split("-")[0], _SHORT_TEXTS["en"]))


def _fit_length(text: str, question: Question) -> str:
    high = question.options.get("max_length", DEFAULT_MAX_LENGTH.get(question.type))
    low = question.options.get("min_length") or 0
    while len(text) < low:
        text = f"{text} {text}".strip() or "answer"
    if high is not None and len(text) > high:
        text = text[:high].rstrip() or text[:high]
    return text


# --- Strings from patterns ---------------------------------------------------

try:  # Python's own regular-expression parser, to walk a simple pattern's structure
    from re import _constants as _sre, _parser as _sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - other Python versions
    _sre = _sre_parse = None

_POOL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_./"


class _Unsupported(Exception):
    pass


def _class_member(items, char: str) -> bool:
    code, hit, negate = ord(char), False, False
    for op, arg in items:
        if op is _sre.NEGATE:
            negate = True
        elif op is _sre.LITERAL:
            hit |= code == arg
        elif op is _sre.RANGE:
            hit |= arg[0] <= code <= arg[1]
        elif op is _sre.CATEGORY:
            hit |= _category(arg, char)
        else:
            raise _Unsupported(op)
    return hit != negate


def _category(category, char: str) -> bool:
    tests = {
        _sre.CATEGORY_DIGIT: char.isdigit(), _sre.CATEGORY_NOT_DIGIT: not char.isdigit(),
        _sre.CATEGORY_SPACE: char.isspace(), _sre.CATEGORY_NOT_SPACE: not char.isspace(),
        _sre.CATEGORY_WORD: char.isalnum() or char == "_", _sre.CATEGORY_NOT_WORD: not (char.isalnum() or char == "_"),
    }
    if category not in tests:
        raise _Unsupported(category)
    return tests[category]


def _from_regex(tree, rng: random.Random, out: list[str]) -> None:
    """Append a random string matching the parsed pattern ``tree`` (simple constructs only)."""
    for op, arg in tree:
        if op is _sre.LITERAL:
            out.append(chr(arg))
        elif op is _sre.NOT_LITERAL:
            out.append(rng.choice([c for c in _POOL if ord(c) != arg]))
        elif op is _sre.ANY:
            out.append(rng.choice(_POOL))
        elif op is _sre.IN:
            candidates = [c for c in _POOL if _class_member(arg, c)]
            if not candidates:
                raise _Unsupported("empty class")
            out.append(rng.choice(candidates))
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT) or getattr(_sre, "POSSESSIVE_REPEAT", None) is op:
            low, high, sub = arg
            high = low + 8 if high is _sre.MAXREPEAT else high
            for _ in range(rng.randint(low, max(low, high))):
                _from_regex(sub, rng, out)
        elif op is _sre.SUBPATTERN:
            _from_regex(arg[-1], rng, out)
        elif op is _sre.BRANCH:
            _from_regex(rng.choice(arg[1]), rng, out)
        elif op is _sre.AT:
            continue
        else:
            raise _Unsupported(op)


def _regex_maker(pattern: str) -> Callable[[random.Random, str], str] | None:
    if _sre_parse is None:
        return None
    try:
        tree = _sre_parse.parse(pattern)
    except Exception:  # RE2 syntax Python does not read: no generic maker
        return None

    def make(rng: random.Random, _language: str) -> str:
        out: list[str] = []
        _from_regex(tree, rng, out)
        return "".join(out)

    return make


def _time_maker(rng: random.Random, _language: str) -> str:
    """A daytime ``HH:MM``, minutes often rounded to 5 as people write them."""
    hour = int(_clamp(rng.gauss(12.5, 3.2), 7, 21.99))
    minute = rng.randrange(0, 60, 5) if rng.random() < 0.6 else rng.randrange(60)
    return f"{hour:02d}:{minute:02d}"


def _url_maker(rng: random.Random, _language: str) -> str:
    name = rng.choice(_URL_NAMES)
    return rng.choice([
        f"https://www.gov.kz/memleket/entities/{name}",
        f"https://{name}.gov.kz/ru/news/{rng.randint(100, 99999)}",
        f"https://www.{name}.kz/",
        f"http://{name}.kz/page/{rng.randint(1, 500)}",
    ])


def _digits_maker(pattern: str) -> Callable[[random.Random, str], str] | None:
    lengths = [n for n in range(1, 10) if matches(pattern, str(10 ** (n - 1)))]
    if not lengths:
        return None
    low, high = 10 ** (min(lengths) - 1), 10 ** max(lengths) - 1
    return lambda rng, _language: str(rng.randint(max(low, 1), high))


def _reliable(make: Callable[[random.Random, str], str], question: Question, prng: random.Random) -> bool:
    """Whether ``make`` gives acceptable answers to ``question`` (tried on a few samples)."""
    try:
        return all(check_answer(question, make(prng, "en")) is None for _ in range(12))
    except (_Unsupported, ValueError, RecursionError):
        return False


def _pattern_maker(question: Question, prng: random.Random) -> Callable[[random.Random, str], str] | None:
    pattern = question.options["pattern"]
    candidates: list[Callable[[random.Random, str], str] | None] = [_time_maker, _digits_maker(pattern), _url_maker,
                                                                      _regex_maker(pattern)]
    for make in candidates:
        if make is not None and _reliable(make, question, prng):
            return make
    return None


# --- Expressions: bounds a constraint puts on its own question ---------------

_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "="}


def _refers(node: Node, name: str) -> bool:
    match node:
        case Ref(ref):
            return ref == name
        case Lit():
            return False
        case Call(_, args) | Op(_, args):
            return any(_refers(arg, name) for arg in args)
        case _:
            return any(_refers(item, name) for item in getattr(node, "items", ()))


def _conjuncts(node: Node) -> Iterator[Node]:
    if isinstance(node, Op) and node.op == "and":
        for arg in node.args:
            yield from _conjuncts(arg)
    else:
        yield node


def _bound_terms(question: Question) -> list[tuple[str, Expression]]:
    """``(operator, other side)`` of every ``question <op> expression`` in its constraints."""
    terms = []
    for constraint in question.constraints:
        for node in _conjuncts(constraint.expression.tree):
            if not (isinstance(node, Op) and node.op in _FLIP and len(node.args) == 2):
                continue
            left, right = node.args
            if isinstance(left, Ref) and left.name == question.id and not _refers(right, question.id):
                terms.append((node.op, Expression("", right, frozenset())))
            elif isinstance(right, Ref) and right.name == question.id and not _refers(left, question.id):
                terms.append((_FLIP[node.op], Expression("", left, frozenset())))
    return terms


# --- Per-question plans --------------------------------------------------------


@dataclass
class _Context:
    """One response being generated."""

    rng: random.Random
    language: str
    group: str | None  # the answer to the group question, once given
    mood: float  # latent: shifts ratings and yes/no answers together
    size: float  # latent: scales the numbers of one response together


class _Plan:
    """How one question is answered in this population (built once per generator)."""

    def __init__(self, generator: DemoGenerator, question: Question):
        self.question = question
        self.prng = random.Random(f"{generator.seed}/{question.id}")
        self.seed = generator.seed
        optional_rate = 0.45 if question.type == "long_text" else 0.85
        self.answer_rate = _clamp(self.prng.gauss(optional_rate, 0.05), 0.2, 0.98)
        self.keep_default = self.prng.uniform(0.3, 0.6)
        self._by_group: dict[str | None, Any] = {}
        self.bounds = _bound_terms(question)

    def for_group(self, group: str | None, build: Callable[[random.Random], Any]) -> Any:
        """A variant of the plan's parameters for a group (built once, from its own seed)."""
        if group not in self._by_group:
            self._by_group[group] = build(random.Random(f"{self.seed}/{self.question.id}/group/{group}"))
        return self._by_group[group]


class DemoGenerator:
    """Generates responses to one questionnaire for one seeded population."""

    def __init__(self, questionnaire: Questionnaire, seed: int = 0, today: date | None = None):
        self.questionnaire = questionnaire
        self.seed = seed
        self.today = today or date.today()
        self.group_question = _group_question(questionnaire)
        self._plans: dict[str, _Plan] = {}
        prng = random.Random(f"{seed}/languages")
        languages = list(questionnaire.languages)
        others = [lang for lang in languages if lang != questionnaire.default_language]
        weights = [0.55] + [0.45 * w for w in _skewed(prng, others, alpha=1.5, floor=0.3)] if others else [1.0]
        self._languages = [questionnaire.default_language] + others
        self._language_cumulative = _cumulative(weights)
        for question in questionnaire.all_questions():  # fail early on what cannot be generated
            self._plan(question)

    # -- public

    def language(self, rng: random.Random) -> str:
        """A response language: the default one most often."""
        return _pick(rng, self._languages, self._language_cumulative)

    def answers(self, rng: random.Random, language: str | None = None) -> dict[str, Any]:
        """A complete response's answers, as :func:`resolve` keeps them (calculated values included)."""
        return self.response(rng, language=language).answers

    def response(self, rng: random.Random, *, language: str | None = None, partial: bool = False) -> GeneratedResponse:
        """One response; ``partial`` stops it after a random page (at least one page answered)."""
        language = language or self.language(rng)
        answers, pages = self._fill_with_retries(rng, language)
        if not partial:
            return GeneratedResponse(resolve(self.questionnaire, answers).answers, pages, None, language, True)
        stop = rng.randint(1, len(pages) - 1) if len(pages) > 1 else 1
        kept_pages = set(pages[:stop])
        questions = self.questionnaire.questions
        kept = {key: value for key, value in answers.items() if questions[key.split(":")[0]].page_id in kept_pages}
        current = pages[stop] if stop < len(pages) else pages[-1]
        return GeneratedResponse(resolve(self.questionnaire, kept).answers, pages[:stop], current, language, False)

    # -- walking the questionnaire

    def _fill_with_retries(self, rng: random.Random, language: str) -> tuple[dict[str, Any], list[str]]:
        for _ in range(MAX_RESPONSE_TRIES):
            try:
                return self._fill(rng, language)
            except _Retry as retry:
                failed = retry.question_id
        raise DemoDataError(f"question '{failed}' found no acceptable answer in {MAX_RESPONSE_TRIES} attempts; "
                            "its constraints may be impossible to satisfy together")

    def _fill(self, rng: random.Random, language: str) -> tuple[dict[str, Any], list[str]]:
        context = _Context(rng, language, None, rng.gauss(0.0, 1.0), rng.gauss(0.0, 1.0))
        answers: dict[str, Any] = {}
        values: dict[str, Any] = {}
        pages: list[str] = []
        for page in self.questionnaire.pages:
            if page.show_if is not None and not truthy(evaluate(page.show_if, values)):
                continue
            pages.append(page.id)
            for question in page.questions:
                if question.show_if is not None and not truthy(evaluate(question.show_if, values)):
                    continue
                self._answer(question, answers, values, context)
        return answers, pages

    def _answer(self, question: Question, answers: dict[str, Any], values: dict[str, Any], context: _Context) -> None:
        """Answer a shown question into ``answers`` and keep ``values`` as :func:`resolve` would."""
        if question.type == "note":
            return
        if question.type == "calculated":
            _remember(question, evaluate(question.expression, values), values)
            return
        if question.type == "repeat":
            value = self._repeat(question, values, context)
        else:
            value, other = self._choose(question, values, context)
            if other:
                answers[other_key(question.id)] = other
        if value is not None:
            answers[question.id] = value
        _remember(question, value, values)
        if question.id == self.group_question and isinstance(value, str):
            context.group = value

    def _repeat(self, question: Question, values: dict[str, Any], context: _Context) -> list[dict[str, Any]] | None:
        plan = self._plan(question)
        low, high = question.options.get("min_count", 0), question.options.get("max_count", 20)
        count = min(high, low + _geometric(context.rng, plan.mean_extra))
        entries = []
        for _ in range(count):
            entry: dict[str, Any] = {}
            scope = dict(values)
            for child in question.questions:
                if child.show_if is not None and not truthy(evaluate(child.show_if, scope)):
                    continue
                self._answer(child, entry, scope, context)
            entries.append(entry)
        return entries or None

    def _choose(self, question: Question, values: dict[str, Any], context: _Context) -> tuple[Any, str | None]:
        """A value for ``question`` that passes :func:`question_issue` (and its "other" text), or (None, None)."""
        plan = self._plan(question)
        rng = context.rng
        if not question.required and rng.random() >= plan.answer_rate:
            return None, None
        if question.default is not None and rng.random() < plan.keep_default:
            if self._acceptable(question, question.default, None, values):
                return question.default, None
        for _ in range(MAX_TRIES):
            value = plan.draw(context, values)
            if value is None:
                break
            other = self._other_text(question, value, context)
            if self._acceptable(question, value, other, values):
                return value, other
        for value in plan.fallbacks(values):
            other = self._other_text(question, value, context)
            if self._acceptable(question, value, other, values):
                return value, other
        if question.required:
            raise _Retry(question.id)
        return None, None

    def _other_text(self, question: Question, value: Any, context: _Context) -> str | None:
        if question.other is None or not (value == OTHER_VALUE or (isinstance(value, list) and OTHER_VALUE in value)):
            return None
        return _short_text(context.rng, context.language)

    def _acceptable(self, question: Question, value: Any, other: str | None, values: dict[str, Any]) -> bool:
        answer = {question.id: value}
        if other:
            answer[other_key(question.id)] = other
        if not question.constraints:
            return question_issue(question, answer, values) is None
        saved = dict(values)
        _remember(question, value, values)
        try:
            return question_issue(question, answer, values) is None
        finally:
            values.clear()
            values.update(saved)

    # -- plans

    def _plan(self, question: Question) -> Any:
        plan = self._plans.get(question.id)
        if plan is None:
            builder = _PluginPlan if question.plugin_type is not None else _PLANS.get(question.type, _Plan)
            plan = self._plans[question.id] = builder(self, question)
            if question.takes_answer and question.type != "repeat" and not hasattr(plan, "draw"):
                raise DemoDataError(f"question '{question.id}': the demo-data generator cannot answer "
                                    f"type '{question.type}'")
        return plan


def _remember(question: Question, value: Any, values: dict[str, Any]) -> None:
    """Record a value the way :func:`resolve` does: empty answers are null; matrix rows as ``matrix.row``."""
    if value is None or value == [] or value == {}:
        values.pop(question.id, None)
        return
    values[question.id] = value
    if question.type == "matrix":
        values.update({f"{question.id}.{row}": cell for row, cell in value.items()})


def _group_question(questionnaire: Questionnaire) -> str | None:
    """The question whose answer shifts the others: gender, else a short required single choice of page 1."""
    top = [question for page in questionnaire.pages for question in page.questions]
    for question in top:
        if question.id in ("gender", "sex") and question.type == "single_choice":
            return question.id
    for question in questionnaire.pages[0].questions:
        if question.required and question.type in ("single_choice", "yes_no") and question.show_if is None:
            count = 2 if question.type == "yes_no" else len(question.choices)
            if 2 <= count <= 7:
                return question.id
    return None


@dataclass(frozen=True)
class GeneratedResponse:
    """A generated response: its answers, the pages it went through, where a partial one stopped."""

    answers: dict[str, Any]
    pages: list[str]
    current_page: str | None
    language: str
    complete: bool


class _SinglePlan(_Plan):
    def __init__(self, generator: DemoGenerator, question: Question):
        super().__init__(generator, question)
        self.values = list(question.choice_values())
        self.weights = _skewed(self.prng, self.values)
        self.grouped = question.id != generator.group_question

    def _cumulative(self, group: str | None) -> list[float]:
        if not self.grouped or group is None:
            return self.for_group(None, lambda prng: _cumulative(self.weights))
        return self.for_group(group, lambda prng: _cumulative(_perturbed(prng, self.weights, 0.5)))

    def draw(self, context: _Context, values: Mapping[str, Any]) -> str:
        return _pick(context.rng, self.values, self._cumulative(context.group))

    def fallbacks(self, values: Mapping[str, Any]) -> list[str]:
        return self.values


class _YesNoPlan(_Plan):
    def __init__(self, generator: DemoGenerator, question: Question):
        super().__init__(generator, question)
        p_yes = _clamp(self.prng.betavariate(2.2, 1.2), 0.05, 0.97)
        self.logit = math.log(p_yes / (1 - p_yes))
        self.mood_effect = self.prng.choice((-1, 1)) * self.prng.uniform(0.2, 0.6)
        self.grouped = question.id != generator.group_question

    def draw(self, context: _Context, values: Mapping[str, Any]) -> str:
        shift = 0.0
        if self.grouped and context.group is not None:
            shift = self.for_group(context.group, lambda prng: prng.gauss(0, 0.45))
        logit = self.logit + shift + self.mood_effect * context.mood
        return "yes" if context.rng.random() < 1 / (1 + math.exp(-logit)) else "no"

    def fallbacks(self, values: Mapping[str, Any]) -> list[str]:
        return ["yes", "no"]


class _MultiplePlan(_Plan):
    def __init__(self, generator: DemoGenerator, question: Question):
        super().__init__(generator, question)
        self.exclusive = [choice.value for choice in question.choices if choice.exclusive]
        self.values = [value for value in question.choice_values() if value not in self.exclusive]
        self.weights = _skewed(self.prng, self.values, alpha=1.0, floor=0.2)
        n = len(self.values)
        self.expected = self.prng.uniform(1.3, max(1.3, min(3.2, n / 2)))
        self.p_exclusive = self.prng.uniform(0.04, 0.2) if self.exclusive else 0.0
        self.low, self.high = question.options.get("min_selected", 1), question.options.get("max_selected", n)

    def _probabilities(self, group: str | None) -> list[float]:
        def build(prng: random.Random) -> list[float]:
            weights = _perturbed(prng, self.weights, 0.4) if group is not None else self.weights
            return [min(0.92, w * self.expected) for w in weights]

        return self.for_group(group, build)

    def draw(self, context: _Context, values: Mapping[str, Any]) -> list[str]:
        rng = context.rng
        if self.exclusive and rng.random() < self.p_exclusive:
            return [rng.choice(self.exclusive)]
        probabilities = self._probabilities(context.group)
        chosen = [value for value, p in zip(self.values, probabilities) if rng.random() < p]
        if len(chosen) > self.high:
            chosen = _weighted_sample(rng, chosen, [probabilities[self.values.index(v)] for v in chosen], self.high)
        missing = max(1, self.low) - len(chosen)
        if missing > 0:
            rest = [value for value in self.values if value not in chosen]
            chosen += _weighted_sample(rng, rest, [probabilities[self.values.index(v)] for v in rest], missing)
        order = {value: index for index, value in enumerate(self.question.choice_values())}
        return sorted(chosen, key=order.__getitem__)

    def fallbacks(self, values: Mapping[str, Any]) -> list[list[str]]:
        return [[value] for value in self.exclusive] + [self.values[: max(1, self.low)]]


def _weighted_sample(rng: random.Random, values: Sequence[str], weights: Sequence[float], k: int) -> list[str]:
    """``k`` distinct values, each drawn in proportion to its weight (an exponential race)."""
    keyed = sorted(zip((rng.expovariate(1.0) / max(w, 1e-9) for w in weights), values))
    return [value for _, value in keyed[:k]]


class _RankingPlan(_Plan):
    def __init__(self, generator: DemoGenerator, question: Question):
        super().__init__(generator, question)
        self.values = [choice.value for choice in question.choices]
        self.weights = _skewed(self.prng, self.values, alpha=1.0, floor=0.05)

    def draw(self, context: _Context, values: Mapping[str, Any]) -> list[str]:
        weights = self.for_group(context.group, lambda prng: _perturbed(prng, self.weights, 0.4)) \
            if context.group is not None else self.weights
        return _weighted_sample(context.rng, self.values, weights, len(self.values))  # Plackett-Luce

    def fallbacks(self, values: Mapping[str, Any]) -> list[list[str]]:
        return [list(self.values)]


class _MatrixPlan(_Plan):
    def __init__(self, generator: DemoGenerator, question: Question):
        super().__init__(generator, question)
        self.columns = [choice.value for choice in question.choices]
        base = _skewed(self.prng, self.columns, alpha=1.2, floor=0.15)
        self.rows = [row.value for row in question.rows]
        self.row_weights = [_perturbed(self.prng, base, 0.7) for _ in self.rows]

    def _cumulative(self, group: str | None) -> list[list[float]]:
        if group is None:
            return self.for_group(None, lambda prng: [_cumulative(w) for w in self.row_weights])
        return self.for_group(group, lambda prng: [_cumulative(_perturbed(prng, w, 0.4)) for w in self.row_weights])

    def draw(self, context: _Context, values: Mapping[str, Any]) -> dict[str, str]:
        rng, tables = context.rng, self._cumulative(context.group)
        answer = {row: _pick(rng, self.columns, table) for row, table in zip(self.rows, tables)
                  if self.question.required or rng.random() < 0.95}
        if not answer:
            index = rng.randrange(len(self.rows))
            answer[self.rows[index]] = _pick(rng, self.columns, tables[index])
        return answer

    def fallbacks(self, values: Mapping[str, Any]) -> list[dict[str, str]]:
        return [{row: self.columns[0] for row in self.rows}]


class _RatingPlan(_Plan):
    def __init__(self, generator: DemoGenerator, question: Question):
        super().__init__(generator, question)
        self.low, self.high = question.options.get("min", 1), question.options.get("max", 5)
        self.mode = self.prng.uniform(0.55, 0.85)  # middle-high
        self.kappa = self.prng.uniform(5.0, 10.0)
        self.mood_effect = self.prng.uniform(0.04, 0.1)

    def draw(self, context: _Context, values: Mapping[str, Any]) -> int:
        mode = self.for_group(context.group, lambda prng: _clamp(self.mode + prng.gauss(0, 0.08), 0.1, 0.95)) \
            if context.group is not None else self.mode
        mode = _clamp(mode + self.mood_effect * context.mood, 0.05, 0.95)
        x = context.rng.betavariate(1 + mode * (self.kappa - 2), 1 + (1 - mode) * (self.kappa - 2))
        span = self.high - self.low
        return self.low + min(span, int(x * (span + 1)))

    def fallbacks(self, values: Mapping[str, Any]) -> list[int]:
        return list(range(self.low, self.high + 1))


class _NumberPlan(_Plan):
    def __init__(self, generator: DemoGenerator, question: Question):
        super().__init__(generator, question)
        options = question.options
        self.low, self.high = options.get("min"), options.get("max")
        self.integer = question.type == "integer"
        self.decimals = 0 if self.integer else options.get("decimals", self.prng.choice((1, 2)))
        self.step = 1 if self.integer else 10 ** -min(self.decimals, 6)
        prng = self.prng
        self.narrow = self.low is not None and self.high is not None and self.high - self.low <= 150
        # narrow ranges: a beta shape with its mode in the lower-middle part
        mode, kappa = prng.uniform(0.15, 0.6), prng.uniform(4.0, 10.0)
        self.a, self.b = 1 + mode * (kappa - 2), 1 + (1 - mode) * (kappa - 2)
        # wide ranges: a log-normal offset from the lower end
        self.base = self.low if self.low is not None else min(0, (self.high or 0) - 100)
        median = math.exp(prng.uniform(math.log(10), math.log(150)))
        if self.high is not None:
            median = min(median, max(1.0, (self.high - self.base) / 4))
        self.mu, self.sigma = math.log(median), prng.uniform(0.5, 0.9)
        self.size_weight = prng.uniform(0.6, 0.9)
        # a number bounded by a constraint: a share of the bound
        share, kappa = prng.uniform(0.25, 0.9), prng.uniform(5.0, 12.0)
        self.share_a, self.share_b = 1 + share * (kappa - 2), 1 + (1 - share) * (kappa - 2)

    def _limits(self, values: Mapping[str, Any]) -> tuple[float | None, float | None]:
        """The static limits narrowed by what the constraints allow given earlier answers."""
        low, high = self.low, self.high
        for op, other in self.bounds:
            bound = evaluate(other, values)
            if bound is None and op != "=":  # an ordering with null is false: no value can satisfy it
                return 1, 0
            if not isinstance(bound, (int, float)) or isinstance(bound, bool):
                continue
            if op in (">", ">="):
                bound = (_step_up if op == ">" else _ceil)(bound, self.step, self.integer)
                low = bound if low is None else max(low, bound)
            elif op in ("<", "<="):
                bound = (_step_down if op == "<" else _floor)(bound, self.step, self.integer)
                high = bound if high is None else min(high, bound)
            else:
                low = high = bound
        return low, high

    def draw(self, context: _Context, values: Mapping[str, Any]) -> int | float | None:
        rng = context.rng
        low, high = self._limits(values)
        if low is not None and high is not None and low > high:
            return None
        if self.bounds and high is not None and (self.high is None or high < self.high):
            start = low if low is not None else min(0, high)
            value = start + rng.betavariate(self.share_a, self.share_b) * (high - start)
        elif self.narrow:
            value = self.low + rng.betavariate(self.a, self.b) * (self.high - self.low)
        else:
            noise = self.size_weight * context.size + math.sqrt(1 - self.size_weight ** 2) * rng.gauss(0, 1)
            start = low if low is not None else self.base
            value = start + math.exp(self.mu + self.sigma * noise) - (1 if self.integer else 0)
        value = _clamp(value, low if low is not None else -1e15, high if high is not None else 1e15)
        return int(round(value)) if self.integer else round(value, self.decimals)

    def fallbacks(self, values: Mapping[str, Any]) -> list[int | float]:
        low, high = self._limits(values)
        found = []
        for value in (low, high, self.low, self.high, 0, 1):
            if value is not None and (int(value) if self.integer else value) not in found:
                found.append(int(value) if self.integer else value)
        return found


def _ceil(value: float, step: float, integer: bool) -> float:
    return math.ceil(value) if integer else math.ceil(value / step) * step


def _floor(value: float, step: float, integer: bool) -> float:
    return math.floor(value) if integer else math.floor(value / step) * step


def _step_up(value: float, step: float, integer: bool) -> float:
    return math.floor(value) + 1 if integer else (math.floor(value / step) + 1) * step


def _step_down(value: float, step: float, integer: bool) -> float:
    return math.ceil(value) - 1 if integer else (math.ceil(value / step) - 1) * step


class _DatePlan(_Plan):
    def __init__(self, generator: DemoGenerator, question: Question):
        super().__init__(generator, question)
        prng, today = self.prng, generator.today
        low, high = parse_date(question.options.get("min")), parse_date(question.options.get("max"))
        if high is not None and high <= today:
            end = high
        elif low is not None and low > today:
            end = high or low + timedelta(days=365)
        else:
            end = today
        start = end - timedelta(days=3 * 365)
        if low is not None and start < low:
            start = low
        self.start, self.end = start, end
        span = (end - start).days
        days = sorted({end - timedelta(days=int(span * prng.betavariate(1.2, 3))) for _ in range(prng.randint(2, 5))})
        self.cluster = days
        self.cluster_cumulative = _cumulative(_skewed(prng, [d.isoformat() for d in days], alpha=1.0))
        self.p_cluster = prng.uniform(0.35, 0.8)

    def _limits(self, values: Mapping[str, Any]) -> tuple[date, date]:
        start, end = self.start, self.end
        options = self.question.options
        static_low, static_high = parse_date(options.get("min")), parse_date(options.get("max"))
        for op, other in self.bounds:
            bound = parse_date(evaluate(other, values))
            if bound is None:
                continue
            if op in (">", ">=", "="):
                start = max(start, bound + timedelta(days=1 if op == ">" else 0))
                if end < start:  # a later bound than the usual range: widen it, within the static limits
                    end = min(start + timedelta(days=60), static_high) if static_high else start + timedelta(days=60)
            if op in ("<", "<=", "="):
                end = min(end, bound - timedelta(days=1 if op == "<" else 0))
                if end < start:
                    start = max(end - timedelta(days=365), static_low) if static_low else end - timedelta(days=365)
        return start, end

    def draw(self, context: _Context, values: Mapping[str, Any]) -> str | None:
        rng = context.rng
        start, end = self._limits(values) if self.bounds else (self.start, self.end)
        if start > end:
            return None
        if not self.bounds and rng.random() < self.p_cluster:
            return _pick(rng, self.cluster, self.cluster_cumulative).isoformat()
        return (end - timedelta(days=int((end - start).days * rng.betavariate(1.1, 2.5)))).isoformat()

    def fallbacks(self, values: Mapping[str, Any]) -> list[str]:
        start, end = self._limits(values)
        return [start.isoformat(), end.isoformat()]


class _TextPlan(_Plan):
    def __init__(self, generator: DemoGenerator, question: Question):
        super().__init__(generator, question)
        prng = self.prng
        self.overrides = [value for value in TEXT_OVERRIDES.get(question.id, ())
                          if check_answer(question, value) is None]
        self.override_cumulative = _cumulative([1 / (rank + 1) ** 0.8 for rank in range(len(self.overrides))])
        self.make: Callable[[random.Random, str], str] | None = None
        if not self.overrides and question.type == "text" and "pattern" in question.options:
            self.make = _pattern_maker(question, prng)
            if self.make is None and question.required:
                raise DemoDataError(
                    f"question '{question.id}': cannot generate answers matching the pattern "
                    f"{question.options['pattern']!r}; add example values for it to TEXT_OVERRIDES in {__name__}")
            if self.make is None:
                self.answer_rate = 0.0

    def draw(self, context: _Context, values: Mapping[str, Any]) -> str | None:
        rng, question = context.rng, self.question
        if self.overrides:
            return _pick(rng, self.overrides, self.override_cumulative)
        if self.make is not None:
            return self.make(rng, context.language)
        if question.type == "email":
            return (f"{rng.choice(_FIRST_NAMES)}.{rng.choice(_LAST_NAMES)}"
                    f"{rng.randint(1, 99) if rng.random() < 0.4 else ''}@{rng.choice(_DOMAINS)}")
        if "pattern" in question.options:
            return None
        if question.type == "long_text":
            return _fit_length(_comment(rng, context.language, 1 + _geometric(rng, 0.8)), question)
        return _fit_length(_short_text(rng, context.language), question)

    def fallbacks(self, values: Mapping[str, Any]) -> list[str]:
        return []


class _PluginPlan(_Plan):
    """A question of a plugin's type: the type's own ``example`` answers; without them,
    an optional question is left unanswered (and a required one cannot be generated)."""

    def __init__(self, generator: DemoGenerator, question: Question):
        super().__init__(generator, question)
        self.example = question.plugin_type.example
        if self.example is None and question.required:
            raise DemoDataError(f"question '{question.id}': the question type '{question.type}' gives no example "
                                "answers, so the demo-data generator cannot answer this required question")

    def draw(self, context: _Context, values: Mapping[str, Any]) -> Any:
        return self.example(self.question, context.rng) if self.example is not None else None

    def fallbacks(self, values: Mapping[str, Any]) -> list[Any]:
        return []


class _RepeatPlan(_Plan):
    def __init__(self, generator: DemoGenerator, question: Question):
        super().__init__(generator, question)
        self.mean_extra = self.prng.uniform(0.4, 2.0)


_PLANS: dict[str, type[_Plan]] = {
    "single_choice": _SinglePlan,
    "yes_no": _YesNoPlan,
    "multiple_choice": _MultiplePlan,
    "ranking": _RankingPlan,
    "matrix": _MatrixPlan,
    "rating": _RatingPlan,
    "integer": _NumberPlan,
    "decimal": _NumberPlan,
    "date": _DatePlan,
    "text": _TextPlan,
    "long_text": _TextPlan,
    "email": _TextPlan,
    "repeat": _RepeatPlan,
}

_GENERATORS: dict[tuple[int, int], tuple[Questionnaire, DemoGenerator]] = {}


def generate_answers(questionnaire: Questionnaire, rng: random.Random, *, seed: int = 0,
                     language: str | None = None) -> dict[str, Any]:
    """One complete response's answers: only shown questions, every answer valid, calculated values included.

    ``seed`` chooses the population (its proportions); ``rng`` draws the
    respondent, so the same seed and rng state give the same answers.
    """
    key = (id(questionnaire), seed)
    cached = _GENERATORS.get(key)
    if cached is None or cached[0] is not questionnaire:
        if len(_GENERATORS) >= 16:
            _GENERATORS.clear()
        cached = _GENERATORS[key] = (questionnaire, DemoGenerator(questionnaire, seed))
    return cached[1].answers(rng, language)


# --- The command ---------------------------------------------------------------


@dataclass(frozen=True)
class _Made:
    """A generated response ready to store (plain data, so that worker processes can send it)."""

    answers: dict[str, Any]
    complete: bool
    current_page: str | None
    language: str
    content_hash: str | None
    rows: list[dict[str, Any]]
    seconds: float  # time the respondent took


def response_rng(seed: int, index: int) -> random.Random:
    """The random generator of the ``index``-th response of a run: the same whatever the batches or workers."""
    return random.Random(f"{seed}/response/{index}")


def _make_batch(generator: DemoGenerator, seed: int, first: int, size: int, partial_share: float) -> list[_Made]:
    made = []
    questionnaire = generator.questionnaire
    for index in range(first, first + size):
        rng = response_rng(seed, index)
        item = generator.response(rng, partial=rng.random() < partial_share)
        made.append(_Made(item.answers, item.complete, item.current_page, item.language,
                          content_hash(item.answers) if item.complete else None,
                          list(answer_rows(questionnaire, item.answers)),
                          30 + len(item.answers) * 15 * math.exp(rng.gauss(0, 0.5))))
    return made


_WORKER: DemoGenerator | None = None


def _start_worker(definition: str, seed: int, today: str) -> None:
    global _WORKER
    from survey_app.questionnaire import load_questionnaire

    questionnaire = load_questionnaire(definition, max_bytes=len(definition.encode("utf-8")) + 1)
    _WORKER = DemoGenerator(questionnaire, seed, date.fromisoformat(today))


def _worker_batch(seed: int, first: int, size: int, partial_share: float) -> list[_Made]:
    assert _WORKER is not None
    return _make_batch(_WORKER, seed, first, size, partial_share)


def _batches(generator: DemoGenerator, definition: str, seed: int, count: int, batch_size: int,
             partial_share: float, workers: int) -> Iterator[list[_Made]]:
    """The generated batches in order, made here or (``workers`` > 0) in worker processes ahead of the writes."""
    spans = [(first, min(batch_size, count - first)) for first in range(0, count, batch_size)]
    if workers <= 0:
        for first, size in spans:
            yield _make_batch(generator, seed, first, size, partial_share)
        return
    import multiprocessing
    from collections import deque
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")  # no fork of a process holding database connections
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                             initargs=(definition, seed, generator.today.isoformat())) as pool:
        pending: deque = deque()
        for first, size in spans:
            pending.append(pool.submit(_worker_batch, seed, first, size, partial_share))
            if len(pending) > 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _timeline(rng: random.Random, count: int, now: datetime, days: int) -> list[datetime]:
    """Sorted start times over the last ``days``: an early wave, then a trickle; daytime in UTC+5."""
    window = days * 86400
    starts = []
    for _ in range(count):
        day = rng.expovariate(4.0 / days) if rng.random() < 0.65 else rng.uniform(0, days)
        day = int(day) if day < days else rng.randrange(days)
        local_hour = rng.gauss(11.0, 2.5) if rng.random() < 0.55 else rng.gauss(20.0, 1.8)
        offset = day * 86400 + ((local_hour - 5) % 24) * 3600
        if offset > window - 3600:
            offset = rng.uniform(0, window - 3600)
        starts.append(now - timedelta(seconds=window - offset))
    return sorted(starts)


def _default_workers(count: int) -> int:
    import os

    cpus = os.cpu_count() or 1  # leave cores to this process and the database server
    return max(0, min(3, cpus // 2 - 1)) if count >= 5000 else 0


@click.command("demo-data")
@click.argument("slug", metavar="SURVEY")
@click.option("--responses", "count", type=click.IntRange(min=1), default=100, show_default=True,
              help="How many responses to generate.")
@click.option("--seed", type=int, default=None, help="Makes the output reproducible (default: a random seed, printed).")
@click.option("--partial-share", type=click.FloatRange(0, 1), default=0.1, show_default=True,
              help="Share of responses left partial, stopped after a random page.")
@click.option("--days", type=click.IntRange(1, 365), default=28, show_default=True,
              help="Spread the responses over this many past days.")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=1000, show_default=True,
              help="Responses written and committed at a time.")
@click.option("--workers", type=click.IntRange(0, 32), default=None,
              help="Processes generating responses while this one writes (default: for 5,000 responses "
                   "or more, 1 per 2 cores beyond the first 2, at most 3; 0: generate here).")
@click.option("--plugins/--no-plugins", "run_plugins", default=True, show_default=True,
              help="Let plugins (e.g. scoring) process each complete response, as after a real submit. "
                   "This usually takes longer than the rest: for large runs use --no-plugins, then e.g. "
                   "`survey-app recompute-scores SURVEY`.")
@with_appcontext
def demo_data_command(slug: str, count: int, seed: int | None, partial_share: float, days: int, batch_size: int,
                      workers: int | None, run_plugins: bool) -> None:
    """Add realistic generated responses to the survey SURVEY (for demos, tests and load checks).

    Answers follow the questionnaire's logic and checks; proportions are skewed
    as in real fieldwork. Generated responses carry the user agent
    "survey-app demo-data", so that they can be found and deleted.
    """
    session = db.session()
    survey = session.execute(select(Survey).where(Survey.slug == slug)).scalar_one_or_none()
    if survey is None:
        raise click.UsageError(f"there is no survey with the address '{slug}'")
    version = survey.latest_version
    if version is None:
        raise click.UsageError(f"survey '{slug}' has no published questionnaire")
    questionnaire = questionnaire_of(version)
    survey_id, version_id, definition = survey.id, version.id, version.definition
    session.commit()
    if seed is None:
        seed = random.SystemRandom().randrange(10**9)
    workers = _default_workers(count) if workers is None else workers
    if any(question.plugin_type is not None for question in questionnaire.all_questions()):
        workers = 0  # worker processes load the questionnaire without the app, hence without plugin types
    now = utcnow()
    try:
        generator = DemoGenerator(questionnaire, seed, today=now.date())
    except DemoDataError as error:
        raise click.ClickException(str(error)) from None
    starts = _timeline(random.Random(f"{seed}/timeline"), count, now, days)
    hooked = run_plugins and bool(plugins.hook().response_completed.get_hookimpls())

    began = time.perf_counter()
    timings = {"write": 0.0, "plugins": 0.0}
    done = complete_count = 0
    label = f"Generating {count} responses for '{slug}'"
    try:
        with click.progressbar(length=count, label=label, file=sys.stderr) as bar:
            for batch in _batches(generator, definition, seed, count, batch_size, partial_share, workers):
                stamp = time.perf_counter()
                ids = _write(session, _response_rows(batch, starts[done:done + len(batch)], survey_id, version_id, now),
                             batch, survey_id)
                timings["write"] += time.perf_counter() - stamp
                complete = [response_id for response_id, made in zip(ids, batch) if made.complete]
                complete_count += len(complete)
                if hooked and complete:
                    stamp = time.perf_counter()
                    _run_plugins(session, complete, questionnaire)
                    timings["plugins"] += time.perf_counter() - stamp
                done += len(batch)
                bar.update(len(batch))
    except DemoDataError as error:
        raise click.ClickException(f"{error} ({done} responses were stored)") from None
    except BrokenProcessPool:
        raise click.ClickException(f"a worker process stopped ({done} responses were stored); "
                                   "try again with --workers 0") from None
    elapsed = time.perf_counter() - began
    parts = [f"writing {timings['write']:.1f} s"] + ([f"plugins {timings['plugins']:.1f} s"] if hooked else [])
    click.echo(f"Added {count} responses to '{slug}' ({complete_count} complete, {count - complete_count} partial) "
               f"with seed {seed} in {elapsed:.1f} s ({', '.join(parts)}).")


def _response_rows(batch: Sequence[_Made], starts: Sequence[datetime], survey_id: int, version_id: int,
                   now: datetime) -> list[dict[str, Any]]:
    rows = []
    for made, started in zip(batch, starts):
        finished = started + timedelta(seconds=made.seconds)
        if finished > now:
            started, finished = started - (finished - now), now
        rows.append({
            "survey_id": survey_id, "version_id": version_id, "submission_id": str(uuid.uuid4()),
            "status": ResponseStatus.COMPLETE if made.complete else ResponseStatus.PARTIAL,
            "language": made.language, "current_page": made.current_page, "data": {"answers": made.answers},
            "content_hash": made.content_hash, "user_agent": DEMO_USER_AGENT,
            "started_at": started, "updated_at": finished, "submitted_at": finished if made.complete else None,
        })
    return rows


def _write(session, responses: list[dict[str, Any]], batch: Sequence[_Made], survey_id: int) -> list[int]:
    """Insert one batch in one transaction with bulk inserts; returns the new response ids in order."""
    db.begin_write(session)
    statement = insert(Response).returning(Response.id, sort_by_parameter_order=True)
    ids = session.execute(statement, responses).scalars().all()
    rows = [{**row, "survey_id": survey_id, "response_id": response_id}
            for response_id, made in zip(ids, batch) for row in made.rows]
    if rows:  # a Core insert: the ORM's bulk path would split the rows by which columns are null
        session.execute(insert(Answer.__table__), rows)
    session.commit()
    return list(ids)


def _run_plugins(session, response_ids: list[int], questionnaire: Questionnaire) -> None:
    """Call ``response_completed`` for each new complete response, as the final submit does."""
    query = select(Response).where(Response.id.in_(response_ids)).order_by(Response.id)
    responses = session.execute(query).scalars().all()
    for response in responses:
        plugins.call_safely("response_completed", session, response, questionnaire=questionnaire)
    session.expunge_all()
