"""The respondent's pages: welcome, questions page by page, review, thank you."""
