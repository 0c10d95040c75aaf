"""The real ``photo-factory`` command of this interpreter's environment, run as a user would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CLI = str(Path(sys.executable).with_name("photo-factory"))


def run_cli(env: dict[str, str], *args: str, check: bool = True,
            timeout: float = 300) -> subprocess.CompletedProcess:
    """``photo-factory *args`` with ``env``; with ``check``, fail loudly (with its output) on exit != 0."""
    proc = subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check:
        assert proc.returncode == 0, (f"photo-factory {' '.join(args)} exited {proc.returncode}:\n"
                                      f"{proc.stdout}\n{proc.stderr}")
    return proc
