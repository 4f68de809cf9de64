"""Properties of the questionnaire validator, with Hypothesis.

Whatever it is given (arbitrary bytes, arbitrary JSON-like documents, valid
questionnaires with a few things broken), ``find_problems`` returns a list of
problems within a second and never raises; every problem's path is a JSON
pointer into the document; a valid questionnaire always gives [].
"""
from __future__ import annotations

import codecs
import copy
import json
import re
import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from survey_app.questionnaire import Problem, find_problems, load_questionnaire, schema

HOSTILE = Path(__file__).resolve().parent / "hostile"
SEEDS = {name: json.loads((HOSTILE / name).read_text(encoding="utf-8"))
         for name in ("valid-all-features.json", "valid-base.json")}
SEED = SEEDS["valid-all-features.json"]
SECOND = 1.0
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # `survey-app validate` prints problems as they are


def examples(count: int) -> settings:
    """``count`` examples (chosen to keep this file under a minute), each within a second.

    The second is enforced by :func:`checked` on each call of ``find_problems`` in CPU
    time, as ``tests/test_expressions.py`` does: Hypothesis's own deadline counts wall
    time, which other processes on a shared machine stretch.
    """
    return settings(max_examples=count, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _schema_keys() -> list[str]:
    keys: set[str] = set()
    stack: list[Any] = [schema()]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            keys.update(node.get("properties", {}))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return sorted(keys)


KNOWN_KEYS = _schema_keys()
QUESTION_TYPES = schema()["$defs"]["question_type"]["enum"]
#: Values that mean something somewhere in a questionnaire, so that random documents get past the first checks.
TELLING_STRINGS = [
    *QUESTION_TYPES, "age", "gender", "channels", "incidents", "kind", "other", "female", "agree_scale",
    "ru", "en", "kk", "xx", "English", "2020-01-01", "2020-02-30", "{gender}", "{n}", "{nobody}", "{{", "}}",
    "age > 3", "gender = 'female'", "count(channels) > 1", "age +", "9**9**9", "(" * 40 + "1", "eval(1)",
    "gender.__class__", "^(a+)+$", "(a)\\1", "(?=a)", "[", "", " ", "\x00", "\ud800", "\x1b[2J", "<script>",
]
_TEXT = st.text(max_size=12)
KEYS = st.one_of(st.sampled_from(KNOWN_KEYS), _TEXT)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**18), 10**18), st.floats(allow_nan=False, allow_infinity=False),
    _TEXT, st.sampled_from(TELLING_STRINGS),
)
JSON_VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4), max_leaves=25,
)


# ---------------------------------------------------------------- checking


def resolve(document: Any, path: str) -> Any:
    """The value at JSON pointer ``path`` (RFC 6901); KeyError, IndexError or ValueError if there is none."""
    node = document
    for token in path.split("/")[1:] if path else ():
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            if not token.isdigit():
                raise ValueError(f"{token!r} is not a list index")
            node = node[int(token)]
        elif isinstance(node, dict):
            node = node[token]
        else:
            raise KeyError(token)
    return node


def checked(source: bytes | str | dict, document: Any = None) -> list[Problem]:
    """``find_problems(source)``, which must return within a second a list of well-formed problems."""
    started = time.process_time()  # CPU time: other processes on the machine do not count
    problems = find_problems(source)
    elapsed = time.process_time() - started
    assert elapsed < SECOND, f"find_problems took {elapsed:.2f} s of CPU time"
    assert isinstance(problems, list)
    for problem in problems:
        assert isinstance(problem, Problem)
        assert isinstance(problem.message, str) and problem.message.strip(), problem
        assert isinstance(problem.path, str) and (problem.path == "" or problem.path.startswith("/")), problem
        if document is not None:
            try:
                resolve(document, problem.path)
            except (KeyError, IndexError, ValueError):
                raise AssertionError(f"{problem.path!r} points at nothing in the document ({problem})") from None
        assert not _CONTROL.search(str(problem)), f"control characters would reach the terminal: {problem!r}"
    return problems


def encoded(document: Any, ascii_only: bool) -> bytes:
    # surrogatepass: a lone surrogate becomes bytes that are not valid UTF-8, another thing to refuse
    return json.dumps(document, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


def check_both_ways(document: Any, ascii_only: bool) -> None:
    """The document as a parsed mapping and as the bytes of a file."""
    if isinstance(document, dict):
        checked(document, document)
    checked(encoded(document, ascii_only), document)


find_problems(json.dumps(SEED).encode())  # builds the schema validator, so that no example pays for it


# ---------------------------------------------------------------- anything at all


def _mangled_bytes(data: st.DataObject) -> bytes:
    raw = bytearray(json.dumps(SEED, ensure_ascii=False).encode("utf-8"))
    for _ in range(data.draw(st.integers(1, 4))):
        if not raw:
            break
        where = data.draw(st.integers(0, len(raw) - 1))
        action = data.draw(st.sampled_from(["flip", "delete", "insert", "cut"]))
        if action == "flip":
            raw[where] = data.draw(st.integers(0, 255))
        elif action == "delete":
            del raw[where:where + data.draw(st.integers(1, 40))]
        elif action == "insert":
            raw[where:where] = data.draw(st.sampled_from([b"{", b"[", b"]", b",", b'"', b"\\", b"\xff", b"\xc3",
                                                          b"NaN", b"1e999", b"\x00", b"\xef\xbb\xbf", b"\\ud800"]))
        else:
            del raw[where:]
    return bytes(raw)


@examples(300)
@given(st.data())
def test_arbitrary_bytes_never_break_the_validator(data):
    raw = data.draw(st.one_of(
        st.binary(max_size=2_000),
        st.builds(lambda bom, body: bom + body, st.sampled_from([codecs.BOM_UTF8, codecs.BOM_UTF16_LE, b""]),
                  st.binary(max_size=200)),
        st.text(max_size=300).map(lambda text: text.encode("utf-8", "surrogatepass")),
    ))
    checked(raw)
    checked(_mangled_bytes(data))


@examples(200)
@given(st.one_of(JSON_VALUES, st.dictionaries(KEYS, JSON_VALUES, max_size=8)), st.booleans())
def test_arbitrary_json_documents_never_break_the_validator(document, ascii_only):
    check_both_ways(document, ascii_only)


@examples(150)
@given(st.fixed_dictionaries(
    {"id": st.sampled_from(["a-survey", "x", 5]), "version": st.sampled_from(["1", 1]),
     "languages": st.sampled_from([["en"], ["ru", "en"], [], "en", ["en", "en"]]),
     "title": st.one_of(_TEXT, JSON_VALUES),
     "pages": st.lists(st.fixed_dictionaries(
         {"id": st.sampled_from(["p", "q", "P", "age"]),
          "questions": st.lists(st.fixed_dictionaries(
              {"id": st.sampled_from(["age", "gender", "q", "p", "Bad"]), "type": st.sampled_from(QUESTION_TYPES)},
              optional={key: JSON_VALUES for key in KNOWN_KEYS if key not in ("id", "type")}), max_size=4)},
         optional={"show_if": JSON_VALUES, "title": JSON_VALUES}), max_size=3)},
    optional={"default_language": st.sampled_from(["en", "ru", "kk"]), "choice_lists": JSON_VALUES,
              "settings": JSON_VALUES, "plugins": JSON_VALUES}),
    st.booleans())
def test_nearly_shaped_documents_never_break_the_validator(document, ascii_only):
    check_both_ways(document, ascii_only)


# ---------------------------------------------------------------- a valid questionnaire, broken a little


def _places(node: Any, path: tuple = ()) -> list[tuple]:
    """The path of every value in ``node``, the root's included."""
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(_places(value, (*path, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_places(value, (*path, index)))
    return found


def _get(document: Any, path: tuple) -> Any:
    for part in path:
        document = document[part]
    return document


def _mutate(document: dict, data: st.DataObject) -> str:
    """Break ``document`` in one random way; return what was done."""
    places = _places(document)
    ids = [path for path in places if path and path[-1] == "id" and isinstance(_get(document, path), str)]
    action = data.draw(st.sampled_from(["delete", "replace", "retype", "swap_ids", "copy_id", "add_key",
                                        "duplicate_item", "telling_value"]))
    path = data.draw(st.sampled_from(places[1:]))
    parent, last = _get(document, path[:-1]), path[-1]
    value = parent[last]
    if action == "delete":
        del parent[last]
    elif action == "replace":
        parent[last] = data.draw(JSON_VALUES)
    elif action == "retype":
        retyped = {str: lambda v: len(v), int: str, float: str, bool: str, type(None): lambda v: 0,
                   list: lambda v: {str(i): item for i, item in enumerate(v)}, dict: lambda v: list(v.values())}
        parent[last] = retyped[type(value)](value)
    elif action in ("swap_ids", "copy_id"):
        first, second = data.draw(st.sampled_from(ids)), data.draw(st.sampled_from(ids))
        a, b = _get(document, first[:-1]), _get(document, second[:-1])
        if action == "swap_ids":
            a["id"], b["id"] = b["id"], a["id"]
        else:
            b["id"] = a["id"]
        path = second
    elif action == "add_key":
        target = data.draw(st.sampled_from([p for p in places if isinstance(_get(document, p), dict)]))
        _get(document, target)[data.draw(KEYS)] = data.draw(JSON_VALUES)
        path = target
    elif action == "duplicate_item":
        lists = [p for p in places if isinstance(_get(document, p), list) and _get(document, p)]
        path = data.draw(st.sampled_from(lists))
        items = _get(document, path)
        items.append(copy.deepcopy(items[data.draw(st.integers(0, len(items) - 1))]))
    else:
        parent[last] = data.draw(st.sampled_from(TELLING_STRINGS))
    return f"{action} at {path}"


@examples(200)
@given(st.data(), st.booleans())
def test_mutations_of_a_valid_questionnaire_never_break_the_validator(data, ascii_only):
    document = copy.deepcopy(SEED)
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        data.draw(st.just(_mutate(document, data)), label="mutation")
    check_both_ways(document, ascii_only)


# ---------------------------------------------------------------- valid questionnaires give []


@examples(40)
@given(st.sampled_from(sorted(SEEDS)), st.data())
def test_a_valid_questionnaire_however_written_gives_no_problem(name, data):
    document = SEEDS[name]
    if data.draw(st.booleans(), label="shuffle keys"):
        document = _shuffled(document, data.draw(st.randoms(use_true_random=False)))
    text = json.dumps(document, ensure_ascii=data.draw(st.booleans()), indent=data.draw(st.sampled_from([None, 0, 2, "\t"])),
                      separators=data.draw(st.sampled_from([None, (",", ":"), (" , ", " : ")])))
    text = data.draw(st.sampled_from(["", " ", "\n", "\r\n\t"])) + text + data.draw(st.sampled_from(["", "\n", "  \r\n"]))
    raw = data.draw(st.sampled_from([b"", codecs.BOM_UTF8])) + text.encode("utf-8")
    assert checked(raw, document) == []
    assert checked(text, document) == []
    assert checked(document, document) == []


def _shuffled(node: Any, random) -> Any:
    if isinstance(node, dict):
        items = list(node.items())
        random.shuffle(items)
        return {key: _shuffled(value, random) for key, value in items}
    if isinstance(node, list):
        return [_shuffled(item, random) for item in node]
    return node


LANGUAGES = ["kk", "ru", "en", "uz-Latn", "ky"]
_WORDS = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="{}"), min_size=1, max_size=15) \
    .filter(str.strip)
_IDS = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True).filter(lambda name: "__" not in name)
_VALUES = st.from_regex(r"[A-Za-z0-9_.-]{1,10}", fullmatch=True).filter(lambda value: value != "other")
_ROWS = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,9}", fullmatch=True)
_BOUND = 10**15
#: An earlier question's type -> a show_if that may use it (``{}`` is its id).
_CONDITIONS = {
    "integer": "{} > 3", "decimal": "{} <= 2.5", "rating": "{} >= 2", "calculated": "{} != null",
    "yes_no": "{} = 'yes'", "single_choice": "{} != 'x'", "text": "len({}) > 2", "email": "answered({})",
    "long_text": "{} = ''", "multiple_choice": "count({}) > 1", "ranking": "answered({})",
    "date": "{} >= '2020-01-01'",
}
_PATTERNS = ["^[0-9]{1,4}$", "[A-Z][a-z]+", "^(a+)+$", "(x+x+)+y", r"\d{3}-\d{4}", "(?i)yes|no", ".*"]


@st.composite
def valid_questionnaires(draw) -> dict:
    """Random questionnaires that follow every rule of docs/questionnaire-format.md."""
    languages = draw(st.lists(st.sampled_from(LANGUAGES), min_size=1, max_size=3, unique=True))

    def text() -> str | dict:
        if draw(st.booleans()):
            return draw(_WORDS)
        return {language: draw(_WORDS) for language in languages}

    def choices() -> list[dict]:
        values = draw(st.lists(_VALUES, min_size=1, max_size=5, unique=True))
        return [{"value": value, "label": text()} for value in values]

    page_count = draw(st.integers(1, 4))
    sizes = [draw(st.integers(1, 5)) for _ in range(page_count)]
    ids = iter(draw(st.lists(_IDS, min_size=page_count + sum(sizes) + 10, max_size=page_count + sum(sizes) + 10,
                             unique=True)))
    earlier: list[tuple[str, str, int]] = []  # (id, type, page) of the questions so far, outside repeats

    def question(page: int, inside_repeat: bool, siblings: list[tuple[str, str]]) -> dict:
        kinds = ["yes_no", "text", "long_text", "email", "integer", "decimal", "date", "rating", "single_choice",
                 "multiple_choice", "ranking", "matrix", "note", "calculated"] + ([] if inside_repeat else ["repeat"])
        kind = draw(st.sampled_from(kinds))
        item: dict[str, Any] = {"id": next(ids), "type": kind}
        if kind != "calculated" or draw(st.booleans()):
            item["label"] = text()
        earlier_pages = [(qid, qtype) for qid, qtype, where in earlier if where < page]
        if earlier_pages and "label" in item and isinstance(item["label"], str) and draw(st.booleans()):
            item["label"] += " {" + draw(st.sampled_from(earlier_pages))[0] + "}"
        usable = [(qid, qtype) for qid, qtype, _ in earlier if qtype in _CONDITIONS] + \
                 [(qid, qtype) for qid, qtype in siblings if qtype in _CONDITIONS]
        if usable and kind != "calculated" and draw(st.booleans()):
            qid, qtype = draw(st.sampled_from(usable))
            item["show_if"] = _CONDITIONS[qtype].format(qid)
        if kind in ("single_choice", "multiple_choice", "ranking", "matrix"):
            item["choices"] = choices()
        if kind in ("single_choice", "multiple_choice") and draw(st.booleans()):
            item["other"] = text()
        if kind == "multiple_choice":
            offered = len(item["choices"]) + ("other" in item)
            low = draw(st.integers(0, offered))
            item.update({"min_selected": low, "max_selected": draw(st.integers(max(low, 1), offered))})
        if kind == "matrix":
            rows = draw(st.lists(_ROWS, min_size=1, max_size=4, unique=True))
            item["rows"] = [{"value": value, "label": text()} for value in rows]
        if kind == "single_choice" and draw(st.booleans()):
            item["default"] = item["choices"][0]["value"]
        if kind == "yes_no" and draw(st.booleans()):
            item["default"] = draw(st.sampled_from(["yes", "no"]))
        if kind in ("text", "long_text"):
            low = draw(st.integers(0, 100))
            item.update({"min_length": low, "max_length": draw(st.integers(max(low, 1), 10_000))})
        if kind == "text" and draw(st.booleans()):
            item.update({"pattern": draw(st.sampled_from(_PATTERNS)), "pattern_message": text()})
        if kind == "email":
            item["max_length"] = draw(st.integers(3, 254))
        if kind in ("integer", "decimal"):
            low = draw(st.integers(-_BOUND, _BOUND))
            item.update({"min": low, "max": draw(st.integers(low, _BOUND)), "unit": text()})
            if draw(st.booleans()):
                item["default"] = low
            if draw(st.booleans()):
                item["constraints"] = [{"expression": f"{item['id']} >= {low}", "message": text()}]
        if kind == "decimal":
            item["decimals"] = draw(st.integers(0, 15))
        if kind == "date":
            low = draw(st.dates())
            item.update({"min": low.isoformat(), "max": draw(st.dates(min_value=low)).isoformat()})
        if kind == "rating":
            item.update({"min": draw(st.sampled_from([0, 1])), "max": draw(st.integers(2, 11)),
                         "min_label": text(), "max_label": text()})
        if kind == "calculated":
            numbers = [qid for qid, qtype, _ in earlier if qtype in ("integer", "decimal", "rating")]
            item["expression"] = f"coalesce({draw(st.sampled_from(numbers))}, 0) * 2 + 1" if numbers else "1 + 1"
        if kind == "repeat":
            low = draw(st.integers(0, 5))
            item.update({"min_count": low, "max_count": draw(st.integers(max(low, 1), 100)),
                         "entry_label": draw(_WORDS) + " {n}"})
            children: list[tuple[str, str]] = []
            item["questions"] = []
            for _ in range(draw(st.integers(1, 3))):
                child = question(page, True, children)
                item["questions"].append(child)
                children.append((child["id"], child["type"]))
        return item

    pages = []
    for page_index, size in enumerate(sizes):
        page: dict[str, Any] = {"id": next(ids), "title": text(), "questions": []}
        usable = [(qid, qtype) for qid, qtype, _ in earlier if qtype in _CONDITIONS]
        if usable and draw(st.booleans()):
            qid, qtype = draw(st.sampled_from(usable))
            page["show_if"] = _CONDITIONS[qtype].format(qid)
        for _ in range(size):
            item = question(page_index, False, [])
            page["questions"].append(item)
            earlier.append((item["id"], item["type"], page_index))
        pages.append(page)
    document = {"id": draw(st.from_regex(r"[a-z0-9][a-z0-9-]{1,20}", fullmatch=True)), "version": draw(_WORDS),
                "languages": languages, "title": text(), "pages": pages}
    if draw(st.booleans()):
        document["default_language"] = draw(st.sampled_from(languages))
    if draw(st.booleans()):
        document.update({"description": text(), "thank_you": text(),
                         "settings": {"allow_resume": draw(st.booleans()), "record_ip": draw(st.booleans())}})
    return document


@examples(150)
@given(valid_questionnaires(), st.booleans())
def test_a_generated_valid_questionnaire_gives_no_problem(document, ascii_only):
    raw = encoded(document, ascii_only)
    assert checked(document, document) == []
    assert checked(raw, document) == []
    assert load_questionnaire(raw).id == document["id"]
