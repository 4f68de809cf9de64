"""Differences between questionnaire versions, and which ones orphan collected answers."""
import copy
import json
from pathlib import Path

from survey_app.questionnaire import load_questionnaire
from survey_app.versions import diff

DOCUMENT = json.loads((Path(__file__).parent / "data" / "all-types.json").read_text("utf-8"))


def changed(mutate) -> list[tuple[str, str, str, bool]]:
    document = copy.deepcopy(DOCUMENT)
    mutate(document)
    return [(c.kind, c.question_id, c.detail, c.orphans)
            for c in diff(load_questionnaire(DOCUMENT), load_questionnaire(document))]


def questions(document, page=0):
    return document["pages"][page]["questions"]


def test_identical_versions_have_no_changes():
    assert changed(lambda document: None) == []


def test_an_added_question_orphans_nothing():
    def add(document):
        questions(document, 2).append({"id": "extra", "type": "text", "label": {"ru": "Ещё", "en": "More"}})
    assert changed(add) == [("added", "extra", "new text question “More”", False)]


def test_a_removed_question_and_a_removed_choice_orphan_answers():
    def remove(document):
        questions(document).pop(3)  # station
        questions(document)[0]["choices"].pop(1)  # male
    assert changed(remove) == [
        ("changed", "gender", "choice 'male' removed", True),
        ("removed", "station", "question “Station” removed", True),
    ]


def test_a_changed_type_orphans_answers():
    def retype(document):
        questions(document)[3] = {"id": "station", "type": "integer", "label": {"ru": "Участок", "en": "Station"}}
    assert changed(retype) == [("changed", "station", "type changed from text to integer", True)]


def test_label_logic_and_required_changes_are_listed_without_orphaning():
    def edit(document):
        questions(document)[2]["label"]["en"] = "Age in years"
        questions(document)[2]["required"] = False
        questions(document)[1]["show_if"] = "gender = 'male'"
    assert changed(edit) == [
        ("changed", "pregnant_question", "show_if changed", False),
        ("changed", "age", "label changed to “Age in years”", False),
        ("changed", "age", "now optional", False),
    ]
