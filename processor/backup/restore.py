"""``photo-factory restore``: the database and the library back from the backup remote, verified.

First every check (:mod:`processor.backup.preflight`), touching nothing: target database and folder,
remote and password, the dump, free space. Then: load the dump into the target database in one
transaction (the whole schema replaced, all or nothing) and bring its schema up to date; close the
restored catalogue's stale state (runs and drills still "running", open incidents, heartbeats and
claims of dead processes); copy everything the backup holds — originals, panoramas, sidecars, any
other uploaded file, never ``db/`` or ``Attic/`` — with one rclone call; register again every
original on the remote that the dump does not know (backed up after the dump: nothing backed up is
lost); hash every restored file and compare it with the database; mark quarantine rows whose file
is gone and queue thumbnails whose files are missing.

Exit status: 0 all restored and verified; 1 the restore ran but a file is missing or differs, or a
step after the database load failed (the summary says which; ``--files-only`` finishes it);
2 wrong usage; 3 a check failed, or the remote or the dump did: nothing was changed.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import click
import psycopg2

from photo_factory import files, migrate
from photo_factory.commands import core_settings, load_settings
from photo_factory.operator import maintenance_during
from processor.backup import dumps, preflight, rclone
from processor.backup.preflight import Failed, Plan, Target
from processor.backup.registration import register_originals
from processor.backup.selection import Selection
from processor.backup.settings import BackupSettings
from processor.backup.store import RestoreStore

log = logging.getLogger(__name__)

#: Kept for callers of the old name: a refusal is one kind of failed check.
Refused = Failed


class Incomplete(Exception):
    """A step after the database load failed: the restore is partial (the summary says what)."""

    def __init__(self, summary: Summary, detail: str):
        super().__init__(detail)
        self.summary = summary
        self.detail = detail


@dataclass
class Summary:
    dump_name: str | None = None
    copied: int = 0
    verified: int = 0
    sidecars_verified: int = 0  # of ``verified``: sidecars (XMP, AAE, THM, Takeout JSON)
    registered: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # backed up, but not restored
    never_backed_up: list[str] = field(default_factory=list)  # in the dump, never uploaded
    copy_error: str | None = None
    closed: dict[str, int] = field(default_factory=dict)  # stale state closed, by kind
    quarantine_missing: int = 0
    thumbnails_queued: int = 0
    warnings: list[str] = field(default_factory=list)
    #: one photo restored alone (``--file``): what came back with it (sidecars, motion video, poster)
    companions: list[str] = field(default_factory=list)
    #: ... and its motion video, not in the backup, queued for the thumbnails stage to extract again
    motion_queued: str | None = None

    @property
    def ok(self) -> bool:
        return not self.mismatched and not self.missing and self.copy_error is None

    def lines(self) -> list[str]:
        out = [f"warning: {w}" for w in self.warnings]
        out += [
            f"dump restored:        {self.dump_name or '(none: files only)'}",
            f"files copied:         {self.copied}",
            f"re-registered:        {len(self.registered)} (on the remote, newer than the dump)",
            f"SHA-256 verified:     {self.verified} ({self.sidecars_verified} of them sidecars)",
            f"SHA-256 mismatches:   {len(self.mismatched)}",
            f"missing:              {len(self.missing)}",
        ]
        closed = ", ".join(f"{n} {label}" for label, n in self.closed.items() if n)
        if closed:
            out.append(f"stale state closed:   {closed}")
        if self.quarantine_missing:
            out.append(f"quarantine:           {self.quarantine_missing} row(s) marked file_missing (not backed up)")
        if self.thumbnails_queued:
            out.append(f"thumbnails:           {self.thumbnails_queued} asset(s) queued for new thumbnails")
        out += [f"restored with it:     {p}" for p in self.companions]
        if self.motion_queued:
            out.append(f"motion video:         {self.motion_queued} is not in the backup: queued for the thumbnails"
                       " stage to extract it again from the photo")
        if self.copy_error:
            out.append(f"copy errors:          {self.copy_error}")
        out += [f"  MISMATCH {p}" for p in self.mismatched]
        out += [f"  MISSING  {p}" for p in self.missing]
        if self.never_backed_up:
            out.append(f"not in the backup:    {len(self.never_backed_up)} (rows never marked backed up)")
            out += [f"  NOT BACKED UP {p}" for p in self.never_backed_up]
        out.append("result:               " + ("OK, every restored file matches the database" if self.ok else "FAILED"))
        return out


def restore(
    tool: rclone.Rclone, remote: str, target: Target, selection: Selection, dump: str | None = None
) -> Summary:
    """Check everything, then restore into ``target``. Raises :class:`Failed` (nothing changed)
    or :class:`Incomplete` (a step after the database load failed)."""
    with tempfile.TemporaryDirectory(prefix="pf-restore-") as tmp:
        plan = preflight.check(tool, remote, target, selection, dump, Path(tmp))
        if plan.sql is not None:
            try:
                dumps.load(plan.sql, target.database_url)
            except dumps.DumpError as exc:  # one transaction: nothing was changed
                raise Failed(exc.reason, f"loading {plan.dump_name} failed: {exc.detail}") from exc
    summary = Summary(dump_name=plan.dump_name, warnings=plan.warnings)
    try:
        carry_out(tool, remote, target, selection, plan, summary)
    except Exception as exc:
        log.debug("restore step failed", exc_info=True)
        summary.copy_error = summary.copy_error or f"{type(exc).__name__}: {exc}"
        raise Incomplete(summary, str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__) from exc
    return summary


def carry_out(
    tool: rclone.Rclone, remote: str, target: Target, selection: Selection, plan: Plan, summary: Summary
) -> None:
    """Everything after the checks (and the database load): schema, stale state, files, verification."""
    if plan.sql is not None:
        migrate.apply(target.database_url)
        log.info("database restored from %s", plan.dump_name)
    # alerts held while files come back (a restored catalogue has its files missing until then);
    # not before the load: the target database must be empty for the checks
    with maintenance_during(target.database_url, "restore: fetching files from the backup", 6 * 3600, "restore"):
        _carry_out_files(tool, remote, target, selection, plan, summary)


def _carry_out_files(
    tool: rclone.Rclone, remote: str, target: Target, selection: Selection, plan: Plan, summary: Summary
) -> None:
    store = RestoreStore(target.database_url)
    try:
        if plan.sql is not None:
            summary.closed = store.close_stale_state()
            for m in plan.manifests.values():  # dumps uploaded after this one follow retention too
                store.record_found_dump(m.name, remote, m.created_at, m.size_bytes, m.sha256)
        if plan.sql is not None and selection.path is not None:  # the catalogue just loaded
            preflight.add_companions(plan, store, selection.path)
        target.storage_dir.mkdir(parents=True, exist_ok=True)
        on_remote = sorted(plan.files)
        if on_remote:
            try:  # keep going: verification names every file that did not come back
                # never overwrite a file already in the target, not even with --force: a different
                # one is reported (MISMATCH) and kept, never destroyed
                tool.copy_files(remote, rclone.local_root(target.storage_dir), on_remote, ignore_existing=True)
            except rclone.RcloneError as exc:
                log.error("copy from the remote failed: %s", exc)
                summary.copy_error = f"{exc.reason}: {exc.detail}"
        summary.copied = len(on_remote)
        known = store.library_paths() | store.sidecar_paths()  # a sidecar is never registered as a photo
        summary.registered = register_originals(
            target.database_url,
            target.storage_dir,
            [p for p in on_remote if p.startswith("Library/") and p not in known and not _sidecar_name(p)],
        )
        summary.registered += register_sidecars(
            store, target.storage_dir, [p for p in on_remote if p.startswith("Library/") and p not in known
                                        and _sidecar_name(p)])
        verify(store, target.storage_dir, selection, set(on_remote), summary)
        if plan.photo is not None:
            verify_companions(store, target.storage_dir, plan, summary)
        if plan.sql is not None:  # a restored catalogue on a new disk (not a few files fetched back)
            summary.quarantine_missing = mark_missing_quarantine(store, target.storage_dir)
            summary.thumbnails_queued = queue_missing_thumbnails(store, target.storage_dir)
    finally:
        store.close()


def mark_missing_quarantine(store: RestoreStore, storage_dir: Path) -> int:
    """Quarantine rows whose file is not there (quarantine is not backed up): ``file_missing``."""
    gone = [qid for qid, rel in store.open_quarantine() if not (storage_dir / rel).is_file()]
    store.mark_quarantine_file_missing(gone)
    return len(gone)


def queue_missing_thumbnails(store: RestoreStore, storage_dir: Path) -> int:
    """Assets marked thumbnailed whose thumbnail files (or motion video) are missing go back to the
    thumbnails queue."""
    try:
        from processor.thumbnails.paths import thumbnail_rel
        from processor.thumbnails.settings import ThumbnailSettings

        cfg = ThumbnailSettings()
        sizes, ext = cfg.sizes, cfg.extension

        def complete(library_path: str) -> bool:
            return all((storage_dir / thumbnail_rel(library_path, size, ext)).is_file() for size in sizes)
    except Exception as exc:  # thumbnails not installed or misconfigured here: rebuild them all
        log.warning("thumbnail settings unavailable (%s): queueing every asset for new thumbnails", exc)

        def complete(library_path: str) -> bool:
            return False

    ids = [aid for aid, path in store.thumbnailed_assets() if not complete(path)]
    # a motion photo's extracted video (Derivatives/motion/) is rebuilt by the thumbnails stage too
    queued = set(ids)
    ids += [aid for aid, rel in store.motion_videos() if aid not in queued and not (storage_dir / rel).is_file()]
    store.reset_thumbnails(ids)
    return len(ids)


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
    verify_sidecars(store, storage_dir, selection, restored, summary)


def verify_companions(store: RestoreStore, storage_dir: Path, plan: Plan, summary: Summary) -> None:
    """One photo restored alone: its sidecars were verified with it (:func:`verify_sidecars`);
    its motion video is proved byte-identical to the range of the (verified) original it was
    copied from. A motion video the backup does not hold is extracted again by the thumbnails
    stage: the photo goes back to its queue."""
    photo = plan.photo
    assert photo is not None
    summary.companions = [p for p in plan.companions if (storage_dir / p).is_file()]
    rel = photo.motion_video
    if not rel:
        return
    original = storage_dir / (plan.photo_path or "")
    intact = plan.photo_path is not None and original.is_file() and plan.photo_path not in summary.mismatched
    if not (storage_dir / rel).is_file():
        if rel in plan.companions:
            summary.missing.append(rel)
        elif intact:
            store.reset_thumbnails([photo.asset_id])
            summary.motion_queued = rel
        return
    if rel not in plan.companions:
        return  # the one already there was kept, not restored
    entry = photo.motion or {}
    offset, length = entry.get("offset"), entry.get("length")
    if not (intact and isinstance(offset, int) and isinstance(length, int)):
        summary.warnings.append(f"{rel}: restored, but not provable byte-identical (no verified original range)")
    elif _same_range(original, offset, length, storage_dir / rel):
        summary.verified += 1
    else:
        log.error("motion video %s differs from the bytes of %s it was copied from", rel, plan.photo_path)
        summary.mismatched.append(rel)


def _same_range(original: Path, offset: int, length: int, copy: Path) -> bool:
    """Are the ``length`` bytes of ``original`` at ``offset`` exactly the file ``copy``?"""
    if copy.stat().st_size != length:
        return False
    with original.open("rb") as a, copy.open("rb") as b:
        a.seek(offset)
        left = length
        while left:
            chunk = a.read(min(left, 1 << 20))
            if not chunk or chunk != b.read(len(chunk)):
                return False
            left -= len(chunk)
    return True


def verify_sidecars(store: RestoreStore, storage_dir: Path, selection: Selection, restored: set[str],
                    summary: Summary) -> None:
    """The selected photos' sidecars: each must be back, byte-identical (SHA-256)."""
    found = []
    for s in store.select_sidecars(selection.path, selection.since, selection.until):
        path = storage_dir / s["library_path"]
        if not path.is_file():
            if s["is_backed_up"] or s["library_path"] in restored:
                summary.missing.append(s["library_path"])
            else:
                summary.never_backed_up.append(s["library_path"])
        elif files.sha256_file(path)[0] != s["sha256"].strip():
            log.error("sidecar %s: restored %s does not match its SHA-256", s["id"], s["library_path"])
            summary.mismatched.append(s["library_path"])
        else:
            summary.verified += 1
            summary.sidecars_verified += 1
            found.append(s["id"])
    store.mark_sidecars_backed_up(found)


def register_sidecars(store: RestoreStore, storage_dir: Path, paths: list[str]) -> list[str]:
    """Sidecars on the remote that the dump does not know (backed up after it): attached to the
    photo beside them whose name they carry; one without such a photo is logged and left."""
    from librarian.sidecars import best_photo, kind_of

    done = []
    for rel in paths:
        folder, _, name = rel.rpartition("/")
        photos = store.assets_in_folder(folder)
        owner: str | None
        if name.endswith(".album.json") and name[:-len(".album.json")] in photos:
            kind, owner = "takeout_album", name[:-len(".album.json")]
        else:
            kind = kind_of(name) or "xmp"
            best = best_photo(name, sorted(photos))
            owner = best.name if best else None
        path = storage_dir / rel
        if owner is None or not path.is_file():
            log.warning("%s: a sidecar on the remote without its photo: not registered", rel)
            continue
        digest, size = files.sha256_file(path)
        if store.register_sidecar(photos[owner], rel, kind, size, digest):
            done.append(rel)
            log.info("sidecar %s: registered beside %s (on the remote, newer than the dump)", rel, owner)
    return done


def _sidecar_name(path: str) -> bool:
    from librarian.sidecars import kind_of  # pure: no librarian service dependencies

    return kind_of(path.rsplit("/", 1)[-1]) is not None


@click.command()
@click.option("--storage-dir", type=click.Path(path_type=Path), help="Folder to restore into (an empty one).")
@click.option("--database-url", help="Database to restore the dump into: empty, or a fresh migrate (libpq URL).")
@click.option("--dump", "dump_name", help="Dump to restore (default: the newest that holds assets). See --list-dumps.")
@click.option("--file", "one_file", help="Restore one file: Library/YYYY/YYYY-MM-DD/NAME, Derivatives/panoramas/….")
@click.option("--day", type=click.DateTime(["%Y-%m-%d"]), help="Restore one capture day.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="First capture day to restore.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Last capture day to restore.")
@click.option("--files-only", is_flag=True, help="Keep the database as it is; restore files only.")
@click.option("--into-configured-database", is_flag=True,
              help="Restore the database into PF_DATABASE_URL (it must be empty): the URL, password included, "
                   "stays off the command line.")
@click.option("--force", is_flag=True, help="Restore into a non-empty target (files kept); allow an empty dump.")
@click.option("--remote", help="Backup remote (default PF_BACKUP_REMOTE).")
@click.option("--list-dumps", is_flag=True, help="List the database dumps on the remote (time, size, assets, schema).")
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
    into_configured_database: bool,
    force: bool,
    remote: str | None,
    list_dumps: bool,
    drill: bool,
) -> None:
    """Restore the database and everything the backup holds from the remote, then verify every file.

    Exit 0 verified; 1 restored but incomplete (see the summary); 2 usage; 3 a check failed
    (nothing was changed).
    """
    core = core_settings()
    cfg = load_settings(BackupSettings)
    remote = remote or cfg.backup_remote
    if not remote:
        raise click.UsageError("no backup remote: set PF_BACKUP_REMOTE or pass --remote")
    tool = rclone.Rclone(cfg.backup_rclone_binary, cfg.rclone_flags)
    if list_dumps:
        sys.exit(print_dumps(tool, remote))
    sel = _selection(one_file, day, since, until)
    if drill:
        from processor.backup.drill import run_drill

        try:
            code = run_drill(tool, remote, core.database_url, sel, dump_name, click.echo, _echo_err)
        except psycopg2.Error as exc:  # the live database itself is unreachable or refuses
            _echo_err(f"photo-factory restore: drill impossible: {str(exc).strip().splitlines()[0]}")
            code = 3
        sys.exit(code)
    if database_url is not None and into_configured_database:
        raise click.UsageError("--database-url and --into-configured-database name two targets: pass one")
    if storage_dir is None or (database_url is None and not files_only and not into_configured_database):
        raise click.UsageError("--storage-dir and --database-url (or --into-configured-database) are required"
                               " (or --drill)")
    target = Target(storage_dir, database_url or core.database_url, not files_only, force)
    sys.exit(run_restore(tool, remote, target, sel, dump_name))


def print_dumps(tool: rclone.Rclone, remote: str) -> int:
    """``--list-dumps``: one line per dump, newest first; exit 3 with one line when it cannot."""
    try:
        rows = preflight.list_dumps(tool, remote)
    except Failed as exc:
        click.echo(f"photo-factory restore: {exc.detail}", err=True)
        return 3
    if not rows:
        click.echo(f"photo-factory restore: no database dump on {rclone.join(remote, dumps.REMOTE_DIR)}", err=True)
        return 3
    chosen = preflight.default_choice(rows)
    click.echo(f"{'DUMP':38}  {'CREATED (UTC)':19}  {'SIZE':>10}  {'ASSETS':>7}  {'SCHEMA':>6}  NOTE")
    for r in rows:
        m = r.manifest
        when = dumps.parse_dump_name(r.name)
        note = []
        if r.name == chosen:
            note.append("restored by default")
        if m is None:
            note.append("no manifest (inspected at restore)")
        elif m.assets == 0:
            note.append("EMPTY (needs --dump and --force)")
        elif m.shrunk_from is not None:
            note.append(f"SHRUNK from {m.shrunk_from} assets (only with --dump)")
        assets = "?" if m is None else m.assets
        schema = "?" if m is None or m.schema_version is None else m.schema_version
        click.echo(
            f"{r.name:38}  {when:%Y-%m-%d %H:%M:%S}  {preflight.human(r.size_bytes):>10}  {assets:>7}  {schema:>6}"
            f"  {'; '.join(note)}".rstrip()
        )
    return 0


def run_restore(tool: rclone.Rclone, remote: str, target: Target, sel: Selection, dump_name: str | None) -> int:
    click.echo(f"restoring {sel.describe()} from {remote} into {target.storage_dir}")
    try:
        summary = restore(tool, remote, target, sel, dump_name)
    except Failed as exc:
        click.echo(f"photo-factory restore: {exc.detail} [{exc.reason}]; nothing was changed", err=True)
        return 3
    except Incomplete as exc:
        _echo_summary(exc.summary)
        click.echo(f"photo-factory restore: incomplete: {exc.detail}; finish with --files-only", err=True)
        return 1
    _echo_summary(summary)
    for line in next_steps(target, summary):
        click.echo(line)
    return 0 if summary.ok else 1


def next_steps(target: Target, summary: Summary) -> list[str]:
    out = ["next steps:"]
    if not summary.ok:
        out.append(f"  - fetch what is missing: photo-factory restore --files-only --storage-dir {target.storage_dir}")
    out += [
        "  - start (or restart) the services on the restored database and storage folder"
        + (f"; thumbnails are rebuilt for {summary.thumbnails_queued} asset(s)" if summary.thumbnails_queued else ""),
        "  - photo-factory status: every service turns green within a few heartbeats",
        "  - photo-factory restore --drill: proves the backup restores, file by file",
    ]
    return out


def _echo_err(line: str) -> None:
    click.echo(line, err=True)


def _echo_summary(summary: Summary) -> None:
    for line in summary.lines():
        click.echo(line)


def _selection(one_file: str | None, day, since, until) -> Selection:
    if day is not None:
        since = until = day
    return Selection(one_file, since.date() if since else None, until.date() if until else None)
