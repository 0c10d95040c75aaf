"""Which files are sidecars, which photo each belongs to, and its name in the library."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from librarian import sidecars
from librarian.sidecars import CUT, EDITED, FULL, STEM
from tests.support.sidecar_samples import cut

# (JSON name, photo name, expected fit or None) — the forms Google Takeout writes
TAKEOUT = [
    ("PXL_20211013_220651983.jpg.json", "PXL_20211013_220651983.jpg", FULL),
    ("PXL_20211013_220651983.jpg.json", "PXL_20211013_220651958.jpg", None),
    ("IMG_1.json", "IMG_1.JPG", STEM),
    ("DSC_0101.JPG(1).json", "DSC_0101(1).JPG", FULL),
    ("DSC_0102.JPG(2).json", "DSC_0102(1).JPG", None),
    ("DSC_0103.JPG(1).json", "DSC_0103.JPG", None),
    ("DSC_0104.JPG.json", "DSC_0104(1).JPG", None),
    ("IMG_2710.HEIC(1).json", "IMG_2710(1).HEIC", FULL),
    ("PXL_20231118_035751175.MP.jpg.json", "PXL_20231118_035751175.MP.jpg", FULL),
    ("PXL_20230809_203449253.LONG_EXPOSURE-02.ORIGIN.json", "PXL_20230809_203449253.LONG_EXPOSURE-02.ORIGINA.jpg", CUT),
    ("05yqt21kruxwwlhhgrwrdyb6chhwszi9bqmzu16w0 2.jp.json", "05yqt21kruxwwlhhgrwrdyb6chhwszi9bqmzu16w0 2.jpg", CUT),
    ("😀😃😄😁😆😅😂🤣🥲☺️😊😇🙂🙃😉😌😍🥰😘😗😙😚😋.json", "😀😃😄😁😆😅😂🤣🥲☺️😊😇🙂🙃😉😌😍🥰😘😗😙😚😋😛.jpg", CUT),
    ("Backyard_ceremony_wedding_photography_xxxxxxx_(494).json",
     "Backyard_ceremony_wedding_photography_xxxxxxx_m(494).jpg", CUT),
    ("Backyard_ceremony_wedding_photography_xxxxxxx_(494).json",
     "Backyard_ceremony_wedding_photography_xxxxxxx_m(185).jpg", None),
    ("13039_327707840323_537645323_9470255_27214_n.j(1).json",
     "13039_327707840323_537645323_9470255_27214_n(1).jpg", CUT),
    ("20161105_170829.jpg.supplemental-metadata.json", "20161105_170829.jpg", FULL),
    ("Screenshot_20231027_123303_Facebook.jpg.supple.json", "Screenshot_20231027_123303_Facebook.jpg", FULL),
    ("Screenshot_20231027_123303_Facebook.jpg.supple(1).json", "Screenshot_20231027_123303_Facebook(1).jpg", FULL),
    ("MVIMG_20191230_232926.jpg.supplemental-metadat.json", "MVIMG_20191230_232926.jpg", FULL),
    ("Screenshot_20200301-161151.png.supplemental-me.json", "Screenshot_20200301-161151.png", FULL),
    ("Scan35.jpg.supplemental-metadata(1).json", "Scan35(1).jpg", FULL),
    ("CLIP0001.AVI.supplemental-metadata(10).json", "CLIP0001(10).AVI", FULL),
    ("IMAG0061.JPG.supplemental-metadata.json", "IMAG0061-edited.JPG", EDITED),
    ("IMG-20230325-WA0122~2.jpg.supplemental-metadat.json", "IMG-20230325-WA0122~2-edited.jpg", EDITED),
    ("2234089303984509579.supplemental-metadata.json", "2234089303984509579-edited.jpg", EDITED),
    ("Screenshot_20231027_123303_Facebook.jpg.supple.json", "Screenshot_20231027_123303_Facebook-edited.jpg", EDITED),
    ("PXL_20220405_090123740.PORTRAIT.jpg.json", "PXL_20220405_090123740.PORTRAIT-modifié.jpg", EDITED),
    ("PXL_20220405_090123740.PORTRAIT.jpg.json", "PXL_20220405_090123741.PORTRAIT-modifié.jpg", None),
    ("IMG_1.JPG.json", "IMG_1-bearbeitet.JPG", EDITED),
    ("Screenshot_2024-08-31-00-53-48-647_com.snapcha.json", "Screenshot_2024-08-31-00-53-48-647_com.snapchat.jpg", CUT),
    ("IMG_1.JPG.json", "IMG_1.JPG.xmp", None),  # a sidecar is nobody's photo
]


@pytest.mark.parametrize(("json_name", "photo", "fit"), TAKEOUT)
def test_it_matches_every_takeout_naming_form(json_name: str, photo: str, fit: int | None) -> None:
    assert sidecars.match(json_name, photo) == fit


@pytest.mark.parametrize(("name", "photo", "fit"), [
    ("IMG_1.JPG.xmp", "IMG_1.JPG", FULL), ("img_1.jpg.XMP", "IMG_1.JPG", FULL),
    ("IMG_1.xmp", "IMG_1.JPG", STEM), ("IMG_1.XMP", "img_1.cr2", STEM),
    ("IMG_1.AAE", "IMG_1.HEIC", STEM), ("MVI_0001.THM", "MVI_0001.MOV", STEM),
    ("IMG_1.xmp", "IMG_10.JPG", None), ("IMG_1.JPG.xmp", "IMG_1.jpeg", None),
])
def test_it_matches_xmp_aae_and_thm_in_both_namings_and_any_case(name: str, photo: str, fit: int | None) -> None:
    assert sidecars.match(name, photo) == fit


def test_it_recognises_sidecar_kinds_by_name_only() -> None:
    assert [sidecars.kind_of(n) for n in ("a.XMP", "a.aae", "A.THM", "a.jpg.json", "a.jpg", ".xmp")] == [
        "xmp", "aae", "thm", "takeout_json", None, None]


def test_two_photos_that_claim_one_json_get_one_owner() -> None:
    owner = sidecars.best_photo("IMG_1.json", ["IMG_1.MOV", "IMG_1.PNG", "IMG_1.JPG"])
    assert owner == sidecars.Owner("IMG_1.JPG", STEM)  # images before videos, then by name
    assert sidecars.best_photo("IMG_1.json", ["IMG_1.PNG", "IMG_1.JPG"], title="IMG_1.PNG").name == "IMG_1.PNG"
    # the original owns the JSON, not its edit
    assert sidecars.best_photo("IMG_1.JPG.json", ["IMG_1-edited.JPG", "IMG_1.JPG"]).name == "IMG_1.JPG"


@pytest.mark.parametrize(("side", "kind", "orig", "final", "expected"), [
    ("IMG_1.JPG.xmp", "xmp", "IMG_1.JPG", "IMG_1_1.JPG", "IMG_1_1.JPG.xmp"),
    ("IMG_1.xmp", "xmp", "IMG_1.JPG", "IMG_1_1.JPG", "IMG_1_1.xmp"),
    ("IMG_1.AAE", "aae", "IMG_1.HEIC", "IMG_1.HEIC", "IMG_1.AAE"),
    ("IMG_1.JPG.supplemental-metadata(1).json", "takeout_json", "IMG_1(1).JPG", "IMG_1(1)_2.JPG",
     "IMG_1(1)_2.JPG.json"),
])
def test_a_sidecar_is_named_after_its_photos_final_name(side: str, kind: str, orig: str, final: str,
                                                        expected: str) -> None:
    assert sidecars.library_name(side, kind, orig, final) == expected


# -- properties -------------------------------------------------------------------------------

_CHARS = st.sampled_from(list("abcXYZ019_-~ .") + ["é", "日", "😀", "☺", "\ufe0f"])
_STEMS = st.text(_CHARS, min_size=1, max_size=70).filter(
    lambda s: s.strip(" .") == s and not any(s.lower().endswith(x) for x in sidecars.EDIT_SUFFIXES))
_EXTS = st.sampled_from([".jpg", ".JPG", ".HEIC", ".mp4", ".png"])


def _takeout_names(stem: str, ext: str, index: str) -> list[str]:
    original = stem + ext
    counter = f"({index})" if index else ""
    names = [cut(original) + counter + ".json",
             cut(original + ".supplemental-metadata") + counter + ".json"]
    if len(original) <= 40:
        names.append(stem + counter + ".json")
    return names


@settings(max_examples=300, deadline=None)
@given(_STEMS, _EXTS, st.sampled_from(["", "1", "12"]))
def test_every_takeout_form_of_a_name_finds_its_photo(stem: str, ext: str, index: str) -> None:
    photo = f"{stem}({index}){ext}" if index else stem + ext
    for json_name in _takeout_names(stem, ext, index):
        fit = sidecars.match(json_name, photo)
        assert fit is not None, (json_name, photo)
        assert sidecars.best_photo(json_name, [photo]) is not None
        assert photo.lower().startswith(sidecars.probe(json_name)), (json_name, photo)
        # a copy with another counter is never taken for it
        other = f"{stem}(7){ext}"
        assert sidecars.match(json_name, other) is None
        # the edited copy shares the original's JSON (when the counter is not in the way)
        if not index:
            edited = sidecars.match(json_name, f"{stem}-edited{ext}")
            assert edited is not None and edited >= fit


@settings(max_examples=200, deadline=None)
@given(_STEMS, _EXTS, st.sampled_from([".xmp", ".XMP"]), st.booleans(), st.integers(0, 3))
def test_an_xmp_sidecar_is_filed_under_its_photos_final_name(stem: str, ext: str, xmp: str, full: bool,
                                                             suffix: int) -> None:
    photo = stem + ext
    side = (photo if full else stem) + xmp
    assert sidecars.match(side, photo) == (FULL if full else STEM)
    final = f"{stem}_{suffix}{ext}" if suffix else photo
    name = sidecars.library_name(side, "xmp", photo, final)
    assert sidecars.match(name, final) == (FULL if full else STEM)
    assert photo.lower().startswith(sidecars.probe(side))


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=30), st.sampled_from([".x", "~syncthing~a.tmp", "a.part", "a.crdownload", "._x",
                                                        "Thumbs.db", "@eaDir", "desktop.ini", "IMG.JPG"])))
def test_the_folder_listing_ignores_exactly_what_the_inbox_ignores(name: str) -> None:
    from librarian import attach, inbox

    assert attach._ignored(name) == inbox.is_ignored(name)
