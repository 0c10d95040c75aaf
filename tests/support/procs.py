"""Is a process still there? For tests that check no tool outlives its owner."""

from __future__ import annotations

import time


def alive(pid: int) -> bool:
    """``pid`` runs (a zombie — ended, not yet reaped by its parent — does not count)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def gone(pid: int, timeout: float = 30.0) -> bool:
    """Wait up to ``timeout`` seconds for ``pid`` to end; whether it did."""
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True
