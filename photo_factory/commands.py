"""Core sub-commands and the helpers every service command uses."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import TypeVar

import click

from photo_factory import db, settings
from photo_factory import migrate as migrations
from photo_factory.cli import configure_logging
from photo_factory.loop import DatabaseGone

log = logging.getLogger(__name__)
T = TypeVar("T", bound=settings.PFSettings)


def load_settings(cls: type[T]) -> T:
    """Load a settings class or exit 2 with the message naming the bad variable."""
    try:
        return settings.load(cls)
    except settings.SettingsError as exc:
        click.echo(f"photo-factory: {exc}", err=True)
        sys.exit(2)


def core_settings() -> settings.CoreSettings:
    core = load_settings(settings.CoreSettings)
    configure_logging(core.log_level)
    return core


def run_service(name: str, body: Callable[[], None]) -> None:
    """Run a service body, turning "the service cannot run" into a clear message and exit 1."""
    try:
        body()
    except DatabaseGone as exc:
        log.error("%s: giving up: %s", name, exc)
        sys.exit(1)
    except db.UNAVAILABLE as exc:
        log.error("%s: cannot reach the database: %s", name, str(exc).strip())
        sys.exit(1)
    except PermissionError as exc:  # a folder it must use: another owner (PUID/PGID), read-only
        log.error("%s: cannot run: %s (run it as the user that owns the storage: PUID/PGID)", name, exc)
        sys.exit(1)


@click.command()
@click.option("--wait", "wait_s", type=float, default=None,
              help="Seconds to wait for the database to accept connections (default PF_DB_WAIT_SECONDS).")
def migrate(wait_s: float | None) -> None:
    """Apply pending database migrations (safe to run from several containers at once)."""
    core = core_settings()

    def body() -> None:
        db.wait_for(core.database_url, "migrate", wait_s if wait_s is not None else core.db_wait_seconds).close()
        if migrations.pending(core.database_url):  # an upgrade: no alerts while the schema changes
            from photo_factory.operator import maintenance_during

            with maintenance_during(core.database_url, "upgrade: applying migrations", 1800, "migrate"):
                applied = migrations.apply(core.database_url)
        else:
            applied = []
        if applied:
            for m in applied:
                click.echo(f"applied {m.version:04d}_{m.name}")
        else:
            click.echo("database schema is up to date")

    run_service("migrate", body)
