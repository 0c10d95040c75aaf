"""Finding 9: derivatives (thumbnails, panoramas, motion videos) are written like originals:
mode 0666 less the umask (0644 under 022), not mkstemp's 0600; folders 0777 less the umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from photo_factory.files import write_atomically


@pytest.mark.parametrize(("umask", "file_mode", "dir_mode"), [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750)])
def test_an_atomically_written_file_honours_the_umask(tmp_path: Path, umask: int, file_mode: int,
                                                      dir_mode: int) -> None:
    old = os.umask(umask)
    try:
        target = tmp_path / "Derivatives/thumbnails/ab/cd.jpg"
        write_atomically(target, b"jpeg", tmp_dir=tmp_path / "Derivatives/.tmp")
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == file_mode
    assert stat.S_IMODE(target.parent.stat().st_mode) == dir_mode
