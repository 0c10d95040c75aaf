"""Files that are one moment or one picture: the grouping rules (pure, no I/O).

Kinds and roles (migration 0014), the primary-like role first:

- ``live_photo`` (``still``, ``video``): Apple's ContentIdentifier (MakerNotes
  ``ContentIdentifier``/``MediaGroupUUID`` in the still, QuickTime ``ContentIdentifier`` in the
  MOV) first; else the same inbox folder, the same base name (``IMG_1.HEIC`` + ``IMG_1.MOV`` or
  ``IMG_1_HEVC.MOV``) and capture times from the files' own tags within 3 s. Two identifiers that
  differ never pair, whatever the names say.
- ``raw_jpeg`` (``jpeg``, ``raw``): same folder, same base name, same camera (make and model
  known and equal), tag capture times within 1.5 s.
- ``edit`` (``original``, ``edited``): Apple ``IMG_E0001.*`` with ``IMG_0001.*``, Takeout's
  ``IMG_0001-edited.*`` (and its localised suffixes) with ``IMG_0001.*``; same folder, capture
  times within an hour.
- ``burst`` (``primary``, ``member``): Apple ``BurstUUID``; vendor burst names (Pixel
  ``…_BURST<time>…``, ``_COVER`` is the primary; Samsung ``20240131_235959_001``); else three or
  more photos of one camera in one folder whose sub-second capture times follow each other by at
  most a second. The cover (else the earliest) is the primary.

An asset is in at most one group; a group has exactly one holder of each role except ``edited``
and ``member``. A group is only ever made of two or more members: a file alone is no group.
Members may arrive in different batches: :func:`plan` takes the new files together with the
already-filed candidates (``Member.group_id`` set when they are grouped already); a filed member
in a Live Photo or RAW+JPEG group is complete and takes no one, an edit's original takes more
edits and a burst takes more frames.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

LIVE_WINDOW = timedelta(seconds=3)
RAW_WINDOW = timedelta(seconds=1.5)
EDIT_WINDOW = timedelta(hours=1)
BURST_GAP = timedelta(seconds=1)
#: A sub-second sequence is a burst from this many frames on (two are a double press).
BURST_MIN_FRAMES = 3

PRIMARY_ROLE = {"live_photo": "still", "raw_jpeg": "jpeg", "edit": "original", "burst": "primary"}
#: Roles a group may hold many of; every other role has exactly one holder.
MANY = frozenset({"edited", "member"})

#: date_source values that are not the file's own capture tags (names, file times).
_UNTAGGED = ("mtime", "first_seen", "filename")

_HEVC = re.compile(r"_HEVC$", re.IGNORECASE)
#: Pixel's RAW+JPEG names: PXL_20240131_235959123.RAW-01.COVER.jpg + ….RAW-02.ORIGINAL.dng
_PIXEL_RAW = re.compile(r"\.RAW-\d{2}\.[A-Z_]+$", re.IGNORECASE)
_APPLE_EDIT = re.compile(r"^(IMG)_E(\d{4,})$", re.IGNORECASE)
#: Takeout's "-edited" and the localised forms it writes.
_TAKEOUT_EDIT = re.compile(r"^(.+?)-(edited|bearbeitet|modifié|modifie|editado|modificato|bewerkt|"
                           r"redigerad|redigeret|muokattu|edytowane|upravené|editat|編集済み)$", re.IGNORECASE)
_PIXEL_BURST = re.compile(r"BURST(\d{14,17})", re.IGNORECASE)
_SEQ_BURST = re.compile(r"^(\d{8}_\d{6})_(\d{3})$")


@dataclass(frozen=True)
class Member:
    """What the rules look at for one file. ``ref`` identifies it (its SHA-256)."""

    ref: str
    name: str
    #: the inbox folder it came from ("" at the top), as text
    folder: str
    #: "image", "raw" or "video" (formats.media_type)
    media: str
    #: capture instant (UTC, with sub-seconds when known); None when unknown
    when: datetime | None = None
    #: True when ``when`` comes from the file's own capture tags (not its name or file time)
    tagged: bool = False
    subsec: bool = False
    camera: tuple[str, str] | None = None
    content_id: str | None = None
    burst_id: str | None = None
    #: already filed and grouped: its group and role (it keeps both)
    group_id: int | None = None
    group_kind: str | None = None
    role: str | None = None
    filed: bool = False


@dataclass
class Group:
    kind: str
    key: str | None
    roles: dict[str, str] = field(default_factory=dict)
    #: the existing group joined, if any
    group_id: int | None = None

    @property
    def primary(self) -> str | None:
        want = PRIMARY_ROLE[self.kind]
        return next((ref for ref, role in self.roles.items() if role == want), None)


# -- names --------------------------------------------------------------------------------------
def split_name(name: str) -> tuple[str, str]:
    """``("IMG_0001", ".JPG")``: the stem and extension (the last dot; none for a leading dot)."""
    i = name.rfind(".")
    return (name, "") if i <= 0 else (name[:i], name[i:])


def _norm(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def base_name(name: str, media: str) -> str:
    """The name two members of a pair share: the stem, case-folded, ``_HEVC`` dropped for videos,
    Pixel's ``.RAW-01.COVER`` / ``.RAW-02.ORIGINAL`` dropped."""
    stem = _PIXEL_RAW.sub("", split_name(name)[0])
    if media == "video":
        stem = _HEVC.sub("", stem)
    return _norm(stem)


def edit_of(name: str) -> str | None:
    """The base name of the original an edit's name points to (``IMG_E0001`` → ``img_0001``,
    ``IMG_0001-edited`` → ``img_0001``); None for a name that is no edit."""
    stem = split_name(name)[0]
    if m := _APPLE_EDIT.match(stem):
        return _norm(f"{m.group(1)}_{m.group(2)}")
    if m := _TAKEOUT_EDIT.match(stem):
        return _norm(m.group(1))
    return None


def burst_name(name: str) -> tuple[str, bool] | None:
    """A vendor burst name's burst id and whether this frame is the cover; None otherwise."""
    stem = split_name(name)[0]
    if m := _PIXEL_BURST.search(stem):
        return f"BURST{m.group(1)}", "COVER" in stem.upper()
    if m := _SEQ_BURST.match(stem):
        return m.group(1), False
    return None


def pair_name(folder: str, name: str, media: str) -> str:
    """The lookup key a file's possible partners share: inbox folder + the base name an edit
    points to, a burst's id, or the file's own base name."""
    stem = edit_of(name) or (burst_name(name) or (None, False))[0] or base_name(name, media)
    return f"{_norm(folder)}/{_norm(stem)}"


def suffix_index(library_name: str, candidates: Iterable[str]) -> int | None:
    """Which collision suffix a filed name carries: ``candidates`` are the names the librarian
    tries for its original name, in order (``IMG.JPG``, ``IMG_1.JPG``, …)."""
    for i, cand in enumerate(candidates):
        if cand == library_name:
            return i
    return None


# -- identity from tags -------------------------------------------------------------------------
def identity(tags: Mapping[str, Any]) -> dict[str, str]:
    """The identifiers kept in ``media_assets.metadata`` (``PF:`` keys) for the rules and the
    late-member lookup: ContentIdentifier, BurstUUID, and the sub-second capture text."""
    out: dict[str, str] = {}
    cid = _first_text(tags, "MakerNotes:ContentIdentifier", "MakerNotes:MediaGroupUUID",
                      "QuickTime:ContentIdentifier", "Keys:ContentIdentifier", "XMP:ContentIdentifier")
    if cid:
        out["PF:ContentIdentifier"] = cid
    burst = _first_text(tags, "MakerNotes:BurstUUID", "XMP:BurstUUID")
    if burst:
        out["PF:BurstUUID"] = burst
    sub = _first_text(tags, "EXIF:SubSecTimeOriginal", "EXIF:SubSecTimeDigitized")
    if sub and sub.isdigit():
        out["PF:SubSec"] = sub[:9]
    return out


def _first_text(tags: Mapping[str, Any], *names: str) -> str | None:
    for n in names:
        v = tags.get(n)
        if v is None:
            continue
        s = str(v).strip().strip("\x00").strip()
        if s and len(s) <= 200:
            return s
    return None


def instant(captured_at: datetime | None, subsec: str | None) -> tuple[datetime | None, bool]:
    """The capture instant with its ``SubSecTimeOriginal`` fraction (``"25"`` → .25 s)."""
    if captured_at is None:
        return None, False
    if not subsec or not subsec.isdigit() or captured_at.microsecond:
        return captured_at, bool(captured_at.microsecond)
    frac = int(subsec.ljust(6, "0")[:6])
    return captured_at.replace(microsecond=frac), True


def tagged_source(date_source: str | None) -> bool:
    return bool(date_source) and not str(date_source).startswith(_UNTAGGED)


def camera(make: str | None, model: str | None) -> tuple[str, str] | None:
    if not make or not model:
        return None
    return _norm(make.strip()), _norm(model.strip())


# -- the rules ----------------------------------------------------------------------------------
def _close(a: Member, b: Member, window: timedelta, *, tagged: bool = True) -> bool:
    if a.when is None or b.when is None or (tagged and not (a.tagged and b.tagged)):
        return False
    return abs(a.when - b.when) <= window


def _gap(a: Member, b: Member) -> timedelta:
    if a.when is None or b.when is None:
        return timedelta.max
    return abs(a.when - b.when)


def plan(members: Iterable[Member]) -> list[Group]:
    """Groups among ``members`` (new files and filed candidates), each with two or more members
    and at least one of them not filed yet. Deterministic for a given set of members."""
    pool = sorted(members, key=lambda m: (m.folder, m.name, m.ref))
    taken: dict[str, Group] = {m.ref: _existing(m) for m in pool if m.group_id is not None}
    groups: list[Group] = []

    def free(m: Member) -> bool:
        return m.ref not in taken

    def make(kind: str, key: str | None, roles: dict[str, str]) -> None:
        g = Group(kind, key, dict(roles))
        groups.append(g)
        for ref in roles:
            taken[ref] = g

    stills = [m for m in pool if m.media == "image"]
    videos = [m for m in pool if m.media == "video"]
    # 1. Live Photos by ContentIdentifier (any folder), the still closest in time first
    for v in videos:
        if not v.content_id or not free(v):
            continue
        cands = [s for s in stills if s.content_id == v.content_id and free(s)]
        if cands:
            s = min(cands, key=lambda s: (_gap(s, v), s.folder != v.folder, s.name, s.ref))
            make("live_photo", v.content_id, {s.ref: "still", v.ref: "video"})
    # 2. Live Photos by name and time (identifiers, when both have one, must agree)
    for v in videos:
        if not free(v):
            continue
        base = base_name(v.name, "video")
        cands = [s for s in stills if free(s) and s.folder == v.folder and base_name(s.name, "image") == base
                 and not (s.content_id and v.content_id and s.content_id != v.content_id)
                 and _close(s, v, LIVE_WINDOW)]
        if cands:
            s = min(cands, key=lambda s: (_gap(s, v), s.ref))
            make("live_photo", None, {s.ref: "still", v.ref: "video"})
    # 3. RAW+JPEG
    for r in (m for m in pool if m.media == "raw"):
        if not free(r) or r.camera is None:
            continue
        base = base_name(r.name, "raw")
        cands = [s for s in stills if free(s) and s.folder == r.folder and base_name(s.name, "image") == base
                 and s.camera == r.camera and _close(s, r, RAW_WINDOW)]
        if cands:
            s = min(cands, key=lambda s: (_gap(s, r), s.ref))
            make("raw_jpeg", None, {s.ref: "jpeg", r.ref: "raw"})
    # 4. edits: a free edited file with its original (free, or the original of an edit group)
    for e in pool:
        target = edit_of(e.name)
        if target is None or not free(e):
            continue
        cands = [o for o in pool if o.ref != e.ref and o.folder == e.folder and o.media == e.media
                 and edit_of(o.name) is None and base_name(o.name, o.media) == target
                 and _joinable(o, taken, "edit") and _close(o, e, EDIT_WINDOW, tagged=False)]
        if cands:
            o = min(cands, key=lambda o: (o.group_id is None, _gap(o, e), o.ref))
            _add(groups, taken, o, e, "edit", "original", "edited", None)
    # 5. bursts: BurstUUID, vendor names, sub-second sequences
    _bursts(pool, groups, taken)
    return [g for g in groups if len(g.roles) >= 2 and any(not _filed(pool, ref) for ref in g.roles)]


def _filed(pool: Sequence[Member], ref: str) -> bool:
    return next((m.filed for m in pool if m.ref == ref), False)


def _existing(m: Member) -> Group:
    assert m.group_kind is not None and m.role is not None
    return Group(m.group_kind, None, {m.ref: m.role}, group_id=m.group_id)


def _joinable(o: Member, taken: dict[str, Group], kind: str) -> bool:
    g = taken.get(o.ref)
    return g is None or (g.kind == kind and g.roles.get(o.ref) == PRIMARY_ROLE[kind])


def _add(groups: list[Group], taken: dict[str, Group], anchor: Member, new: Member, kind: str,
         anchor_role: str, new_role: str, key: str | None) -> None:
    """Put ``new`` into ``anchor``'s group of ``kind`` (made now when it has none)."""
    g = taken.get(anchor.ref)
    if g is None:
        g = Group(kind, key, {anchor.ref: anchor_role})
        taken[anchor.ref] = g
    if g not in groups:
        groups.append(g)
    g.roles[new.ref] = new_role
    taken[new.ref] = g


def _bursts(pool: Sequence[Member], groups: list[Group], taken: dict[str, Group]) -> None:
    photos = [m for m in pool if m.media in ("image", "raw")]
    sets: dict[tuple[str, str], list[Member]] = {}
    for m in photos:
        if m.burst_id:
            sets.setdefault(("uuid", m.burst_id), []).append(m)
        elif (b := burst_name(m.name)) is not None:
            sets.setdefault(("name", f"{_norm(m.folder)}/{b[0]}"), []).append(m)
    for (how, key), frames in sorted(sets.items()):
        _burst(frames, groups, taken, key if how == "uuid" else None)
    # sub-second sequences of one camera in one folder
    rest = sorted((m for m in photos if m.ref not in taken and m.subsec and m.tagged and m.camera
                   and m.when is not None), key=lambda m: (m.folder, m.camera, m.when, m.ref))
    runs: list[list[Member]] = []
    for f in rest:
        last = runs[-1][-1] if runs else None
        if last is not None and (f.folder, f.camera) == (last.folder, last.camera) and _gap(f, last) <= BURST_GAP:
            runs[-1].append(f)
        else:
            runs.append([f])
    for run in runs:
        if len(run) >= BURST_MIN_FRAMES:
            _burst(run, groups, taken, None)


def _burst(frames: list[Member], groups: list[Group], taken: dict[str, Group], key: str | None) -> None:
    anchor = next((m for m in frames if _joinable(m, taken, "burst") and m.ref in taken), None)
    free = [m for m in frames if m.ref not in taken]
    if anchor is None:
        if len(free) < 2:
            return
        anchor = min(free, key=lambda m: (not (burst_name(m.name) or ("", False))[1],
                                          m.when or datetime.max, m.name, m.ref))
        free.remove(anchor)
    for m in free:
        _add(groups, taken, anchor, m, "burst", "primary", "member", key)
