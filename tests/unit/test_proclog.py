"""make run's process logs: a child's output reaches its log file (and the terminal), capped."""

from __future__ import annotations

import subprocess
import sys

from dashboard import logs
from photo_factory import proclog


def test_a_childs_output_is_written_to_its_log_and_rotated_past_the_cap(tmp_path, capfd):
    proc = subprocess.Popen([sys.executable, "-c", "import sys\nfor i in range(300): print(f'line {i}')\n"
                             "print('oops', file=sys.stderr)"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    proclog.tee(proc.stdout, "librarian", tmp_path, max_bytes=1000).join(timeout=60)  # type: ignore[arg-type]
    proc.wait(timeout=60)
    current, older = tmp_path / "librarian.log", tmp_path / "librarian.log.1"
    assert older.is_file() and older.stat().st_size > 1000
    assert current.read_text().endswith("line 299\noops\n")
    assert logs.tail(logs.process_log("librarian", tmp_path), 1) == "oops"  # what the dashboard reads
    assert "line 0\n" in capfd.readouterr().out  # the terminal still sees everything
