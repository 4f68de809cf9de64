"""Scores as ``ResponseMetric`` rows (plugin ``"scoring"``), one set per response and score.

For a score ``disclosure_index`` the rows are named:

* ``disclosure_index.points`` - number: points got;
* ``disclosure_index.max`` - number: the applicable max;
* ``disclosure_index.percent`` - number: the percentage (null when max is 0);
* ``disclosure_index.band`` - code: the band's index "0", "1", ... (null without
  a percentage); only for scores that define bands;
* ``disclosure_index.critical_failures`` - number: critical items that scored 0.

Storing a response's scores first deletes every scoring row it had, so a
recompute (or a score removed from the rules) leaves nothing stale.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from survey_app.models import ResponseMetric

from .compute import ScoreResult

PLUGIN = "scoring"
SUFFIXES = ("points", "max", "percent", "band", "critical_failures")


def metric_rows(response_id: int, survey_id: int, results: Iterable[ScoreResult]) -> list[dict]:
    """The rows (as column dicts) that record ``results`` for one response."""
    rows = []
    for result in results:
        def row(suffix: str, number: float | None = None, code: str | None = None) -> dict:
            return {"response_id": response_id, "survey_id": survey_id, "plugin": PLUGIN,
                    "name": f"{result.score.id}.{suffix}", "number": number, "code": code}

        rows += [row("points", result.points), row("max", result.max), row("percent", result.percent)]
        if result.score.bands:
            rows.append(row("band", code=str(result.band) if result.band is not None else None))
        rows.append(row("critical_failures", float(result.critical_failures)))
    return rows


def replace_scores(session: Session, scored: Iterable[tuple[int, int, list[ScoreResult]]]) -> int:
    """Replace the scoring rows of each ``(response_id, survey_id, results)``; returns the rows written.

    Writes in ``session``'s transaction and does not commit.
    """
    scored = list(scored)
    if not scored:
        return 0
    session.execute(
        delete(ResponseMetric)
        .where(ResponseMetric.plugin == PLUGIN, ResponseMetric.response_id.in_([entry[0] for entry in scored]))
        .execution_options(synchronize_session="fetch")
    )
    rows = [row for response_id, survey_id, results in scored for row in metric_rows(response_id, survey_id, results)]
    if rows:
        session.execute(insert(ResponseMetric), rows)
    return len(rows)
