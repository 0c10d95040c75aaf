"""``photo-factory stitch``: find panorama sets among new images and stitch them.

Each round (1) scans images not yet looked at and records candidate sets in ``panoramas``
(a ``pano…`` inbox folder, or a same-camera sequence seconds apart), then (2) claims one pending
set, checks that sequence shots really overlap, stitches it and writes
``Derivatives/panoramas/YYYY/YYYY-MM-DD/PANO_<first shot>_<id>.jpg``, registered as an image asset
(``metadata.derived_from_panorama``) so the thumbnailer, geocoder and backup treat it like any image.
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
from functools import partial
from pathlib import Path

import click

from photo_factory import commands, loop, settings
from photo_factory.files import write_atomically
from photo_factory.heartbeat import HeartbeatService
from processor.stitch import panorama
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
    stitch_threads: int = 1
    stitch_nice: int = 10
    stitch_jpeg_quality: int = 90
    stitch_poll_seconds: float = 30.0
    stitch_max_attempts: int = 3
    stitch_claim_timeout_seconds: float = 1800.0
    #: Overlap check for sequences: matching features between neighbours, and the least pan.
    stitch_min_inliers: int = 25
    stitch_min_shift: float = 0.08




def output_path(panorama_id: int, first: dict) -> str:
    """Where a set's panorama goes, relative to the storage dir."""
    day = first["capture_date"]
    stem = Path(first["original_name"]).stem
    return f"Derivatives/panoramas/{day:%Y}/{day:%Y-%m-%d}/PANO_{stem}_{panorama_id}.jpg"


class Stitcher:
    """One worker: ``work_once`` scans for sets, then stitches at most one."""

    def __init__(self, store: StitchStore, cfg: StitchSettings, storage_dir: Path,
                 heartbeat: HeartbeatService | None = None):
        self.store, self.cfg, self.storage_dir, self.heartbeat = store, cfg, storage_dir, heartbeat
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self.outcomes: dict[str, int] = {"done": 0, "rejected": 0, "failed": 0, "retried": 0}

    def work_once(self) -> bool:
        detect = partial(panorama.detect, max_gap_s=self.cfg.stitch_max_gap_seconds,
                         min_images=self.cfg.stitch_min_images, max_images=self.cfg.stitch_max_images)
        created = self.store.scan(detect, self.cfg.stitch_settle_seconds) or 0
        job = self.store.claim(self.worker, self.cfg.stitch_claim_timeout_seconds)
        if job is not None:
            self.process(job)
        if self.heartbeat is not None:
            o = self.outcomes
            self.heartbeat.set("ok", f"panoramas: {o['done']} stitched, {o['rejected']} rejected, "
                                     f"{o['failed']} failed", **o)
        return job is not None or created > 0

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
            pano = panorama.stitch(images)
            data = panorama.encode_jpeg(pano, self.cfg.stitch_jpeg_quality)
            rel = output_path(pid, sources[0])
            write_atomically(self.storage_dir / rel, data, durable=True)
        except panorama.StitchError as exc:
            self._unstitched(pid, "failed", exc.reason, exc.detail)
            return
        except Exception as exc:  # disk full, out of memory, …: retry with backoff, then fail
            self._retry_or_fail(job, exc)
            return
        out = Output(pid, rel, hashlib.sha256(data).hexdigest(), len(data), pano.shape[1], pano.shape[0])
        asset_id = self.store.finish_done(out, sources[0], [s["id"] for s in sources])
        self.outcomes["done"] += 1
        log.info("panorama %s: stitched %d shots into %s (%dx%d), asset %s",
                 pid, len(sources), rel, out.width, out.height, asset_id)

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


@click.command()
@click.option("--once", is_flag=True, help="Stitch every pending set, then exit.")
def command(once: bool) -> None:
    """Find panorama sequences and stitch them into Derivatives/panoramas/."""
    core = commands.core_settings()
    cfg = commands.load_settings(StitchSettings)

    def body() -> None:
        _bound_cpu(cfg)
        stopper = loop.Stopper()
        stopper.install_signal_handlers()
        heartbeat = HeartbeatService(core.database_url, "stitch", core.heartbeat_seconds,
                                     stuck_after=max(core.stuck_seconds, cfg.stitch_claim_timeout_seconds)).start()
        store = StitchStore(core.database_url)
        worker = Stitcher(store, cfg, core.storage_dir, heartbeat)
        try:
            loop.run(worker.work_once, stopper=stopper, heartbeat=heartbeat,
                     idle_seconds=cfg.stitch_poll_seconds, once=once,
                     db_wait_seconds=core.db_wait_seconds)
        finally:
            heartbeat.stop()
            store.close()

    commands.run_service("stitch", body)
