"""The built-in exports plugin: Excel and CSV exports of a survey's responses.

This module holds only the hook implementations:

* ``register_export_formats``: ``xlsx`` (:mod:`.xlsx`: Responses, one sheet per
  repeat group, Codebook, Summary), ``csv`` (UTF-8 with a byte-order mark, for
  Excel) and ``csv-plain`` (UTF-8) (:mod:`.csv`);
* ``register_routes``: ``GET /surveys/<slug>/export/<format>`` (:mod:`.views`), which prepares a large
  export in the background (:mod:`.jobs`) and shows its progress (:mod:`.job_pages`);
* ``register_commands``: ``survey-app export SLUG --format xlsx -o FILE`` (:mod:`.commands`).

The columns are planned from every questionnaire version (:mod:`.columns`),
the responses streamed in batches (:mod:`.rows`), and every text made safe for
spreadsheets (:mod:`.safety`).
"""
from __future__ import annotations

from functools import partial

from survey_app import hookimpl
from survey_app.contributions import ExportFormat

from . import commands, csv, job_pages, views, xlsx


@hookimpl
def register_export_formats() -> list[ExportFormat]:
    """The Excel workbook and the two CSV variants."""
    return [
        ExportFormat("xlsx", {"en": "Excel workbook", "ru": "Книга Excel", "kk": "Excel кітабы"},
                     xlsx.MEDIA_TYPE, "xlsx", xlsx.write_workbook),
        ExportFormat("csv", {"en": "CSV for Excel (UTF-8 with BOM)", "ru": "CSV для Excel (UTF-8 с BOM)",
                             "kk": "Excel үшін CSV (UTF-8, BOM)"}, csv.MEDIA_TYPE, "csv",
                     partial(csv.write_csv, bom=True)),
        ExportFormat("csv-plain", "CSV (UTF-8)", csv.MEDIA_TYPE, "csv", partial(csv.write_csv, bom=False)),
    ]


@hookimpl
def page_snippets(slot, language):
    """On the results page: a download link per export format, with the page's filters."""
    if slot == "results":
        return [views.download_links(language)]


@hookimpl
def register_routes(app) -> None:
    """The download route and the pages of background exports."""
    app.register_blueprint(views.blueprint)
    app.register_blueprint(job_pages.blueprint)


@hookimpl
def register_commands(cli) -> None:
    """``survey-app export``."""
    cli.add_command(commands.export_command)
