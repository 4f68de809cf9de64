"""Load and fault tests: simulated respondents against gunicorn (all marked ``slow``)."""
