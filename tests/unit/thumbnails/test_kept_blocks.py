"""Between items a thumbnail worker keeps Pillow's image blocks for the next photo instead of
mapping its decode buffers in afresh (processor/thumbnails/render.py, BLOCKS_KEPT): counted in
page faults, not timed. Before, a 12 MP photo faulted in ~6,500 pages every item (~15 % of its CPU)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
    render.release_memory()  # as the worker does after each item
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
    fresh = _faults(photo, PILLOW_BLOCKS_MAX="0")  # the old way: every block unmapped when freed
    # the decode (1600x1200 at 1/2 scale, 4 bytes a pixel) is ~1,900 pages, the 1440 px image
    # ~1,500: faulted in again for every photo the old way, reused when kept
    assert min(fresh[1:]) > 3400, fresh
    assert min(fresh[1:]) - max(kept[1:]) > 1500, (kept, fresh)
