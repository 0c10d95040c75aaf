"""Sidecars from a careless world: odd names, sidecars larger than their photos, malformed XMP and
JSON, a kill -9 between the photo's move and its sidecar's, a sidecar whose photo is quarantined,
two photos that claim one JSON. Real ``photo-factory librarian --once`` runs; every test ends with
the invariant checker (which covers attached sidecars)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.adversity.filing_support import jpeg_bytes, query, run_librarian, write
from tests.support import invariants, sidecar_samples
from tests.support.faults import PATCHED_CLI


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sidecars(database_url: str) -> dict[str, dict]:
    return {r["source_path"]: r for r in query(
        database_url,
        "SELECT s.*, a.library_path AS photo FROM asset_sidecars s JOIN media_assets a ON a.id = s.asset_id")}


def check(pf_env, storage, originals: set[str], **kw) -> None:
    invariants.check(pf_env["PF_DATABASE_URL"], storage["inbox"], storage["storage"], originals, **kw)


def test_sidecars_with_hostile_names_travel_with_their_photos(storage, pf_env, tmp_path):
    inbox = storage["inbox"]
    names = [b"-IMG_1.JPG", b"caf\xe9 \x01.JPG", "日本 (1).JPG".encode(), b"a\nb.JPG", b"--all=x.JPG",
             "é".encode() * 121 + b".JPG"]  # 246 bytes: shortened in the library, its sidecar with it
    originals = set()
    for i, name in enumerate(names):
        originals.add(sha(write(os.fsencode(inbox) + b"/" + name, jpeg_bytes(i))))
        originals.add(sha(write(os.fsencode(inbox) + b"/" + name + b".xmp", b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>"
                                + name.hex().encode())))
    assert run_librarian(pf_env, tmp_path / "log") == 0
    rows = sidecars(pf_env["PF_DATABASE_URL"])
    assert len(rows) == len(names)
    assert all(r["library_path"] == r["photo"] + ".xmp" for r in rows.values())
    assert query(pf_env["PF_DATABASE_URL"], "SELECT * FROM quarantine") == []
    check(pf_env, storage, originals)


def test_a_sidecar_larger_than_its_photo_and_malformed_ones_are_kept_with_the_reason(storage, pf_env, tmp_path):
    inbox = storage["inbox"]
    originals = {sha(write(inbox / f"IMG_{i}.JPG", jpeg_bytes(i))) for i in range(4)}
    big = b"{" + b" " * (5 << 20) + b"}"  # valid JSON, larger than what is parsed (and than the photo)
    data = {"IMG_0.JPG.json": big, "IMG_1.JPG.json": b'{"photoTakenTime": {"timestamp": "x', "IMG_2.JPG.xmp":
            b"<x:xmpmeta><rdf:RDF", "IMG_3.JPG.supplemental-metadata.json": b"\xff\xfe\x00garbage"}
    originals |= {sha(write(inbox / n, d)) for n, d in data.items()}
    assert run_librarian(pf_env, tmp_path / "log") == 0
    rows = sidecars(pf_env["PF_DATABASE_URL"])
    assert sorted(rows) == sorted(data)
    for name, row in rows.items():
        assert row["metadata"].get("problem"), name  # a clear reason, the file kept
    assert "larger than" in rows["IMG_0.JPG.json"]["metadata"]["problem"]
    assert query(pf_env["PF_DATABASE_URL"], "SELECT * FROM quarantine") == []
    check(pf_env, storage, originals)


@pytest.mark.parametrize("crash", ["librarian.attach:Sidecars.attach|before|1",
                                   "librarian.sidecar_store:SidecarStore.record|before|1",
                                   "librarian.sidecar_store:SidecarStore.record|after|1"])
def test_a_kill_between_the_photo_and_its_sidecar_is_finished_by_the_next_run(storage, pf_env, tmp_path, crash):
    inbox = storage["inbox"]
    originals = {sha(write(inbox / "d" / "IMG_1.JPG", jpeg_bytes(1)))}
    originals.add(sha(sidecar_samples.xmp(inbox / "d" / "IMG_1.JPG.xmp", Title="t").read_bytes()))
    env = {**pf_env, "PF_TEST_CRASH": crash, "PF_STABILITY_SECONDS": "0.05"}
    proc = subprocess.run([sys.executable, "-c", PATCHED_CLI, "librarian", "--once"], env=env,
                          capture_output=True, timeout=180)
    assert proc.returncode == 137, proc.stderr[-2000:]
    assert run_librarian(pf_env, tmp_path / "log") == 0
    [row] = sidecars(pf_env["PF_DATABASE_URL"]).values()
    assert row["library_path"] == row["photo"] + ".xmp"
    check(pf_env, storage, originals)


def test_a_sidecar_whose_photo_is_quarantined_is_kept_as_an_orphan_at_once(storage, pf_env, tmp_path):
    inbox = storage["inbox"]
    originals = {sha(write(inbox / "IMG_2.JPG", b""))}  # empty: quarantined
    originals |= {sha(write(inbox / "IMG_2.JPG.xmp", b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>"))}
    originals.add(sha(write(inbox / "IMG_3.JPG", jpeg_bytes(3)[:200])))  # truncated: quarantined
    originals.add(sha(write(inbox / "IMG_3.json", b'{"title": "IMG_3.JPG", "photoTakenTime": {"timestamp": "1"}}')))
    assert run_librarian(pf_env, tmp_path / "log") == 0  # default wait: an hour, not needed here
    q = {r["source_path"]: r for r in query(pf_env["PF_DATABASE_URL"], "SELECT * FROM quarantine")}
    assert q["IMG_2.JPG.xmp"]["reason"] == "orphan_sidecar" and "IMG_2.JPG" in q["IMG_2.JPG.xmp"]["detail"]
    assert q["IMG_3.json"]["reason"] == "orphan_sidecar" and "truncated" in q["IMG_3.json"]["detail"]
    check(pf_env, storage, originals)


def test_two_photos_that_claim_one_json_never_share_it(storage, pf_env, tmp_path):
    inbox = storage["inbox"]
    originals = {sha(write(inbox / "IMG_1.JPG", jpeg_bytes(1))), sha(write(inbox / "IMG_1.PNG", _png()))}
    doc = {"title": "IMG_1.PNG", "photoTakenTime": {"timestamp": "1562000000"}}
    originals.add(sha(write(inbox / "IMG_1.json", json.dumps(doc).encode())))
    assert run_librarian(pf_env, tmp_path / "log") == 0
    [row] = sidecars(pf_env["PF_DATABASE_URL"]).values()
    assert row["photo"].endswith("/IMG_1.PNG")  # the one its title names
    dated = {r["original_name"]: r["date_source"]
             for r in query(pf_env["PF_DATABASE_URL"], "SELECT * FROM media_assets")}
    assert dated == {"IMG_1.JPG": "takeout:photoTakenTime", "IMG_1.PNG": "takeout:photoTakenTime"}
    check(pf_env, storage, originals)


def test_an_orphan_aae_is_reattached_beside_its_photo_named_heic_whatever_its_content(storage, pf_env, tmp_path):
    inbox = storage["inbox"]
    originals = {sha(write(inbox / "x" / "IMG_8.AAE", b"<plist>adjustments</plist>"))}
    env = {**pf_env, "PF_SIDECAR_WAIT_SECONDS": "0"}
    assert run_librarian(env, tmp_path / "log") == 0
    [q] = query(pf_env["PF_DATABASE_URL"], "SELECT * FROM quarantine")
    assert q["reason"] == "orphan_sidecar"
    originals.add(sha(write(inbox / "x" / "IMG_8.HEIC", jpeg_bytes(8))))  # named .HEIC, is a JPEG
    assert run_librarian(env, tmp_path / "log") == 0
    [row] = sidecars(pf_env["PF_DATABASE_URL"]).values()
    assert row["library_path"] == str(Path(row["photo"]).with_suffix(".AAE"))
    assert query(pf_env["PF_DATABASE_URL"], "SELECT * FROM quarantine") == []
    check(pf_env, storage, originals)


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(out, "PNG")
    return out.getvalue()
