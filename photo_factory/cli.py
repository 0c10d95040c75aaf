"""``photo-factory``: one command-line tool, a sub-command per service.

Sub-commands are imported lazily (``COMMANDS`` maps a name to ``module:attribute``) so that
``photo-factory migrate`` does not import the imaging or dashboard stacks.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import sys

import click

from photo_factory import __version__, early_stop

#: name -> "module:click_command". Each service adds its own line.
COMMANDS: dict[str, str] = {
    "migrate": "photo_factory.commands:migrate",
    "backup": "processor.backup.service:command",
    "restore": "processor.backup.restore:restore_command",
    "healthcheck": "photo_factory.health:command",
    "librarian": "librarian.service:command",
    "monitor": "service_monitor.service:command",
    "cleanup": "service_monitor.service:cleanup_command",
    "dashboard": "dashboard.cli:command",
    "status": "dashboard.status:status_command",
    "stitch": "processor.stitch.service:command",
    "geocode": "processor.geocode.service:command",
    "thumbnails": "processor.thumbnails.service:command",
    "assets": "photo_factory.assets:assets_command",
    "acknowledge": "photo_factory.operator_cli:acknowledge",
    "maintenance": "photo_factory.operator_cli:maintenance",
}


#: name -> "module:function" called before the sub-command's module is imported, when it is about
#: to run (not for --help): a child process started there does its own start-up on the other core
#: while Python imports the service (the librarian's ExifTool: librarian/early.py). Such a service
#: installs its signal handlers right after its imports, so a stop signal meanwhile is kept for
#: them (photo_factory/early_stop.py).
PRELUDES: dict[str, str] = {
    "librarian": "librarian.early:prestart_from_env",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def resolve_command(self, ctx: click.Context,
                        args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        prelude = PRELUDES.get(args[0]) if args else None
        if prelude and not {"--help", "-h"} & set(args[1:]):
            early_stop.defer()  # a stop during the imports ahead stops the service cleanly
            module, attr = prelude.split(":")
            # only ever a head start: the command does everything itself anyway
            with contextlib.suppress(Exception):
                getattr(importlib.import_module(module), attr)()
        return super().resolve_command(ctx, args)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)


def configure_logging(level: str = "INFO") -> None:
    """Log to stdout (for ``docker compose logs``), once, for the whole process."""
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stdout,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        force=True,
    )
    for noisy in ("watchdog", "urllib3", "PIL", "exiftool"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="photo-factory")
def main() -> None:
    """Photo Factory: a self-hosted photo and video pipeline.

    Configuration comes from the environment (PF_DATABASE_URL, PF_INBOX_DIR, PF_STORAGE_DIR, …);
    see the README for every variable. Without PF_DATABASE_URL, the settings `make run` wrote to
    var/photo-factory.env (or $PF_ENV_FILE) are used.
    """
    from photo_factory import runenv

    runenv.load_if_unset()


if __name__ == "__main__":  # pragma: no cover
    main()
