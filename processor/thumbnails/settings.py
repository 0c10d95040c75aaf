"""Settings of the thumbnail worker (``PF_THUMBNAIL_…``)."""

from __future__ import annotations

import os
from typing import Annotated

from pydantic import Field, PositiveFloat, PositiveInt, field_validator

from photo_factory.settings import PFSettings


class ThumbnailSettings(PFSettings):
    #: Long-edge sizes in pixels, comma separated; each gets its own folder under Derivatives/thumbnails/.
    thumbnail_sizes: str = "256,1440"
    #: jpeg (default, fast) or webp (smaller files, slower to encode).
    thumbnail_format: str = "jpeg"
    thumbnail_quality: Annotated[int, Field(ge=1, le=100)] = 82
    #: Decompression-bomb limit: an image that would decode into more pixels (after JPEG
    #: shrink-on-load, so a huge baseline JPEG panorama still fits) fails as decompression_bomb.
    thumbnail_max_pixels: PositiveInt = 200_000_000
    #: Memory one decode may take, estimated from the header before decoding (a progressive JPEG
    #: needs ~3–6 bytes per pixel of coefficient buffers at any scale); over it: decompression_bomb.
    thumbnail_decode_megabytes: PositiveInt = 1024
    #: Threads one photo's large resize is split across (within a level of one thread's), never
    #: more than the cores. 2 lets a lone worker use a second core: +7-13 % files/min on a
    #: 2-core box, for ~5 MB more at its peak and ~1 % more CPU a photo (with as many workers as
    #: cores, keep 1: the split only adds that 1 %).
    thumbnail_threads: Annotated[int, Field(ge=1, le=64)] = 1
    thumbnail_batch_size: PositiveInt = 4
    thumbnail_max_attempts: PositiveInt = 3
    thumbnail_backoff_seconds: float = 60.0
    thumbnail_poll_seconds: PositiveFloat = 5.0
    #: A claim older than this goes back to pending even if its worker still beats (a hung decoder).
    thumbnail_claim_timeout_seconds: float = 1800.0
    #: A worker not seen for this long is dead: its claims go back to pending.
    thumbnail_lease_seconds: PositiveFloat = 60.0
    thumbnail_ffmpeg: str = "ffmpeg"
    thumbnail_exiftool: str = "exiftool"
    thumbnail_ffprobe: str = "ffprobe"
    #: Extract the video of motion photos (Google, Samsung, HEIC) to Derivatives/motion/.
    thumbnail_motion_photos: bool = True
    #: Per-file limit for ffmpeg / exiftool calls.
    thumbnail_tool_timeout_seconds: float = 120.0

    @field_validator("thumbnail_sizes")
    @classmethod
    def _sizes(cls, v: str) -> str:
        try:
            sizes = [int(s) for s in v.split(",") if s.strip()]
        except ValueError:
            raise ValueError("a comma-separated list of pixel sizes, e.g. 256,1440") from None
        if not sizes or any(s < 16 or s > 8192 for s in sizes):
            raise ValueError("sizes must be between 16 and 8192 pixels")
        return ",".join(str(s) for s in sorted(set(sizes), reverse=True))

    @field_validator("thumbnail_format")
    @classmethod
    def _format(cls, v: str) -> str:
        v = v.lower().strip()
        if v not in ("jpeg", "webp"):
            raise ValueError("jpeg or webp")
        return v

    @property
    def sizes(self) -> tuple[int, ...]:
        """Sizes, largest first."""
        return tuple(int(s) for s in self.thumbnail_sizes.split(","))

    @property
    def decode_budget_bytes(self) -> int:
        return self.thumbnail_decode_megabytes << 20

    @property
    def resize_threads(self) -> int:
        """``thumbnail_threads``, never more than the cores this process may run on."""
        return min(self.thumbnail_threads, len(os.sched_getaffinity(0)))

    @property
    def extension(self) -> str:
        return "jpg" if self.thumbnail_format == "jpeg" else "webp"
