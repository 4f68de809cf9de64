"""Small helpers shared by tests."""
from __future__ import annotations

import gc
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass



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


_SUBMISSION = re.compile(r'name="submission_id" (?:type="hidden" )?value="([^"]+)"')


class Respondent:
    """A respondent answering through the real pages with a test client."""

    def __init__(self, client, slug: str):
        self.client, self.slug = client, slug
        self.html = ""

    def open(self, page_id: str, **query):
        """GET a page of the questionnaire and remember its form."""
        response = self.client.get(f"/s/{self.slug}/p/{page_id}", query_string=query)
        self.html = response.get_data(as_text=True)
        return response

    @property
    def submission_id(self) -> str:
        match = _SUBMISSION.search(self.html)
        assert match, "no submission id in the page"
        return match.group(1)

    def post(self, page_id: str, answers: dict, action: str = "next"):
        """POST answers (field name -> value or list) to a page, as its form would."""
        data = {"csrf_token": csrf_token(self.html), "submission_id": self.submission_id, "action": action, **answers}
        response = self.client.post(f"/s/{self.slug}/p/{page_id}", data=data)
        if response.status_code != 302:
            self.html = response.get_data(as_text=True)
        return response

    def submit(self, submission_id: str | None = None):
        """POST the final submit from the review page."""
        review = self.client.get(f"/s/{self.slug}/review")
        html = review.get_data(as_text=True)
        data = {"csrf_token": csrf_token(html), "submission_id": submission_id or _SUBMISSION.search(html).group(1)}
        return self.client.post(f"/s/{self.slug}/submit", data=data)


@dataclass
class CpuTime:
    """The CPU seconds a :func:`cpu_time` block took."""

    seconds: float = 0.0


@contextmanager
def cpu_time() -> Iterator[CpuTime]:
    """Measure a block in this thread's CPU time (other processes and threads do not count), with the
    garbage collector paused: its passes depend on everything else the test process holds, not on the block."""
    gc.collect()
    gc.disable()
    took = CpuTime()
    started = time.thread_time()
    try:
        yield took
    finally:
        took.seconds = time.thread_time() - started
        gc.enable()
