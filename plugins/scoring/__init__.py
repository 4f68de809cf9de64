"""The built-in scoring plugin: indices, quizzes and bands computed from answers.

A questionnaire configures it in ``plugins.scoring`` (format, rules and an
example: ``README.md`` beside this file; how a score is computed, item by item:
the docstring of :mod:`.compute`). This module holds only the hook
implementations:

* ``plugin_sections`` / ``validate_questionnaire``: claim and check the section
  (:mod:`.checks`: every problem at once, with JSON pointers);
* ``response_completed``: compute every score and store it as ``ResponseMetric``
  rows named ``<score>.points``, ``.max``, ``.percent``, ``.band`` and
  ``.critical_failures`` (:mod:`.storage`);
* ``response_columns``: points, percent and band columns for tables and exports;
* ``result_sections``: per score, its distribution over bands and summaries of
  its percent and points, broken down by the variable the results page asks
  for (:mod:`.sections`, counted in SQL by :mod:`.results`);
* ``page_snippets``: on the thank-you page, the respondent's own score for
  scores with ``"show_respondent": true`` (:mod:`.display`);
* ``register_commands``: ``survey-app recompute-scores SLUG [--version N]``
  (:mod:`.commands`).
"""
from __future__ import annotations

from survey_app import hookimpl

from . import config, display, sections
from .compute import answers_of, score_answers
from .storage import replace_scores


@hookimpl
def plugin_sections():
    return [config.SECTION]


@hookimpl
def validate_questionnaire(questionnaire):
    return config.find_problems(questionnaire)


@hookimpl
def response_completed(response, questionnaire, session):
    rules = config.load_config(questionnaire)  # invalid rules raise: the core records a PluginFailure
    if rules.scores:
        results = score_answers(rules, questionnaire, answers_of(response))
        replace_scores(session, [(response.id, response.survey_id, results)])
        session.flush()


@hookimpl
def response_columns(questionnaire):
    return [column for score in config.rules_or_none(questionnaire).scores for column in display.columns(score)]


@hookimpl
def result_sections(survey_id, questionnaire, filters, session):
    """A section per score: responses per band, and summaries of percent and points (see :mod:`.sections`)."""
    return sections.score_sections(session, survey_id, questionnaire, filters)


@hookimpl
def page_snippets(slot, questionnaire, response, language):
    if slot != "thank_you" or response is None:
        return None
    shown = tuple(score for score in config.rules_or_none(questionnaire).scores if score.show_respondent)
    results = score_answers(config.ScoringConfig(shown), questionnaire, answers_of(response))
    return [display.snippet(result, questionnaire, language, several=len(results) > 1)
            for result in results if result.percent is not None]


@hookimpl
def register_commands(cli):
    from .commands import recompute_scores

    cli.add_command(recompute_scores)
