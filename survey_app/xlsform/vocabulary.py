"""The XLSForm vocabulary we understand: language names and codes, question types,
the columns each type may use, appearances, and the yes/no words that make a
choice list a ``yes_no`` question."""
from __future__ import annotations

import re

LANGUAGE_NAMES = {
    "kk": "Kazakh", "ru": "Russian", "en": "English", "ky": "Kyrgyz", "uz": "Uzbek", "tg": "Tajik",
    "tk": "Turkmen", "uk": "Ukrainian", "be": "Belarusian", "az": "Azerbaijani", "hy": "Armenian",
    "ka": "Georgian", "mn": "Mongolian", "tr": "Turkish", "de": "German", "fr": "French", "es": "Spanish",
    "pt": "Portuguese", "it": "Italian", "ar": "Arabic", "fa": "Persian", "zh": "Chinese", "ko": "Korean",
    "ja": "Japanese", "ug": "Uyghur", "tt": "Tatar", "pl": "Polish", "hi": "Hindi", "sw": "Swahili",
}
NAMED_LANGUAGES = {name.lower(): code for code, name in LANGUAGE_NAMES.items()} | {
    "қазақ": "kk", "қазақша": "kk", "қазақ тілі": "kk", "казахский": "kk", "kazakh": "kk",
    "русский": "ru", "орыс": "ru", "орысша": "ru", "орыс тілі": "ru", "russian": "ru",
    "ағылшын": "en", "ағылшынша": "en", "английский": "en", "english": "en",
    "кыргызча": "ky", "кыргызский": "ky", "o'zbek": "uz", "узбекский": "uz",
}
#: The wording of the "other" choice that ``or_other`` adds, by language.
OTHER_LABELS = {"kk": "Басқа", "ru": "Другое", "en": "Other"}
#: The label of the "please specify" question the export adds after a choice with "other".
SPECIFY_LABELS = {"kk": "Нақтылаңыз", "ru": "Уточните", "en": "Please specify"}
#: Choice labels that make a yes/no list a ``yes_no`` question.
YES_WORDS = frozenset({"yes", "да", "иә", "ия", "иа", "ha", "evet", "oui", "sí", "si", "ja", "ооба"})
NO_WORDS = frozenset({"no", "нет", "жоқ", "joq", "yo'q", "hayır", "non", "nein", "жок"})

_CODE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")
_NAME_WITH_CODE = re.compile(r"^(.*?)\s*\(\s*([^()]+?)\s*\)\s*$")

BEGIN = re.compile(r"^begin[ _](group|repeat|lgroup|looped group|loop)(?: (?:over )?(\S+))?$")
END = re.compile(r"^end[ _](group|repeat|lgroup|looped group|loop)$")
SELECT = re.compile(r"^(select_one|select one|select1|select_multiple|select all that apply|rank)\s+(\S+)"
                     r"(?:\s+(or_other|or other|or specify other))?$", re.IGNORECASE)
SIMPLE_TYPES = {
    "text": "text", "string": "text", "integer": "integer", "int": "integer", "decimal": "decimal",
    "date": "date", "note": "note", "calculate": "calculated", "range": "range",
}
SELECT_TYPES = {"select_one": "single_choice", "select one": "single_choice", "select1": "single_choice",
                 "select_multiple": "multiple_choice", "select all that apply": "multiple_choice",
                 "rank": "ranking"}
METADATA = {"start", "end", "today", "deviceid", "imei", "subscriberid", "simserial", "phonenumber",
             "username", "email", "audit", "start-geopoint", "background-geopoint", "background-audio"}

QUESTION_FIELDS = frozenset({"type", "name", "label", "hint", "required", "required_message", "relevant",
                              "constraint", "constraint_message", "default", "appearance", "ignored"})
ALLOWED_FIELDS = {
    "single_choice": QUESTION_FIELDS, "multiple_choice": QUESTION_FIELDS, "ranking": QUESTION_FIELDS,
    "text": QUESTION_FIELDS, "integer": QUESTION_FIELDS, "decimal": QUESTION_FIELDS, "date": QUESTION_FIELDS,
    "range": QUESTION_FIELDS | {"parameters"},
    "note": frozenset({"type", "name", "label", "hint", "relevant", "appearance", "ignored"}),
    "calculated": frozenset({"type", "name", "label", "hint", "relevant", "calculation", "ignored"}),
    "group": frozenset({"type", "name", "label", "hint", "relevant", "appearance", "ignored"}),
    "repeat": frozenset({"type", "name", "label", "hint", "relevant", "appearance", "repeat_count", "ignored"}),
    "end": frozenset({"type", "name", "ignored"}),
}
APPEARANCES = {
    "single_choice": {"minimal", "autocomplete", "likert", "horizontal", "horizontal-compact", "columns",
                      "columns-pack", "columns-n", "quick", "compact"},
    "multiple_choice": {"minimal", "autocomplete", "likert", "horizontal", "horizontal-compact", "columns",
                        "columns-pack", "columns-n", "compact"},
    "ranking": set(), "text": {"multiline", "numbers"}, "integer": {"thousands-sep", "numbers"},
    "decimal": {"thousands-sep", "numbers"}, "date": {"no-calendar"}, "note": set(), "calculated": set(),
    "range": {"rating", "vertical", "no-ticks", "picker"}, "group": {"field-list", "table-list"},
    "repeat": {"field-list"},
}
#: Our question keys -> the XLSForm column that a problem with them is about.
COLUMN_OF_KEY = {
    "id": "name", "type": "type", "label": "label", "hint": "hint", "required": "required",
    "required_message": "required_message", "show_if": "relevant", "default": "default",
    "constraints": "constraint", "expression": "calculation", "choices": "type", "other": "type",
    "display": "appearance", "min": "constraint", "max": "constraint", "min_length": "constraint",
    "max_length": "constraint", "pattern": "constraint", "pattern_message": "constraint_message",
    "min_selected": "constraint", "max_selected": "constraint", "max_count": "repeat_count",
    "rows": "type", "title": "label", "description": "hint", "questions": "type", "value": "name",
}


def language_code(part: str) -> str | None:
    """The language code in a column suffix such as ``Kazakh (kk)``, ``ru`` or ``English``; None if none."""
    part = " ".join(part.split())
    match = _NAME_WITH_CODE.match(part)
    candidate = match.group(2) if match else part
    pieces = candidate.replace("_", "-").split("-")
    normal = "-".join([pieces[0].lower(), *pieces[1:]])
    if _CODE.fullmatch(normal) and (match or len(pieces[0]) in (2, 3)) and normal.lower() not in NAMED_LANGUAGES:
        return normal
    return NAMED_LANGUAGES.get((match.group(1) if match else part).strip().lower()) or \
        NAMED_LANGUAGES.get(part.lower())
