"""Between photos a thumbnail worker keeps Pillow's image blocks (small, uniform ones) for the next
one instead of mapping its decode buffers in afresh (processor/thumbnails/render.py, BLOCKS_KEPT):
counted in page faults, not timed. Before, a 12 MP photo faulted in ~7,000 pages every item (~20 %
of its CPU); with 4 kept blocks of Pillow's default 16 MB still ~4,000 (a kept block was resized
for the next image)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[3]

_ITEMS = """
import json, resource, sys
from processor.thumbnails import render
enc = render.Encoding("jpeg", 82)
faults = []
for _ in range(4):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for img in render.render(sys.argv[1], (1440, 256), 10**9).values():
        render.encode(img, enc)
    render.release_memory()  # as the worker does after each photo
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(json.dumps(faults))
"""


def _faults(photo: Path, **env: str) -> list[int]:
    out = subprocess.run([sys.executable, "-c", _ITEMS, str(photo)], capture_output=True, text=True,
                         check=True, cwd=REPO, env={**os.environ, **env})
    return json.loads(out.stdout.splitlines()[-1])


def test_a_busy_worker_reuses_its_image_buffers_from_one_photo_to_the_next(tmp_path: Path):
    photo = tmp_path / "photo.jpg"
    noise = Image.effect_noise((3200, 2400), 40)
    Image.merge("RGB", (noise, noise.transpose(Image.Transpose.FLIP_LEFT_RIGHT), noise)).save(photo, quality=90)
    kept = _faults(photo)
    # the old way: Pillow's default 16 MB blocks, every one unmapped when freed
    fresh = _faults(photo, PILLOW_BLOCKS_MAX="0", PILLOW_BLOCK_SIZE=str(16 << 20))
    # the decode (1600x1200 at 1/2 scale, 4 bytes a pixel) is ~1,900 pages, the 1440 px image
    # ~1,500: faulted in again for every photo the old way, reused now
    assert min(fresh[1:]) > 3400, fresh
    assert max(kept[1:]) < 1500, (kept, fresh)



_KEPT = """
import json, sys
import pytest
from PIL import Image
from processor.thumbnails import render
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 >> 20
enc = render.Encoding("jpeg", 82)
idle = rss()
for path in sys.argv[1:]:
    for img in render.render(path, (1440, 256), 10**9).values():
        render.encode(img, enc)
    render.release_memory()  # as the worker does after each photo
print(json.dumps({"kept_mb": rss() - idle, "bound_mb": (render.BLOCKS_KEPT * Image.core.get_block_size()) >> 20}))
"""


@pytest.mark.parametrize("block_size", ["16M", "not-a-size", "4096"])
def test_a_block_size_from_the_environment_still_keeps_at_most_32_mb(tmp_path: Path, block_size: str):
    """``PILLOW_BLOCK_SIZE=16M`` (Pillow's own default, as its docs show it) or a value Pillow
    refuses: before, 32 blocks of 16 MB were kept (55 MB over three full-size PNG decodes, 512 MB
    at most). ``4096``: never more than 32 blocks (8,192 tiny ones, a first fix, took 50 MB with
    the heap's holes between them)."""
    photos = []
    for w, h in ((2000, 1500), (3000, 2000), (4000, 3000)):  # PNG: decoded at full size
        noise = Image.effect_noise((w, h), 40)
        photos.append(tmp_path / f"{w}.png")
        Image.merge("RGB", (noise, noise, noise)).save(photos[-1], compress_level=1)
    out = subprocess.run([sys.executable, "-c", _KEPT, *map(str, photos)], capture_output=True, text=True,
                         check=True, cwd=REPO, env={**os.environ, "PILLOW_BLOCK_SIZE": block_size})
    got = json.loads(out.stdout.splitlines()[-1])
    assert got["bound_mb"] <= 32, got
    assert got["kept_mb"] <= 32 + 12, got  # + the heap's own slack after malloc_trim
