"""Interface translations: every message in the code has a Kazakh and a Russian
translation, none is fuzzy, placeholders survive, the compiled .mo files match the
.po files, and the app really serves the translations.

When a test here fails after you added or changed a message: run
``scripts/translations``, translate the listed entries in
``survey_app/translations/{kk,ru}/LC_MESSAGES/messages.po``, run the script again.
"""
from __future__ import annotations

import gettext
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from survey_app import create_app, db

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "survey_app" / "translations"
SCRIPT = ROOT / "scripts" / "translations"
TRANSLATED = ("kk", "ru")  # English is the text in the code
ALL_LOCALES = (*TRANSLATED, "en")
PLURAL_FORMS = {
    "kk": "nplurals=2; plural=(n != 1);",
    "ru": "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);",
    "en": "nplurals=2; plural=(n != 1);",
}
LOG_IN = {"kk": "Кіру", "ru": "Войти", "en": "Log in"}
PASSWORD = {"kk": "Құпиясөз", "ru": "Пароль", "en": "Password"}  # a lazy_gettext form label
#: A printf conversion: %(name)s, %s, %5.2f, %%...
CONVERSION = re.compile(r"%(?:\((?P<name>[^)]*)\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<type>[diouxXeEfFgGcrsa%])")
NEXT_STEP = ("Run scripts/translations, translate these entries in {path}, "
             "then run scripts/translations again to compile the .mo file.")


def po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def load_po(locale: str) -> Catalog:
    with po_path(locale).open("rb") as handle:
        return read_po(handle, locale=locale)


def key(message: Message) -> str:
    """The singular msgid, which identifies a message in a catalog."""
    return message.id if isinstance(message.id, str) else message.id[0]


def forms(message: Message) -> tuple[str, ...]:
    return tuple(message.string) if isinstance(message.string, (tuple, list)) else (message.string,)


def listing(messages) -> str:
    return "\n".join(f"  - {text!r}" for text in messages)


def conversions(text: str) -> Counter:
    """The format conversions in ``text`` (``%%`` included), as a multiset."""
    return Counter((match["name"], match["type"]) for match in CONVERSION.finditer(text))


def formats(text: str, values: dict) -> bool:
    try:
        text % values
    except (ValueError, TypeError, KeyError):
        return False
    return True


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> Catalog:
    """The messages in the code now, extracted exactly as ``scripts/translations`` does."""
    if shutil.which("bash") is None:
        pytest.fail("bash is needed to run scripts/translations", pytrace=False)
    template = tmp_path_factory.mktemp("extracted") / "messages.pot"
    result = subprocess.run(["bash", str(SCRIPT), "extract", str(template)], cwd=ROOT, capture_output=True,
                            text=True, env={**os.environ, "PYTHON": sys.executable}, timeout=120)
    if result.returncode != 0:
        pytest.fail(f"extraction failed:\n{result.stdout}{result.stderr}", pytrace=False)
    with template.open("rb") as handle:
        catalog = read_po(handle)
    assert len([m for m in catalog if m.id]) > 50, "extraction found almost nothing: check babel.cfg"
    return catalog


@pytest.mark.parametrize("locale", ALL_LOCALES)
def test_catalog_exists_with_the_right_plural_forms(locale):
    """Each interface language has a catalog and a compiled .mo, with its plural rule."""
    assert po_path(locale).is_file(), f"{po_path(locale)} is missing: run scripts/translations"
    assert po_path(locale).with_suffix(".mo").is_file(), f"{locale}: messages.mo is missing: run scripts/translations"
    catalog = load_po(locale)
    assert str(catalog.locale) == locale
    assert catalog.plural_forms.replace(" ", "") == PLURAL_FORMS[locale].replace(" ", "")


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_message_in_the_code_is_translated(extracted, locale):
    """A message in the code without a (complete, non-fuzzy) translation fails, listed."""
    catalog = load_po(locale)
    missing, untranslated, fuzzy = [], [], []
    for message in extracted:
        if not message.id:
            continue
        entry = catalog.get(message.id, message.context)
        if entry is None:
            missing.append(key(message))
        elif entry.fuzzy:
            fuzzy.append(key(message))
        elif not all(forms(entry)) or len(forms(entry)) != (catalog.num_plurals if entry.pluralizable else 1):
            untranslated.append(key(message))
    problems = []
    if missing:
        problems.append(f"{len(missing)} message(s) in the code are not in the {locale} catalog yet:\n{listing(missing)}")
    if untranslated:
        problems.append(f"{len(untranslated)} message(s) have no {locale} translation (or miss a plural form):\n"
                        f"{listing(untranslated)}")
    if fuzzy:
        problems.append(f"{len(fuzzy)} {locale} translation(s) are marked fuzzy (a guess to check):\n{listing(fuzzy)}")
    if problems:
        pytest.fail("\n".join(problems) + "\n" + NEXT_STEP.format(path=po_path(locale).relative_to(ROOT)),
                    pytrace=False)


@pytest.mark.parametrize("locale", ALL_LOCALES)
def test_no_fuzzy_entries(locale):
    """Fuzzy entries are left out of the .mo: a fuzzy catalog header even skips the whole file."""
    catalog = load_po(locale)
    assert not catalog.fuzzy, f"{po_path(locale)}: the header is marked '#, fuzzy'; remove the flag"
    fuzzy = [key(message) for message in catalog if message.id and message.fuzzy]
    if fuzzy:
        pytest.fail(f"{len(fuzzy)} fuzzy entries in {po_path(locale).relative_to(ROOT)}: check each translation, "
                    f"then delete its '#, fuzzy' line:\n{listing(fuzzy)}", pytrace=False)


@pytest.mark.parametrize("locale", ALL_LOCALES)
def test_placeholders_match(locale):
    """Every translation has the msgid's %(name)s placeholders (same names, same types) and
    formats without error, so that neither _() in Python nor a template fails on it."""
    catalog = load_po(locale)
    problems = []
    for message in catalog:
        if not message.id:
            continue
        ids = (message.id,) if isinstance(message.id, str) else tuple(message.id)
        for index, text in enumerate(forms(message)):
            if not text:
                continue
            # A plural form may follow the singular or the plural msgid (Russian's first
            # form serves 1, 21, 31...: it needs the number like the plural msgid).
            expected = {ids[-1]} if index > 0 and len(ids) > 1 else set(ids)
            if not any(conversions(text) == conversions(source) for source in expected):
                problems.append(f"{key(message)!r} -> {text!r}: placeholders {sorted(conversions(text))} "
                                f"instead of {sorted(conversions(ids[-1] if index else ids[0]))}")
                continue
            values = {name: 1 for name, _ in conversions(text) if name}
            if not formats(ids[0], values):
                continue  # the msgid itself is not a format string: nothing formats it
            try:
                text % values
            except (ValueError, TypeError, KeyError) as error:
                problems.append(f"{key(message)!r} -> {text!r}: does not format ({error}); write a literal % as %%")
    if problems:
        pytest.fail(f"{po_path(locale).relative_to(ROOT)}:\n" + "\n".join(f"  - {p}" for p in problems), pytrace=False)


@pytest.mark.parametrize("locale", ALL_LOCALES)
def test_compiled_catalog_matches_the_po_file(locale):
    """The app reads the .mo: it must give exactly what the .po says (someone may have
    edited the .po without running scripts/translations)."""
    catalog = load_po(locale)
    mo_file = po_path(locale).with_suffix(".mo")
    with mo_file.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    with mo_file.open("rb") as handle:
        compiled_ids = {(key(message), message.context) for message in read_mo(handle) if message.id}
    plural = gettext.c2py(catalog.plural_expr)
    stale = []
    for message in catalog:
        if not message.id:
            continue
        texts = () if message.fuzzy else forms(message)
        if isinstance(message.id, str):
            want = {None: texts[0] if texts and texts[0] else message.id}
            got = {None: compiled.pgettext(message.context, message.id) if message.context
                   else compiled.gettext(message.id)}
        else:
            singular, plural_id = message.id[0], message.id[1]
            want, got = {}, {}
            for n in (*range(0, 32), 101, 111, 1000):
                index = plural(n)
                if any(texts):  # Babel writes the msgid for an empty form
                    want[n] = texts[index] or message.id[min(index, 1)]
                else:
                    want[n] = singular if n == 1 else plural_id
                got[n] = (compiled.npgettext(message.context, singular, plural_id, n) if message.context
                          else compiled.ngettext(singular, plural_id, n))
        if want != got:
            stale.append(key(message))
    known = {(key(message), message.context) for message in catalog if message.id}
    stale += sorted(str(ids[0]) for ids in compiled_ids - known)
    if stale:
        pytest.fail(f"{mo_file.relative_to(ROOT)} is out of date with its .po file ({len(stale)} message(s) "
                    f"differ):\n{listing(stale[:20])}\nRun scripts/translations.", pytrace=False)


@pytest.fixture
def sqlite_app(sqlite_template, tmp_path):
    """The real app on a fresh SQLite copy of the migrated database."""
    target = tmp_path / "survey.sqlite3"
    shutil.copy(sqlite_template, target)
    application = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{target}",
                              "SECRET_KEY": "translations-test", "WTF_CSRF_ENABLED": True})
    yield application
    db.database(application).engine.dispose()


@pytest.mark.parametrize("locale", ALL_LOCALES)
def test_login_page_speaks_the_chosen_language(sqlite_app, locale):
    response = sqlite_app.test_client().get(f"/account/login?lang={locale}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'<html lang="{locale}">' in html
    assert re.search(rf"<h1>\s*{re.escape(LOG_IN[locale])}\s*</h1>", html), html
    assert re.search(rf"<button[^>]*>\s*{re.escape(LOG_IN[locale])}\s*</button>", html), html
    assert PASSWORD[locale] in html  # a WTForms label given with lazy_gettext
    if locale != "en":
        assert "Log in" not in html and ">Password<" not in html
