"""Memory of every service on the pipeline run: steady and peak resident set (RSS), measured.

Runs ``bench/pipeline`` (librarian + two thumbnail workers + geocode, N 12 MP JPEGs; ``--mix``
adds HEICs and 4K videos) and prints, per service: the median RSS of its main process over the
run (steady: the services are busy most of the run), its peak (VmHWM, exact), its RSS when the
run started (idle, after start-up), and the same for the whole process tree (ExifTool and ffmpeg
children included; the tree peak is sampled every 0.2 s).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from bench.pipeline import run as pipeline


def main(argv: list[str] | None = None) -> int:
    args = list(argv if argv is not None else sys.argv[1:])
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "pipeline.json"
        if "--n" not in args:
            args += ["--n", "120"]
        pipeline.main([*args, "--latency", "0", "--json", str(out)])
        results = json.loads(out.read_text())
    for replicas, r in results.items():
        if replicas == "latency":
            continue
        print(f"memory with {replicas} thumbnail worker(s), MB:")
        print(f"  {'service':14} {'idle':>6} {'steady':>7} {'peak':>7} {'tree steady':>12} {'tree peak':>10}")
        for name, m in sorted(r["memory"].items()):
            print(f"  {name:14} {m.get('idle_mb', 0):6.0f} {m['steady_mb']:7.0f} {m['peak_mb']:7.0f} "
                  f"{m['tree_steady_mb']:12.0f} {m['tree_peak_mb']:10.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
