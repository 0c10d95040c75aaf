"""Decompression bombs under a memory limit: crafted headers next to good files.

The real ``photo-factory librarian --once`` and ``thumbnails --once`` run as subprocesses with
``RLIMIT_AS`` (address space) capped. Headers claim gigapixels (JPEG SOF progressive and baseline,
with and without EOI; PNG IHDR; GIF screen with 2,000 frames; WebP canvas; TIFF; BMP; HEIF ispe),
a PNG's zlib stream inflates 140 KB into 144 MB, a zTXt chunk into 64 MB, and a valid 216-megapixel
baseline JPEG panorama sits among them. Both processes must exit 0; every good file is filed;
every crafted file is filed or quarantined with a typed reason; the thumbnailer thumbnails what it
can decode within its budget and fails the rest with a reason, never by running out of memory.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import crafted, invariants, samples
from tests.support.thumbnail_samples import query

CLI = str(Path(sys.executable).with_name("photo-factory"))
LIMIT = 2 << 30  # 2 GiB of address space: Python, its libraries and threads need ~1 GiB of it

pytestmark = pytest.mark.slow


CGROUP_ROOT = Path("/sys/fs/cgroup/memory")


@pytest.fixture(params=["rlimit_as", "cgroup"])
def limit(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], None]]:
    """How the memory is capped: ``RLIMIT_AS`` (an allocation over it fails) or a memory cgroup
    (the kernel's OOM killer ends the process, as under Docker's ``mem_limit``)."""
    if request.param == "rlimit_as":
        yield lambda: resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))
        return
    group = CGROUP_ROOT / f"pf-test-{tmp_path.name}"
    try:
        group.mkdir()
        (group / "memory.limit_in_bytes").write_text(str(LIMIT))
        swap = group / "memory.memsw.limit_in_bytes"
        if swap.exists():
            swap.write_text(str(LIMIT))
    except OSError as exc:
        pytest.skip(f"no writable cgroup v1 memory controller ({exc}); needs root")
    procs = group / "cgroup.procs"
    yield lambda: procs.write_text(str(os.getpid()))
    for pid in procs.read_text().split():  # nothing should be left, but never leave a cgroup behind
        os.kill(int(pid), signal.SIGKILL)
    group.rmdir()


def _run(env: dict[str, str], limit: Callable[[], None], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], env=env, preexec_fn=limit, capture_output=True, text=True,
                          timeout=900, check=False)


def _crafted(inbox: Path) -> dict[str, Path]:
    d = inbox / "crafted"
    d.mkdir()
    return {
        "progressive_no_eoi": crafted.jpeg_with_size(d / "prog-noeoi.jpg", 65000, 65000, progressive=True, eoi=False),
        "progressive": crafted.jpeg_with_size(d / "prog.jpg", 65000, 65000, progressive=True),
        "baseline_no_eoi": crafted.jpeg_with_size(d / "base-noeoi.jpg", 65000, 65000, progressive=False, eoi=False),
        "baseline": crafted.jpeg_with_size(d / "base.jpg", 65000, 65000, progressive=False),
        "png_ihdr": crafted.png_with_size(d / "ihdr.png", 100000, 100000),
        "png_zip": crafted.zip_bomb_png(d / "zip.png"),
        "png_ztxt": crafted.text_bomb_png(d / "ztxt.png"),
        "gif": crafted.gif_with_frames(d / "frames.gif", 65535, 65535, 2000),
        "webp": crafted.webp_with_canvas(d / "canvas.webp", 16384, 16384),
        "tiff": crafted.tiff_with_size(d / "huge.tif", 100000, 100000),
        "bmp": crafted.bmp_with_size(d / "huge.bmp", 50000, 50000),
        "heic": crafted.heic_with_size(d / "huge.heic", 60000, 60000),
        "panorama": crafted.huge_baseline_jpeg(d / "panorama.jpg", 24000, 9000),
    }


def test_crafted_headers_never_exhaust_memory_and_good_files_are_filed(pf_env, storage, database_url, limit):
    inbox, store = storage["inbox"], storage["storage"]
    good = [samples.photo(inbox / f"good-{i:02d}.jpg", seed=i) for i in range(20)]
    bad = _crafted(inbox)
    originals = invariants.contents([*good, *bad.values()])
    env = {**pf_env, "PF_INCOMPLETE_GRACE_SECONDS": "0", "MALLOC_ARENA_MAX": "2"}

    proc = _run(env, limit, "librarian", "--once")
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-3000:])

    filed = {r[0]: r[1] for r in query(database_url, "SELECT original_name, library_path FROM media_assets")}
    quarantined = {r[0]: r[1] for r in query(database_url, "SELECT original_name, reason FROM quarantine")}
    assert {p.name for p in good} <= set(filed), "a good file was not filed"
    for name, path in bad.items():
        assert (path.name in filed) != (path.name in quarantined), f"{name}: neither filed nor quarantined"
    assert quarantined[bad["progressive_no_eoi"].name] == "truncated"
    assert quarantined[bad["baseline_no_eoi"].name] == "truncated"
    assert bad["panorama"].name in filed
    invariants.check(database_url, inbox, store, originals)

    proc = _run(env, limit, "thumbnails", "--once")
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-3000:])
    rows = query(database_url, """
        SELECT a.original_name, a.is_thumbnailed, j.state, j.reason_code
          FROM media_assets a LEFT JOIN stage_jobs j ON j.asset_id = a.id AND j.stage = 'thumbnails'""")
    for name, done, state, reason in rows:
        assert done or (state == "failed" and reason), f"{name}: neither thumbnailed nor failed with a reason"
    by_name = {r[0]: r for r in rows}
    assert all(by_name[p.name][1] for p in good), "a good file got no thumbnail"
    assert by_name[bad["panorama"].name][1], "the valid panorama was not thumbnailed"
    for name in ("progressive", "png_ihdr"):
        if bad[name].name in by_name:
            assert by_name[bad[name].name][3] == "decompression_bomb", by_name[bad[name].name]
    invariants.check(database_url, inbox, store, originals)
