"""``photo-factory restore``: the database and the library back from the backup remote, verified.

Order: refuse a non-empty target (unless ``--force``); restore the latest (or ``--dump``) database
dump into the target database and bring its schema up to date; copy the selected originals from
``<remote>/Library`` into ``<storage>/Library`` with one rclone call; register again every original
on the remote that the dump does not know (backed up after the dump: nothing backed up is lost);
then hash every restored file and compare it with the database. Exit status: 0 all verified,
1 a file is missing or differs, 2 refused or misconfigured, 3 the remote or the dump failed.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import click

from photo_factory import files, migrate
from photo_factory.commands import core_settings, load_settings
from processor.backup import dumps, rclone
from processor.backup.registration import register_originals
from processor.backup.selection import Selection
from processor.backup.settings import BackupSettings
from processor.backup.store import RestoreStore

log = logging.getLogger(__name__)


class Refused(Exception):
    """The target is not empty (or not usable) and ``--force`` was not given."""


@dataclass
class Summary:
    dump_name: str | None = None
    copied: int = 0
    verified: int = 0
    registered: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # backed up, but not restored
    never_backed_up: list[str] = field(default_factory=list)  # in the dump, never uploaded
    copy_error: str | None = None

    @property
    def ok(self) -> bool:
        return not self.mismatched and not self.missing and self.copy_error is None

    def lines(self) -> list[str]:
        out = [
            f"dump restored:        {self.dump_name or '(none: files only)'}",
            f"files copied:         {self.copied}",
            f"re-registered:        {len(self.registered)} (on the remote, newer than the dump)",
            f"SHA-256 verified:     {self.verified}",
            f"SHA-256 mismatches:   {len(self.mismatched)}",
            f"missing:              {len(self.missing)}",
        ]
        if self.copy_error:
            out.append(f"copy errors:          {self.copy_error}")
        out += [f"  MISMATCH {p}" for p in self.mismatched]
        out += [f"  MISSING  {p}" for p in self.missing]
        if self.never_backed_up:
            out.append(f"not in the backup:    {len(self.never_backed_up)} (rows never marked backed up)")
            out += [f"  NOT BACKED UP {p}" for p in self.never_backed_up]
        out.append("result:               " + ("OK, every restored file matches the database" if self.ok else "FAILED"))
        return out


@dataclass(frozen=True)
class Target:
    storage_dir: Path
    database_url: str
    restore_database: bool = True
    force: bool = False


def restore(tool: rclone.Rclone, remote: str, target: Target, selection: Selection, dump: str | None = None) -> Summary:
    """Restore into ``target``; raise :class:`Refused`, ``RcloneError`` or ``DumpError``."""
    summary = Summary()
    store = RestoreStore(target.database_url)
    try:
        check_target(store, target, selection)
        if target.restore_database:
            # a schema without assets (e.g. after `photo-factory migrate`) is replaced by the dump's
            clean = target.force or store.has_tables()
            summary.dump_name = restore_database(tool, remote, target.database_url, dump, clean=clean)
        on_remote = [p for p in _remote_library(tool, remote) if selection.matches(p)]
        if on_remote:
            try:  # keep going: verification names every file that did not come back
                # never overwrite a file already in the target unless told to (--force)
                tool.copy_files(
                    remote, rclone.local_root(target.storage_dir), on_remote, ignore_existing=not target.force
                )
            except rclone.RcloneError as exc:
                log.error("copy from the remote failed: %s", exc)
                summary.copy_error = f"{exc.reason}: {exc.detail}"
        summary.copied = len(on_remote)
        known = store.library_paths()
        summary.registered = register_originals(
            target.database_url, target.storage_dir, [p for p in on_remote if p not in known]
        )
        verify(store, target.storage_dir, selection, set(on_remote), summary)
    finally:
        store.close()
    return summary


def check_target(store: RestoreStore, target: Target, selection: Selection) -> None:
    if target.restore_database and store.has_tables() and store.count_assets() and not target.force:
        raise Refused("the target database already holds assets (use an empty database, or --force)")
    library = target.storage_dir / "Library"
    if selection.everything and library.is_dir() and any(library.rglob("*")) and not target.force:
        raise Refused(f"{library} is not empty (restore into an empty folder, or --force)")
    if not target.restore_database and not store.has_tables():
        raise Refused("--files-only needs a database that holds the assets")


def restore_database(
    tool: rclone.Rclone, remote: str, database_url: str, dump: str | None, *, clean: bool = False
) -> str:
    """Download the named (or latest) dump and pg_restore it; then apply newer migrations."""
    remote_dir = rclone.join(remote, dumps.REMOTE_DIR)
    names = tool.list_files(remote_dir, recursive=False)
    name = dump or dumps.latest(names)
    if name is None or name not in names:
        raise dumps.DumpError("dump_not_found", f"{dump or 'no database dump'} on {remote_dir}")
    with tempfile.TemporaryDirectory(prefix="pf-restore-") as tmp:
        local = Path(tmp) / name
        tool.copyto(rclone.join(remote_dir, name), str(local))
        dumps.pg_restore(local, database_url, clean=clean)
    migrate.apply(database_url)
    log.info("database restored from %s", name)
    return name


def _remote_library(tool: rclone.Rclone, remote: str) -> list[str]:
    return ["Library/" + p for p in tool.list_files(rclone.join(remote, "Library"))]


def verify(store: RestoreStore, storage_dir: Path, selection: Selection, restored: set[str], summary: Summary) -> None:
    """Hash every selected file and compare with the database; fill the summary's lists."""
    backed_up = store.backed_up_assets()
    for a in store.select_assets(selection.path, selection.since, selection.until):
        path = storage_dir / a.library_path
        if not path.is_file():
            if a.library_path in backed_up or a.library_path in restored:
                summary.missing.append(a.library_path)
            else:
                summary.never_backed_up.append(a.library_path)
        elif files.sha256_file(path)[0] != a.sha256:
            log.error("asset %s: restored %s does not match its SHA-256", a.id, a.library_path)
            summary.mismatched.append(a.library_path)
        else:
            summary.verified += 1
            if a.library_path not in backed_up:
                store.mark_path_backed_up(a.library_path, a.sha256)


def _echo_summary(summary: Summary) -> None:
    for line in summary.lines():
        click.echo(line)


@click.command()
@click.option("--storage-dir", type=click.Path(path_type=Path), help="Folder to restore into (gets Library/).")
@click.option("--database-url", help="Empty database to restore the dump into (libpq URL).")
@click.option("--dump", "dump_name", help="Dump to restore (default: the latest). See --list-dumps.")
@click.option("--file", "one_file", help="Restore one file: its library path, Library/YYYY/YYYY-MM-DD/NAME.")
@click.option("--day", type=click.DateTime(["%Y-%m-%d"]), help="Restore one capture day.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="First capture day to restore.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Last capture day to restore.")
@click.option("--files-only", is_flag=True, help="Keep the database as it is; restore files only.")
@click.option("--force", is_flag=True, help="Overwrite a non-empty target (files and database).")
@click.option("--remote", help="Backup remote (default PF_BACKUP_REMOTE).")
@click.option("--list-dumps", is_flag=True, help="List the database dumps on the remote and exit.")
@click.option(
    "--drill",
    is_flag=True,
    help="Restore into scratch targets, compare with the live database, record the result, clean up.",
)
def restore_command(
    storage_dir: Path | None,
    database_url: str | None,
    dump_name: str | None,
    one_file: str | None,
    day,
    since,
    until,
    files_only: bool,
    force: bool,
    remote: str | None,
    list_dumps: bool,
    drill: bool,
) -> None:
    """Restore the database and the library from the backup remote, then verify every file."""
    core = core_settings()
    cfg = load_settings(BackupSettings)
    remote = remote or cfg.backup_remote
    if not remote:
        raise click.UsageError("no backup remote: set PF_BACKUP_REMOTE or pass --remote")
    tool = rclone.Rclone(cfg.backup_rclone_binary, cfg.rclone_flags)
    if list_dumps:
        for name in sorted(tool.list_files(rclone.join(remote, dumps.REMOTE_DIR), recursive=False)):
            click.echo(name)
        return
    sel = _selection(one_file, day, since, until)
    if drill:
        from processor.backup.drill import run_drill

        sys.exit(run_drill(tool, remote, core.database_url, sel, dump_name, click.echo))
    if storage_dir is None or (database_url is None and not files_only):
        raise click.UsageError("--storage-dir and --database-url are required (or --drill)")
    target = Target(storage_dir, database_url or core.database_url, not files_only, force)
    sys.exit(run_restore(tool, remote, target, sel, dump_name))


def run_restore(tool: rclone.Rclone, remote: str, target: Target, sel: Selection, dump_name: str | None) -> int:
    target.storage_dir.mkdir(parents=True, exist_ok=True)
    click.echo(f"restoring {sel.describe()} from {remote} into {target.storage_dir}")
    try:
        summary = restore(tool, remote, target, sel, dump_name)
    except Refused as exc:
        click.echo(f"photo-factory restore: refused: {exc}", err=True)
        return 2
    except (rclone.RcloneError, dumps.DumpError) as exc:
        click.echo(f"photo-factory restore: failed ({exc.reason}): {exc.detail}", err=True)
        return 3
    _echo_summary(summary)
    return 0 if summary.ok else 1


def _selection(one_file: str | None, day, since, until) -> Selection:
    if day is not None:
        since = until = day
    return Selection(one_file, since.date() if since else None, until.date() if until else None)
