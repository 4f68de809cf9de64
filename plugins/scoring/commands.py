"""``survey-app recompute-scores SLUG [--version N]``: score every complete response again.

Each response is scored with the rules of its own questionnaire version, or,
with ``--version N``, with the rules of version N (its questions are matched to
the response's answers by id; a question the response never saw counts as
unanswered when shown). Responses are read in batches from a read-only session
(``yield_per``), and each batch's rows are written and committed through a
second session, so memory stays flat and an interrupted run keeps its work.
"""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from survey_app import db
from survey_app.models import QuestionnaireVersion, Response, ResponseStatus, Survey
from survey_app.questionnaire import Questionnaire
from survey_app.surveys import questionnaire_of

from .compute import score_answers
from .config import ScoringConfig, ScoringConfigInvalid, load_config
from .storage import replace_scores

DEFAULT_BATCH = 500


@click.command("recompute-scores")
@click.argument("slug")
@click.option("--version", "version_number", type=int, default=None,
              help="Score every response with the rules of this published version (default: each response's own).")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=DEFAULT_BATCH, show_default=True,
              help="Responses read, scored and committed at a time.")
@with_appcontext
def recompute_scores(slug: str, version_number: int | None, batch_size: int) -> None:
    """Recompute and store the scores of every complete response of the survey SLUG."""
    writer = db.session()
    survey = writer.execute(select(Survey).where(Survey.slug == slug)).scalar_one_or_none()
    if survey is None:
        raise click.UsageError(f"there is no survey with the address '{slug}'")
    complete = (Response.survey_id == survey.id, Response.status == ResponseStatus.COMPLETE)
    rules = _rules(writer, survey, version_number, complete)
    total = writer.execute(select(func.count()).select_from(Response).where(*complete)).scalar_one()
    writer.commit()

    reader = db.database().sessions()
    query = (select(Response.id, Response.version_id, Response.data).where(*complete).order_by(Response.id)
             .execution_options(yield_per=batch_size))
    written = done = 0
    try:
        with click.progressbar(length=total, label=f"Scoring {total} responses", file=sys.stderr) as bar:
            for batch in reader.execute(query).partitions():
                db.begin_write(writer)
                scored = []
                for response_id, version_id, data in batch:
                    questionnaire, config = rules[None] if None in rules else rules[version_id]
                    answers = data.get("answers", {}) if isinstance(data, dict) else {}
                    scored.append((response_id, survey.id, score_answers(config, questionnaire, answers)))
                written += replace_scores(writer, scored)
                writer.commit()
                done += len(batch)
                bar.update(len(batch))
    finally:
        reader.close()
    which = f"the rules of version {version_number}" if version_number is not None else "each response's own version"
    click.echo(f"Recomputed the scores of {done} complete responses of '{slug}' with {which} ({written} values stored).")


def _rules(session, survey: Survey, version_number: int | None, complete) -> dict[int | None, tuple[Questionnaire, ScoringConfig]]:
    """The questionnaire and scoring rules by version id (key None: one version for all)."""
    if version_number is not None:
        version = session.execute(select(QuestionnaireVersion).where(
            QuestionnaireVersion.survey_id == survey.id, QuestionnaireVersion.number == version_number)).scalar_one_or_none()
        if version is None:
            numbers = ", ".join(str(v.number) for v in survey.versions) or "none"
            raise click.UsageError(f"survey '{survey.slug}' has no version {version_number} (its versions: {numbers})")
        return {None: _load(version)}
    used = set(session.execute(select(Response.version_id).where(*complete).distinct()).scalars())
    return {version.id: _load(version) for version in survey.versions if version.id in used}


def _load(version: QuestionnaireVersion) -> tuple[Questionnaire, ScoringConfig]:
    questionnaire = questionnaire_of(version)
    try:
        return questionnaire, load_config(questionnaire)
    except ScoringConfigInvalid as error:
        lines = "\n".join(f"  {problem}" for problem in error.problems)
        raise click.ClickException(f"the scoring rules of version {version.number} have problems:\n{lines}") from None
