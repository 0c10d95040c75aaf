"""Finding each photo's sidecars in a big Takeout folder: the indexed lookup against a plain scan.

One folder of N photos with N Takeout JSONs (``IMG_00001.JPG.supplemental-metadata.json``). Ours:
the folder listing once per batch plus, for each of 64 photos, the sidecars its name can have
(prefix index) and their best owner. Baseline: every sidecar name matched against the photo.
Prints CPU time (the box is shared: CPU, not wall time, is what compares).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from librarian import attach, sidecars

N = 10_000
BATCH = 64


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for i in range(N):
            (folder / f"IMG_{i:05d}.JPG").write_bytes(b"x")
            (folder / f"IMG_{i:05d}.JPG.supplemental-metadata.json").write_bytes(b"{}")
        photos = [f"IMG_{i:05d}.JPG" for i in range(0, N, N // BATCH)][:BATCH]
        t = time.process_time()
        fo = attach.Sidecars._look(None, folder)  # type: ignore[arg-type]
        found = 0
        for name in photos:
            for side in fo.sidecars_for(name):
                found += sidecars.best_photo(side, fo.photos_for(side)) is not None
        ours = time.process_time() - t
        assert found == BATCH
        sample = photos[:4]
        t = time.process_time()
        for name in sample:
            hits = [s for s in fo.found if sidecars.match(s, name) is not None]
            assert len(hits) == 1
        baseline = (time.process_time() - t) * BATCH / len(sample)
    print(f"sidecars of {BATCH} photos in a folder of {N} photos + {N} JSON files (CPU seconds)")
    print(f"ours (listing + prefix index): {ours:.3f} s")
    print(f"baseline (match every sidecar): {baseline:.3f} s")
    print(f"ratio: {baseline / ours:.1f}x")


if __name__ == "__main__":
    main()
