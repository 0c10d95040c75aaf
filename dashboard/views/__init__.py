"""Dashboard pages: each module has ``TITLE`` and ``render(ctx)``; ``URLS`` gives each its address.

Every page has its own URL (``/failed``, ``/pipeline``, …: bookmarkable, linked from the README);
the Overview is the default page at ``/``.
"""

from __future__ import annotations

from dashboard.views import backup, failed, history, library, overview, pipeline, service

PAGES = {m.TITLE: m for m in (overview, service, pipeline, library, history, failed, backup)}
#: page title -> URL path (empty: the default page, served at the root)
URLS = {"Overview": "", "Service": "service", "Pipeline": "pipeline", "Library": "library",
        "History": "history", "Failed items": "failed", "Backup": "backup"}


def url_path(title: str) -> str:
    """The page's address below the dashboard's root (a page added without an entry gets its
    title in lower case, spaces as dashes)."""
    return URLS.get(title, title.lower().replace(" ", "-"))
