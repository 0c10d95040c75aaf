"""``photo-factory thumbnails``: the thumbnail and video-poster stage worker.

Claims assets ``WHERE is_thumbnailed = FALSE`` through the stage engine (photo_factory.worker) and
writes ``Derivatives/thumbnails/<size>/<library path>.<jpg|webp>`` for every configured size.
Run as many replicas as you like against one Postgres and one storage mount.
"""

from __future__ import annotations

import logging

import click

from photo_factory.commands import core_settings, load_settings, run_service
from photo_factory.worker import Stage, run_stage
from processor.thumbnails import render
from processor.thumbnails.motion import MotionPhotos
from processor.thumbnails.settings import ThumbnailSettings
from processor.thumbnails.store import ThumbnailStore
from processor.thumbnails.thumbnails import Thumbnailer

log = logging.getLogger(__name__)


def stage(cfg: ThumbnailSettings) -> Stage:
    """The thumbnails stage as configured."""
    return Stage(name="thumbnails", flag="is_thumbnailed", batch_size=cfg.thumbnail_batch_size,
                 max_attempts=cfg.thumbnail_max_attempts, backoff_base_s=cfg.thumbnail_backoff_seconds,
                 claim_timeout_s=cfg.thumbnail_claim_timeout_seconds, lease_s=cfg.thumbnail_lease_seconds,
                 poll_s=cfg.thumbnail_poll_seconds,
                 # thumbnails, posters and motion videos are fsynced before the completion commits
                 commit_wait=False)


@click.command()
@click.option("--once", is_flag=True, help="Process everything pending (not backing off), then exit 0.")
@click.option("--retry-failed", is_flag=True, help="Put every failed item back in the queue, then exit.")
@click.option("--show-failed", is_flag=True, help="List failed items with their reasons, then exit.")
@click.option("--rebuild", is_flag=True, help="Queue every asset again (after changing sizes), then exit.")
def command(once: bool, retry_failed: bool, show_failed: bool, rebuild: bool) -> None:
    """Make thumbnails and video posters for new assets."""
    core = core_settings()
    cfg = load_settings(ThumbnailSettings)
    the_stage = stage(cfg)

    def body() -> None:
        if retry_failed or show_failed or rebuild:
            store = ThumbnailStore(core.database_url, the_stage)
            try:
                if show_failed:
                    for row in store.failed():
                        click.echo(f"{row['asset_id']}\t{row['reason_code']}\t{row['library_path']}\t"
                                   f"{row['last_error']}")
                if retry_failed:
                    click.echo(f"{store.retry_failed()} failed item(s) queued again")
                if rebuild:
                    click.echo(f"{store.request_rebuild()} asset(s) queued for new thumbnails")
            finally:
                store.close()
            return
        recorder = ThumbnailStore(core.database_url, the_stage)
        motion = MotionPhotos(core.storage_dir, cfg, recorder) if cfg.thumbnail_motion_photos else None
        thumbnailer = Thumbnailer(core.storage_dir, cfg, motion)
        thumbnailer.sweep()
        render.configure_threads(cfg.resize_threads)
        run_stage(the_stage, core.database_url, process=thumbnailer.process,
                  once=once, heartbeat_seconds=core.heartbeat_seconds, db_wait_seconds=core.db_wait_seconds,
                  stuck_seconds=core.stuck_seconds, on_idle=render.release_all)

    run_service("thumbnails", body)
