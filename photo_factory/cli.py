"""``photo-factory``: one command-line tool, a sub-command per service.

Sub-commands are imported lazily (``COMMANDS`` maps a name to ``module:attribute``) so that
``photo-factory migrate`` does not import the imaging or dashboard stacks.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import logging
import os
import sys
import threading
from typing import Any

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


_exit_at_once = False


def exit_without_teardown() -> None:
    """Called by a sub-command whose run is over (``librarian --once``): when it ends with exit
    status 0 and this process is the ``photo-factory`` program itself, the interpreter's
    teardown is skipped — freeing every module and object (pydantic's most of all) took ~0.1 s,
    as long as filing a dozen photos. Exit handlers still run (logging's flush) and the standard
    streams are flushed; nothing else is left to do by then (the sub-command closed its
    connections and tools). Not when a thread other than the main one still runs, nor when the
    command is invoked from inside another program (a test runner): then the usual exit."""
    global _exit_at_once
    _exit_at_once = True


def _the_program() -> bool:
    """This process runs ``photo-factory`` itself (its console script, ``python -m photo_factory.cli``)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return os.path.basename(sys.argv[0]) == "photo-factory" or getattr(spec, "name", None) == "photo_factory.cli"


def _exit_now() -> None:
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        return
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)


class LazyGroup(click.Group):
    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, **kwargs)
        except SystemExit as exc:
            if _exit_at_once and exc.code in (0, None) and kwargs.get("standalone_mode", True) and _the_program():
                _exit_now()
            raise

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
        # pydantic looks for plugins in every installed distribution's entry points when it
        # builds the first settings class (~20-40 ms of every start); the project uses none.
        # Set PYDANTIC_DISABLE_PLUGINS yourself (e.g. empty) to load yours.
        os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
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
