"""Everything a restore checks before it changes anything, and what it will then do (a :class:`Plan`).

In order: the target database is reachable and holds no catalogue (a fresh ``migrate`` or an empty
database; heartbeats and backup runs of a just-started installation do not count); the target
folder is writable and (for a full restore) holds no ``Library/`` or ``Derivatives/`` file; the
remote exists and its names decrypt (the crypt password is right); the dump is chosen — the one
named, or the newest that holds assets and did not shrink — downloaded, its SHA-256 checked against
its manifest, read by ``pg_restore`` and turned into the SQL loaded later in one transaction; and the
target's filesystem has room for every file to restore. Any failure raises :class:`Failed`: one
line for the user, and nothing anywhere was changed.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2

from photo_factory import db, files
from processor.backup import dumps, rclone
from processor.backup.selection import Selection
from processor.backup.store import Companions, RestoreStore

log = logging.getLogger(__name__)

#: Top-level folders on the remote that are not restored into the storage folder.
NOT_RESTORED = ("db/", "Attic/")
#: Free space kept beyond the files' size: 1 MiB plus 1 %.
_MARGIN = 1 << 20


class Failed(Exception):
    """A check (or the remote, or the dump) failed before anything was changed."""

    def __init__(self, reason: str, detail: str):
        detail = " / ".join(ln.strip() for ln in detail.strip().splitlines() if ln.strip())  # one line
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Target:
    storage_dir: Path
    database_url: str
    restore_database: bool = True
    force: bool = False


@dataclass
class Plan:
    files: dict[str, int]  # remote path (= path under the storage folder) -> size, selected
    dump_name: str | None = None
    sql: Path | None = None  # the chosen dump as SQL, loaded in one transaction
    manifests: dict[str, dumps.Manifest] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: every file on the remote with its size (``files`` is the selected part)
    on_remote: dict[str, int] = field(default_factory=dict)
    #: one photo restored alone (``--file``): its sidecars and motion video, and those of them
    #: the backup holds (restored with it)
    photo: Companions | None = None
    photo_path: str | None = None
    companions: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DumpRow:
    name: str
    size_bytes: int
    manifest: dumps.Manifest | None


def check(
    tool: rclone.Rclone, remote: str, target: Target, selection: Selection, dump: str | None, workdir: Path
) -> Plan:
    """Run every check; return the plan, or raise :class:`Failed` having changed nothing."""
    check_database(target)
    check_storage(target, selection)
    on_remote = remote_files(tool, remote)
    plan = Plan({p: s for p, s in on_remote.items() if not p.startswith(NOT_RESTORED) and selection.matches(p)},
                on_remote=on_remote)
    if selection.path is not None and selection.path not in plan.files:
        raise Failed("file_not_in_backup", f"{selection.path} is not in the backup on {remote}")
    if selection.path is not None and not target.restore_database:  # the catalogue is the target's
        store = RestoreStore(target.database_url)
        try:
            add_companions(plan, store, selection.path)
        finally:
            store.close()
    check_space(target.storage_dir, plan.files)
    if target.restore_database:
        prepare_dump(tool, remote, on_remote, dump, target.force, workdir, plan)
    return plan


def add_companions(plan: Plan, store: RestoreStore, path: str) -> None:
    """A photo restored alone brings its sidecars and its motion video (with the video's poster)
    when the backup holds them: added to ``plan.files`` and named in ``plan.companions``."""
    photo = store.companions(path)
    if photo is None:  # not a photo of the catalogue (a panorama, a sidecar named alone…)
        return
    plan.photo, plan.photo_path = photo, path
    wanted = list(photo.sidecars)
    if photo.motion_video:
        wanted.append(photo.motion_video)
        wanted += sorted(p for p in plan.on_remote if p.startswith(photo.motion_video + "."))  # the poster
    for p in wanted:
        if p in plan.on_remote and p not in plan.files and not p.startswith(NOT_RESTORED):
            plan.files[p] = plan.on_remote[p]
            plan.companions.append(p)


# -- the database ---------------------------------------------------------------------------------
def check_database(target: Target) -> None:
    store = RestoreStore(target.database_url)
    try:
        tables = store.public_tables()
        rows = store.catalogue_rows()
    except db.UNAVAILABLE as exc:
        raise Failed("database_unreachable", f"cannot connect to the target database: {_first_line(str(exc))}") from exc
    except psycopg2.Error as exc:
        raise Failed("database_error", f"cannot read the target database: {_first_line(str(exc))}") from exc
    finally:
        store.close()
    if not target.restore_database:
        if "media_assets" not in tables:
            raise Failed("database_has_no_catalogue", "--files-only needs the database that holds the catalogue")
        return
    if tables and "schema_migrations" not in tables:  # never replaced, not even with --force
        raise Failed(
            "database_foreign",
            f"the target database holds tables that are not Photo Factory's ({', '.join(tables[:5])}): "
            "restore into an empty database",
        )
    if rows and not target.force:
        held = ", ".join(f"{n} {t} rows" for t, n in rows.items())
        raise Failed(
            "database_not_empty",
            f"the target database already holds a catalogue ({held}): restore into an empty database "
            "(or --force to replace it)",
        )


# -- the target folder ------------------------------------------------------------------------------
def existing_parent(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_storage(target: Target, selection: Selection) -> None:
    root = target.storage_dir
    base = existing_parent(root)
    if not base.is_dir():
        raise Failed("target_not_a_folder", f"{base} is not a folder")
    for folder in [base] + ([root / "Library"] if (root / "Library").is_dir() else []):
        try:  # a probe, removed at once: os.access does not see every read-only mount
            fd, probe = tempfile.mkstemp(prefix=".pf-restore-probe-", dir=folder)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise Failed("target_not_writable", f"cannot write to {folder}: {exc.strerror}") from exc
    if target.restore_database and selection.everything and not target.force:
        for sub in ("Library", "Derivatives"):
            if any(p.is_file() for p in (root / sub).rglob("*")):
                raise Failed(
                    "target_not_empty", f"{root / sub} is not empty: restore into an empty folder (or --force)"
                )


def check_space(storage_dir: Path, wanted: dict[str, int]) -> None:
    need = sum(size for path, size in wanted.items() if not (storage_dir / path).exists())
    base = existing_parent(storage_dir)
    free = shutil.disk_usage(base).free
    if need + _MARGIN + need // 100 > free:
        raise Failed(
            "not_enough_space",
            f"{base} has {human(free)} free, the files to restore need {human(need)} (plus a 1 % margin)",
        )


# -- the remote -----------------------------------------------------------------------------------
def remote_files(tool: rclone.Rclone, remote: str) -> dict[str, int]:
    """Every file on the remote with its size; :class:`Failed` if the remote is missing or unreadable."""
    probe = tool.run("lsf", remote, "--max-depth", "1", "-vv", check=False)
    if probe.returncode == 3 or "directory not found" in probe.stderr:
        raise Failed("remote_not_found", f"the backup remote {remote} does not exist")
    if probe.returncode != 0:
        raise Failed("remote_unreadable", f"cannot read the backup remote {remote}: {_rclone_error(probe.stderr)}")
    if "undecryptable" in probe.stderr:
        raise Failed(
            "remote_wrong_password",
            f"the names on {remote} cannot be decrypted: wrong crypt password or salt in the rclone config",
        )
    listing = tool.run("lsjson", remote, "-R", "--files-only", "--no-mimetype", check=False)
    if listing.returncode != 0:
        raise Failed("remote_unreadable", f"cannot list the backup remote {remote}: {_rclone_error(listing.stderr)}")
    try:
        entries = json.loads(listing.stdout or "[]")
    except ValueError as exc:
        raise Failed("remote_unreadable", f"unexpected rclone listing of {remote}: {exc}") from exc
    return {e["Path"]: int(e.get("Size", 0)) for e in entries}


def list_dumps(tool: rclone.Rclone, remote: str, on_remote: dict[str, int] | None = None) -> list[DumpRow]:
    """Our dumps on the remote, newest first, with their manifests (None for dumps without one)."""
    on_remote = remote_files(tool, remote) if on_remote is None else on_remote
    prefix = dumps.REMOTE_DIR + "/"
    sizes = {p[len(prefix):]: s for p, s in on_remote.items() if p.startswith(prefix)}
    names = sorted((n for n in sizes if dumps.parse_dump_name(n)), reverse=True)
    if not names:
        return []
    try:
        manifests = dumps.read_manifests(tool, rclone.join(remote, dumps.REMOTE_DIR))
    except rclone.RcloneError as exc:
        raise Failed("remote_unreadable", f"cannot read the dump manifests: {_rclone_error(exc.detail)}") from exc
    return [DumpRow(n, sizes[n], manifests.get(n)) for n in names]


def default_choice(rows: list[DumpRow]) -> str | None:
    """What a restore without ``--dump`` tries first: the newest dump known to hold assets and not
    to have shrunk (dumps without a manifest are inspected after download)."""
    for r in rows:
        if r.manifest is None or r.manifest.good:
            return r.name
    return None


# -- the dump -------------------------------------------------------------------------------------
def prepare_dump(
    tool: rclone.Rclone,
    remote: str,
    on_remote: dict[str, int],
    wanted: str | None,
    force: bool,
    workdir: Path,
    plan: Plan,
) -> None:
    """Choose, download, check and convert the dump; fill ``plan.dump_name``/``plan.sql``."""
    remote_dir = rclone.join(remote, dumps.REMOTE_DIR)
    rows = list_dumps(tool, remote, on_remote)
    plan.manifests = {r.name: r.manifest for r in rows if r.manifest is not None}
    if wanted is not None:
        if dumps.REMOTE_DIR + "/" + wanted not in on_remote:
            raise Failed("dump_not_found", f"no dump {wanted} on {remote_dir} (see --list-dumps)")
        candidates = [r for r in rows if r.name == wanted] or [DumpRow(wanted, on_remote[f"db/{wanted}"], None)]
    elif not rows:
        raise Failed("no_dump", f"no database dump on {remote_dir} (restore files only with --files-only)")
    else:
        candidates = [r for r in rows if r.manifest is None or r.manifest.good]
    skipped = [r.name for r in rows if r not in candidates]
    for row in candidates:
        local = workdir / row.name
        _need_room(workdir, row.size_bytes, "the dump")
        try:
            tool.copyto(rclone.join(remote_dir, row.name), str(local))
        except rclone.RcloneError as exc:
            raise Failed(
                "dump_download_failed",
                f"cannot download {row.name} (damaged on the remote?): {_rclone_error(exc.detail)}",
            ) from exc
        if row.manifest is not None and files.sha256_file(local)[0] != row.manifest.sha256:
            raise Failed("dump_corrupt", f"{row.name} does not match the SHA-256 in its manifest")
        try:
            assets, _schema = dumps.contents(local)
        except dumps.DumpError as exc:
            raise Failed("dump_corrupt", f"{row.name} is not a readable database dump: {exc.detail}") from exc
        if assets == 0 and wanted is None:
            skipped.append(row.name)
            local.unlink()
            continue
        if assets == 0 and not force:
            raise Failed(
                "dump_empty",
                f"{row.name} holds no assets: restoring it gives an empty catalogue (add --force if that is meant)",
            )
        if row.manifest is not None and row.manifest.shrunk_from is not None:
            plan.warnings.append(f"{row.name} holds {assets} assets, an older dump {row.manifest.shrunk_from}")
        if skipped:
            plan.warnings.append(f"skipped {len(skipped)} newer dump(s) that hold no or far fewer assets")
        plan.dump_name = row.name
        plan.sql = workdir / "restore.sql"
        try:
            dumps.to_sql(local, plan.sql)
        except dumps.DumpError as exc:
            raise Failed("dump_corrupt", f"{row.name} cannot be read: {exc.detail}") from exc
        local.unlink()
        return
    raise Failed(
        "no_good_dump",
        f"every dump on {remote_dir} holds no assets or far fewer than an older one; "
        "pick one with --dump NAME (see --list-dumps; an empty one needs --force)",
    )


def _need_room(folder: Path, size: int, what: str) -> None:
    free = shutil.disk_usage(folder).free
    if size + _MARGIN > free:
        raise Failed("not_enough_space", f"{folder} has {human(free)} free, {what} needs {human(size)}")


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[0] if lines else "(no message)"


def _rclone_error(stderr: str) -> str:
    """rclone's own words: its last error line without the timestamp."""
    lines = [ln.split(" ", 2)[-1] if ln[:4].isdigit() else ln for ln in stderr.strip().splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith("DEBUG")]
    return lines[-1].strip() if lines else "(no message)"
