"""``photo-factory stitch``: find panorama sets among new images and stitch them.

Each round (1) scans images not yet looked at and records candidate sets in ``panoramas``
(a folder at or below a ``pano…`` inbox folder, or a same-camera sequence seconds apart; sets
chosen by hand with ``--set`` or on the dashboard are 'manual'), then (2) claims one pending set,
checks that sequence shots really overlap, stitches it, crops it to the largest rectangle with
picture in it, writes the Photo Sphere XMP and the first shot's EXIF (:mod:`.photosphere`) and
stores ``Derivatives/panoramas/YYYY/YYYY-MM-DD/PANO_<first shot>_<id>.jpg``, registered as an image
asset (``metadata.derived_from_panorama``) so the thumbnailer, geocoder and backup treat it like
any image. ``--once`` waits for images still settling (saying so) unless ``--now`` is given.
A set that is not a panorama ends ``rejected``, one that will not stitch ends ``failed``, both
with a reason and never retried; unexpected errors retry with backoff up to a limit.
Sources are opened read-only. CPU is bounded: inputs are downscaled to
``PF_STITCH_MAX_INPUT_MEGAPIXELS``, OpenCV uses ``PF_STITCH_THREADS`` threads, and the process
runs at ``PF_STITCH_NICE`` so thumbnails keep up.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import subprocess
import sys
import threading
from functools import partial
from pathlib import Path

import click
from pydantic import Field, PositiveFloat

from photo_factory import commands, loop, settings
from photo_factory.files import write_atomically
from photo_factory.heartbeat import HeartbeatService
from processor.stitch import panorama, photosphere
from processor.stitch.store import Output, StitchStore

log = logging.getLogger(__name__)


class StitchSettings(settings.PFSettings):
    #: Longest pause between two shots of one sweep.
    stitch_max_gap_seconds: float = 10.0
    stitch_min_images: int = 2
    stitch_max_images: int = 12
    #: Every source is downscaled to at most this many megapixels before matching and stitching.
    stitch_max_input_megapixels: float = 2.0
    #: Images ingested less than this long ago wait (the rest of their sweep may still be syncing).
    stitch_settle_seconds: float = 120.0
    #: Images one detection round reads at most (a big import is scanned in rounds of this many).
    stitch_scan_batch: int = Field(10_000, ge=100)
    stitch_threads: int = 1
    stitch_nice: int = 10
    stitch_jpeg_quality: int = 90
    stitch_poll_seconds: PositiveFloat = 30.0
    stitch_max_attempts: int = 3
    stitch_claim_timeout_seconds: float = 1800.0
    #: Overlap check for sequences: matching features between neighbours, and the least pan.
    stitch_min_inliers: int = 25
    stitch_min_shift: float = 0.08
    #: Crop to the largest rectangle with picture in it unless that keeps less than this share
    #: of the picture (then the uncropped canvas, black wedges and all, is kept).
    stitch_crop_min_keep: float = Field(0.5, ge=0, le=1)
    #: ExifTool writes the Photo Sphere XMP and the source EXIF (shared with the librarian).
    exiftool_path: str = "exiftool"



def output_path(panorama_id: int, first: dict) -> str:
    """Where a set's panorama goes, relative to the storage dir."""
    day = first["capture_date"]
    stem = Path(first["original_name"]).stem
    return f"Derivatives/panoramas/{day:%Y}/{day:%Y-%m-%d}/PANO_{stem}_{panorama_id}.jpg"


class Stitcher:
    """One worker: ``work_once`` scans for sets, then stitches at most one."""

    def __init__(self, store: StitchStore, cfg: StitchSettings, storage_dir: Path,
                 heartbeat: HeartbeatService | None = None, *, wait_for_settling: bool = False,
                 stop: threading.Event | None = None):
        self.store, self.cfg, self.storage_dir, self.heartbeat = store, cfg, storage_dir, heartbeat
        self.wait_for_settling, self.stop = wait_for_settling, stop or threading.Event()
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self.outcomes: dict[str, int] = {"done": 0, "rejected": 0, "failed": 0, "retried": 0}

    def work_once(self) -> bool:
        """Scan, stitch at most one set; True when there may be more to do now.

        With ``wait_for_settling`` (``--once``), images still inside the settle time are waited
        for (and said so) instead of being left behind when the run ends.
        """
        detect = partial(panorama.detect, max_gap_s=self.cfg.stitch_max_gap_seconds,
                         min_images=self.cfg.stitch_min_images, max_images=self.cfg.stitch_max_images)
        created = self.store.scan(detect, self.cfg.stitch_settle_seconds, limit=self.cfg.stitch_scan_batch,
                                  max_gap_s=self.cfg.stitch_max_gap_seconds) or 0
        job = self.store.claim(self.worker, self.cfg.stitch_claim_timeout_seconds)
        if job is not None:
            self.process(job)
        o = self.outcomes
        message = f"panoramas: {o['done']} stitched, {o['rejected']} rejected, {o['failed']} failed"
        if job is None and created == 0 and self.wait_for_settling:
            waiting, wait_s = self.store.settling(self.cfg.stitch_settle_seconds)
            if waiting:
                log.info("waiting %.0fs for %d image(s) still settling (PF_STITCH_SETTLE_SECONDS=%g; "
                         "--now stitches without waiting)", wait_s, waiting, self.cfg.stitch_settle_seconds)
                if self.heartbeat is not None:
                    self.heartbeat.set("ok", f"{message}; waiting for {waiting} image(s) to settle", **o)
                self.stop.wait(min(wait_s, 60.0) + 0.2)
                return not self.stop.is_set()
        if self.heartbeat is not None:
            self.heartbeat.set("ok", message, **o)
        return job is not None or created > 0 or self.store.more

    def process(self, job: dict) -> None:
        """Stitch one claimed set and record the outcome (never raises for a bad set)."""
        pid = job["id"]
        if job["attempts"] > self.cfg.stitch_max_attempts:
            self._unstitched(pid, "failed", "stitch_error", "worker lost too many times")
            return
        sources = self.store.sources(pid)
        try:
            images = [panorama.load_image(self.storage_dir / s["library_path"],
                                          self.cfg.stitch_max_input_megapixels) for s in sources]
            if job["detection"] == "sequence":
                try:
                    panorama.check_overlap(images, min_inliers=self.cfg.stitch_min_inliers,
                                           min_shift=self.cfg.stitch_min_shift)
                except panorama.StitchError as exc:
                    self._unstitched(pid, "rejected", exc.reason, exc.detail)
                    return
            result = panorama.stitch(images, crop_min_keep=self.cfg.stitch_crop_min_keep)
            data = self._tagged(pid, panorama.encode_jpeg(result.image, self.cfg.stitch_jpeg_quality),
                                result, sources)
            rel = output_path(pid, sources[0])
            write_atomically(self.storage_dir / rel, data, durable=True)
        except panorama.StitchError as exc:
            self._unstitched(pid, "failed", exc.reason, exc.detail)
            return
        except Exception as exc:  # disk full, out of memory, …: retry with backoff, then fail
            self._retry_or_fail(job, exc)
            return
        height, width = result.image.shape[:2]
        out = Output(pid, rel, hashlib.sha256(data).hexdigest(), len(data), width, height)
        details = {"projection": result.projection, "cropped": result.cropped,
                   "canvas": [result.canvas_width, result.canvas_height]}
        asset_id = self.store.finish_done(out, sources[0], [s["id"] for s in sources], details)
        self.outcomes["done"] += 1
        log.info("panorama %s: stitched %d shots into %s (%dx%d%s, %s), asset %s",
                 pid, len(sources), rel, out.width, out.height,
                 f" cropped from {result.canvas_width}x{result.canvas_height}" if result.cropped else " uncropped",
                 result.projection or "flat", asset_id)

    def _tagged(self, pid: int, jpeg: bytes, result: panorama.Stitched, sources: list[dict]) -> bytes:
        """The JPEG with Photo Sphere XMP and source EXIF; untagged (with a warning) if ExifTool fails."""
        try:
            return photosphere.tag(jpeg, result, self.storage_dir / sources[0]["library_path"], len(sources),
                                   exiftool=self.cfg.exiftool_path)
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("panorama %s: metadata not written (%s); the panorama is kept without it", pid, exc)
            return jpeg

    def _unstitched(self, pid: int, status: str, reason: str, detail: str) -> None:
        self.store.finish_unstitched(pid, status, reason, detail)
        self.outcomes[status] += 1
        log.info("panorama %s: %s (%s) %s", pid, status, reason, detail)

    def _retry_or_fail(self, job: dict, exc: Exception) -> None:
        detail = f"{type(exc).__name__}: {exc}"
        if job["attempts"] >= self.cfg.stitch_max_attempts:
            reason = "write_failed" if isinstance(exc, OSError) else "stitch_error"
            self._unstitched(job["id"], "failed", reason, detail)
            return
        delay = 60.0 * 2 ** (job["attempts"] - 1)
        log.warning("panorama %s: %s; retrying in %.0fs", job["id"], detail, delay)
        self.store.retry_later(job["id"], detail, delay)
        self.outcomes["retried"] += 1


def _bound_cpu(cfg: StitchSettings) -> None:
    import cv2

    cv2.setNumThreads(max(1, cfg.stitch_threads))
    if cfg.stitch_nice > 0:
        try:
            os.nice(cfg.stitch_nice)
        except OSError:  # not permitted: run at normal priority
            log.info("cannot lower the stitch process priority")


def chosen_paths(paths: tuple[str, ...], storage_dir: Path) -> list[str]:
    """Storage-relative paths (folders end in ``/``) for ``--set`` arguments.

    An argument is a file or folder under the storage dir (absolute, or relative to the current
    directory), or a path relative to the storage dir (``Library/2024/2024-07-14/IMG_1.jpg``).
    """
    root = storage_dir.resolve()
    out = []
    for raw in paths:
        p = Path(raw)
        candidates = [p if p.is_absolute() else Path.cwd() / p, root / p]
        found = next((c.resolve() for c in candidates if c.exists() and c.resolve().is_relative_to(root)), None)
        if found is None:
            raise click.BadParameter(f"{raw}: not a file or folder in the storage dir ({root})")
        rel = found.relative_to(root).as_posix()
        out.append(rel + "/" if found.is_dir() else rel)
    return out


def record_chosen_set(store: StitchStore, paths: tuple[str, ...], storage_dir: Path) -> dict:
    """Record the library files at ``paths`` as one manual set; exit 2 when they are no set."""
    rel = chosen_paths(paths, storage_dir)
    assets = store.assets_for(rel)
    found = {a["library_path"] for a in assets}
    missing = [p for p in rel if not p.endswith("/") and p not in found]
    if missing:
        raise click.BadParameter(f"not image assets in the catalogue: {', '.join(missing)}")
    if len(assets) < 2:
        raise click.BadParameter(f"a panorama needs at least 2 images, {len(assets)} chosen")
    row = store.record_manual([a["id"] for a in assets])
    click.echo(f"panorama {row['id']}: {len(assets)} images, "
               f"{'to be stitched' if row['status'] == 'pending' else row['status']}")
    return row


@click.command()
@click.option("--once", is_flag=True, help="Stitch every pending set (waiting for images still settling), then exit.")
@click.option("--now", is_flag=True, help="With --once: do not wait for images to settle.")
@click.option("--set", "chosen", is_flag=True,
              help="Stitch the library files (or folders) given as PATHS as one panorama, then exit.")
@click.argument("paths", nargs=-1)
def command(once: bool, now: bool, chosen: bool, paths: tuple[str, ...]) -> None:
    """Find panorama sequences and stitch them into Derivatives/panoramas/.

    \b
    photo-factory stitch --once          stitch what is pending, waiting for fresh images to settle
    photo-factory stitch --set A B C     stitch chosen library files after the fact
    """
    if paths and not chosen:
        raise click.UsageError("PATHS are only taken with --set")
    if chosen and not paths:
        raise click.UsageError("--set needs the library files (or a folder) to stitch")
    core = commands.core_settings()
    cfg = commands.load_settings(StitchSettings)
    if now:
        cfg = cfg.model_copy(update={"stitch_settle_seconds": 0.0})
    once = once or chosen

    def body() -> None:
        _bound_cpu(cfg)
        stopper = loop.Stopper()
        stopper.install_signal_handlers()
        store = StitchStore(core.database_url)
        if chosen:
            try:
                record_chosen_set(store, paths, core.storage_dir)
            except click.BadParameter as exc:
                store.close()
                click.echo(f"photo-factory stitch: {exc.message}", err=True)
                sys.exit(2)
        heartbeat = HeartbeatService(core.database_url, "stitch", core.heartbeat_seconds,
                                     stuck_after=max(core.stuck_seconds, cfg.stitch_claim_timeout_seconds)).start()
        worker = Stitcher(store, cfg, core.storage_dir, heartbeat, wait_for_settling=once and not chosen,
                          stop=stopper.stop)
        try:
            loop.run(worker.work_once, stopper=stopper, heartbeat=heartbeat,
                     idle_seconds=cfg.stitch_poll_seconds, once=once,
                     db_wait_seconds=core.db_wait_seconds)
        finally:
            heartbeat.stop()
            store.close()

    commands.run_service("stitch", body)
