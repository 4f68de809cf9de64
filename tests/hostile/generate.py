"""Write the hostile questionnaires that are too big to commit.

Each generator returns the file's bytes; :func:`write` puts one into a directory
(the tests use ``tmp_path``). ``README.md`` describes every case. To look at
them by hand::

    python -m tests.hostile.generate /tmp/hostile
    survey-app validate /tmp/hostile/*.json
"""
from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
MEBIBYTE = 1024 * 1024


def base() -> dict:
    """A fresh copy of the small valid questionnaire every hostile file starts from."""
    return json.loads((HERE / "valid-base.json").read_text(encoding="utf-8"))


def _dump(document: dict, indent: int | None = 2) -> bytes:
    """Pretty JSON, or the most compact JSON when ``indent`` is None."""
    separators = None if indent is not None else (",", ":")
    return json.dumps(document, ensure_ascii=False, indent=indent, separators=separators).encode("utf-8")


def _pages(questions: list[dict], per_page: int = 500) -> list[dict]:
    """Spread ``questions`` over pages of at most ``per_page`` (the schema's limit)."""
    return [{"id": f"page_{start // per_page}", "questions": questions[start:start + per_page]}
            for start in range(0, len(questions), per_page)]


def _document(questions: list[dict], **extra) -> dict:
    document = {"id": "hostile-generated", "version": "1", "languages": ["en"], "title": "Generated",
                "pages": _pages(questions)}
    document.update(extra)
    return document


def huge_50mb() -> bytes:
    """A well-formed document of 50 MiB: one 50 MB description."""
    head = b'{"id": "huge-file", "version": "1", "languages": ["en"], "title": "Huge", "description": "'
    tail = b'", "pages": [{"id": "p", "questions": [{"id": "q", "type": "yes_no", "label": "Q"}]}]}'
    return head + b"x" * (50 * MEBIBYTE - len(head) - len(tail)) + tail


def deep_arrays() -> bytes:
    """100,000 nested ``[``, closed again."""
    return b"[" * 100_000 + b"]" * 100_000


def deep_objects() -> bytes:
    """100,000 nested ``{"a":``, closed again."""
    return b'{"a":' * 100_000 + b"1" + b"}" * 100_000


def questions_10000() -> bytes:
    """10,000 yes/no questions on 20 pages (at most 2,000 are allowed)."""
    return _dump(_document([{"id": f"q{n}", "type": "yes_no", "label": f"Question {n}"} for n in range(10_000)]),
                 indent=None)


def integer_5000_digits() -> bytes:
    """The valid base with a 5,000-digit ``max`` (Python's int() refuses above 4,300 digits)."""
    document = base()
    document["pages"][0]["questions"][1]["max"] = 123456789
    return _dump(document).replace(b"123456789", b"9" * 5000)


def expression_10000_chars() -> bytes:
    """A 10,000-character show_if (the limit is 1,000)."""
    document = base()
    expression = " + ".join(["age"] * 2_000)[:9_990] + " > 1"
    document["pages"][1]["questions"][0]["show_if"] = expression.ljust(10_000)
    return _dump(document)


def calculation_chain_2000() -> bytes:
    """A valid file: 2,000 calculations, each adding up to the 8 before it (95,000
    characters of expressions in all, 16,000 references).

    No cycle anywhere, but a cycle search started from every node walks the whole
    graph each time.
    """
    questions = [{"id": "c0", "type": "integer", "label": "Start"}]
    for n in range(1, 2_000):
        terms = [f"c{k}" for k in range(max(0, n - 8), n)]
        questions.append({"id": f"c{n}", "type": "calculated", "expression": "+".join(terms)})
    return _dump(_document(questions), indent=None)


def piping_flood() -> bytes:
    """1,400 questions whose labels in 100 languages each pipe an unknown ``{zz}`` (1.9 MB)."""
    languages = [f"l{chr(97 + n // 26)}{chr(97 + n % 26)}" for n in range(100)]
    questions = [{"id": f"question_{n}", "type": "yes_no", "label": {language: "{zz}" for language in languages}}
                 for n in range(1_400)]
    return _dump(_document(questions, languages=languages), indent=None)


def unknown_keys_60000() -> bytes:
    """The valid base with 60,000 unknown top-level keys (650 kB)."""
    document = base()
    document.update({f"k{n}": 0 for n in range(60_000)})
    return _dump(document, indent=None)


def duplicate_keys_150000() -> bytes:
    """The valid base whose ``age`` question repeats ``"max":110`` 150,000 times (1.7 MB)."""
    text = _dump(base(), indent=None)
    return text.replace(b'"max":110', b'"max":110' * 150_001, 1).replace(b'110"max"', b'110,"max"')


def questions_2000_valid() -> bytes:
    """A valid 1.2 MB file with the most questions allowed: 2,000 choice questions of 20 choices."""
    questions = [{"id": f"q{n}", "type": "single_choice", "label": f"Question {n}",
                  "choices": [{"value": f"v{k}", "label": f"Choice {k}"} for k in range(20)]}
                 for n in range(2_000)]
    return _dump(_document(questions), indent=None)


GENERATORS: dict[str, Callable[[], bytes]] = {
    "huge-50mb.json": huge_50mb,
    "deep-arrays-100000.json": deep_arrays,
    "deep-objects-100000.json": deep_objects,
    "questions-10000.json": questions_10000,
    "integer-5000-digits.json": integer_5000_digits,
    "expression-10000-chars.json": expression_10000_chars,
    "calculation-chain-2000.json": calculation_chain_2000,
    "piping-flood.json": piping_flood,
    "unknown-keys-60000.json": unknown_keys_60000,
    "duplicate-keys-150000.json": duplicate_keys_150000,
    "questions-2000-valid.json": questions_2000_valid,
}


def write(name: str, directory: Path) -> Path:
    """Generate the case ``name`` into ``directory`` and return its path."""
    path = Path(directory) / name
    path.write_bytes(GENERATORS[name]())
    return path


def main(arguments: list[str]) -> None:
    directory = Path(arguments[0] if arguments else ".")
    directory.mkdir(parents=True, exist_ok=True)
    for name in GENERATORS:
        print(write(name, directory))


if __name__ == "__main__":
    main(sys.argv[1:])
