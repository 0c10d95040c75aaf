"""The dashboard records manual panoramas and operator actions without loading the stitcher."""

from __future__ import annotations

import subprocess
import sys


def test_the_dashboard_store_does_not_import_opencv_or_numpy() -> None:
    probe = "import sys, dashboard.store; print(sorted({'cv2', 'numpy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
