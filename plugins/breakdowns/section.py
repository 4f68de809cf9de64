"""The breakdown section of the results: every question crosstabulated by the chosen variable."""
from __future__ import annotations

from survey_app.questionnaire import Questionnaire
from survey_app.results.queries import SurveyResults
from survey_app.results.tables import ResultFilters, ResultSection
from survey_plugins.breakdowns.config import SECTION, variables


def breakdown_section(questionnaire: Questionnaire, filters: ResultFilters,
                      results: SurveyResults) -> ResultSection | None:
    """Crosstabs of every question by ``filters.breakdown``; None unless the questionnaire offers that variable."""
    variable = filters.breakdown
    if variable is None or variable not in variables(questionnaire):
        return None
    tables = results.crosstabs(variable)
    return ResultSection(title=questionnaire.questions[variable].label or variable, plugin=SECTION, tables=tables)
