"""Motion photos in the thumbnails stage: the video a phone embedded in a still is copied out,
byte for byte, to ``Derivatives/motion/<path under Library/>.mp4`` (temporary file, fsync, probe,
rename), gets a poster (``….mp4.jpg``, like a video thumbnail) and is linked in
``media_assets.motion_video``. The ``PF:MotionPhoto`` metadata entry says what was found: source,
range, the probe's codec/size/duration — or the problem (the photo promised a video it does not
hold). A problem is a fact about the photo, not a failure of the item: the photo keeps its
thumbnails and stays in the library. Tool timeouts are retried by the stage engine.

The original is only ever opened for reading.
"""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path, PurePosixPath
from typing import Protocol

from photo_factory import files, tools
from photo_factory.worker import ItemError
from processor.thumbnails import motion_find, render, video
from processor.thumbnails.settings import ThumbnailSettings

log = logging.getLogger(__name__)

ROOT = PurePosixPath("Derivatives/motion")
#: Reasons of a video that ffprobe/ffmpeg refuse (the file's fault: recorded, not retried).
_UNPLAYABLE = ("no_video_stream", "corrupt_file", "undecodable_video")


class Recorder(Protocol):
    def record_motion(self, asset_id: int, motion_video: str | None, entry: dict | None) -> None: ...


class Unplayable(Exception):
    pass


def motion_rel(library_path: str) -> PurePosixPath:
    """The motion video's path relative to PF_STORAGE_DIR for an asset's ``library_path``."""
    rel = PurePosixPath(library_path)
    if rel.is_absolute() or ".." in rel.parts:
        raise ValueError(f"library path must be relative and inside the storage: {library_path!r}")
    if rel.parts and rel.parts[0] == "Library":
        rel = PurePosixPath(*rel.parts[1:])
    return ROOT / f"{rel}.mp4"


def poster_rel(motion_video: str, ext: str = "jpg") -> PurePosixPath:
    return PurePosixPath(f"{motion_video}.{ext}")


class MotionPhotos:
    """``process(asset)``: find, extract, probe, poster and record one asset's embedded video."""

    def __init__(self, storage_dir: Path, cfg: ThumbnailSettings, recorder: Recorder):
        self.storage_dir = storage_dir
        self.cfg = cfg
        self.recorder = recorder
        self.encoding = render.Encoding(cfg.thumbnail_format, cfg.thumbnail_quality)
        self.tmp_dir = storage_dir / ROOT / ".tmp"

    def sweep(self) -> int:
        return files.sweep_temporaries(self.tmp_dir, self.cfg.thumbnail_claim_timeout_seconds)

    def process(self, asset: dict) -> None:
        if asset["media_type"] != "image":
            return
        src = self.storage_dir / asset["library_path"]
        try:
            found = motion_find.locate(src)
        except OSError as exc:
            raise ItemError("unreadable", f"cannot read {asset['library_path']}: {exc}", retryable=True) from None
        if found is None:
            if asset.get("motion_video") or "PF:MotionPhoto" in (asset.get("metadata") or {}):
                self._forget(asset, None)
            return
        if found.problem is not None:
            log.warning("asset %s: motion photo without its video (%s: %s)", asset["id"], found.problem, found.detail)
            self._forget(asset, found.entry())
            return
        rel = motion_rel(asset["library_path"])
        probe: dict = {}
        try:
            files.copy_range_atomically(src, found.offset, found.length, self.storage_dir / rel,
                                        tmp_dir=self.tmp_dir, check=lambda tmp: probe.update(self.probe(tmp)))
            self.poster(rel)
        except Unplayable as exc:
            log.warning("asset %s: the embedded video is not playable: %s", asset["id"], exc)
            self._forget(asset, {**found.entry(), "problem": "unplayable", "detail": str(exc)})
            return
        self.recorder.record_motion(asset["id"], str(rel), {**found.entry(), **probe})
        log.info("asset %s: motion video %s (%d bytes, %s)", asset["id"], rel, found.length, found.source)

    def probe(self, path: Path) -> dict:
        """ffprobe's word on the video: codec, size, duration; :class:`Unplayable` when it is none."""
        argv = ["ffprobe", "-v", "error", "-show_entries",
                "format=format_name,duration:stream=codec_type,codec_name,width,height",
                "-of", "json", tools.input_path(path, protocol=True)]
        argv[0] = self.cfg.thumbnail_ffprobe
        try:
            proc = tools.run(argv, timeout=self.cfg.thumbnail_tool_timeout_seconds, what="ffprobe")
        except tools.ToolError as exc:
            raise ItemError(exc.reason, exc.detail, retryable=True) from None
        if proc.returncode != 0:
            raise Unplayable(proc.stderr.decode(errors="replace").strip()[-300:] or f"ffprobe exit {proc.returncode}")
        try:
            info = json.loads(proc.stdout or b"{}")
        except ValueError:
            raise Unplayable("ffprobe gave no answer") from None
        fmt = info.get("format") or {}
        streams = [s for s in info.get("streams") or [] if s.get("codec_type") == "video"]
        if not streams or not any(k in str(fmt.get("format_name", "")) for k in ("mp4", "mov")):
            raise Unplayable(f"no MP4 video stream (format {fmt.get('format_name')!r})")
        out: dict = {"codec": streams[0].get("codec_name"), "width": streams[0].get("width"),
                     "height": streams[0].get("height")}
        with contextlib.suppress(KeyError, TypeError, ValueError):
            out["duration_s"] = round(float(fmt["duration"]), 3)
        return out

    def poster(self, rel: PurePosixPath) -> None:
        path = self.storage_dir / rel
        try:
            frame = video.poster(path, self.cfg.sizes[0], self.cfg.thumbnail_ffmpeg,
                                 self.cfg.thumbnail_tool_timeout_seconds)
        except ItemError as exc:
            if exc.reason_code in _UNPLAYABLE:
                path.unlink(missing_ok=True)
                raise Unplayable(f"{exc.reason_code}: {exc.message}") from None
            raise
        img = render.derive(frame, (self.cfg.sizes[0],), 1)[self.cfg.sizes[0]]
        files.write_atomically(self.storage_dir / poster_rel(str(rel), self.cfg.extension),
                               render.encode(img, self.encoding), tmp_dir=self.tmp_dir)

    def _forget(self, asset: dict, entry: dict | None) -> None:
        """No (playable) video: no derivative, no link; ``entry`` says why (None: not a motion photo)."""
        rel = motion_rel(asset["library_path"])
        for path in (self.storage_dir / rel, self.storage_dir / poster_rel(str(rel), self.cfg.extension)):
            path.unlink(missing_ok=True)
        self.recorder.record_motion(asset["id"], None, entry)
