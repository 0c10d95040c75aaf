"""Open a dashboard page in Streamlit's AppTest the way its URL opens it in a browser."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from dashboard.views import url_path

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


def open_page(title: str) -> AppTest:
    """AppTest can switch only to file pages: the page's script hash (Streamlit's hash of its
    ``url_path``) is set as a browser at that URL sets it."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    if title != "Overview":
        at._page_hash = calc_hash(url_path(title))
        at.run()
        assert not at.exception, at.exception
    return at
