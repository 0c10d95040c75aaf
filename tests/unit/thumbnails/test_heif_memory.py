"""Memory of a thumbnail worker: a HEIC never holds the full-size frame in Pillow beside
libheif's own buffer, freed buffers go back between items, an idle worker has not loaded what
only videos need.

libheif decodes HEVC at full size only; pillow-heif's plugin then copied the whole frame into
Pillow (4 bytes a pixel), so a worker's peak was libheif's decode plus a second full frame (a
user measured 323 MB for one thumbnail worker). The peak is measured in fresh child processes
(VmHWM): the decode alone, then the render; the render may add well under half a full Pillow
frame to what libheif itself needs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pillow_heif
from PIL import Image

W, H = 3000, 2000

_CHILD = """
import json, sys
def hwm():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) * 1024
import pillow_heif
from processor.thumbnails import render
pillow_heif.options.DECODE_THREADS = 1
path, what = sys.argv[1], sys.argv[2]
before = hwm()
if what == "decode":
    frame = pillow_heif.open_heif(path)[0]
    frame.data
    size = frame.size
else:
    out = render.render(path, (256,), 200_000_000)
    size = out[256].size
print(json.dumps({"grew": hwm() - before, "size": size}))
"""


def _peak_growth(path: Path, what: str) -> dict:
    done = subprocess.run([sys.executable, "-c", _CHILD, str(path), what], capture_output=True, text=True,
                          check=True, cwd=Path(__file__).resolve().parents[3])
    return json.loads(done.stdout)


def test_a_heic_render_adds_far_less_than_a_full_frame_to_libheifs_own_decode(tmp_path: Path):
    pillow_heif.register_heif_opener()
    src = tmp_path / "big.heic"
    Image.linear_gradient("L").resize((W, H)).convert("RGB").save(src, "HEIF", quality=50)
    decode = _peak_growth(src, "decode")
    rendered = _peak_growth(src, "render")
    assert rendered["size"] == [256, 171]
    full_frame = W * H * 4  # Pillow's RGB image
    assert rendered["grew"] < decode["grew"] + full_frame // 2, (decode, rendered)


_WORKER = """
import json, sys
from pathlib import Path
def rss():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS")) * 1024
import pillow_heif
from processor.thumbnails.settings import ThumbnailSettings
from processor.thumbnails.thumbnails import Thumbnailer
pillow_heif.options.DECODE_THREADS = 2
storage = Path(sys.argv[1])
thumbs = Thumbnailer(storage, ThumbnailSettings(), None)
idle = rss()
for i in range(4):
    thumbs.process({"id": i, "library_path": "Library/big.heic", "media_type": "image"})
busy = rss()
from processor.thumbnails import render
render.release_all()  # what the worker does when its queue runs dry
from PIL import Image
kept = render.BLOCKS_KEPT * Image.core.get_block_size()
print(json.dumps({"idle": idle, "busy": busy, "after": rss(), "kept": kept}))
"""


def test_a_thumbnail_worker_returns_to_its_idle_size_between_items(tmp_path: Path):
    """glibc keeps freed heap memory: without giving it back, a worker stayed a frame or more
    above its idle size after a HEIC until it exited (the steady RSS users see). Between items it
    keeps no more than Pillow's few kept blocks; once idle, not even those."""
    pillow_heif.register_heif_opener()
    lib = tmp_path / "Library"
    lib.mkdir()
    Image.linear_gradient("L").resize((W, H)).convert("RGB").save(lib / "big.heic", "HEIF", quality=50)
    done = subprocess.run([sys.executable, "-c", _WORKER, str(tmp_path)], capture_output=True, text=True,
                          check=True, cwd=Path(__file__).resolve().parents[3])
    got = json.loads(done.stdout.splitlines()[-1])
    assert got["busy"] - got["idle"] < W * H * 4 // 2 + got["kept"], got
    assert got["after"] - got["idle"] < W * H * 4 // 2, got


def test_an_idle_thumbnail_worker_has_not_loaded_ffmpegs_libraries():
    """PyAV (only the video path reads a duration with it) maps FFmpeg's libraries: +17 MB in a
    worker that never sees a video. It is imported at the first video."""
    code = "import sys, processor.thumbnails.service; print('av' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[3])
    assert done.stdout.strip() == "False"
