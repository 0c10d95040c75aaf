"""The librarian's own settings (``PF_…`` variables); the core ones live in photo_factory.settings."""

from __future__ import annotations

from pydantic import field_validator

from photo_factory.settings import PFSettings


class LibrarianSettings(PFSettings):
    #: Quiet period: a file is taken only after this many seconds with no change and no event.
    stability_seconds: float = 5.0
    #: Full rescan of the inbox (events get lost; network mounts send none).
    rescan_seconds: float = 300.0
    #: Heartbeat interval of the librarian (PF_LIBRARIAN_HEARTBEAT_SECONDS, default 60).
    librarian_heartbeat_seconds: float = 60.0
    #: Files read by one ExifTool call.
    exiftool_batch: int = 64
    #: ExifTool processes reading a batch side by side (ExifTool is single-threaded).
    exiftool_processes: int = 2
    #: Path of the exiftool executable.
    exiftool_path: str = "exiftool"
    #: Capture dates before this year are rejected as implausible (fall through to the next source).
    min_year: int = 1990
    #: After this many unexpected errors on one file it is quarantined as ``ingest_error``.
    max_file_attempts: int = 3
    #: Idle poll interval when nothing is pending (events wake the loop earlier).
    poll_seconds: float = 1.0

    @field_validator("stability_seconds", "rescan_seconds", "poll_seconds")
    @classmethod
    def _non_negative(cls, v: float) -> float:
        if v < 0:
            raise ValueError("must not be negative")
        return v

    @field_validator("librarian_heartbeat_seconds", "exiftool_batch", "max_file_attempts", "exiftool_processes")
    @classmethod
    def _positive(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("must be greater than 0")
        return v
