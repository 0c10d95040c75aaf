"""What a restore brings back: everything, one file, or a range of capture days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Selection:
    #: One library path (``Library/2024/2024-01-31/IMG_0001.JPG``), or None.
    path: str | None = None
    since: date | None = None  # inclusive
    until: date | None = None  # inclusive

    @property
    def everything(self) -> bool:
        return self.path is None and self.since is None and self.until is None

    def matches(self, library_path: str) -> bool:
        """Does a path on the remote (``Library/YYYY/YYYY-MM-DD/name``, a panorama under
        ``Derivatives/panoramas/YYYY/YYYY-MM-DD/``…) fall in the selection?"""
        if self.path is not None and library_path != self.path:
            return False
        if self.since is None and self.until is None:
            return True
        day = folder_day(library_path)
        if day is None:
            return False
        return (self.since is None or day >= self.since) and (self.until is None or day <= self.until)

    def describe(self) -> str:
        if self.everything:
            return "the whole library"
        parts = [self.path] if self.path else []
        if self.since and self.since == self.until:
            parts.append(f"day {self.since}")
        elif self.since or self.until:
            parts.append(f"days {self.since or '…'} to {self.until or '…'}")
        return ", ".join(p for p in parts if p)


def folder_day(library_path: str) -> date | None:
    """The capture day encoded in the day folder (``…/YYYY/YYYY-MM-DD/name``) of a path, or None."""
    parts = library_path.split("/")
    if len(parts) < 3 or parts[-3] != parts[-2][:4]:
        return None
    try:
        return date.fromisoformat(parts[-2])
    except ValueError:
        return None
