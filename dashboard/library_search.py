"""Browsing and search of the Library (pure): the filters, their query parameters, keyset
cursors, and the year x month grid that includes empty months.

Pages are keyset-paginated, newest first: the next page starts after the last row shown,
``(capture_date, id) < (last.capture_date, last.id)``; there is no OFFSET and no total count.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

PAGE_SIZE = 24
#: the cursor before the first page: after every possible row
START = (dt.date(9999, 12, 31), 2**63 - 1)


@dataclass(frozen=True)
class Filters:
    name: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    country_code: str | None = None
    city: str | None = None
    camera: str | None = None

    def params(self) -> dict[str, Any]:
        """Query parameters (``None``: the filter is off). The name matches anywhere, any case."""
        name = self.name.strip()
        like = None
        if name:
            like = "%" + name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return {"name": like, "date_from": self.date_from or dt.date(1, 1, 1),
                "date_to": self.date_to or dt.date(9999, 12, 31), "country_code": self.country_code,
                "city": self.city, "camera": self.camera}

    def describe(self) -> str:
        parts = []
        if self.name.strip():
            parts.append(f"name contains {self.name.strip()!r}")
        if self.date_from or self.date_to:
            parts.append(f"taken {self.date_from or '…'} to {self.date_to or '…'}")
        if self.city or self.country_code:
            parts.append(f"in {', '.join(p for p in (self.city, self.country_code) if p)}")
        if self.camera:
            parts.append(f"camera {self.camera}")
        return "; ".join(parts) or "everything"


def month_span(day: dt.date) -> tuple[dt.date, dt.date]:
    first = day.replace(day=1)
    nxt = (first + dt.timedelta(days=32)).replace(day=1)
    return first, nxt - dt.timedelta(days=1)


def month_grid(by_month: list[dict]) -> list[dict]:
    """``{"year", "month", "files"}`` for EVERY month from the first year to the last (empty
    months are 0), for a year x month heatmap that stays readable over decades."""
    counts = {(r["month"].year, r["month"].month): int(r["files"]) for r in by_month}
    if not counts:
        return []
    years = range(min(y for y, _ in counts), max(y for y, _ in counts) + 1)
    return [{"year": y, "month": m, "files": counts.get((y, m), 0)} for y in years for m in range(1, 13)]


def next_cursor(rows: list[dict]) -> tuple[dt.date, int] | None:
    """Where the next page starts, or None when this page was the last one."""
    if len(rows) < PAGE_SIZE:
        return None
    last = rows[-1]
    return last["capture_date"], int(last["id"])
