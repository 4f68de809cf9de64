"""The researcher's workspace: surveys, questionnaire uploads, publishing."""
