"""Broken clocks: files whose only date is an implausible modification time (2099, 1970-01-01,
1901-12-13 from a 32-bit overflow) are filed under the day they were first seen, flagged; a
camera's default clock is kept but flagged (finding 14 of issue 10)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.support import invariants, samples
from tests.support.backup_samples import sample_jpeg
from tests.support.db import query

PHOTO_FACTORY = Path(sys.executable).with_name("photo-factory")

MTIMES = {
    "future.jpg": datetime(2099, 6, 1, 12, 0, tzinfo=UTC).timestamp(),
    "epoch.jpg": 0.0,
    "overflow.jpg": float(-(2 ** 31)),  # 1901-12-13 20:45:52
    "before-min-year.jpg": datetime(1985, 7, 1, tzinfo=UTC).timestamp(),
    "far-future.jpg": 2.0 ** 40,  # year 36812: beyond what a date holds
}


def test_implausible_file_times_are_filed_under_the_day_first_seen_with_a_flag(
        pf_env: dict[str, str], database_url: str, storage: dict[str, Path]) -> None:
    inbox = storage["inbox"]
    originals = set()
    for i, (name, mtime) in enumerate(MTIMES.items()):
        data = sample_jpeg(2000 + i)
        (inbox / name).write_bytes(data)
        os.utime(inbox / name, (mtime, mtime))
        originals.add(hashlib.sha256(data).hexdigest())
    samples.photo(inbox / "default-clock.jpg", "2000:01:01 00:00:00", seed=7)
    samples.photo(inbox / "normal.jpg", "2024:05:01 10:00:00", seed=8)
    originals |= {invariants.sha256(inbox / n) for n in ("default-clock.jpg", "normal.jpg")}

    zone = ZoneInfo(pf_env["TZ"])
    first_day = datetime.now(zone).date()
    res = subprocess.run([str(PHOTO_FACTORY), "librarian", "--once"], env=pf_env, capture_output=True,
                         text=True, timeout=180)
    assert res.returncode == 0, res.stdout + res.stderr
    days = {first_day, datetime.now(zone).date()}

    rows = {r["original_name"]: r for r in query(
        database_url, "SELECT original_name, library_path, capture_date, date_source, date_suspicious, "
                      "metadata->>'PF:SuspiciousDate' AS why FROM media_assets")}
    assert set(rows) == {*MTIMES, "default-clock.jpg", "normal.jpg"}
    for name in MTIMES:
        row = rows[name]
        assert row["date_source"] == "first_seen", row
        assert row["capture_date"] in days, row
        assert row["library_path"].startswith(f"Library/{row['capture_date']:%Y/%Y-%m-%d}/"), row
        assert row["date_suspicious"] and "first seen" in row["why"], row
    clock = rows["default-clock.jpg"]
    assert (clock["date_source"], clock["library_path"]) == (
        "EXIF:DateTimeOriginal", "Library/2000/2000-01-01/default-clock.jpg")
    assert clock["date_suspicious"] and "default clock" in clock["why"]
    assert not rows["normal.jpg"]["date_suspicious"] and rows["normal.jpg"]["why"] is None
    invariants.check(database_url, inbox, storage["storage"], originals)
