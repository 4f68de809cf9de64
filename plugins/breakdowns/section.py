"""The breakdown section of the results: every question crosstabulated by the chosen variable."""
from __future__ import annotations

from sqlalchemy.orm import Session

from survey_app.questionnaire import Questionnaire
from survey_app.results.queries import crosstabs
from survey_app.results.tables import ResultFilters, ResultSection
from survey_plugins.breakdowns.config import SECTION, variables


def breakdown_section(survey_id: int, questionnaire: Questionnaire, filters: ResultFilters,
                      session: Session) -> ResultSection | None:
    """Crosstabs of every question by ``filters.breakdown``; None unless the questionnaire offers that variable."""
    variable = filters.breakdown
    if variable is None or variable not in variables(questionnaire):
        return None
    tables = crosstabs(session, survey_id, questionnaire, filters, variable)
    return ResultSection(title=questionnaire.questions[variable].label or variable, plugin=SECTION, tables=tables)
