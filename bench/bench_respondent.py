"""Respondent throughput: a 30-question page and the final submit, against bare Flask.

Under gunicorn (2 sync workers), on SQLite (a fresh file) and on PostgreSQL (a
fresh schema), in the same run:

* **page GET**: ``GET /s/<slug>/p/main`` of a generated 30-question page of mixed
  types (each client a respondent with a session cookie, nothing answered yet)
  vs. ``bench.bare_app`` rendering the same 30 questions with one Jinja template.
* **final submit**: ``POST /s/<slug>/submit`` of a response whose answers were
  already saved through the real page (GET the page, POST it with ``action=next``;
  many prepared before the clock starts, so only the submit is timed) vs.
  ``bench.bare_app`` inserting the same rows (one response + 30 answers) with
  SQLAlchemy Core into the same database.

Prints ``BENCH`` records (see :mod:`bench.common`): requests/s, ratio ours/bare.
Settings: ``BENCH_DURATION`` (s per measurement, default 10, split into two
interleaved rounds), ``BENCH_CONCURRENCY`` (client threads, default 4),
``BENCH_WORKERS`` (default 2), ``BENCH_PREPARE_SECONDS`` (default 25) and
``BENCH_PREPARE_MAX`` (default 3000) for the prepared responses, ``BENCH_BACKENDS``.
"""
from __future__ import annotations

import collections
import json
import re
import sys
import tempfile
import uuid
from pathlib import Path

from bench.common import (
    Client, Exhausted, LoadResult, Server, backends, emit, fresh_database, log, make_clients, record, run_load,
    setting,
)

DURATION = setting("BENCH_DURATION", 10.0)
CONCURRENCY = int(setting("BENCH_CONCURRENCY", 4))
WORKERS = int(setting("BENCH_WORKERS", 2))
PREPARE_SECONDS = setting("BENCH_PREPARE_SECONDS", 25.0)
PREPARE_MAX = int(setting("BENCH_PREPARE_MAX", 3000))
ROUNDS = 2
WARMUP = 1.0
LANGUAGE = "en"
SLUG = "bench-respondent"
PAGE = "main"

_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
_SUBMISSION = re.compile(r'name="submission_id" (?:type="hidden" )?value="([^"]+)"')


# --- the questionnaire: 30 questions of realistic mixed types on one page ---

def _text(en: str, ru: str, kk: str) -> dict:
    return {"en": en, "ru": ru, "kk": kk}


def _choices(*pairs: tuple[str, str]) -> list[dict]:
    return [{"value": value, "label": _text(label, f"{label} (рус.)", f"{label} (қаз.)")} for value, label in pairs]


REGIONS = ["Abai", "Akmola", "Aktobe", "Almaty region", "Almaty city", "Astana", "Atyrau", "East Kazakhstan",
           "Jambyl", "Jetisu", "Karaganda", "Kostanay", "Kyzylorda", "Mangystau", "Pavlodar", "North Kazakhstan",
           "Shymkent", "Turkistan", "Ulytau", "West Kazakhstan"]


def questionnaire() -> dict:
    """A 30-question, three-language page like our users' citizen surveys."""

    def q(qid: str, kind: str, label: str, **extra) -> dict:
        return {"id": qid, "type": kind, "label": _text(label, f"{label} — по-русски", f"{label} — қазақша"), **extra}

    hint = _text("Choose one answer.", "Выберите один ответ.", "Бір жауапты таңдаңыз.")
    questions = [
        q("gender", "single_choice", "Your gender", required=True,
          choices=_choices(("female", "Female"), ("male", "Male"), ("no_answer", "Prefer not to say"))),
        q("age", "integer", "Your age", required=True, min=16, max=110, unit=_text("years", "лет", "жас")),
        q("region", "single_choice", "Region where you live", required=True, display="dropdown",
          choices=_choices(*[(name.lower().replace(" ", "_"), name) for name in REGIONS])),
        q("settlement", "single_choice", "Type of settlement", hint=hint,
          choices=_choices(("city", "City"), ("town", "Town"), ("village", "Village"))),
        q("education", "single_choice", "Highest level of education", display="dropdown",
          choices=_choices(("primary", "Primary"), ("secondary", "General secondary"),
                           ("vocational", "Vocational"), ("incomplete_higher", "Incomplete higher"),
                           ("higher", "Higher"), ("postgraduate", "Postgraduate"))),
        q("employed", "yes_no", "Do you currently have paid work?", required=True),
        q("sector", "single_choice", "In which sector do you work?", show_if="employed = 'yes'",
          choices=_choices(("public", "Public sector"), ("private", "Private company"), ("ngo", "NGO"),
                           ("self", "Self-employed"), ("agriculture", "Agriculture"), ("other_sector", "Other"))),
        q("income", "integer", "Monthly household income", min=0, max=100000000, unit=_text("tenge", "тенге", "теңге"),
          hint=_text("An estimate is fine.", "Можно примерно.", "Шамамен жазуға болады.")),
        q("household", "integer", "How many people live in your household?", min=1, max=30),
        q("trust_local", "rating", "How much do you trust the local akimat?", min=1, max=5,
          min_label=_text("Not at all", "Совсем нет", "Мүлдем жоқ"), max_label=_text("Fully", "Полностью", "Толық")),
        q("trust_national", "rating", "How much do you trust the national government?", min=1, max=5,
          min_label=_text("Not at all", "Совсем нет", "Мүлдем жоқ"), max_label=_text("Fully", "Полностью", "Толық")),
        q("satisfaction", "rating", "How satisfied are you with life in your settlement?", min=0, max=10),
        q("safety", "rating", "How safe do you feel walking alone at night?", min=1, max=5),
        q("voted", "yes_no", "Did you vote in the last local election?"),
        q("vote_how", "single_choice", "How did you vote?", show_if="voted = 'yes'",
          choices=_choices(("station", "At the polling station"), ("mobile", "Mobile ballot box"),
                           ("early", "Early voting"))),
        q("channels", "multiple_choice", "Where do you get news about your city?", max_selected=3,
          choices=_choices(("tv", "Television"), ("radio", "Radio"), ("papers", "Newspapers"),
                           ("websites", "News websites"), ("social", "Social networks"),
                           ("messengers", "Messengers"), ("friends", "Friends and family"))),
        q("issues", "multiple_choice", "Which problems matter most in your area?", max_selected=3,
          choices=_choices(("roads", "Roads"), ("water", "Water supply"), ("housing", "Housing"),
                           ("jobs", "Jobs"), ("health", "Health care"), ("schools", "Schools"),
                           ("air", "Air pollution")) + [{"value": "none", "label": _text("None", "Никакие", "Ешқайсысы"),
                                                          "exclusive": True}]),
        q("participation", "multiple_choice", "In the last year, have you...",
          choices=_choices(("petition", "Signed a petition"), ("hearing", "Attended a public hearing"),
                           ("appeal", "Written to an official"), ("volunteer", "Volunteered"),
                           ("protest", "Joined a peaceful assembly"), ("online", "Taken part in an online poll"))),
        q("agree_1", "single_choice", "Residents can influence decisions of the akimat.", choices="agreement"),
        q("agree_2", "single_choice", "Public hearings are announced in good time.", choices="agreement"),
        q("agree_3", "single_choice", "Budget information is easy to find.", choices="agreement"),
        q("agree_4", "single_choice", "Complaints to the akimat get an answer.", choices="agreement"),
        q("ngo_member", "yes_no", "Are you a member of a civic organisation?"),
        q("volunteer_hours", "decimal", "Hours a month you spend volunteering", min=0, max=200, decimals=1,
          show_if="ngo_member = 'yes'", constraints=[{"expression": "volunteer_hours <= 168",
                                                    "message": _text("Too many hours.", "Слишком много.", "Тым көп.")}]),
        q("last_meeting", "date", "When did you last attend a public meeting?", min="2015-01-01"),
        q("interview_date", "date", "Date of the interview", min="2024-01-01"),
        q("city_name", "text", "Name of your settlement", max_length=100),
        q("postcode", "text", "Postal code", pattern="^[0-9]{6}$",
          pattern_message=_text("Six digits.", "Шесть цифр.", "Алты сан.")),
        q("email", "email", "E-mail, if you want the results"),
        q("comment", "long_text", "Anything else you would like to tell us?", max_length=5000),
    ]
    assert len(questions) == 30
    return {
        "id": SLUG, "version": "1", "languages": ["kk", "ru", "en"], "default_language": "ru",
        "title": _text("Citizen participation (benchmark)", "Участие горожан (бенчмарк)", "Азаматтық қатысу (бенчмарк)"),
        "choice_lists": {"agreement": _choices(("agree_fully", "Fully agree"), ("agree", "Rather agree"),
                                               ("neutral", "Neither"), ("disagree", "Rather disagree"),
                                               ("disagree_fully", "Fully disagree"))},
        "pages": [{"id": PAGE, "title": _text("About you and your city", "О вас и вашем городе", "Сіз және қалаңыз туралы"),
                   "questions": questions}],
    }


#: One respondent's answers, as the page's form posts them: one stored value (one answers row) per question.
ANSWERS = {
    "gender": "female", "age": "34", "region": "almaty_city", "settlement": "city", "education": "higher",
    "employed": "yes", "sector": "ngo", "income": "250000", "household": "4", "trust_local": "3",
    "trust_national": "2", "satisfaction": "7", "safety": "4", "voted": "yes", "vote_how": "station",
    "channels": ["social"], "issues": ["roads"], "participation": ["petition"], "agree_1": "agree",
    "agree_2": "neutral", "agree_3": "disagree", "agree_4": "agree_fully", "ngo_member": "yes",
    "volunteer_hours": "12,5", "last_meeting": "2024-03-15", "interview_date": "2025-01-20",
    "city_name": "Алматы", "postcode": "050000", "email": "respondent@example.org",
    "comment": "Хотелось бы, чтобы о публичных слушаниях сообщали заранее и на двух языках. " * 3,
}


# --- setting up the survey ---

def setup_survey(url: str, path: Path) -> tuple[int, int]:
    """Create an account and import ``path`` as an open survey; (survey id, version id)."""
    from survey_app import create_app, db
    from survey_app.auth.passwords import hash_password
    from survey_app.models import Role, SurveyStatus, User
    from survey_app.surveys import import_survey, load_checked

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-setup"})
    try:
        with app.app_context():
            session = db.session()
            db.begin_write(session)
            owner = User(email="bench@example.org", name="Bench", role=Role.RESEARCHER,
                         password_hash=hash_password(uuid.uuid4().hex))
            session.add(owner)
            session.flush()
            survey, version = import_survey(session, load_checked(path.read_bytes()), owner, status=SurveyStatus.OPEN)
            session.commit()
            return survey.id, version.id
    finally:
        db.database(app).engine.dispose()


def stored_counts(url: str, survey_id: int) -> tuple[int, int, int]:
    """Complete responses of the survey, their answer rows, and answers per response (max)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            complete = connection.execute(sa.text(
                "SELECT count(*) FROM responses WHERE survey_id = :s AND status = 'complete'"), {"s": survey_id}).scalar()
            answers, widest = connection.execute(sa.text(
                "SELECT coalesce(sum(n), 0), coalesce(max(n), 0) FROM (SELECT a.response_id, count(*) AS n FROM answers a "
                "JOIN responses r ON r.id = a.response_id WHERE r.survey_id = :s GROUP BY a.response_id) AS x"),
                {"s": survey_id}).one()
            return complete, answers, widest
    finally:
        engine.dispose()


# --- the work each client does ---

def _token(html: str) -> str:
    match = _CSRF.search(html)
    if not match:
        raise AssertionError("no CSRF token in the page")
    return match.group(1) or match.group(2)


def _ok(reply, status: int) -> bool:
    if reply.status != status:
        raise AssertionError(f"HTTP {reply.status}, expected {status}: {reply.text[:200]!r}")
    return True


def page_path() -> str:
    return f"/s/{SLUG}/p/{PAGE}"


def get_ours(client: Client) -> bool:
    return _ok(client.get(page_path()), 200)


def get_bare(client: Client) -> bool:
    return _ok(client.get("/render"), 200)


def insert_bare(client: Client) -> bool:
    reply = client.post("/insert", {"csrf_token": "x", "submission_id": str(uuid.uuid4()), "action": "next", **ANSWERS})
    return _ok(reply, 302)


class Prepared:
    """Partial responses saved through the real page, waiting for their final submit."""

    def __init__(self) -> None:
        self.items: collections.deque[tuple[dict, str, str]] = collections.deque()

    def prepare(self, client: Client) -> bool:
        """A new respondent: GET the page, POST every answer (``action=next``)."""
        client.cookies.clear()
        page = client.get(page_path())
        _ok(page, 200)
        html = page.text
        token, submission_id = _token(html), _SUBMISSION.search(html).group(1)
        reply = client.post(page_path(), {"csrf_token": token, "submission_id": submission_id, "action": "next",
                                          **ANSWERS})
        _ok(reply, 302)
        if not reply.location.endswith("/review"):
            raise AssertionError(f"the page sent the respondent to {reply.location}, not the review")
        self.items.append((dict(client.cookies), token, submission_id))
        return True

    def submit(self, client: Client) -> bool:
        """The final submit of the next prepared response."""
        try:
            cookies, token, submission_id = self.items.popleft()
        except IndexError:
            raise Exhausted from None
        client.cookies = cookies
        reply = client.post(f"/s/{SLUG}/submit", {"csrf_token": token, "submission_id": submission_id})
        _ok(reply, 302)
        if "/done" not in reply.location:
            raise AssertionError(f"the submit sent the respondent to {reply.location}, not the thank-you page")
        return True


# --- the measurements ---

def _ms(seconds: float | None) -> float | None:
    return round(seconds * 1000, 1) if seconds is not None else None


def _details(result: LoadResult, baseline: LoadResult) -> dict:
    details = {"requests": result.ok, "errors": result.errors, "baseline_requests": baseline.ok,
               "baseline_errors": baseline.errors, "p50_ms": _ms(result.percentile(0.5)),
               "baseline_p50_ms": _ms(baseline.percentile(0.5)), "concurrency": CONCURRENCY,
               "workers": WORKERS, "load_generator_cores": round(max(result.client_cpu, baseline.client_cpu), 2)}
    first_error = result.first_error or baseline.first_error
    if first_error:
        details["first_error"] = first_error[:300]
    return details


def interleaved(ours: tuple, bare: tuple, *, rounds: int = ROUNDS, duration: float = DURATION,
                ours_count=None) -> tuple[LoadResult, LoadResult]:
    """Alternate ours and bare, each ``(clients, work, server)``, in ``rounds`` rounds of
    duration/rounds seconds each (ours: at most ``ours_count(rounds left)`` requests)."""
    ours_total, bare_total = LoadResult(), LoadResult()
    for number in range(rounds):
        count = ours_count(rounds - number) if ours_count else None
        ours_total += run_load(ours[0], ours[1], server=ours[2], duration=duration / rounds, count=count)
        bare_total += run_load(bare[0], bare[1], server=bare[2], duration=duration / rounds)
    return ours_total, bare_total


def cpu_record(name: str, backend: str, ours: LoadResult, bare: LoadResult, baseline_name: str) -> dict:
    """Server CPU per request, ours vs bare: hardly affected by what else the machine runs."""
    ours_ms, bare_ms = _ms(ours.cpu_per_request), _ms(bare.cpu_per_request)
    note = "gunicorn workers' CPU time per request" + (
        "; PostgreSQL's own CPU not included" if backend == "postgres" else "")
    return record(f"{name}, server CPU per request ({backend})", ours_ms or 0.0, "ms", bare_ms,
                  higher_is_better=False, baseline_name=baseline_name, note=note)


def bench_backend(backend: str, questionnaire_path: Path, directory: Path) -> list[dict]:
    records = []
    with fresh_database(backend, directory) as url:
        survey_id, version_id = setup_survey(url, questionnaire_path)
        ours_config = {"DATABASE_URL": url, "SECRET_KEY": "bench-" + uuid.uuid4().hex}
        bare_config = {"DATABASE_URL": url, "QUESTIONNAIRE": str(questionnaire_path), "LANGUAGE": LANGUAGE,
                       "SURVEY_ID": survey_id, "VERSION_ID": version_id}
        with Server("survey_app:create_app", ours_config, workers=WORKERS, name=f"ours-{backend}",
                    ready_path=f"/s/{SLUG}") as ours, \
                Server("bench.bare_app:create_app", bare_config, workers=WORKERS, name=f"bare-{backend}",
                       ready_path="/ping") as bare:
            headers = {"Accept-Language": LANGUAGE}
            ours_clients = make_clients(ours.address, CONCURRENCY, headers)
            bare_clients = make_clients(bare.address, CONCURRENCY, headers)

            log(f"[{backend}] page GET: warming up, then {ROUNDS} interleaved rounds of {DURATION / ROUNDS:g} s each")
            run_load(ours_clients, get_ours, duration=WARMUP)
            run_load(bare_clients, get_bare, duration=WARMUP)
            ours_get, bare_get = interleaved((ours_clients, get_ours, ours), (bare_clients, get_bare, bare))
            log(f"[{backend}] ours GET:  {ours_get.summary()}")
            log(f"[{backend}] bare GET:  {bare_get.summary()}")
            records.append(record(
                f"page GET, 30 questions ({backend})", ours_get.rate, "req/s", bare_get.rate,
                baseline_name="bare Jinja render", **_details(ours_get, bare_get)))
            records.append(cpu_record("page GET", backend, ours_get, bare_get, "bare Jinja render"))

            prepared = Prepared()
            log(f"[{backend}] preparing up to {PREPARE_MAX} partial responses (at most {PREPARE_SECONDS:g} s)...")
            preparation = run_load(make_clients(ours.address, CONCURRENCY, headers), prepared.prepare,
                                   duration=PREPARE_SECONDS, count=PREPARE_MAX)
            log(f"[{backend}] prepared: {preparation.summary()}")
            if preparation.errors:
                log(f"[{backend}] preparation error: {preparation.first_error}\n{ours.log_tail()}")

            warm = min(50, len(prepared.items) // 10)
            run_load(ours_clients, prepared.submit, duration=WARMUP, count=warm)
            run_load(bare_clients, insert_bare, duration=WARMUP)
            measured = len(prepared.items)
            log(f"[{backend}] final submit: {measured} prepared responses vs bare insert, "
                f"{ROUNDS} interleaved rounds of at most {DURATION / ROUNDS:g} s each")
            ours_submit, bare_insert = interleaved(
                (ours_clients, prepared.submit, ours), (bare_clients, insert_bare, bare),
                ours_count=lambda rounds_left: len(prepared.items) // rounds_left)
            log(f"[{backend}] ours submit: {ours_submit.summary()}")
            log(f"[{backend}] bare insert: {bare_insert.summary()}")
            if ours_submit.errors or bare_insert.errors:
                log(f"[{backend}] first error: {ours_submit.first_error or bare_insert.first_error}\n"
                    f"{ours.log_tail()}\n{bare.log_tail()}")
            for client in ours_clients + bare_clients:
                client.close()
        complete, answer_rows, widest = stored_counts(url, survey_id)
        log(f"[{backend}] stored: {complete} complete responses (ours and bare), {answer_rows} answer rows, "
            f"at most {widest} per response")
        records.append(record(
            f"final submit, 1 response + 30 answers ({backend})", ours_submit.rate, "req/s", bare_insert.rate,
            baseline_name="bare Core insert", prepared=measured, **_details(ours_submit, bare_insert)))
        records.append(cpu_record("final submit", backend, ours_submit, bare_insert, "bare Core insert"))
    return records


def main() -> int:
    failed = 0
    with tempfile.TemporaryDirectory(prefix="bench-respondent-") as directory:
        path = Path(directory) / "questionnaire.json"
        path.write_text(json.dumps(questionnaire(), ensure_ascii=False, indent=1), encoding="utf-8")
        for backend in backends():
            try:
                emit(*bench_backend(backend, path, Path(directory)))
            except Exception as error:  # report it and go on with the other backend
                failed += 1
                log(f"[{backend}] FAILED: {type(error).__name__}: {error}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
