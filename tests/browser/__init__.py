"""Browser tests: respondents answer the example questionnaires in Debian's Chromium."""
