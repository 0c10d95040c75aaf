"""The librarian's own settings (``PF_…`` variables); the core ones live in photo_factory.settings."""

from __future__ import annotations

from pydantic import NonNegativeFloat, PositiveFloat, PositiveInt

from photo_factory.settings import PFSettings


class LibrarianSettings(PFSettings):
    #: Quiet period: a file is taken only after this many seconds with no change and no event.
    stability_seconds: NonNegativeFloat = 5.0
    #: Full rescan of the inbox (events get lost; network mounts send none).
    rescan_seconds: NonNegativeFloat = 300.0
    #: Heartbeat interval of the librarian (PF_LIBRARIAN_HEARTBEAT_SECONDS, default 60).
    librarian_heartbeat_seconds: PositiveFloat = 60.0
    #: Files taken as one batch (read, hashed and checked side by side; filed and recorded in chunks
    #: of 8). Each batch ends with a core idle while its last chunk is recorded: 512, not 64, took
    #: that tail from 0.43-0.98 s to 0.03-0.13 s over 300 camera JPEGs (measured on a loaded box).
    exiftool_batch: PositiveInt = 512
    #: ExifTool processes reading a batch side by side (ExifTool is single-threaded).
    exiftool_processes: PositiveInt = 2
    #: Path of the exiftool executable.
    exiftool_path: str = "exiftool"
    #: Seconds one ExifTool call (up to 8 files) may take before it is killed and restarted.
    exiftool_timeout_seconds: PositiveFloat = 60.0
    #: Capture dates before this year are rejected as implausible (fall through to the next source).
    min_year: int = 1990
    #: After this many unexpected errors on one file it is quarantined as ``ingest_error``.
    max_file_attempts: PositiveInt = 3
    #: An incomplete file (its structure ends early: a paused or interrupted writer) waits in the
    #: inbox this long after it stopped changing, then is quarantined as ``truncated``.
    incomplete_grace_seconds: NonNegativeFloat = 3600.0
    #: A sidecar (XMP, AAE, THM, Takeout JSON) whose photo has not arrived waits this long in the
    #: inbox, then is kept in quarantine as ``orphan_sidecar`` (re-attached when the photo comes).
    sidecar_wait_seconds: NonNegativeFloat = 3600.0
    #: Memory the decodability check may use for one image (estimated from its header before
    #: decoding); a larger image is judged by its structure alone, never decoded by the librarian.
    check_decode_megabytes: PositiveInt = 256
    #: Idle poll interval when nothing is pending (events wake the loop earlier).
    poll_seconds: PositiveFloat = 1.0
