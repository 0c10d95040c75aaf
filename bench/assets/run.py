"""``photo-factory assets --json`` at scale: memory and time next to a fetch-everything baseline.

N assets (default 1,000,000; ``--n``), a third of them in Live Photo pairs and every tenth with a
sidecar, are inserted by SQL into a fresh migrated database (``PF_BENCH_DATABASE_URL``, a superuser
URL; default: the test suite's private cluster); the insert is not timed. Then, each in its own
process writing to /dev/null:

* ours: ``photo-factory assets --json`` (a server-side cursor, 2,000 rows per round trip);
* baseline: the same query and the same JSON lines through an ordinary client-side cursor
  (``fetchall``: what a script without a named cursor does).

Prints peak RSS (MiB), wall and CPU seconds of both and the ratios baseline/ours (> 1: ours uses less).
Target: ours' peak RSS flat (independent of N) and well under the baseline's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg2

from bench.ingest.run import _drop_database, _fresh_database, _server_url

FILL = """
INSERT INTO media_assets (sha256, library_path, original_name, source_path, size_bytes, media_type,
                          file_type, captured_at, captured_local, capture_date, utc_offset_min,
                          date_source, tz_source, metadata)
SELECT lpad(to_hex(i), 64, '0'), 'Library/2024/2024-01-31/IMG_' || i || '.JPG', 'IMG_' || i || '.JPG',
       'DCIM/IMG_' || i || '.JPG', 1000 + i, 'image', 'JPEG', now(), now(), date '2024-01-31', 60,
       'EXIF:DateTimeOriginal', 'EXIF:OffsetTimeOriginal', '{"EXIF:Make": "Apple", "EXIF:Model": "iPhone 12"}'
FROM generate_series(1, %(n)s) AS i;
INSERT INTO asset_groups (id, kind) SELECT i, 'live_photo' FROM generate_series(1, %(n)s / 6) AS i;
UPDATE media_assets SET group_id = (id + 1) / 2, group_role = CASE WHEN id %% 2 = 1 THEN 'still' ELSE 'video' END
WHERE id <= 2 * (%(n)s / 6);
INSERT INTO asset_sidecars (asset_id, library_path, kind, original_name, size_bytes, sha256)
SELECT id, library_path || '.xmp', 'xmp', original_name || '.xmp', 100, sha256 FROM media_assets WHERE id %% 10 = 0;
ANALYZE;
"""

BASELINE = """
import json, sys
import psycopg2
from photo_factory.assets import as_record
from photo_factory.assets_store import QUERIES
conn = psycopg2.connect(sys.argv[1])
cur = conn.cursor()
cur.execute(QUERIES["stream_assets"], {"since": None, "kind": None})
names = [c.name for c in cur.description]
out = sys.stdout
for row in cur.fetchall():
    out.write(json.dumps(as_record(dict(zip(names, row))), ensure_ascii=False) + "\\n")
"""


def measure(cmd: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """(peak RSS MiB, wall s, CPU s) of one child process (ru_maxrss is in KiB on Linux)."""
    start = time.monotonic()
    with open(os.devnull, "w") as null:
        proc = subprocess.Popen(cmd, env=env, stdout=null)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    assert os.waitstatus_to_exitcode(status) == 0, cmd
    return usage.ru_maxrss / 1024, wall, usage.ru_utime + usage.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    args = ap.parse_args()
    server = _server_url()
    name, url = _fresh_database(server)
    try:
        conn = psycopg2.connect(url)
        with conn, conn.cursor() as cur:
            cur.execute(FILL, {"n": args.n})
        conn.close()
        env = {**os.environ, "PF_DATABASE_URL": url, "PF_LOG_LEVEL": "WARNING"}
        exe = str(Path(sys.executable).with_name("photo-factory"))
        ours = measure([exe, "assets", "--json"], env)
        base = measure([sys.executable, "-c", BASELINE, url], env)
    finally:
        _drop_database(server, name)
    print(f"assets: {args.n} rows")
    print(f"ours     (server-side cursor): peak RSS {ours[0]:7.1f} MiB  wall {ours[1]:6.1f} s  CPU {ours[2]:6.1f} s")
    print(f"baseline (fetchall)          : peak RSS {base[0]:7.1f} MiB  wall {base[1]:6.1f} s  CPU {base[2]:6.1f} s")
    print(f"ratio baseline/ours: memory {base[0] / ours[0]:.1f}x, CPU {base[2] / max(ours[2], 1e-9):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
