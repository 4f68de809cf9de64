"""Small helpers shared by tests."""
from __future__ import annotations

import re



PASSWORD = "correct horse battery"

_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    """The CSRF token of the first form in ``html``."""
    match = _CSRF.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1) or match.group(2)


def login(client, email: str, password: str = PASSWORD):
    """Log ``client`` in through the real login form."""
    page = client.get("/account/login")
    return client.post("/account/login", data={"email": email, "password": password,
                                               "csrf_token": csrf_token(page.get_data(as_text=True))})
