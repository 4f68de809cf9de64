"""Hostile questionnaire files: each is refused (or accepted, where stated) quickly,
with every problem at a JSON-pointer path in plain words, and nothing escapes.

The small files are committed in ``tests/hostile/``; the big ones (50 MB, 100,000
levels of nesting, 10,000 questions, ...) are written into ``tmp_path`` by
``tests/hostile/generate.py``. ``tests/hostile/README.md`` has one line per case.

Each case runs ``find_problems`` in a forked process, so a case that hangs is
stopped soon after its time limit instead of stalling the suite. Limits are in CPU
time, so that other processes on a shared machine do not make the cases flaky.
"""
from __future__ import annotations

import multiprocessing
import re
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from survey_app import plugins
from survey_app.questionnaire import Problem, find_problems, load_questionnaire
from survey_app.questionnaire.patterns import matches
from tests.helpers import cpu_time
from tests.hostile import generate

HOSTILE = Path(__file__).resolve().parent / "hostile"
SECONDS = 2.0  # the time limit of every case but the 50 MB file
STOP_AFTER = 3.0  # a case still running this many times its limit (in wall time) is stopped
LARGEST_COMMITTED_FILE = 64 * 1024


@dataclass(frozen=True)
class Case:
    """What checking one file must give: no problem at all, or at least these ones."""

    expected: tuple[tuple[str, str], ...]  # (exact JSON pointer, regular expression the message matches)
    seconds: float = SECONDS

    @property
    def accepted(self) -> bool:
        return not self.expected


ACCEPTED = Case(())


def rejected(*expected: tuple[str, str], seconds: float = SECONDS) -> Case:
    return Case(tuple(expected), seconds)


LINE = r"line \d+"  # a problem with no JSON path must at least say where it is
Q_GENDER, Q_AGE, Q_COMMENT = "/pages/0/questions/0", "/pages/0/questions/1", "/pages/1/questions/0"

#: Every case: the file's name -> what checking it must give.
CASES: dict[str, Case] = {
    # Not JSON, or not UTF-8.
    "not-json.json": rejected(("", r"not valid JSON.*line 1")),
    "empty.json": rejected(("", r"not valid JSON|empty")),
    "truncated.json": rejected(("", r"not valid JSON.*line 11")),
    "trailing-comma.json": rejected(("", r"not valid JSON.*line 25")),
    "single-quotes.json": rejected(("", r"double quotes")),
    "comments.json": rejected(("", r"not valid JSON.*line 3")),
    "utf8-bom.json": ACCEPTED,
    "utf16-le-bom.json": rejected(("", r"UTF-16.*save it as UTF-8")),
    "utf16-be-bom.json": rejected(("", r"UTF-16.*save it as UTF-8")),
    "utf32-le-bom.json": rejected(("", r"UTF-32.*save it as UTF-8")),
    "latin1.json": rejected(("", r"not valid UTF-8.*line 6")),
    "invalid-utf8-middle.json": rejected(("", r"not valid UTF-8.*line 24")),
    "lone-surrogate.json": rejected((f"{Q_AGE}/label/en", r"unpaired surrogate")),
    "nul-in-label.json": rejected((f"{Q_AGE}/label/en", r"NUL character")),
    "control-chars-in-key.json": rejected(("/\x1b]0;owned\x07\x1b[2J", r"unknown key")),
    # Duplicate keys and numbers JSON does not have.
    "duplicate-key-top.json": rejected(("/title", r"'title' appears more than once")),
    "duplicate-key-question.json": rejected((f"{Q_AGE}/max", r"'max' appears more than once")),
    "nan.json": rejected(("", r"NaN"), ("", LINE)),
    "infinity.json": rejected(("", r"Infinity"), ("", LINE)),
    "negative-infinity.json": rejected(("", r"-Infinity"), ("", LINE)),
    "float-overflow.json": rejected(("", r"1e999"), ("", LINE)),
    "integer-5000-digits.json": rejected(("", r"digits"), ("", LINE)),
    "deep-arrays-100000.json": rejected(("", r"nested too deeply")),
    "deep-objects-100000.json": rejected(("", r"nested too deeply")),
    "huge-50mb.json": rejected(("", r"50\.0 MB.*at most 2,097,152 bytes"), seconds=10.0),
    # The wrong shape.
    "top-level-array.json": rejected(("", r"must be a JSON object")),
    "top-level-string.json": rejected(("", r"must be a JSON object")),
    "top-level-null.json": rejected(("", r"must be a JSON object")),
    "missing-required-keys.json": rejected(("", r"'title' is required"), ("", r"'version' is required"),
                                           (Q_AGE, r"'type' is required")),
    "unknown-key-typo.json": rejected(("/setings", r"unknown key 'setings' \(did you mean 'settings'\?\)"),
                                      (f"{Q_AGE}/maximum", r"did you mean 'max'\?"),
                                      (f"{Q_COMMENT}/requried", r"did you mean 'required'\?")),
    "unknown-key-with-apostrophe.json": rejected(("/author's_note", r"unknown key 'author's_note'")),
    "unknown-keys-60000.json": rejected(("", r"unknown key")),
    "wrong-types-top.json": rejected(("/id", r"must be a string, not a number"), ("/languages", r"must be a list"),
                                     ("/pages", r"must be a list, not an object"), ("/title", r"string or an object"),
                                     ("/version", r"must be a string")),
    "wrong-types-deep.json": rejected((f"{Q_GENDER}/required", r"true or false"),
                                      (f"{Q_GENDER}/choices/0/value", r"must be a string"),
                                      (f"{Q_AGE}/min", r"whole number, not a string"),
                                      (f"{Q_AGE}/label", r"string or an object"),
                                      (f"{Q_COMMENT}/max_length", r"whole number"),
                                      ("/settings/record_ip", r"true or false")),
    "integer-min-is-fraction.json": rejected((f"{Q_AGE}/min", r"whole number(?!, not a number)")),
    "unknown-question-type.json": rejected((f"{Q_AGE}/type", r"'slider'")),
    "path-traversal-id.json": rejected(("/id", r"not allowed here")),
    "newline-in-survey-id.json": rejected(("/id", r"not a survey id")),
    "questions-10000.json": rejected(("/pages", r"10,000 questions; at most 2,000")),
    # Ids.
    "duplicate-question-id.json": rejected((f"{Q_COMMENT}/id", r"'age' is already used at /pages/0/questions/1")),
    "duplicate-id-repeat-child.json": rejected(("/pages/1/questions/1/questions/0/id",
                                                r"'age' is already used at /pages/0/questions/1")),
    "duplicate-page-id.json": rejected(("/pages/1/id", r"'about_you' is already used at /pages/0")),
    "page-id-equals-question-id.json": rejected(("/pages/1/id", r"'gender' is already used")),
    "double-underscore-id.json": rejected(("/pages/0/questions/1/id", r"not allowed here.*never two underscores")),
    # Choices.
    "empty-choices.json": rejected((f"{Q_GENDER}/choices", r"empty|at least one")),
    "duplicate-choice-value.json": rejected((f"{Q_GENDER}/choices/1/value", r"duplicate choice value 'female'")),
    "duplicate-value-in-choice-list.json": rejected(("/choice_lists/genders/1/value", r"duplicate choice value 'female'")),
    "unknown-choice-list.json": rejected((f"{Q_GENDER}/choices", r"no choice list named 'gendres'.*'genders'")),
    "reserved-other-choice.json": rejected((f"{Q_GENDER}/choices/1/value", r"reserved")),
    "html-in-choice-value.json": rejected((f"{Q_GENDER}/choices/0/value", r"not allowed here")),
    # Languages.
    "missing-translation.json": rejected((f"{Q_AGE}/label", r"missing translation for 'ru'")),
    "undeclared-language.json": rejected((f"{Q_AGE}/label/kk", r"'kk' is not one of the questionnaire's languages")),
    "default-language-undeclared.json": rejected(("/default_language", r"'kk' is not one of the languages")),
    "bad-language-code.json": rejected(("/languages/1", r"language code")),
    "newline-in-language-code.json": rejected(("/languages/0", r"language code")),
    "no-languages.json": rejected(("/languages", r"empty|at least one")),
    "duplicate-languages.json": rejected(("/languages", r"non-unique|more than once|twice")),
    # Expressions.
    "expression-syntax-error.json": rejected((f"{Q_COMMENT}/show_if", r"incomplete at position 7")),
    "expression-unknown-question.json": rejected((f"{Q_COMMENT}/show_if", r"unknown question 'agee'.*'age'")),
    "expression-later-question.json": rejected((f"{Q_GENDER}/show_if", r"'age' comes later")),
    "expression-self-reference.json": rejected((f"{Q_AGE}/show_if", r"itself|circular reference")),
    "calculation-cycle.json": rejected(("/pages/1/questions/1/expression", r"circular reference: (total -> share -> total|share -> total -> share)"),
                                       ("/pages/1/questions/2/expression", r"circular reference")),
    "expression-text-vs-number.json": rejected((f"{Q_COMMENT}/show_if", r"cannot compare text with a number")),
    "expression-attribute-dunder.json": rejected((f"{Q_COMMENT}/show_if", r"not a valid name")),
    "expression-attribute-chain.json": rejected((f"{Q_COMMENT}/show_if", r"too many dots")),
    "expression-eval.json": rejected((f"{Q_COMMENT}/show_if", r"unknown function 'eval'")),
    "expression-import.json": rejected((f"{Q_COMMENT}/show_if", r"'__import__' is not a valid name")),
    "expression-power.json": rejected((f"{Q_COMMENT}/show_if", r"no power operator")),
    "expression-10000-chars.json": rejected((f"{Q_COMMENT}/show_if", r"too long|longer than|at most 1,?000")),
    "expression-nested-parentheses.json": rejected((f"{Q_COMMENT}/show_if", r"nests more than 32 levels")),
    "expression-unclosed-parentheses.json": rejected((f"{Q_COMMENT}/show_if", r"nests more than 32 levels")),
    "constraint-later-page.json": rejected((f"{Q_AGE}/constraints/0/expression", r"'comment' is on a later page")),
    "page-show-if-same-page.json": rejected(("/pages/1/show_if", r"earlier pages")),
    # Patterns: RE2 runs any pattern in linear time, and refuses what it cannot run.
    "pattern-nested-quantifier.json": ACCEPTED,
    "pattern-overlapping-quantifiers.json": ACCEPTED,
    "pattern-backreference.json": rejected((f"{Q_COMMENT}/pattern", r"invalid pattern.*backreference")),
    "pattern-lookahead.json": rejected((f"{Q_COMMENT}/pattern", r"invalid pattern.*look-?around")),
    "pattern-invalid-with-default.json": rejected((f"{Q_COMMENT}/pattern", r"invalid pattern.*backreference")),
    # Bounds and defaults.
    "min-greater-than-max.json": rejected((f"{Q_AGE}/min", r"'min' \(110\) is greater than 'max' \(16\)")),
    "min-selected-exceeds-choices.json": rejected(("/pages/1/questions/1/min_selected", r"offers only 2 choices")),
    "bad-date-bounds.json": rejected(("/pages/1/questions/1/min", r"date")),
    "default-invalid.json": rejected((f"{Q_GENDER}/default", r"not a valid answer"),
                                     (f"{Q_AGE}/default", r"not a valid answer.*at least 16")),
    "default-object-with-text-keys.json": rejected((f"{Q_COMMENT}/default", r"not a valid answer")),
    # Piping and texts.
    "piping-unknown.json": rejected((f"{Q_COMMENT}/label", r"\{agee\} must name a question on an earlier page.*'age'")),
    "piping-same-page.json": rejected((f"{Q_AGE}/label", r"\{gender\} must name a question on an earlier page")),
    "html-in-labels.json": ACCEPTED,
    "formula-in-labels.json": ACCEPTED,
    "repeat-inside-repeat.json": rejected(("/pages/1/questions/1/questions/0/type", r"repeat group")),
    # Accepted as far as the loader alone can tell; the app's plugin check refuses it
    # (see test_unknown_plugin_section_is_reported).
    "unknown-plugin.json": ACCEPTED,
    # Valid files, and files big enough to find quadratic work, each within the size limit.
    "valid-base.json": ACCEPTED,
    "valid-all-features.json": ACCEPTED,
    "questions-2000-valid.json": ACCEPTED,
    "calculation-chain-2000.json": ACCEPTED,
    "piping-flood.json": rejected(("/pages/0/questions/0/label", r"\{zz\} must name a question on an earlier page")),
    "duplicate-keys-150000.json": rejected((f"{Q_AGE}/max", r"'max' appears more than once")),
}

# ---------------------------------------------------------------- helpers

_POINTER = re.compile(r"(?:/(?:[^~/]|~[01])*)*", re.S)
_JARGON = re.compile(
    r"should not be valid under|is not valid under any of the given schemas|Additional properties"
    r"|Unevaluated properties|\$defs|\$ref|\{'const'|Traceback|object has no attribute|\binf\b", re.I)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_DOUBLED = re.compile(r"\b(at|the|a|an|is|of|to|in|not) \1\b", re.I)


def source_of(name: str, directory: Path) -> Path:
    """The committed file, or the generated one written into ``directory``."""
    return generate.write(name, directory) if name in generate.GENERATORS else HOSTILE / name


def check_in_child(source: bytes, seconds: float, **options) -> list[Problem]:
    """``find_problems(source)`` in a forked process: fail if it raises, dies or runs past ``seconds``."""
    if "fork" not in multiprocessing.get_all_start_methods():  # no fork: in-process, without a hard stop
        with cpu_time() as took:
            problems = find_problems(source, **options)
        assert took.seconds < seconds
        return problems
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)

    def child() -> None:
        try:
            with cpu_time() as took:
                problems = find_problems(source, **options)
            sender.send(("ok", took.seconds, [(p.path, p.message) for p in problems]))
        except BaseException:  # noqa: BLE001 - the parent reports it
            sender.send(("raised", 0.0, traceback.format_exc()))

    process = context.Process(target=child, daemon=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Python 3.12+ warns about fork with threads
        process.start()
    sender.close()
    try:
        if not receiver.poll(seconds * STOP_AFTER):
            pytest.fail(f"find_problems ran for more than {seconds * STOP_AFTER:.0f} s (limit {seconds:.0f} s) "
                        "and was stopped")
        try:
            status, elapsed, payload = receiver.recv()
        except EOFError:
            process.join(5)
            pytest.fail(f"the process checking the file died (exit code {process.exitcode})")
    finally:
        if process.is_alive():
            process.kill()
        process.join(5)
        receiver.close()
    if status == "raised":
        pytest.fail(f"find_problems raised instead of reporting a problem:\n{payload}")
    assert elapsed < seconds, f"find_problems took {elapsed:.2f} s of CPU time (limit {seconds:.0f} s)"
    return [Problem(path, message) for path, message in payload]


def assert_well_formed(problems: list[Problem]) -> None:
    """Every problem: a JSON pointer and one plain, printable sentence; none twice."""
    for problem in problems:
        assert isinstance(problem, Problem)
        assert isinstance(problem.path, str) and _POINTER.fullmatch(problem.path), f"not a JSON pointer: {problem.path!r}"
        message = problem.message
        assert isinstance(message, str) and message.strip(), f"empty message at {problem.path!r}"
        assert len(message) <= 1000, f"a {len(message):,}-character message at {problem.path!r}: {message[:200]!r}..."
        assert not _JARGON.search(message), f"not plain words: {problem}"
        assert not _DOUBLED.search(message), f"a doubled word: {problem}"
        shown = str(problem)  # what `survey-app validate` prints
        assert not _CONTROL.search(shown), f"control characters would reach the terminal: {shown!r}"
        shown.encode("utf-8")  # a lone surrogate would make click.echo fail
    repeated = len(problems) - len(set(problems))
    assert not repeated, f"{repeated:,} problems are reported more than once, e.g. {problems[0]}"


def assert_expected(problems: list[Problem], case: Case) -> None:
    listing = "\n".join(f"  {problem}"[:300] for problem in problems[:20])
    if case.accepted:
        assert problems == [], f"a valid file was refused:\n{listing}"
        return
    assert problems, "a hostile file was accepted"
    for path, phrase in case.expected:
        assert any(problem.path == path and re.search(phrase, problem.message, re.I | re.S) for problem in problems), (
            f"expected a problem at {path or '(file)'!r} matching {phrase!r}; got:\n{listing}")


# ---------------------------------------------------------------- the corpus


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_questionnaire(name, tmp_path):
    case = CASES[name]
    problems = check_in_child(source_of(name, tmp_path).read_bytes(), case.seconds)
    assert_well_formed(problems)
    assert_expected(problems, case)


def test_the_corpus_is_complete_and_small():
    committed = {path.name for path in HOSTILE.glob("*.json")}
    assert committed | set(generate.GENERATORS) == set(CASES), "every file needs a case in CASES, and the reverse"
    assert not committed & set(generate.GENERATORS), "a generated case is also committed"
    assert len(CASES) >= 45
    for path in HOSTILE.iterdir():
        assert path.stat().st_size <= LARGEST_COMMITTED_FILE, f"{path.name} is too big to commit: generate it"
    readme = (HOSTILE / "README.md").read_text(encoding="utf-8")
    described = set(re.findall(r"^- `([^`]+)`", readme, re.M))
    assert described == set(CASES), f"README.md lines to add: {sorted(set(CASES) - described)}, " \
                                     f"to remove: {sorted(described - set(CASES))}"


def test_the_big_cases_are_as_big_as_they_claim(tmp_path):
    assert generate.write("huge-50mb.json", tmp_path).stat().st_size == 50 * 1024 * 1024
    assert (tmp_path / "huge-50mb.json").read_bytes().endswith(b"}]}]}")
    assert generate.write("deep-arrays-100000.json", tmp_path).read_bytes().count(b"[") == 100_000
    assert generate.write("deep-objects-100000.json", tmp_path).read_bytes().count(b'{"a":') == 100_000
    assert generate.write("integer-5000-digits.json", tmp_path).read_bytes().count(b"9" * 5000) == 1
    assert generate.write("questions-10000.json", tmp_path).read_bytes().count(b'"type":"yes_no"') == 10_000
    for name in ("calculation-chain-2000.json", "piping-flood.json", "unknown-keys-60000.json",
                 "duplicate-keys-150000.json", "questions-2000-valid.json"):
        assert 100_000 < generate.write(name, tmp_path).stat().st_size < 2 * 1024 * 1024, name


def test_a_str_source_is_refused_by_size_too():
    text = generate.huge_50mb().decode("ascii")
    with cpu_time() as took:
        problems = find_problems(text)
    assert took.seconds < 10
    assert [problem.path for problem in problems] == [""]
    assert "2,097,152 bytes" in problems[0].message


# ---------------------------------------------------------------- patterns


@pytest.mark.parametrize("name, pattern, answer", [
    ("pattern-nested-quantifier.json", "^(a+)+$", "a" * 100_000 + "!"),
    ("pattern-overlapping-quantifiers.json", "(x+x+)+y", "x" * 100_000),
])
def test_catastrophic_patterns_are_checked_in_linear_time(name, pattern, answer):
    questionnaire = load_questionnaire((HOSTILE / name).read_bytes())
    assert questionnaire.questions["comment"].options["pattern"] == pattern
    assert matches(pattern, answer[:10] + answer[-1]) is False  # compiles it outside the timing
    with cpu_time() as took:
        assert matches(pattern, answer) is False
    assert took.seconds < 0.5
    assert matches(pattern, answer[:-1] + {"^(a+)+$": "a", "(x+x+)+y": "y"}[pattern]) is True


# ---------------------------------------------------------------- the app's plugin check


def test_unknown_plugin_section_is_reported(app):
    source = (HOSTILE / "unknown-plugin.json").read_bytes()
    problems = check_in_child(source, SECONDS, check_plugins=plugins.questionnaire_checker(app))
    assert_well_formed(problems)
    assert_expected(problems, rejected(("/plugins/scorring", r"no installed plugin reads the section 'scorring'.*'scoring'")))


# ---------------------------------------------------------------- the real command line

CLI_CASES = {
    "not-json.json": "(file): not valid JSON",
    "nan.json": "(file): not valid JSON: NaN",
    "duplicate-key-question.json": f"{Q_AGE}/max: the key 'max' appears more than once",
    "lone-surrogate.json": f"{Q_AGE}/label/en: the text contains an unpaired surrogate",
    "expression-import.json": f"{Q_COMMENT}/show_if: '__import__' is not a valid name",
    "unknown-plugin.json": "/plugins/scorring: no installed plugin reads the section 'scorring'",
    "pattern-invalid-with-default.json": f"{Q_COMMENT}/pattern: invalid pattern",
    "default-object-with-text-keys.json": f"{Q_COMMENT}/default: the default is not a valid answer",
    "control-chars-in-key.json": "unknown key",
    "reserved-other-choice.json": f"{Q_GENDER}/choices/1/value:",
    "deep-objects-100000.json": "(file): the JSON is nested too deeply",
    "huge-50mb.json": "(file): the file is 50.0 MB",
}


@pytest.mark.parametrize("name", sorted(CLI_CASES))
def test_cli_validate_reports_hostile_files(runner, tmp_path, name):
    path = source_of(name, tmp_path)
    with cpu_time() as took:
        try:
            result = runner("validate", str(path))
        except Exception as error:  # noqa: BLE001 - the runner re-raises what the command let escape
            pytest.fail(f"`survey-app validate {name}` crashed: {type(error).__name__}: {error}")
    assert took.seconds < CASES[name].seconds + 2
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert f"{path}: " in result.output and " problem" in result.output
    assert CLI_CASES[name] in result.output, result.output[:2000]
    assert not _CONTROL.search(result.output.replace("\n", "")), "terminal control characters in the output"


def test_cli_validate_accepts_a_file_with_a_utf8_bom(runner):
    path = HOSTILE / "utf8-bom.json"
    result = runner("validate", str(path), str(HOSTILE / "html-in-labels.json"))
    assert result.exit_code == 0, result.output
    assert f"{path}: ok" in result.output
