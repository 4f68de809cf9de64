"""Breakdowns plugin: crosstabs of every question by gender and the other variables a questionnaire names.

The configuration is the questionnaire's ``plugins.breakdowns`` section (see
``config``); the crosstabs are counted by the core's result queries (see ``section``).
"""
from __future__ import annotations

from survey_app import hookimpl
from survey_app.questionnaire import Problem, Questionnaire
from survey_app.results.queries import SurveyResults
from survey_app.results.tables import ResultFilters, ResultSection
from survey_plugins.breakdowns import config, section


@hookimpl
def plugin_sections() -> list[str]:
    """This plugin reads the ``breakdowns`` section."""
    return [config.SECTION]


@hookimpl
def validate_questionnaire(questionnaire: Questionnaire) -> list[Problem]:
    """Check the ``breakdowns`` section."""
    return config.find_problems(questionnaire)


@hookimpl
def breakdown_variables(questionnaire: Questionnaire) -> list[str]:
    """The questions the results page offers to break results down by."""
    return list(config.variables(questionnaire))


@hookimpl
def result_sections(questionnaire: Questionnaire, filters: ResultFilters,
                    results: SurveyResults) -> list[ResultSection]:
    """Crosstabs by the variable ``filters.breakdown`` asks for, if this questionnaire offers it."""
    found = section.breakdown_section(questionnaire, filters, results)
    return [found] if found is not None else []
