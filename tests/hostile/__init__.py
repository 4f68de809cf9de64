"""Hostile questionnaire files (see README.md) and the generator of the big ones."""
