"""The questionnaire JSON Schema (survey_app/questionnaire/schema.json).

The schema is the machine-readable half of docs/questionnaire-format.md: these
tests check that it is a valid draft 2020-12 schema, that the documented
examples and one document per question type pass, that typical mistakes fail
with an error pointing at the offending place, and that every questionnaire
shipped in questionnaires/ validates.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "survey_app" / "questionnaire" / "schema.json"
DOC_PATH = ROOT / "docs" / "questionnaire-format.md"
QUESTIONNAIRES = sorted((ROOT / "questionnaires").glob("*.json"))


def _strict_object(pairs):
    keys = [k for k, _ in pairs]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ValueError(f"duplicate keys: {duplicates}")
    return dict(pairs)


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def load_json(text: str):
    """Parse like the platform does: no duplicate keys, no NaN/Infinity."""
    return json.loads(text, object_pairs_hook=_strict_object, parse_constant=_reject_constant)


SCHEMA = load_json(SCHEMA_PATH.read_text(encoding="utf-8"))
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)


def errors_of(doc):
    return sorted(VALIDATOR.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))


def assert_valid(doc):
    errors = errors_of(doc)
    assert not errors, "\n".join(f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


def document(*questions, **top):
    """A minimal questionnaire holding `questions` on one page."""
    doc = {
        "id": "test-survey",
        "version": "1.0",
        "languages": ["en"],
        "title": "Test",
        "pages": [{"id": "page_one", "questions": list(questions)}],
    }
    doc.update(top)
    return doc


# --------------------------------------------------------------------------
# The schema itself


def test_schema_is_a_valid_draft_2020_12_schema():
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["$id"] == "https://survey-app.invalid/questionnaire.schema.json"


def _resolve(schema):
    ref = schema.get("$ref")
    if ref and ref.startswith("#/$defs/"):
        return SCHEMA["$defs"][ref.removeprefix("#/$defs/")]
    return {}


def _walk(schema, where):
    """Yield (location, schema) for every subschema."""
    if not isinstance(schema, dict):
        return
    yield where, schema
    for key, value in schema.items():
        if key in ("properties", "$defs"):
            for name, sub in value.items():
                yield from _walk(sub, f"{where}/{key}/{name}")
        elif key in ("allOf", "anyOf", "oneOf") and isinstance(value, list):
            for i, sub in enumerate(value):
                yield from _walk(sub, f"{where}/{key}/{i}")
        elif isinstance(value, dict) and key not in ("default", "const", "enum"):
            yield from _walk(value, f"{where}/{key}")


def test_every_property_has_a_title_and_description():
    """Editors show them on hover; a property may inherit them from its $ref."""
    missing = []
    for where, schema in _walk(SCHEMA, "#"):
        if "/if" in where:  # the discriminators are not shown to anyone
            continue
        for name, sub in schema.get("properties", {}).items():
            for word in ("title", "description"):
                if word not in sub and word not in _resolve(sub):
                    missing.append(f"{where}/properties/{name}: {word}")
    assert not missing, missing


# Definitions whose `properties` are closed by whoever uses them.
OPEN_BY_DESIGN = {
    "#/$defs/question_base",  # closed by each per-type definition (unevaluatedProperties)
    "#/$defs/question",  # only dispatches on `type`
    "#/$defs/repeat_child_question",  # only narrows `type`
}


def test_every_object_with_properties_is_closed():
    open_objects = [
        where
        for where, schema in _walk(SCHEMA, "#")
        if "properties" in schema
        and "/if" not in where
        and where not in OPEN_BY_DESIGN
        and schema.get("additionalProperties") is not False
        and schema.get("unevaluatedProperties") is not False
    ]
    assert not open_objects, open_objects


def test_every_question_type_has_its_own_definition():
    types = SCHEMA["$defs"]["question_type"]["enum"]
    dispatch = {
        branch["if"]["properties"]["type"]["const"]: branch["then"]["$ref"]
        for branch in SCHEMA["$defs"]["question"]["allOf"]
    }
    assert sorted(dispatch) == sorted(types)
    for type_, ref in dispatch.items():
        assert ref == f"#/$defs/{type_}_question"
        definition = SCHEMA["$defs"][f"{type_}_question"]
        assert definition["$ref"] == "#/$defs/question_base"
        assert definition["unevaluatedProperties"] is False
        assert ("label" in definition["required"]) == (type_ != "calculated")


# --------------------------------------------------------------------------
# Valid documents


def _doc_examples():
    """The JSON blocks of the format document that are whole questionnaires."""
    if not DOC_PATH.exists():
        return []
    blocks = re.findall(r"```json\n(.*?)```", DOC_PATH.read_text(encoding="utf-8"), re.S)
    return [doc for doc in map(load_json, blocks) if isinstance(doc, dict) and "pages" in doc]


def test_first_example_of_the_format_document_validates():
    examples = _doc_examples()
    if not examples:
        pytest.skip(f"no questionnaire example found in {DOC_PATH}")
    assert_valid(examples[0])
    assert examples[0]["$schema"].endswith("schema.json")


def test_minimal_document_validates():
    assert_valid(document({"id": "age", "type": "integer", "label": "Age"}))


def test_full_top_level_validates():
    assert_valid(
        document(
            {"id": "agree", "type": "single_choice", "label": "Agree?", "choices": "yes_partly_no"},
            **{
                "$schema": "../survey_app/questionnaire/schema.json",
                "languages": ["kk", "ru", "en", "uz-Latn"],
                "default_language": "ru",
                "title": {"kk": "Сауалнама", "ru": "Опрос", "en": "Survey", "uz-Latn": "So'rovnoma"},
                "description": "Welcome",
                "thank_you": {"kk": "Рахмет", "ru": "Спасибо", "en": "Thank you", "uz-Latn": "Rahmat"},
                "choice_lists": {
                    "yes_partly_no": [
                        {"value": "yes", "label": "Yes"},
                        {"value": "partly", "label": "Partly"},
                        {"value": "no", "label": "No", "exclusive": False},
                    ]
                },
                "settings": {"allow_resume": False, "show_review": True, "record_ip": False, "record_user_agent": True},
                "plugins": {
                    "scoring": {"anything": ["goes", 1, None], "nested": {"deep": True}},
                    "breakdowns": {},
                },
            },
        )
    )


def test_page_keys_validate():
    doc = document({"id": "age", "type": "integer", "label": "Age"})
    doc["pages"].append(
        {
            "id": "adults",
            "title": "Adults",
            "description": {"en": "Only for adults"},
            "show_if": "age >= 18",
            "questions": [{"id": "job", "type": "text", "label": "Your job"}],
        }
    )
    assert_valid(doc)


COMMON = {
    "hint": "Help",
    "required": True,
    "required_message": {"en": "Please answer"},
    "show_if": "answered(age)",
    "constraints": [{"expression": "true", "message": "Never shown"}, {"expression": "1 = 1"}],
}

ONE_PER_TYPE = {
    "single_choice": {
        "choices": [{"value": "female", "label": "Female"}, {"value": "male", "label": {"en": "Male"}}],
        "display": "dropdown",
        "other": "Something else",
        "default": "female",
    },
    "multiple_choice": {
        "choices": [
            {"value": "a", "label": "A"},
            {"value": "B.2", "label": "B"},
            {"value": "none", "label": "None of these", "exclusive": True},
        ],
        "min_selected": 1,
        "max_selected": 2,
        "other": {"en": "Other"},
        "default": ["a"],
    },
    "yes_no": {"default": "no"},
    "text": {"min_length": 2, "max_length": 40, "pattern": "[A-Z]{2}[0-9]+", "pattern_message": "e.g. AB12"},
    "long_text": {"min_length": 0, "max_length": 20000},
    "email": {"max_length": 100},
    "integer": {"min": 16, "max": 110, "unit": "years", "default": 30},
    "decimal": {"min": -1.5, "max": 99.9, "decimals": 1, "unit": {"en": "km"}},
    "date": {"min": "2024-01-01", "max": "2024-12-31"},
    "rating": {"min": 0, "max": 10, "min_label": "Never", "max_label": "Always"},
    "matrix": {
        "rows": [{"value": "police", "label": "Police"}, {"value": "courts", "label": "Courts"}],
        "choices": [{"value": "1", "label": "Low"}, {"value": "2", "label": "High"}],
    },
    "ranking": {"choices": [{"value": "x", "label": "X"}, {"value": "y", "label": "Y"}]},
    "note": {},
    "calculated": {"expression": "if(age > 0, round(age / 2, 1), 0)"},
    "repeat": {
        "questions": [
            {"id": "member_name", "type": "text", "label": "Name of member {n}"},
            {"id": "member_age", "type": "integer", "label": "Age", "min": 0},
        ],
        "min_count": 1,
        "max_count": 100,
        "entry_label": "Member {n}",
    },
}


def test_one_example_per_question_type():
    assert sorted(ONE_PER_TYPE) == sorted(SCHEMA["$defs"]["question_type"]["enum"])


@pytest.mark.parametrize("type_", sorted(ONE_PER_TYPE))
def test_each_question_type_validates(type_):
    question = {"id": f"q_{type_}", "type": type_, "label": f"A {type_} question", **ONE_PER_TYPE[type_]}
    assert_valid(document({"id": "age", "type": "integer", "label": "Age"}, question))
    # ... and with only its required keys plus the keys every question has.
    required = {"single_choice": "choices", "multiple_choice": "choices", "ranking": "choices",
                "matrix": ("rows", "choices"), "calculated": "expression", "repeat": "questions"}
    keep = required.get(type_, ())
    keep = (keep,) if isinstance(keep, str) else keep
    minimal = {"id": f"q_{type_}", "type": type_, "label": "Q", **COMMON,
               **{k: ONE_PER_TYPE[type_][k] for k in keep}}
    assert_valid(document({"id": "age", "type": "integer", "label": "Age"}, minimal))


def test_calculated_needs_no_label():
    assert_valid(document({"id": "total", "type": "calculated", "expression": "1 + 2"}))


def test_default_accepts_any_json():
    for value in (None, True, 3, 2.5, "x", [1, "a"], {"k": "v"}):
        assert_valid(document({"id": "q", "type": "text", "label": "Q", "default": value}))


# --------------------------------------------------------------------------
# Invalid documents: one problem each, reported at the right place


def _base():
    """A valid document that the mutations below break in exactly one place."""
    return document(
        {"id": "gender", "type": "single_choice", "label": "Gender",
         "choices": [{"value": "female", "label": "Female"}, {"value": "male", "label": "Male"}]},
        {"id": "problems", "type": "multiple_choice", "label": "Problems", "choices": "problem_list"},
        {"id": "station", "type": "text", "label": "Station"},
        {"id": "visit_date", "type": "date", "label": "Date"},
        {"id": "trust", "type": "matrix", "label": "Trust",
         "rows": [{"value": "police", "label": "Police"}], "choices": "problem_list"},
        {"id": "members", "type": "repeat", "label": "Members",
         "questions": [{"id": "member_age", "type": "integer", "label": "Age"}]},
        {"id": "score", "type": "calculated", "expression": "count(problems)",
         "constraints": [{"expression": "score < 10", "message": "Too many"}]},
        {"id": "satisfaction", "type": "rating", "label": "Satisfied?"},
        choice_lists={"problem_list": [{"value": "none", "label": "None", "exclusive": True}]},
        settings={"allow_resume": True},
        plugins={"scoring": {"x": 1}},
    )


Q = ("pages", 0, "questions")
GENDER, PROBLEMS, STATION, VISIT_DATE, TRUST, MEMBERS, SCORE, SATISFACTION = (Q + (i,) for i in range(8))


def _set(path, value):
    def mutate(doc):
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return mutate


def _del(path):
    def mutate(doc):
        target = doc
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return mutate


INVALID = [
    # (name, mutation, path of the error, words the message contains)
    ("unknown top-level key", _set(("colour",), "red"), (), "'colour' was unexpected"),
    ("missing id", _del(("id",)), (), "'id' is a required property"),
    ("missing pages", _del(("pages",)), (), "'pages' is a required property"),
    ("bad questionnaire id", _set(("id",), "Test_Survey"), ("id",), "does not match"),
    ("version is a number", _set(("version",), 1.0), ("version",), "is not of type 'string'"),
    ("no languages", _set(("languages",), []), ("languages",), "should be non-empty"),
    ("duplicate language", _set(("languages",), ["en", "en"]), ("languages",), "non-unique"),
    ("bad language code", _set(("languages",), ["en", "English"]), ("languages", 1), "does not match"),
    ("bad default language", _set(("default_language",), "EN"), ("default_language",), "does not match"),
    ("bad language code in a text", _set(("title",), {"en_US": "Test"}), ("title",), "'en_US' does not match"),
    ("translation is not a string", _set(("title",), {"en": ["Test"]}), ("title", "en"), "is not of type 'string'"),
    ("empty text object", _set(("title",), {}), ("title",), "should be non-empty"),
    ("text too long", _set(("thank_you",), "x" * 10001), ("thank_you",), "is too long"),
    ("empty pages", _set(("pages",), []), ("pages",), "should be non-empty"),
    ("unknown settings key", _set(("settings", "anonymous"), True), ("settings",), "'anonymous' was unexpected"),
    ("settings value not boolean", _set(("settings", "record_ip"), "no"), ("settings", "record_ip"), "is not of type 'boolean'"),
    ("bad plugin name", _set(("plugins",), {"Scoring": {}}), ("plugins",), "'Scoring' does not match"),
    ("plugin section not an object", _set(("plugins", "scoring"), [1]), ("plugins", "scoring"), "is not of type 'object'"),
    ("bad choice list name", _set(("choice_lists",), {"Problem-List": [{"value": "a", "label": "A"}]}), ("choice_lists",), "does not match"),
    ("empty choice list", _set(("choice_lists", "problem_list"), []), ("choice_lists", "problem_list"), "should be non-empty"),
    ("unknown page key", _set(("pages", 0, "show_when"), "true"), ("pages", 0), "'show_when' was unexpected"),
    ("bad page id", _set(("pages", 0, "id"), "1st_page"), ("pages", 0, "id"), "does not match"),
    ("empty page", _set(("pages", 0, "questions"), []), ("pages", 0, "questions"), "should be non-empty"),
    ("page show_if not a string", _set(("pages", 0, "show_if"), True), ("pages", 0, "show_if"), "is not of type 'string'"),
    ("missing question type", _del(STATION + ("type",)), STATION, "'type' is a required property"),
    ("unknown question type", _set(STATION + ("type",), "string"), STATION + ("type",), "is not one of"),
    ("missing question id", _del(STATION + ("id",)), STATION, "'id' is a required property"),
    ("bad question id", _set(STATION + ("id",), "Station"), STATION + ("id",), "does not match"),
    ("id too long", _set(STATION + ("id",), "s" * 64), STATION + ("id",), "does not match"),
    ("missing label", _del(STATION + ("label",)), STATION, "'label' is a required property"),
    ("label is a number", _set(STATION + ("label",), 5), STATION + ("label",), "is not of type 'string', 'object'"),
    ("required is a string", _set(STATION + ("required",), "yes"), STATION + ("required",), "is not of type 'boolean'"),
    ("unknown question key", _set(STATION + ("placeholder",), "x"), STATION, "'placeholder' was unexpected"),
    ("min_selected on a single_choice", _set(GENDER + ("min_selected",), 1), GENDER, "'min_selected' was unexpected"),
    ("rows on a single_choice", _set(GENDER + ("rows",), [{"value": "a", "label": "A"}]), GENDER, "'rows' was unexpected"),
    ("expression on a text question", _set(STATION + ("expression",), "1"), STATION, "'expression' was unexpected"),
    ("pattern on a date", _set(VISIT_DATE + ("pattern",), "[0-9]+"), VISIT_DATE, "'pattern' was unexpected"),
    ("choices on a text question", _set(STATION + ("choices",), "problem_list"), STATION, "'choices' was unexpected"),
    ("bad display", _set(GENDER + ("display",), "select"), GENDER + ("display",), "is not one of"),
    ("missing choices", _del(GENDER + ("choices",)), GENDER, "'choices' is a required property"),
    ("empty choices", _set(GENDER + ("choices",), []), GENDER + ("choices",), "should be non-empty"),
    ("bad choice value", _set(GENDER + ("choices", 1, "value"), "m a l e"), GENDER + ("choices", 1, "value"), "does not match"),
    ("reserved choice value 'other'", _set(GENDER + ("choices", 1, "value"), "other"), GENDER + ("choices", 1, "value"), "'other'"),
    ("choice without label", _del(GENDER + ("choices", 1, "label")), GENDER + ("choices", 1), "'label' is a required property"),
    ("exclusive on a single_choice choice", _set(GENDER + ("choices", 1, "exclusive"), True), GENDER + ("choices", 1), "'exclusive' was unexpected"),
    ("bad choice list reference", _set(PROBLEMS + ("choices",), "Problem list"), PROBLEMS + ("choices",), "does not match"),
    ("negative min_selected", _set(PROBLEMS + ("min_selected",), -1), PROBLEMS + ("min_selected",), "less than the minimum"),
    ("other is not a text", _set(PROBLEMS + ("other",), True), PROBLEMS + ("other",), "is not of type"),
    ("pattern too long", _set(STATION + ("pattern",), "a" * 501), STATION + ("pattern",), "is too long"),
    ("bad date", _set(VISIT_DATE + ("min",), "01.02.2024"), VISIT_DATE + ("min",), "does not match"),
    ("impossible date", _set(VISIT_DATE + ("max",), "2024-02-30"), VISIT_DATE + ("max",), "is not a 'date'"),
    ("rating max too large", _set(SATISFACTION + ("max",), 12), SATISFACTION + ("max",), "greater than the maximum"),
    ("rating min of 2", _set(SATISFACTION + ("min",), 2), SATISFACTION + ("min",), "is not one of"),
    ("matrix without rows", _del(TRUST + ("rows",)), TRUST, "'rows' is a required property"),
    ("matrix row without value", _del(TRUST + ("rows", 0, "value")), TRUST + ("rows", 0), "'value' is a required property"),
    ("too many matrix rows", _set(TRUST + ("rows",), [{"value": f"r{i}", "label": "R"} for i in range(201)]), TRUST + ("rows",), "is too long"),
    ("repeat inside repeat", _set(MEMBERS + ("questions", 0),
                                  {"id": "inner", "type": "repeat", "label": "Inner",
                                   "questions": [{"id": "x", "type": "yes_no", "label": "X"}]}),
     MEMBERS + ("questions", 0, "type"), "'repeat'"),
    ("bad question inside a repeat", _set(MEMBERS + ("questions", 0, "min_selected"), 1), MEMBERS + ("questions", 0), "'min_selected' was unexpected"),
    ("empty repeat", _set(MEMBERS + ("questions",), []), MEMBERS + ("questions",), "should be non-empty"),
    ("max_count above 100", _set(MEMBERS + ("max_count",), 101), MEMBERS + ("max_count",), "greater than the maximum"),
    ("calculated without expression", _del(SCORE + ("expression",)), SCORE, "'expression' is a required property"),
    ("expression too long", _set(SCORE + ("expression",), "1 + " * 250 + "1"), SCORE + ("expression",), "is too long"),
    ("constraint without expression", _del(SCORE + ("constraints", 0, "expression")), SCORE + ("constraints", 0), "'expression' is a required property"),
    ("unknown constraint key", _set(SCORE + ("constraints", 0, "severity"), "warning"), SCORE + ("constraints", 0), "'severity' was unexpected"),
    ("too many choices", _set(GENDER + ("choices",), [{"value": f"c{i}", "label": "C"} for i in range(1001)]), GENDER + ("choices",), "is too long"),
]


def test_base_of_the_invalid_documents_is_valid():
    assert_valid(_base())


def test_there_are_enough_invalid_documents():
    assert len(INVALID) >= 25
    assert len({name for name, *_ in INVALID}) == len(INVALID)


@pytest.mark.parametrize(("mutate", "path", "words"), [case[1:] for case in INVALID], ids=[case[0] for case in INVALID])
def test_invalid_document_is_reported_at_the_right_place(mutate, path, words):
    doc = copy.deepcopy(_base())
    mutate(doc)
    errors = errors_of(doc)
    assert errors, "the document should be invalid"
    # Exactly the one problem, with no follow-on noise elsewhere ...
    assert [tuple(e.absolute_path) for e in errors] == [path] * len(errors), [
        (tuple(e.absolute_path), e.message[:120]) for e in errors
    ]
    # ... and a message that names it.
    assert any(words in e.message for e in errors), [e.message[:120] for e in errors]


def test_too_many_pages_and_questions():
    question = {"id": "q", "type": "yes_no", "label": "Q"}
    doc = document(*[question] * 501)
    assert [tuple(e.absolute_path) for e in errors_of(doc)] == [("pages", 0, "questions")]
    doc = document(question)
    doc["pages"] = doc["pages"] * 201
    assert [tuple(e.absolute_path) for e in errors_of(doc)] == [("pages",)]


# --------------------------------------------------------------------------
# The questionnaires shipped with the project


@pytest.mark.parametrize("path", QUESTIONNAIRES, ids=[p.name for p in QUESTIONNAIRES])
def test_shipped_questionnaire_validates(path):
    assert_valid(load_json(path.read_text(encoding="utf-8")))


def test_questionnaires_folder_is_not_empty():
    if not QUESTIONNAIRES:
        pytest.skip("questionnaires/ holds no *.json files yet, so none could be checked against the schema")
