"""The database models. Import them from here: ``from survey_app.models import Survey``."""
from survey_app.db import Base
from survey_app.models.jobs import Job, JobStatus
from survey_app.models.plugin_data import PluginFailure, ResponseMetric
from survey_app.models.responses import Answer, Response, ResponseStatus
from survey_app.models.results import ResultBlock, ResultCount
from survey_app.models.surveys import AccessCode, QuestionnaireVersion, Survey, SurveyMember, SurveyRole, SurveyStatus
from survey_app.models.users import RateLimit, Role, User

__all__ = [
    "AccessCode",
    "Answer",
    "Base",
    "Job",
    "JobStatus",
    "PluginFailure",
    "QuestionnaireVersion",
    "RateLimit",
    "Response",
    "ResponseMetric",
    "ResponseStatus",
    "ResultBlock",
    "ResultCount",
    "Role",
    "Survey",
    "SurveyMember",
    "SurveyRole",
    "SurveyStatus",
    "User",
]
