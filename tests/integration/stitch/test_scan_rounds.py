"""The stitch scan reads a bounded window per round (a million-image import is not read at once),
and the sets it finds are the same as one unbounded scan's: no sequence and no pano… folder is
cut in two by a window edge."""

from datetime import datetime, timedelta

import psycopg2
import pytest

from processor.stitch import panorama
from processor.stitch.store import StitchStore
from tests.support.db import query

pytestmark = pytest.mark.integration

T0 = datetime(2024, 7, 14, 10, 0, 0)


def _insert(database_url: str, rows: list[tuple[str, datetime, str]]) -> None:
    conn = psycopg2.connect(database_url)
    with conn, conn.cursor() as cur:
        for i, (model, when, source) in enumerate(rows):
            cur.execute(
                "INSERT INTO media_assets (sha256, library_path, original_name, source_path, size_bytes,"
                " media_type, captured_at, captured_local, capture_date, date_source, tz_source,"
                " camera_make, camera_model, width, height, orientation)"
                " VALUES (%s, %s, %s, %s, 1, 'image', %s, %s, %s, 'test', 'test', 'Pixel', %s, 4000, 3000, 1)",
                (f"{i:064x}", f"Library/2024/2024-07-14/IMG_{i:04d}.JPG", f"IMG_{i:04d}.JPG", source,
                 when.isoformat() + "+00:00", when, when.date(), model))
    conn.close()


def _library(database_url: str) -> None:
    """Sequences of 2..6 shots 2 s apart, 60 s between sequences, two cameras, and a pano… folder
    whose shots are hours apart (so they are far apart in scan order)."""
    rows = []
    t = T0
    for model in ("Pixel 8", "Pixel 9"):
        for length in (2, 5, 3, 6, 4, 2, 5, 6, 3):
            rows += [(model, t + timedelta(seconds=2 * k), "DCIM/Camera/x.jpg") for k in range(length)]
            t += timedelta(seconds=2 * length + 60)
    rows += [("Pixel 8", T0 + timedelta(hours=h), "Pano lake/x.jpg") for h in (-5, 1, 7)]
    _insert(database_url, rows)


def _sets(database_url: str, limit: int | None) -> tuple[set[tuple[str, str]], list[int]]:
    store = StitchStore(database_url)
    read: list[int] = []

    def detect(shots):
        read.append(len(shots))
        return panorama.detect(shots, max_gap_s=10, min_images=2, max_images=12)

    while True:
        store.scan(detect, 0, limit=limit, max_gap_s=10)
        if not store.more:
            break
    store.close()
    found = {(r["detection"], r["set_key"]) for r in query(database_url, "SELECT detection, set_key FROM panoramas")}
    left = query(database_url, "SELECT count(*) AS n FROM media_assets WHERE NOT stitch_scanned")[0]["n"]
    assert left == 0
    return found, read


def test_a_scan_in_small_windows_finds_exactly_the_sets_of_one_whole_scan(database_url):
    _library(database_url)
    windowed, read = _sets(database_url, limit=7)
    assert len(read) > 5 and max(read) <= 7 + 3  # a window, plus the rest of a pano… folder met in it
    conn = psycopg2.connect(database_url)
    with conn, conn.cursor() as cur:
        cur.execute("DELETE FROM panorama_sources; DELETE FROM panoramas;"
                    " UPDATE media_assets SET stitch_scanned = false")
    conn.close()
    whole, read_whole = _sets(database_url, limit=None)
    assert read_whole == [2 * 36 + 3]
    assert windowed == whole
    assert sorted(d for d, _ in whole).count("sequence") == 18 and ("folder" in {d for d, _ in whole})


def test_a_window_never_cuts_a_sequence():
    shots = [panorama.Shot(i, "Pixel", "8", T0 + timedelta(seconds=2 * i), 4000, 3000, 1, None) for i in range(10)]
    gap = [panorama.Shot(10 + i, "Pixel", "8", T0 + timedelta(hours=1, seconds=2 * i), 4000, 3000, 1, None)
           for i in range(5)]
    assert len(panorama.window(shots + gap, 12, 10)) == 10  # cut back to the end of the first sequence
    assert len(panorama.window(shots + gap, 8, 10)) == 8  # a sequence longer than the window: cut at it
