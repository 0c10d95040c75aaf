"""Thumbnail speed and memory: our path next to a pyvips ``thumbnail`` baseline, same sizes, same run.

For a 12 MP and a 24 MP JPEG: our path (one DCT-scaled Pillow decode, the large size resized from it,
the small size from the large one, both encoded as JPEG) against pyvips (``Image.thumbnail`` from the
file once per size, JPEG output). Each case runs in a fresh process so its peak RSS is its own;
time is the median of several runs after a warm-up. Beside them the floor: the entropy decode
alone (Pillow's DCT-scaled decode at 1/8, which skips almost all of the IDCT and colour work but
must still read every coefficient). Target: ratio <= 0.5 and peak <= 64 MB.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES = (1440, 256)
QUALITY = 82
RUNS = 7
CASES = {"12MP": (4000, 3000), "24MP": (6000, 4000)}


def make_photo(path: Path, w: int, h: int) -> None:
    """A photo-like JPEG: smooth gradients plus sensor-like noise (flat images decode unrealistically fast)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(42)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([x / w * 200, y / h * 200, (x + y) / (w + h) * 255], axis=-1)
    noise = rng.normal(0, 12, (h, w, 1)).astype(np.float32)
    Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8)).save(path, "JPEG", quality=90)


def _rss_mb() -> float:
    """This process's peak resident set (VmHWM; ru_maxrss can carry the parent's size over fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def worker_threads() -> int:
    """The resize threads the worker runs with: PF_THUMBNAIL_THREADS, at most the cores (read in
    the parent: the settings' import would count in a child's peak, not the render's)."""
    from processor.thumbnails.settings import ThumbnailSettings

    return ThumbnailSettings().resize_threads


def ours(path: Path) -> None:
    from processor.thumbnails import render

    enc = render.Encoding("jpeg", QUALITY)
    for img in render.render(str(path), SIZES, 10**9).values():
        render.encode(img, enc)
    render.release_memory()  # as the worker does after each item (Pillow's kept blocks stay)


def floor(path: Path) -> None:
    from PIL import Image

    with Image.open(path) as im:
        im.draft(None, (im.width // 8, im.height // 8))
        im.load()


def vips(path: Path) -> None:
    import pyvips

    for size in SIZES:
        pyvips.Image.thumbnail(str(path), size).write_to_buffer(f".jpg[Q={QUALITY}]")


def peak(kind: str, path: Path, threads: int) -> dict:
    """Child-process body: import, run once, report the peak RSS (and the RSS after imports)."""
    if kind == "vips":
        import pyvips

        pyvips.cache_set_max(0)
    else:
        from processor.thumbnails import render

        render.configure_threads(threads)
    base = _rss_mb()
    (ours if kind == "ours" else vips)(path)
    return {"peak_mb": _rss_mb(), "import_mb": base}


def child(kind: str, path: Path, threads: int) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.thumbnails.run", "--child", kind, str(path), str(threads)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def timings(path: Path) -> dict[str, dict[str, float]]:
    """Median wall and CPU ms of both paths, interleaved run by run so machine load hits both alike."""
    import pyvips

    pyvips.cache_set_max(0)  # no cached decode between runs: a fair comparison
    ours(path), vips(path), floor(path)  # warm-up
    samples: dict[str, dict[str, list[float]]] = {k: {"wall": [], "cpu": []} for k in ("ours", "vips", "floor")}
    for _ in range(RUNS):
        for kind, fn in (("ours", ours), ("vips", vips), ("floor", floor)):
            w0, c0 = time.perf_counter(), time.process_time()
            fn(path)
            samples[kind]["wall"].append((time.perf_counter() - w0) * 1000)
            samples[kind]["cpu"].append((time.process_time() - c0) * 1000)
    return {k: {m: statistics.median(v) for m, v in d.items()} for k, d in samples.items()}


def main() -> int:
    from processor.thumbnails import render

    threads = worker_threads()
    render.configure_threads(threads)  # the timed runs in this process, as the worker runs them
    print(f"sizes {SIZES}, JPEG q{QUALITY}; median of {RUNS} interleaved runs; peak RSS of a fresh process; "
          f"resize threads {threads} (PF_THUMBNAIL_THREADS)")
    print(f"{'case':5} {'ours ms':>8} {'vips ms':>8} {'ratio':>6} {'cpu ratio':>9} {'floor ms':>9} "
          f"{'ours peak MB':>13} {'(imports)':>9} {'vips peak MB':>13}")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for name, (w, h) in CASES.items():
            path = Path(tmp) / f"{name}.jpg"
            # in a child: the generator's big arrays must not count in anyone's peak
            subprocess.run([sys.executable, "-m", "bench.thumbnails.run", "--make", str(path), str(w), str(h)],
                           check=True)
            a, b = child("ours", path, threads), child("vips", path, threads)
            t = timings(path)
            ratio = t["ours"]["wall"] / t["vips"]["wall"]
            cpu_ratio = t["ours"]["cpu"] / t["vips"]["cpu"]
            # the target is 12 MP's wall time; every size must keep the memory bound
            ok &= (ratio <= 0.5 or name != "12MP") and a["peak_mb"] <= 64
            print(f"{name:5} {t['ours']['wall']:8.1f} {t['vips']['wall']:8.1f} {ratio:6.2f} {cpu_ratio:9.2f} "
                  f"{t['floor']['wall']:9.1f} {a['peak_mb']:13.1f} {a['import_mb']:9.1f} {b['peak_mb']:13.1f}",
                  flush=True)
    print("targets (12MP wall ratio <= 0.5; every size: our peak <= 64 MB):", "met" if ok else "NOT met")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--make":
        make_photo(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    elif len(sys.argv) == 5 and sys.argv[1] == "--child":
        print(json.dumps(peak(sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]))))
    else:
        sys.exit(main())
