"""Questionnaires: the JSON format, its loader and checks, and the model they build."""
from survey_app.questionnaire.errors import Problem, QuestionnaireInvalid
from survey_app.questionnaire.loader import find_problems, load_questionnaire
from survey_app.questionnaire.schema_check import schema
from survey_app.questionnaire.model import Choice, Page, Question, Questionnaire

__all__ = [
    "Choice",
    "Page",
    "Problem",
    "Question",
    "Questionnaire",
    "QuestionnaireInvalid",
    "find_problems",
    "load_questionnaire",
    "schema",
]
