"""A finished ``photo-factory librarian --once`` ends without the interpreter's teardown (freeing
every module and object took ~0.1 s, longer than filing a dozen photos), after its exit handlers
and with everything filed (photo_factory/cli.py, issue 15)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import invariants, samples

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]

#: the real CLI, as its console script runs it, with an exit handler and an object whose
#: finalizer runs only in the interpreter's teardown (module globals are cleared there)
PROGRAM = """
import atexit, sys
out = sys.argv[1]
class Torn:
    def __del__(self, _open=open, _out=out):  # (builtins may be gone by then)
        _open(_out, "a").write("teardown\\n")
kept = Torn()
atexit.register(lambda: open(out, "a").write("exit handlers\\n"))
from photo_factory.cli import main
sys.argv = ["photo-factory", *sys.argv[2:]]
main()
"""


def _run(pf_env: dict[str, str], out: Path, *args: str) -> int:
    return subprocess.run([sys.executable, "-c", PROGRAM, str(out), *args], env=pf_env, cwd=REPO,
                          capture_output=True, timeout=300).returncode


def test_a_finished_once_run_skips_the_teardown_but_not_the_exit_handlers(pf_env, storage, database_url, tmp_path):
    photo = samples.photo(storage["inbox"] / "IMG_0001.jpg")
    originals = {invariants.sha256(photo)}
    out = tmp_path / "ran"
    assert _run(pf_env, out, "librarian", "--once") == 0
    assert out.read_text().splitlines() == ["exit handlers"]
    invariants.check(database_url, storage["inbox"], storage["storage"], originals)


def test_other_commands_and_failures_end_as_usual(pf_env, tmp_path):
    out = tmp_path / "ran"
    assert _run(pf_env, out, "--help") == 0
    assert out.read_text().splitlines() == ["exit handlers", "teardown"]
    bad = {**pf_env, "PF_DATABASE_URL": "postgresql://127.0.0.1:9/none", "PF_DB_WAIT_SECONDS": "0.1"}
    out.unlink()
    assert _run(bad, out, "librarian", "--once") == 1
    assert out.read_text().splitlines() == ["exit handlers", "teardown"]
