"""Build the XLSForm fixtures in this folder from the Python data below.

    .venv/bin/python tests/xlsform/make_fixtures.py        # rewrite the .xlsx files
    .venv/bin/python tests/xlsform/make_fixtures.py --check  # exit 1 if a file is stale

Each form uses the features the XLSForm documentation (xlsform.org) describes:
groups, relevance, constraints with messages, several languages, select_one and
select_multiple with or_other, repeats, calculate, notes, hints, defaults, a
table-list matrix, rank and range, and choice_filter (which we do not support).
The files are written with openpyxl and then made byte-for-byte reproducible
(fixed timestamps), so that tests/test_xlsform.py can check they are up to date.
"""
from __future__ import annotations

import io
import re
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXED_TIME = (2024, 1, 1, 0, 0, 0)

KK, RU, EN = "Kazakh (kk)", "Russian (ru)", "English (en)"

Sheets = dict[str, list[list[str | int | None]]]

# Groups as pages, relevance on a group and a question, a nested group, notes, hints,
# required with a message, a default, questions outside groups, one plain language.
HOUSEHOLD: Sheets = {
    "survey": [
        ["type", "name", "label", "hint", "required", "required_message", "relevant", "appearance", "default"],
        ["note", "intro", "Welcome to the household survey.", None, None, None, None, None, None],
        ["begin group", "respondent", "About you", "Questions about the person answering", None, None, None,
         "field-list", None],
        ["text", "full_name", "What is your name?", "As written in your ID card", "yes", "Please give your name",
         None, None, None],
        ["integer", "age", "How old are you?", None, "yes", None, None, None, None],
        ["select_one gender", "gender", "Gender", None, None, None, None, "minimal", None],
        ["end group", None, None, None, None, None, None, None, None],
        ["begin group", "household", "Your household", None, None, None, "${age} >= 18", "field-list", None],
        ["integer", "members", "How many people live in your household?", None, "yes", None, None, None, 1],
        ["begin group", "children_block", "Children", "Only if others live with you", None, None,
         "${members} > 1", None, None],
        ["integer", "children", "How many of them are children?", None, None, None, None, None, None],
        ["end group", None, None, None, None, None, None, None, None],
        ["note", "thanks_note", "Thank you, ${full_name}!", None, None, None, None, None, None],
        ["end group", None, None, None, None, None, None, None, None],
        ["text", "comments", "Anything else you want to tell us?", None, None, None, None, "multiline", None],
    ],
    "choices": [
        ["list_name", "name", "label"],
        ["gender", "female", "Female"],
        ["gender", "male", "Male"],
        ["gender", "prefer_not", "Prefer not to say"],
    ],
    "settings": [
        ["form_title", "form_id", "version", "default_language"],
        ["Household survey", "household_survey", "2024.1", "English (en)"],
    ],
}

# Three languages in label::Language (code) columns, a yes/no list, relevance,
# bounds as a constraint, and a translated constraint message.
MULTILINGUAL: Sheets = {
    "survey": [
        ["type", "name", f"label::{KK}", f"label::{RU}", f"label::{EN}", f"hint::{KK}", f"hint::{RU}", f"hint::{EN}",
         "required", "relevant", "constraint", f"constraint_message::{KK}", f"constraint_message::{RU}",
         f"constraint_message::{EN}"],
        ["begin group", "profile", "Сіз туралы", "О вас", "About you", None, None, None, None, None, None, None, None,
         None],
        ["select_one yes_no", "resident", "Алматыда тұрасыз ба?", "Вы живёте в Алматы?", "Do you live in Almaty?",
         None, None, None, "yes", None, None, None, None, None],
        ["select_one district", "district", "Қай аудан?", "Какой район?", "Which district?",
         "Тұратын ауданыңыз", "Район, где вы живёте", "Where you live", "yes", "${resident} = 'yes'", None, None,
         None, None],
        ["integer", "age", "Жасыңыз", "Ваш возраст", "Your age", None, None, None, "yes", None,
         ". >= 16 and . <= 110", None, None, None],
        ["end group", None, None, None, None, None, None, None, None, None, None, None, None, None],
        ["begin group", "opinion", "Пікіріңіз", "Ваше мнение", "Your opinion", None, None, None, None, None, None,
         None, None, None],
        ["integer", "years_in_city", "Қалада неше жыл тұрасыз?", "Сколько лет вы живёте в городе?",
         "How many years have you lived in the city?", None, None, None, None, "${resident} = 'yes'",
         ". <= ${age}", "Жасыңыздан аспауы керек", "Не больше вашего возраста", "No more than your age"],
        ["end group", None, None, None, None, None, None, None, None, None, None, None, None, None],
    ],
    "choices": [
        ["list_name", "name", f"label::{KK}", f"label::{RU}", f"label::{EN}"],
        ["yes_no", "yes", "Иә", "Да", "Yes"],
        ["yes_no", "no", "Жоқ", "Нет", "No"],
        ["district", "almaly", "Алмалы", "Алмалинский", "Almaly"],
        ["district", "bostandyk", "Бостандық", "Бостандыкский", "Bostandyk"],
        ["district", "medeu", "Медеу", "Медеуский", "Medeu"],
    ],
    "settings": [
        ["form_title", "form_id", "version", "default_language"],
        ["Участие горожан", "city_participation", "3", "Russian (ru)"],
    ],
}

# Constraints with '.', with and without messages, that become min/max, pattern,
# max_length, or stay constraints; no settings sheet and no default_language.
CONSTRAINTS: Sheets = {
    "survey": [
        ["type", "name", "label", "constraint", "constraint_message", "required"],
        ["begin group", "numbers", "Numbers", None, None, None],
        ["integer", "seats", "Seats", ". >= 1 and . <= 500", None, "yes"],
        ["integer", "candidates", "Candidates", ". >= ${seats}", "At least as many candidates as seats", "yes"],
        ["integer", "women", "Women candidates", ". <= ${candidates} and . >= 0", "No more than all candidates",
         None],
        ["decimal", "turnout", "Turnout (%)", ". >= 0 and . <= 100", None, None],
        ["date", "election_date", "Election date", ". >= date('2021-01-01')", None, None],
        ["end group", None, None, None, None, None],
        ["begin group", "texts", "Texts", None, None, None],
        ["text", "station_code", "Station code", "regex(., '^[0-9]{4}$')", "Four digits", "yes"],
        ["text", "remark", "Remark", "string-length(.) <= 200", None, None],
        ["text", "initials", "Initials", "string-length(.) >= 2 and string-length(.) <= 4", "Two to four letters",
         None],
        ["end group", None, None, None, None, None],
    ],
}

# select_one / select_multiple with or_other, a choice named "other" with its
# "please specify" question, an exclusive "none", appearances.
CHOICES_OTHER: Sheets = {
    "survey": [
        ["type", "name", "label", "required", "relevant", "constraint", "appearance"],
        ["begin group", "choices_page", "Choices", None, None, None, "field-list"],
        ["select_one org_type or_other", "org_type", "Type of organisation", "yes", None, None, None],
        ["select_multiple sources or_other", "sources", "Where do you get news?", None, None,
         "count-selected(.) <= 3", None],
        ["select_one employment", "employment", "Employment", None, None, None, None],
        ["text", "employment_other", "Please specify", "yes", "selected(${employment}, 'other')", None, None],
        ["select_multiple problems", "problems", "Problems you saw", None, None,
         "not(selected(., 'none') and count-selected(.) > 1)", None],
        ["select_one agree", "agree", "Public hearings are useful", None, None, None, "likert"],
        ["select_one region", "region", "Region", None, None, None, "minimal"],
        ["end group", None, None, None, None, None, None],
    ],
    "choices": [
        ["list_name", "name", "label"],
        ["org_type", "ngo", "NGO"],
        ["org_type", "business", "Business"],
        ["org_type", "state", "State body"],
        ["sources", "tv", "Television"],
        ["sources", "radio", "Radio"],
        ["sources", "internet", "Internet"],
        ["sources", "newspapers", "Newspapers"],
        ["employment", "employed", "Employed"],
        ["employment", "unemployed", "Unemployed"],
        ["employment", "student", "Student"],
        ["employment", "other", "Other (specify)"],
        ["problems", "queue", "Long queues"],
        ["problems", "pressure", "Pressure on voters"],
        ["problems", "none", "None of these"],
        ["agree", "agree", "Agree"],
        ["agree", "neutral", "Neither"],
        ["agree", "disagree", "Disagree"],
        ["region", "abai", "Abai"],
        ["region", "akmola", "Akmola"],
        ["region", "aktobe", "Aktobe"],
    ],
    "settings": [["form_title", "form_id"], ["Choices and other", "choices-other"]],
}

# A repeat with repeat_count, calculate with count(), if(), div and '', notes that
# pipe answers, hints and defaults, a calculate outside any group.
REPEAT_CALCULATE: Sheets = {
    "survey": [
        ["type", "name", "label", "hint", "required", "constraint", "calculation", "repeat_count", "default"],
        ["begin group", "household", "Household", None, None, None, None, None, None],
        ["integer", "members", "Number of members", "Everyone who sleeps here", "yes", ". >= 1 and . <= 20", None,
         None, None],
        ["begin repeat", "member", "Household member", "One entry per person", None, None, None, 5, None],
        ["text", "member_name", "Name", None, "yes", None, None, None, None],
        ["integer", "member_age", "Age", None, None, ". >= 0 and . <= 120", None, None, None],
        ["select_one yes_no", "member_works", "Does this person work?", None, None, None, None, None, "no"],
        ["end repeat", None, None, None, None, None, None, None, None],
        ["calculate", "members_listed", None, None, None, None, "count(${member})", None, None],
        ["end group", None, None, None, None, None, None, None, None],
        ["begin group", "summary_page", "Summary", None, None, None, None, None, None],
        ["calculate", "listed_share", None, None, None, None,
         "if(${members} > 0, round(${members_listed} div ${members} * 100, 1), '')", None, None],
        ["note", "summary", "You listed ${members_listed} of ${members} members.", None, None, None, None, None, None],
        ["integer", "visits", "Visits this year", "Count every visit", None, None, None, None, 0],
        ["text", "visit_notes", "Notes on the visits", None, None, None, None, None, "none"],
        ["end group", None, None, None, None, None, None, None, None],
        ["calculate", "visits_doubled", None, None, None, None, "${visits} * 2 + ${members} mod 2", None, None],
    ],
    "choices": [
        ["list_name", "name", "label"],
        ["yes_no", "yes", "Yes"],
        ["yes_no", "no", "No"],
    ],
    "settings": [["form_title", "form_id", "version"], ["Household members", "household_members", "1"]],
}

# A table-list matrix, rank and range (a rating).
MATRIX_RANK_RANGE: Sheets = {
    "survey": [
        ["type", "name", "label", "required", "appearance", "parameters", "relevant"],
        ["begin group", "assessment", "Assessment", None, "field-list", None, None],
        ["begin group", "awareness", "How well do you know these channels?", None, "table-list", None, None],
        ["select_one know", "awareness_hearings", "Public hearings", "yes", None, None, None],
        ["select_one know", "awareness_petitions", "Petitions", "yes", None, None, None],
        ["end group", None, None, None, None, None, None],
        ["rank barriers", "barriers", "Order the barriers, the biggest first", None, None, None, None],
        ["range", "satisfaction", "How satisfied are you?", None, None, "start=1 end=5 step=1",
         "${awareness_hearings} = 'well'"],
        ["end group", None, None, None, None, None, None],
    ],
    "choices": [
        ["list_name", "name", "label"],
        ["know", "well", "Know well"],
        ["know", "heard", "Heard of"],
        ["know", "never", "Never heard"],
        ["barriers", "time", "No time"],
        ["barriers", "trust", "No trust"],
        ["barriers", "info", "No information"],
    ],
    "settings": [["form_title", "form_id"], ["Channels", "channels"]],
}

# Cascading choices: supported by XLSForm, not by us (yet).
CHOICE_FILTER: Sheets = {
    "survey": [
        ["type", "name", "label", "choice_filter"],
        ["begin group", "where", "Where", None],
        ["select_one region", "region", "Region", None],
        ["select_one district", "district", "District", "region=${region}"],
        ["end group", None, None, None],
    ],
    "choices": [
        ["list_name", "name", "label", "region"],
        ["region", "almaty_region", "Almaty region", None],
        ["region", "abai", "Abai region", None],
        ["district", "talgar", "Talgar", "almaty_region"],
        ["district", "ayagoz", "Ayagoz", "abai"],
    ],
    "settings": [["form_title", "form_id"], ["Cascading", "cascading"]],
}

# Features we do not support, one per row.
UNSUPPORTED: Sheets = {
    "survey": [
        ["type", "name", "label", "relevant", "calculation", "default", "media::image", "repeat_count", "required"],
        ["start", "start", None, None, None, None, None, None, None],                                   # 2
        ["begin group", "page", "Page", None, None, None, None, None, None],                            # 3
        ["geopoint", "location", "Where are you?", None, None, None, None, None, None],                 # 4
        ["date", "visit_date", "Date of the visit", None, None, "today()", None, None, None],           # 5
        ["text", "phone", "Phone", "regex(${location}, '^[0-9]+$')", None, None, None, None, None],     # 6
        ["calculate", "region_name", None, None, "jr:choice-name(${phone}, '${phone}')", None, None, None, None],  # 7
        ["note", "photo_note", "Look at the photo", None, None, None, "photo.jpg", None, None],        # 8
        ["integer", "count", "How many?", None, None, None, None, None, "${phone} != ''"],             # 9
        ["begin repeat", "visits", "Visits", None, None, None, None, "${count}", None],                 # 10
        ["integer", "visit_number", "Visit", "position(..) > 1", None, None, None, None, None],         # 11
        ["end repeat", None, None, None, None, None, None, None, None],                                 # 12
        ["end group", None, None, None, None, None, None, None, None],                                  # 13
    ],
    "settings": [["form_title", "form_id"], ["Unsupported", "unsupported"]],
}

FIXTURES: dict[str, Sheets] = {
    "household.xlsx": HOUSEHOLD,
    "multilingual.xlsx": MULTILINGUAL,
    "constraints.xlsx": CONSTRAINTS,
    "choices_other.xlsx": CHOICES_OTHER,
    "repeat_calculate.xlsx": REPEAT_CALCULATE,
    "matrix_rank_range.xlsx": MATRIX_RANK_RANGE,
    "choice_filter.xlsx": CHOICE_FILTER,
    "unsupported.xlsx": UNSUPPORTED,
}


def workbook_bytes(sheets: Sheets) -> bytes:
    """An .xlsx of ``sheets`` (sheet name -> rows, the first row the headers), reproducible."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return _reproducible(buffer.getvalue())


def _reproducible(data: bytes) -> bytes:
    """The same zip with fixed entry times and document dates."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            content = source.read(entry.filename)
            if entry.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*", rb"\g<1>2024-01-01T00:00:00Z", content)
            target.writestr(zipfile.ZipInfo(entry.filename, date_time=FIXED_TIME), content,
                            compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def build_all() -> dict[str, bytes]:
    """Every fixture's file name and bytes."""
    return {name: workbook_bytes(sheets) for name, sheets in FIXTURES.items()}


def main(argv: list[str]) -> int:
    stale = []
    for name, data in build_all().items():
        path = HERE / name
        if "--check" in argv:
            if not path.exists() or path.read_bytes() != data:
                stale.append(name)
        else:
            path.write_bytes(data)
            print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path} "
                  f"({len(data):,} bytes)")
    if stale:
        print("stale fixtures (run tests/xlsform/make_fixtures.py): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
