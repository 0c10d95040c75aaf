"""Motion photos: what finding and extracting the embedded video costs, next to a baseline each.

1. A plain 12 MP JPEG (no motion photo; what almost every asset is): our ``locate()`` against
   the thumbnails the stage renders for it anyway — the overhead every photo pays.
2. A Samsung motion photo (12 MP JPEG + a 720p MP4 in the SEF trailer): our ``locate()`` + the
   fsynced copy (no probe) against ``exiftool -b -EmbeddedVideoFile`` writing the same bytes.

Median of several runs after a warm-up, alternating the order (the box is shared); wall and CPU
time are printed (on a saturated box the wall ratio is a CPU ratio). Target: case 1 under 2 % of
the thumbnails, case 2 faster than ExifTool.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 7


def measure(fn) -> tuple[float, float]:
    """(wall, CPU incl. children) seconds of one call."""
    c0, p0, w0 = os.times(), time.process_time(), time.perf_counter()
    fn()
    c1, p1, w1 = os.times(), time.process_time(), time.perf_counter()
    children = (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)
    return w1 - w0, (p1 - p0) + children


def compare(name: str, ours, baseline) -> None:
    ours(), baseline()  # warm-up
    o, b = [], []
    for i in range(RUNS):
        pair = (ours, baseline) if i % 2 == 0 else (baseline, ours)
        results = [measure(fn) for fn in pair]
        o.append(results[0] if i % 2 == 0 else results[1])
        b.append(results[1] if i % 2 == 0 else results[0])
    ow, oc = statistics.median(x[0] for x in o), statistics.median(x[1] for x in o)
    bw, bc = statistics.median(x[0] for x in b), statistics.median(x[1] for x in b)
    print(f"{name}: ours {ow * 1000:.2f} ms (cpu {oc * 1000:.1f} ms), baseline {bw * 1000:.2f} ms "
          f"(cpu {bc * 1000:.1f} ms), ratio {ow / bw:.3f} (cpu {oc / bc if bc else float('nan'):.3f})", flush=True)


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from bench.thumbnails.run import make_photo
    from photo_factory import files
    from processor.thumbnails import motion_find, render
    from tests.support import motion_samples as ms

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        still = root / "plain.jpg"
        make_photo(still, 4000, 3000)
        enc = render.Encoding("jpeg", 82)

        def thumbnails() -> None:
            for img in render.render(str(still), (1440, 256), 10**9).values():
                render.encode(img, enc)

        compare("plain 12 MP JPEG: locate() vs its thumbnails", lambda: motion_find.locate(still), thumbnails)

        clip = root / "clip.mp4"
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
                        "-t", "3", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(clip)],
                       check=True)
        video = clip.read_bytes()
        samsung = root / "samsung.jpg"
        samsung.write_bytes(still.read_bytes() + ms.samsung_trailer([(0x0A30, b"MotionPhoto_Data", video)]))
        out_ours, out_exif = root / "ours.mp4", root / "exiftool.mp4"

        def extract() -> None:
            found = motion_find.locate(samsung)
            assert found is not None and found.problem is None
            files.copy_range_atomically(samsung, found.offset, found.length, out_ours, tmp_dir=root)

        def exiftool() -> None:
            with open(out_exif, "wb") as out:
                subprocess.run(["exiftool", "-b", "-EmbeddedVideoFile", "--", str(samsung)], stdout=out, check=True)
                out.flush()
                os.fsync(out.fileno())

        print(f"samsung motion photo: {samsung.stat().st_size / 1e6:.1f} MB, video {len(video) / 1e6:.1f} MB")
        compare("samsung motion photo: locate()+copy vs exiftool -b", extract, exiftool)
        assert out_ours.read_bytes() == out_exif.read_bytes() == video
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
