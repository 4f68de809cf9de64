"""``survey-app export SLUG --format xlsx -o FILE``: an export written from the command line, with a progress bar.

Takes the same filters and options as the download route. The file is written
next to ``FILE`` under a temporary name and renamed into place when complete,
so an interrupted export never leaves a half-written file under that name.
"""
from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from survey_app import db, plugins
from survey_app.models import Survey
from survey_app.results.views import breakdown_variables, parse_filters
from survey_app.surveys import questionnaire_of

from .columns import export_locale, load_versions
from .options import ExportOptions, option_problems
from .rows import DEFAULT_BATCH, count_responses


@click.command("export")
@click.argument("slug")
@click.option("--format", "format_name", default="xlsx", show_default=True,
              help="An export format: xlsx, csv (UTF-8 with BOM, for Excel), csv-plain, or one a plugin adds.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="The file to write (replaced if it exists).")
@click.option("--lang", help="The questionnaire language of labels (default: its default language).")
@click.option("--codes", is_flag=True, help="Write codes instead of labels (headers are column keys).")
@click.option("--no-joined", is_flag=True, help="Leave out the joined column of each multiple-choice question.")
@click.option("--no-summary", is_flag=True, help="xlsx: leave out the Summary sheet (a quicker export of the data).")
@click.option("--table", help="CSV only: export this repeat group's table instead of the responses.")
@click.option("--status", type=click.Choice(["complete", "all"]), default="complete", show_default=True)
@click.option("--from", "date_from", help="First day (YYYY-MM-DD, UTC) of submission.")
@click.option("--to", "date_to", help="Last day (YYYY-MM-DD, UTC) of submission.")
@click.option("--version", "versions", multiple=True, help="Only responses to this version number (repeatable).")
@click.option("--where", multiple=True, help="QUESTION:VALUE for a single-choice question (repeatable).")
@click.option("--breakdown", help="A variable to break the Summary's results down by.")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=DEFAULT_BATCH, show_default=True,
              help="Responses read from the database at a time.")
@with_appcontext
def export_command(slug: str, format_name: str, output: Path, lang: str | None, codes: bool, no_joined: bool,
                   no_summary: bool, table: str | None, status: str, date_from: str | None, date_to: str | None,
                   versions: tuple[str, ...], where: tuple[str, ...], breakdown: str | None, batch_size: int) -> None:
    """Export the responses of the survey SLUG to a file."""
    export_format = plugins.export_formats().get(format_name)
    if export_format is None:
        raise click.UsageError(f"unknown format '{format_name}' (known: {', '.join(sorted(plugins.export_formats()))})")
    session = db.session()
    survey = session.execute(select(Survey).where(Survey.slug == slug)).scalar_one_or_none()
    if survey is None or survey.latest_version is None:
        raise click.UsageError(f"there is no published survey '{slug}'")
    questionnaire = questionnaire_of(survey.latest_version)
    arguments = MultiDict([("status", status), *(("version", v) for v in versions), *(("where", w) for w in where),
                           *((key, value) for key, value in (("from", date_from), ("to", date_to),
                                                             ("breakdown", breakdown)) if value)])
    options = ExportOptions(language=lang, codes=codes, joined=not no_joined, table=table, summary=not no_summary,
                            batch_size=batch_size)
    with export_locale("en"):
        filters, problems = parse_filters(arguments, questionnaire, [version.number for version in survey.versions],
                                          breakdown_variables(questionnaire))
        problems += option_problems(options, load_versions(session, survey.id))
    if problems:
        raise click.UsageError(" ".join(problems))
    total = count_responses(session, survey.id, filters)
    handle, temporary = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.resolve().parent)
    label = f"Exporting {total} responses of '{slug}'"
    try:
        with os.fdopen(handle, "wb") as target, click.progressbar(length=total, label=label, file=sys.stderr) as bar:
            report = export_format.write(target=target, survey_id=survey.id, questionnaire=questionnaire,
                                         filters=filters, session=session,
                                         progress=lambda done, _total: bar.update(done - bar.pos),
                                         options=asdict(options))
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    click.echo(f"Wrote {report.responses} responses to {output}.")
    if report.truncated:
        click.echo(f"{report.truncated} texts were longer than Excel's 32,767 characters and were truncated "
                   "(marked “… [TRUNCATED”).")
