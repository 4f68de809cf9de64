"""Responses: the logic that decides what is shown, checking answers, storing them."""
