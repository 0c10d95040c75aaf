"""Sidecars travel with their photos: found, read, filed beside the photo, waited for, kept.

Per batch (called by :class:`librarian.ingest.Ingestor`):

1. :meth:`Sidecars.split` takes the sidecars (by name, librarian/sidecars.py) out of the batch:
   they are never read as media, so never quarantined as ``unsupported_type``;
2. :meth:`Sidecars.prepare` lists the folders of the batch's photos, finds each photo's sidecars
   there (whether in this batch or not), reads them (XMP with ExifTool, Takeout JSON here) and
   decides which photo owns each sidecar (two photos never share one file);
   :meth:`facts_for` gives the photo's date decision and metadata what its sidecars say;
3. :meth:`photo_done` notes every photo filed or recognised as a duplicate;
4. :meth:`finish` files each noted photo's sidecars beside it under its FINAL name (journaled
   like photos: ``ingest_journal`` action ``file`` with a ``sidecar`` payload), re-attaches
   orphan sidecars of that photo from quarantine, then handles the batch's other sidecars:
   photo already filed -> attached to it; photo still in the inbox -> waits for it; photo in
   quarantine -> ``orphan_sidecar`` now; no photo -> waits ``PF_SIDECAR_WAIT_SECONDS``, then
   ``orphan_sidecar``.
"""

from __future__ import annotations

import bisect
import fnmatch
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from librarian import inbox, organize, sidecar_meta, sidecars
from librarian.sidecar_store import SidecarStore

if TYPE_CHECKING:
    from librarian.ingest import Ingestor

log = logging.getLogger(__name__)

#: Outcome of a sidecar that waits in the inbox for its photo.
WAITING = "waiting_for_photo"
#: Characters of a photo's name used to look up its orphan sidecars (cut Takeout names are shorter).
_PROBE_CHARS = 20


#: The inbox's ignore rules (inbox.IGNORED_PATTERNS) as one compiled pattern: a folder listing
#: holds thousands of names.
_IGNORED = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in inbox.IGNORED_PATTERNS))


def _ignored(name: str) -> bool:
    return name in inbox.IGNORED_NAMES or _IGNORED.match(name) is not None


@dataclass
class Found:
    """A sidecar file in the inbox, as seen while preparing a batch."""

    folder: Path
    name: str
    kind: str
    facts: sidecar_meta.Facts | None = None  # read only when a photo of the batch needs it
    owner: str | None = None  # the photo name (same folder) that owns it
    owner_known: bool = False

    @property
    def path(self) -> Path:
        return self.folder / self.name


@dataclass
class _Folder:
    """One inbox folder's photos and sidecars, by name (indexed: a Takeout folder holds thousands)."""

    photos: list[tuple[str, str]] = field(default_factory=list)  # sorted (lower-case name, name)
    found: dict[str, Found] = field(default_factory=dict)  # sidecar name -> Found
    by_probe: dict[str, list[str]] = field(default_factory=dict)  # sidecars.probe -> sidecar names
    album: sidecar_meta.Facts | None = None

    def photos_for(self, sidecar_name: str) -> list[str]:
        """Photo names that start with the sidecar's probe (the only ones it can belong to)."""
        key = sidecars.probe(sidecar_name)
        i = bisect.bisect_left(self.photos, (key, ""))
        out = []
        while i < len(self.photos) and self.photos[i][0].startswith(key):
            out.append(self.photos[i][1])
            i += 1
        return out

    def sidecars_for(self, photo_name: str) -> list[str]:
        """Sidecar names whose probe is a prefix of the photo's name."""
        low = photo_name.lower()
        out: list[str] = []
        for k in range(1, len(low) + 1):
            out.extend(self.by_probe.get(low[:k], ()))
        return out


@dataclass
class Done:
    """A photo filed (or a duplicate of one) in this batch."""

    path: Path
    asset_id: int | None
    library_path: str
    sha256: str


class Sidecars:
    def __init__(self, ing: Ingestor, wait_seconds: float, wall: Callable[[], float] = time.time):
        self.ing = ing
        self.wait_seconds = wait_seconds
        self.wall = wall
        self.store = SidecarStore(ing.store.db)
        self._folders: dict[Path, _Folder] = {}
        self._done: list[Done] = []
        self._first_seen: dict[Path, float] = {}
        #: orphan sidecars in quarantine of this batch's photos: photo path -> [(row, kind, facts)]
        self._orphans: dict[Path, list[tuple[dict, str, sidecar_meta.Facts]]] = {}

    # -- 1. split ----------------------------------------------------------------------------
    @staticmethod
    def split(items: list[tuple[Path, os.stat_result]]) -> tuple[list[tuple[Path, os.stat_result]], list[Path]]:
        media = [(p, s) for p, s in items if sidecars.kind_of(p.name) is None]
        side = [p for p, _ in items if sidecars.kind_of(p.name) is not None]
        return media, side

    # -- 2. prepare ----------------------------------------------------------------------------
    def prepare(self, photos: list[Path], side: list[Path]) -> None:
        """Find, read and assign the sidecars of this batch's photos (and the batch's sidecars)."""
        self._folders = {}
        self._done = []
        wanted: dict[Path, set[str]] = {}
        for p in photos:
            wanted.setdefault(p.parent, set()).update(self._folder(p.parent).sidecars_for(p.name))
        for p in side:
            wanted.setdefault(p.parent, set()).add(p.name)
        for folder, names in wanted.items():
            self._load(folder, names)
        self._orphans = {}
        if photos and self.store.orphans_exist():  # their dates count when the photo is filed
            for p in photos:
                found = self._orphans_of(p)
                if found:
                    self._orphans[p] = found

    def _folder(self, folder: Path) -> _Folder:
        fo = self._folders.get(folder)
        if fo is None:
            fo = self._folders[folder] = self._look(folder)
        return fo

    def _look(self, folder: Path) -> _Folder:
        out = _Folder()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return out
        for e in entries:
            name = e.name
            if _ignored(name):
                continue
            try:
                if not e.is_file(follow_symlinks=False):
                    continue
            except OSError:
                continue
            kind = sidecars.kind_of(name)
            if kind is None:
                out.photos.append((name.lower(), name))
            else:
                out.found[name] = Found(folder, name, kind)
                out.by_probe.setdefault(sidecars.probe(name), []).append(name)
        out.photos.sort()
        return out

    def _load(self, folder: Path, names: set[str]) -> None:
        """Read the named sidecars of ``folder`` (XMP with one ExifTool call) and decide their
        owners; JSON files that name no photo are read too (an album's ``metadata.json``)."""
        fo = self._folder(folder)
        names = {n for n in names if n in fo.found}
        names |= {n for n, f in fo.found.items() if f.kind == "takeout_json" and f.facts is None
                  and _album_like(n) and not fo.photos_for(n)}
        todo = [fo.found[n] for n in sorted(names) if fo.found[n].facts is None]
        xmps = [f for f in todo if f.kind == "xmp"]
        if xmps:
            for f, tags in zip(xmps, self.ing.reader.read_many([f.path for f in xmps]), strict=True):
                f.facts = sidecar_meta.from_xmp(tags)
        for f in todo:
            if f.kind == "takeout_json":
                f.facts = sidecar_meta.from_takeout(_read_small(f.path))
                f.kind = f.facts.kind  # an album's metadata.json
            elif f.facts is None:
                f.facts = sidecar_meta.Facts(f.kind)
            if f.kind == "takeout_album" and fo.album is None:
                fo.album = f.facts
        for n in names:
            f = fo.found[n]
            if not f.owner_known and f.kind != "takeout_album":
                owner = sidecars.best_photo(n, fo.photos_for(n), f.facts.title if f.facts else None)
                f.owner, f.owner_known = (owner.name if owner else None), True
        if fo.album is None and fo.photos:  # the album's metadata.json was filed with an earlier batch
            title = self._album_filed(folder)
            if title:
                fo.album = sidecar_meta.Facts("takeout_album", {"album": title}, album=title)

    def _album_filed(self, folder: Path) -> str | None:
        rel = PurePosixPath(self.ing.rel_inbox(folder / "x")).parent
        prefix = "" if str(rel) == "." else f"{rel}/"
        for r in self.store.albums_by_prefix(prefix):
            if str(PurePosixPath(r["source_path"]).parent) == str(rel) and r["album"]:
                return str(r["album"])
        return None

    def facts_for(self, path: Path) -> list[sidecar_meta.Facts]:
        """What the sidecars of the photo ``path`` say: the ones it owns first, then any other
        that names it (an edited copy reads its original's Takeout JSON), then the album."""
        fo = self._folders.get(path.parent)
        if fo is None:
            return []
        mine: list[sidecar_meta.Facts] = []
        others: list[sidecar_meta.Facts] = []
        for n in fo.sidecars_for(path.name):
            f = fo.found[n]
            if f.facts is None or f.kind == "takeout_album":
                continue
            if f.owner == path.name:
                mine.append(f.facts)
            elif sidecars.match(n, path.name) is not None:
                others.append(f.facts)
        out = [*mine, *[facts for _, _, facts in self._orphans.get(path, [])], *others]
        if not any(f.kind == "takeout_json" for f in out):
            out.extend(self._filed_original_json(path))
        if fo.album is not None:
            out.append(fo.album)
        return out

    def _filed_original_json(self, path: Path) -> list[sidecar_meta.Facts]:
        """An edited copy (``IMG_1-edited.JPG``) with no Takeout JSON in the inbox: the JSON of
        its original, when the original was filed from the same folder earlier (the edit came
        in a later sync or batch) and the JSON travelled with it into the library."""
        original = sidecars.unedited(path.name)
        if original is None:
            return []
        found = self.store.takeout_json_of_photo(self.ing.rel_inbox(path.parent / original))
        if found is None:
            return []
        facts = sidecar_meta.from_takeout(_read_small(self.ing.abs_storage(found)))
        return [facts] if facts.kind == "takeout_json" and facts.problem is None else []

    # -- 3. photos of the batch ------------------------------------------------------------------
    def photo_done(self, path: Path, asset_id: int | None, library_path: str, sha: str) -> None:
        self._done.append(Done(path, asset_id, library_path, sha))

    # -- 4. finish -------------------------------------------------------------------------------
    def finish(self, side: list[Path]) -> list[tuple[Path, str]]:
        """Attach the sidecars of the batch's photos, then decide the batch's other sidecars."""
        outcomes: dict[Path, str] = {}
        missing = [d for d in self._done if d.asset_id is None]
        if missing:
            ids = self.ing.store.find_by_shas([d.sha256 for d in missing])
            for d in missing:
                d.asset_id = ids[d.sha256]["id"] if d.sha256 in ids else None
        album_placed: set[Path] = set()
        orphans = bool(self._done) and self.store.orphans_exist()
        for d in self._done:
            if d.asset_id is None:
                continue
            fo = self._folder(d.path.parent)
            mine = [fo.found[n] for n in fo.sidecars_for(d.path.name) if fo.found[n].owner == d.path.name]
            if d.path.parent not in album_placed:
                album_placed.add(d.path.parent)
                mine += [f for f in fo.found.values() if f.kind == "takeout_album"]
            for f in mine:
                if f.path in outcomes or not os.path.lexists(f.path):
                    continue
                outcomes[f.path] = self._attach_guarded(f.path, f.kind, f.facts or sidecar_meta.Facts(f.kind),
                                                        d.asset_id, d.library_path, d.path.name)
            if orphans:
                self._reattach_orphans(d)
        for path in side:
            if path in outcomes:
                continue
            outcomes[path] = self._alone(path)
        self._done = []
        return [(p, o) for p, o in outcomes.items() if p in set(side)]

    def _attach_guarded(self, path: Path, kind: str, facts: sidecar_meta.Facts, asset_id: int,
                        photo_library_path: str, photo_name: str, quarantine: dict | None = None,
                        late: bool = False) -> str:
        try:
            return self.attach(path, kind, facts, asset_id, photo_library_path, photo_name, quarantine, late)
        except organize.SourceChanged:
            return "changed"
        except FileNotFoundError:
            return "vanished"

    def _alone(self, path: Path) -> str:
        """A sidecar of this batch whose photo was not in it."""
        if not os.path.lexists(path):
            return "vanished"
        self._load(path.parent, {path.name})
        f = self._folder(path.parent).found.get(path.name)
        if f is None or f.facts is None:
            return "vanished"
        owner_path = path.parent / f.owner if f.owner is not None else None
        if owner_path is not None and os.path.lexists(owner_path) and owner_path not in self.ing.stats.kept:
            self._first_seen.pop(path, None)
            return WAITING  # its photo is in the inbox: filed with it (a kept one is filed already)
        rel = self.ing.rel_inbox(path)
        folder = str(PurePosixPath(rel).parent)
        prefix = "" if folder == "." else folder + "/"
        owner = self._photo_in_library(prefix, path.name, f)
        if owner is not None:
            self._first_seen.pop(path, None)
            return self._attach_guarded(path, f.kind, f.facts, owner["asset_id"], owner["library_path"],
                                        PurePosixPath(owner["source_path"]).name, late=True)
        held = self._photo_in_quarantine(prefix, path.name, f)
        if held is not None:
            self._first_seen.pop(path, None)
            return self.ing.quarantine(path, "orphan_sidecar", (
                f"its photo {held['source_path']} is in quarantine ({held['reason']}, id {held['id']}); "
                "re-attached automatically when the photo is filed"))
        first = self._first_seen.setdefault(path, self._arrived(path))
        if self.wall() - first < self.wait_seconds:
            return WAITING
        self._first_seen.pop(path, None)
        return self.ing.quarantine(path, "orphan_sidecar", (
            f"no photo for this {f.kind} sidecar arrived within {self.wait_seconds:.0f} s; "
            "re-attached automatically when the photo is filed"))

    def _arrived(self, path: Path) -> float:
        """When the sidecar came into the inbox, as the file says (its last change: Syncthing's
        rename sets the ctime), so a restarted librarian does not start its wait again."""
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return self.wall()
        return min(self.wall(), max(st.st_mtime, st.st_ctime))

    def remaining(self, path: Path) -> float:
        """Seconds ``path`` still waits for its photo (0 when unknown)."""
        first = self._first_seen.get(path)
        return 0.0 if first is None else max(0.0, self.wait_seconds - (self.wall() - first))

    def waiting(self) -> int:
        """Sidecars waiting in the inbox for a photo that has not arrived (gone ones forgotten)."""
        self._first_seen = {p: t for p, t in self._first_seen.items() if os.path.lexists(p)}
        return len(self._first_seen)

    def forget(self, path: Path) -> None:
        self._first_seen.pop(path, None)

    def _photo_in_library(self, prefix: str, name: str, f: Found) -> dict | None:
        if f.kind == "takeout_album":
            rows = self.store.photos_by_prefix(prefix)
            rows = [r for r in rows if str(PurePosixPath(r["source_path"]).parent) == (prefix.rstrip("/") or ".")]
            return min(rows, key=lambda r: r["asset_id"]) if rows else None
        rows = self.store.photos_by_prefix(prefix + sidecars.probe(name))
        same = {PurePosixPath(r["source_path"]).name: r for r in rows
                if str(PurePosixPath(r["source_path"]).parent) == (prefix.rstrip("/") or ".")}
        best = sidecars.best_photo(name, sorted(same), f.facts.title if f.facts else None)
        return same[best.name] if best else None

    def _photo_in_quarantine(self, prefix: str, name: str, f: Found) -> dict | None:
        if f.kind == "takeout_album":
            return None
        rows = self.store.quarantined_by_prefix(prefix + sidecars.probe(name))
        same = {PurePosixPath(r["source_path"]).name: r for r in rows
                if str(PurePosixPath(r["source_path"]).parent) == (prefix.rstrip("/") or ".")}
        best = sidecars.best_photo(name, sorted(same), f.facts.title if f.facts else None)
        return same[best.name] if best else None

    def _orphans_of(self, photo: Path) -> list[tuple[dict, str, sidecar_meta.Facts]]:
        """Orphan sidecars in quarantine that belong to ``photo`` (same inbox folder), read."""
        rel = self.ing.rel_inbox(photo)
        parent = PurePosixPath(rel).parent
        prefix = "" if str(parent) == "." else f"{parent}/"
        stem = sidecars.probe(sidecars.unedited(photo.name) or photo.name)[:_PROBE_CHARS]
        out = []
        for q in self.store.orphans_by_prefix(prefix + stem):
            src_rel = PurePosixPath(q["source_path"])
            if str(src_rel.parent) != str(parent) or sidecars.match(src_rel.name, photo.name) is None:
                continue
            src = self.ing.abs_storage(q["quarantine_path"])
            if not os.path.lexists(src):
                continue
            kind = sidecars.kind_of(src_rel.name) or "xmp"
            facts = sidecar_meta.Facts(kind)
            if kind == "takeout_json":
                facts = sidecar_meta.from_takeout(_read_small(src))
                kind = facts.kind
            elif kind == "xmp":
                facts = sidecar_meta.from_xmp(self.ing.reader.read_many([src])[0])
            out.append((q, kind, facts))
        return out

    def _reattach_orphans(self, d: Done) -> None:
        """Orphan sidecars of this photo waiting in quarantine: moved next to it."""
        assert d.asset_id is not None
        read = {q["id"] for q, _, _ in self._orphans.get(d.path, [])}  # already dated the photo
        for q, kind, facts in self._orphans_of(d.path):
            src = self.ing.abs_storage(q["quarantine_path"])
            self._attach_guarded(src, kind, facts, d.asset_id, d.library_path, d.path.name, quarantine=q,
                                 late=q["id"] not in read)
            log.info("asset %s: orphan sidecar %s re-attached from quarantine", d.asset_id, q["quarantine_path"])

    # -- the move ----------------------------------------------------------------------------------
    def attach(self, src: Path, kind: str, facts: sidecar_meta.Facts, asset_id: int, photo_library_path: str,
               photo_name: str, quarantine: dict | None = None, late: bool = False) -> str:
        """File ``src`` (an inbox file, or a quarantined orphan when ``quarantine`` is its row)
        beside the asset's library file, journaled; record it. An identical sidecar already
        attached to that asset is removed instead (its bytes are in the library)."""
        st = os.lstat(src)
        snap = organize.Snapshot.of(st)
        sha, size = organize.sha256_file(src)
        if not snap.unchanged(os.lstat(src)):
            raise organize.SourceChanged(str(src))
        source_rel = quarantine["source_path"] if quarantine else self.ing.rel_inbox(src)
        original = PurePosixPath(source_rel).name
        for existing in self.store.sidecars_of(asset_id):
            if existing["sha256"].strip() == sha and os.path.isfile(self.ing.abs_storage(existing["library_path"])):
                kept = organize.remove_source(src, snap)
                if kept is not None:
                    if quarantine is None:
                        self.ing.source_kept(src, kept, existing["library_path"], snap)
                    return "kept"
                self.store.duplicate_removed(asset_id, source_rel, existing["library_path"],
                                             quarantine["id"] if quarantine else None)
                log.info("asset %s: sidecar %s is identical to %s: removed", asset_id, source_rel,
                         existing["library_path"])
                return "sidecar_duplicate_removed"
        lib = PurePosixPath(photo_library_path)
        # the photo's library name is safe already and at most 240 bytes; the sidecar's own suffix
        # (.xmp, .AAE, .json, .album.json) fits the 255-byte limit, so the name is never cut
        if kind == "takeout_album":
            name = f"{lib.name}.album.json"
        else:
            name = sidecars.library_name(original, kind, photo_name, lib.name)
        dest_rel = self._destination(lib.parent, name)
        row = {"asset_id": asset_id, "library_path": dest_rel, "kind": kind,
               "original_name": organize.safe_name(original), "source_path": source_rel, "size_bytes": size,
               "sha256": sha, "metadata": facts.metadata}
        qid = quarantine["id"] if quarantine else None
        self.ing._move(src, dest_rel, "file", {"sidecar": row, "quarantine_id": qid}, sha, size,
                       lambda jid: self.store.record(row, jid, qid), snap=snap)
        if late:
            self._check_date(asset_id, facts)
        log.info("asset %s: sidecar %s filed as %s", asset_id, source_rel, dest_rel)
        return "sidecar_attached"

    def _destination(self, folder: PurePosixPath, name: str) -> str:
        for cand in organize.candidate_names(name):
            rel = str(folder / cand)
            if os.path.lexists(self.ing.abs_storage(rel)) or self.store.path_taken(rel):
                continue
            return rel
        raise RuntimeError(f"no free name for {name} in {folder}")

    def _check_date(self, asset_id: int, facts: sidecar_meta.Facts) -> None:
        """A sidecar that arrived after its photo was filed: its date is not applied (the photo
        stays where it is), but one that disagrees by more than a day flags the date."""
        asset = self.store.asset_capture(asset_id)
        if asset is None:
            return
        diff = None
        if facts.xmp_date is not None and asset["captured_local"] is not None:
            said, diff = facts.xmp_date[0], abs(facts.xmp_date[1].local - asset["captured_local"])
        elif facts.taken_utc is not None and asset["captured_at"] is not None:
            said, diff = "takeout:photoTakenTime", abs(facts.taken_utc - asset["captured_at"])
        if diff is not None and diff > sidecar_meta.DISAGREE:
            why = f"a sidecar that came later ({said}) disagrees with the filed date by {diff.days} days"
            self.store.flag_date(asset_id, why)
            log.warning("asset %s: %s; flagged for review", asset_id, why)


def _album_like(name: str) -> bool:
    """A name an album's description may have (``metadata.json``, ``métadonnées.json``, …: one
    word, no digits), read even though it names no photo."""
    stem = name[:-len(".json")]
    return "." not in stem and not any(ch.isdigit() for ch in stem)


def _read_small(path: Path) -> bytes:
    """The first bytes of a Takeout JSON (never more than it is allowed to parse, plus one)."""
    try:
        fd = organize.open_regular(path)
    except (OSError, organize.SourceChanged):
        return b""
    with open(fd, "rb", buffering=0) as f:
        return f.read(sidecar_meta.MAX_JSON_BYTES + 1)


def replay(ing: Ingestor, j: dict[str, Any], src: Path, src_exists: bool) -> None:
    """Finish a sidecar move a crash interrupted (its file is in place, hash checked by the caller)."""
    payload = j["payload"]
    row = payload["sidecar"]
    store = SidecarStore(ing.store.db)
    if row["library_path"] not in store.all_paths():
        store.record(row, j["id"], payload.get("quarantine_id"))
    else:
        ing.store.journal_delete(j["id"])
    if src_exists:
        from librarian import recovery

        dest = ing.abs_storage(j["dest_rel"])
        if recovery._same_file(src, dest) or recovery._same_content(src, dest):
            if payload.get("quarantine_id") is not None:
                organize.remove_source(src)
            else:
                recovery._remove_source(ing, src, j["dest_rel"], j["sha256"])
    log.info("journal %s: completed the interrupted sidecar move to %s", j["id"], j["dest_rel"])
