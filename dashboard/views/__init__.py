"""Dashboard pages: each module has ``TITLE`` and ``render(ctx)``."""

from __future__ import annotations

from dashboard.views import backup, failed, history, library, overview, pipeline, service

PAGES = {m.TITLE: m for m in (overview, service, pipeline, library, history, failed, backup)}
