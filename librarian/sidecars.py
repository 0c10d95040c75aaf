"""Sidecar files by name: which files are sidecars, which photo each belongs to, and the name
it gets beside that photo in the library. Pure functions (no I/O).

Kinds: ``xmp`` (``IMG_1.JPG.xmp`` or ``IMG_1.xmp``, any case), ``aae`` (Apple edits),
``thm`` (a camera's video thumbnail) and ``takeout_json`` (Google Takeout).

Google Takeout writes the JSON of ``IMG_1.JPG`` in several forms (facts gathered from Takeout
exports and from peers that import them, e.g. immich-go):

- ``IMG_1.JPG.json``; older exports also ``IMG_1.json``;
- ``IMG_1.JPG.supplemental-metadata.json`` (2024 and later), the ``supplemental-metadata`` part
  cut short (``.supple.json``, ``.supplemental-metad.json``) so the name stays within the limit;
- the limit: the name before ``.json`` is at most 46 UTF-16 code units (51 with ``.json``); a
  longer photo name is itself cut (``…com.snapcha.json`` for ``…com.snapchat.jpg``);
- a second photo of the same name, ``IMG_1(1).JPG``, has its counter after the cut:
  ``IMG_1.JPG(1).json``, ``IMG_1.JPG.supplemental-metadata(1).json``;
- an edited copy (``IMG_1-edited.JPG``, localised: ``-bearbeitet``, ``-modifié``, …) has no
  JSON of its own: it shares its original's;
- ``metadata.json`` (localised: ``métadonnées.json``, ``Metadaten.json``, …) in an album folder
  describes the album, not a photo: it is recognised by its content (see sidecar_meta).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

KINDS = ("xmp", "aae", "thm", "takeout_json")
_BY_EXT = {".xmp": "xmp", ".aae": "aae", ".thm": "thm", ".json": "takeout_json"}

#: Takeout's limit for the name before ``.json``, in UTF-16 code units.
TAKEOUT_LIMIT = 46
_SUPPLEMENTAL = "supplemental-metadata"
#: Suffixes Google Photos gives an edited copy, by language.
EDIT_SUFFIXES = ("-edited", "-bearbeitet", "-modifié", "-editado", "-modificato", "-bewerkt",
                 "-redigerad", "-redigeret", "-redigert", "-muokattu", "-edytowane", "-upraveno",
                 "-szerkesztett", "-editat", "-editada", "-изменено", "-編集済み", "-편집됨", "-已编辑")
_INDEX = re.compile(r"\((\d{1,4})\)")

#: How well a sidecar fits a photo (lower is better): its whole name, its stem, a cut name, an edit.
FULL, STEM, CUT, EDITED = 0, 1, 2, 3


def kind_of(name: str) -> str | None:
    """The sidecar kind of a file name, or None for anything else."""
    i = name.rfind(".")
    if i <= 0:
        return None
    return _BY_EXT.get(name[i:].lower())


def _nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


def _utf16(s: str) -> int:
    return len(s.encode("utf-16-le", "surrogatepass")) // 2


def split_ext(name: str) -> tuple[str, str]:
    """``("IMG_1", ".JPG")``; no extension when there is no dot after the first character."""
    i = name.rfind(".")
    if i <= 0:
        return name, ""
    return name[:i], name[i:]


def _take_index(name: str) -> tuple[str, str]:
    """``IMG_1(1).JPG`` -> (``IMG_1.JPG``, ``1``): the last ``(n)`` taken out."""
    matches = list(_INDEX.finditer(name))
    if not matches:
        return name, ""
    m = matches[-1]
    return name[:m.start()] + name[m.end():], m.group(1)


def takeout_base(json_name: str) -> tuple[str, str]:
    """The photo name a Takeout JSON names (possibly cut) and its ``(n)`` counter:
    ``IMG_1.JPG.supplemental-metadata(1).json`` -> (``IMG_1.JPG``, ``1``)."""
    base = _nfc(json_name)[:-len(".json")]
    base, index = _take_index(base)
    stem, ext = split_ext(base)
    word = ext[1:].lower()
    # ".supplemental-metadata", possibly cut short, after a photo name with its extension (or
    # the whole word after one without)
    if ext and _SUPPLEMENTAL.startswith(word) and (
            (word and "." in stem[1:]) or word == _SUPPLEMENTAL or _cut(base)):
        base = stem
    return base, index


def _cut(full_json_base: str) -> bool:
    """Was this JSON name cut at Takeout's limit (a surrogate pair may end it one unit early)?"""
    return _utf16(full_json_base) >= TAKEOUT_LIMIT - 1


def unedited(photo_name: str) -> str | None:
    """``IMG_1-edited.JPG`` -> ``IMG_1.JPG`` (any known language); None when not an edit."""
    stem, ext = split_ext(_nfc(photo_name))
    low = stem.lower()
    for suffix in EDIT_SUFFIXES:
        if low.endswith(suffix) and len(stem) > len(suffix):
            return stem[:-len(suffix)] + ext
    return None


def match(sidecar_name: str, photo_name: str) -> int | None:
    """How well ``sidecar_name`` fits ``photo_name`` (:data:`FULL` … :data:`EDITED`, lower is
    better), or None when it is not that photo's sidecar. Both are plain names, same folder."""
    kind = kind_of(sidecar_name)
    if kind is None or kind_of(photo_name) is not None:
        return None
    if kind == "takeout_json":
        return _match_takeout(sidecar_name, photo_name)
    side = _nfc(sidecar_name)[:-4].lower()  # .xmp / .aae / .thm
    photo = _nfc(photo_name).lower()
    if side == photo:
        return FULL
    if side == split_ext(photo)[0]:
        return STEM
    return None


def _match_takeout(json_name: str, photo_name: str) -> int | None:
    base, j_index = takeout_base(json_name)
    photo, p_index = _take_index(_nfc(photo_name))
    if j_index != p_index:
        return None
    cut_base = _nfc(json_name)[:-len(".json")]
    cut_base = _take_index(cut_base)[0]
    if base == photo:
        return FULL
    if base == split_ext(photo)[0]:
        return STEM
    if _cut(cut_base) and len(base) < len(photo) and photo.startswith(base):
        return CUT
    if not p_index and (original := unedited(photo)) is not None:
        found = _match_takeout(json_name, original)
        if found is not None:
            return EDITED
    return None


def probe(sidecar_name: str) -> str:
    """A prefix every photo name this sidecar can belong to starts with (case-folded), for a
    database lookup: the name up to its first ``.`` or ``(``."""
    name = _nfc(sidecar_name)
    cut = len(name)
    for ch in ".(":
        i = name.find(ch, 1)
        if i > 0:
            cut = min(cut, i)
    return name[:cut].lower()


@dataclass(frozen=True)
class Owner:
    name: str
    score: int


def best_photo(sidecar_name: str, photo_names: list[str], title: str | None = None) -> Owner | None:
    """The one photo among ``photo_names`` a sidecar belongs to: the best fit; among equals the
    one a Takeout ``title`` names, then an image before a video, then the first by name. Two
    photos never share one sidecar file."""
    scored = [(s, n) for n in photo_names if (s := match(sidecar_name, n)) is not None]
    if not scored:
        return None
    t = _nfc(title) if title else None

    def key(item: tuple[int, str]) -> tuple[int, int, int, str]:
        score, name = item
        return (score, 0 if t is not None and _nfc(name) == t else 1, 1 if _is_video(name) else 0, name)

    score, name = min(scored, key=key)
    return Owner(name, score)


_VIDEO_EXT = {".mov", ".mp4", ".m4v", ".3gp", ".avi", ".mkv", ".mts", ".m2ts", ".webm", ".wmv", ".mpg"}


def _is_video(name: str) -> bool:
    return split_ext(name)[1].lower() in _VIDEO_EXT


def library_name(sidecar_name: str, kind: str, original_photo: str, final_photo: str) -> str:
    """The sidecar's name beside its photo's FINAL library name: ``IMG_1.JPG.xmp`` for the photo
    filed as ``IMG_1_1.JPG`` becomes ``IMG_1_1.JPG.xmp``; a stem-named one (``IMG_1.xmp``,
    ``IMG_1.AAE``, ``IMG_1.THM``) keeps that style (``IMG_1_1.xmp``); a Takeout JSON is
    ``IMG_1_1.JPG.json`` whatever form it had."""
    side_ext = split_ext(sidecar_name)[1]
    if kind == "takeout_json":
        return f"{final_photo}.json"
    if match(sidecar_name, original_photo) == STEM:
        return split_ext(final_photo)[0] + side_ext
    return final_photo + side_ext
