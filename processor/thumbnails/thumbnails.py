"""Make an asset's thumbnails: every configured size from one decode, written next to nothing else
but ``Derivatives/thumbnails/``. The original is only ever opened for reading."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from photo_factory.files import sweep_temporaries, write_atomically
from photo_factory.worker import ItemError
from processor.thumbnails import raw, render, video
from processor.thumbnails.motion import MotionPhotos
from processor.thumbnails.paths import ROOT, thumbnail_rel
from processor.thumbnails.settings import ThumbnailSettings

log = logging.getLogger(__name__)


class Thumbnailer:
    """``process(asset)`` for the stage engine: renders and writes every size of one asset."""

    def __init__(self, storage_dir: Path, cfg: ThumbnailSettings, motion: MotionPhotos | None = None):
        self.storage_dir = storage_dir
        self.cfg = cfg
        #: Motion photos' embedded videos, extracted after the thumbnails (processor/thumbnails/motion.py).
        self.motion = motion
        self.encoding = render.Encoding(cfg.thumbnail_format, cfg.thumbnail_quality)
        #: Where thumbnails are written before their rename (one folder: a cheap sweep).
        self.tmp_dir = storage_dir / ROOT / ".tmp"

    def sweep(self) -> int:
        """Remove what writers killed mid-write left (at start, before this worker writes)."""
        removed = sweep_temporaries(self.tmp_dir, self.cfg.thumbnail_claim_timeout_seconds)
        removed += self.motion.sweep() if self.motion is not None else 0
        if removed:
            log.info("removed %d temporary file(s) left by killed thumbnail workers", removed)
        return removed

    def images(self, asset: dict) -> dict:
        """The derived images of ``asset`` by size (largest first)."""
        src = self.storage_dir / asset["library_path"]
        if not src.is_file():
            # maybe an unmounted disk: retry with backoff, and say so
            raise ItemError("missing_original", f"original not found: {asset['library_path']}",
                            retryable=True)
        cfg, sizes = self.cfg, self.cfg.sizes
        timeout = cfg.thumbnail_tool_timeout_seconds
        if asset["media_type"] == "video":
            frame = video.poster(src, sizes[0], cfg.thumbnail_ffmpeg, timeout)
            return render.derive(frame, sizes, 1)
        if asset["media_type"] == "raw":
            preview, orient = raw.embedded_preview(src, cfg.thumbnail_exiftool, timeout)
            return render.render(preview, sizes, cfg.thumbnail_max_pixels, orient if orient > 1 else None,
                                 budget_bytes=cfg.decode_budget_bytes)
        return render.render(str(src), sizes, cfg.thumbnail_max_pixels, budget_bytes=cfg.decode_budget_bytes)

    def process(self, asset: dict) -> None:
        """Write every size of ``asset`` and extract a motion photo's video; raise
        :class:`ItemError` with a reason when it cannot. A still that fails for good (a bomb, a
        corrupt scan) still gives its embedded video, then fails with its own reason."""
        try:
            self.thumbnails(asset)
        except ItemError as exc:
            if self.motion is None or exc.retryable:
                raise
            with contextlib.suppress(ItemError):
                self.motion.process(asset)
            raise
        finally:
            render.release_memory()  # a worker's resident size returns to idle between items
        if self.motion is not None:
            self.motion.process(asset)

    def thumbnails(self, asset: dict) -> None:
        written = []
        for size, img in self.images(asset).items():
            rel = thumbnail_rel(asset["library_path"], size, self.cfg.extension)
            write_atomically(self.storage_dir / rel, render.encode(img, self.encoding), tmp_dir=self.tmp_dir)
            written.append(f"{size}:{img.width}x{img.height}")
        log.info("asset %s: thumbnails %s for %s", asset["id"], " ".join(written), asset["library_path"])
