"""The metadata reader against an ExifTool that stalls or dies on one file: bounded, retried,
the culprit read with Pillow and labelled, the others still read by ExifTool.

A fake ``exiftool`` (speaking the ``-stay_open`` protocol) stalls or exits whenever a call names
a file containing ``stall`` or ``crash``, so the culprit is known and the timing deterministic.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from librarian import metadata
from tests.support import fake_exiftool as stand_in
from tests.support.procs import alive

#: dies on a file named *crash*, stalls on one named *stall*, else answers like ExifTool
FAKE = """
if any("crash" in os.path.basename(os.path.realpath(f)) for f in files):
    os._exit(9)
elif any("stall" in os.path.basename(os.path.realpath(f)) for f in files):
    time.sleep(3600)
else:
    sys.stdout.write(json.dumps([{"SourceFile": f, "File:FileType": "JPEG", "EXIF:Make": "Fake"}
                                 for f in files]) + "\\n")
"""


@pytest.fixture
def fake_exiftool(tmp_path: Path) -> str:
    return stand_in.install(tmp_path / "exiftool", FAKE, post="=0=")


def _photos(folder: Path, names: list[str]) -> list[Path]:
    out = []
    for i, name in enumerate(names):
        Image.new("RGB", (8, 8), (i * 20, 0, 0)).save(folder / name, "JPEG")
        out.append(folder / name)
    return out


@pytest.mark.parametrize("culprit", ["IMG_stall.jpg", "IMG_crash.jpg"])
def test_a_file_that_stalls_or_kills_exiftool_is_read_with_pillow_and_labelled(fake_exiftool, tmp_path, culprit):
    paths = _photos(tmp_path, ["a.jpg", "b.jpg", culprit, "c.jpg"])
    reader = metadata.MetadataReader(fake_exiftool, processes=1, timeout_s=1.0)
    try:
        tags = reader.read_many(paths)
        pids = reader.pids()
    finally:
        reader.close()
    by_name = {p.name: t for p, t in zip(paths, tags, strict=True)}
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        assert by_name[name]["PF:Reader"] == "exiftool" and by_name[name]["EXIF:Make"] == "Fake"
    bad = by_name[culprit]
    assert bad["PF:Reader"] == "pillow" and bad["File:FileType"] == "JPEG"
    reason = "tool_timeout" if "stall" in culprit else "tool_died"
    assert reason in bad["PF:ReaderProblem"]
    assert reader.restarts >= 3  # the chunk, the chunk again, the culprit alone
    assert reader.last_problem and reason in reader.last_problem
    for pid in pids:
        assert not alive(pid)


def test_a_stop_request_abandons_a_stalled_call_at_once(fake_exiftool, tmp_path):
    paths = _photos(tmp_path, ["a.jpg", "IMG_stall.jpg"])
    stop = threading.Event()
    reader = metadata.MetadataReader(fake_exiftool, processes=1, timeout_s=3600.0, stop=stop)
    future = reader.submit(paths)
    time.sleep(0.5)
    stop.set()
    try:
        with pytest.raises(metadata.stayopen.ExifToolFailed) as err:
            future.result(timeout=30)
        assert err.value.reason == "tool_stopped"
    finally:
        reader.close()
