"""What ``photo-factory librarian`` does before its first file, pinned without timing anything.

* ExifTool is started ahead (librarian/early.py), before Python imports the service, and that very
  process reads the first files; ``--help`` starts nothing; an unused one does not outlive the run.
* The service imports no module it does not need to file a JPEG (each costs every start).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from librarian import early, metadata, stayopen
from librarian.settings import LibrarianSettings
from tests.support import fake_exiftool, samples
from tests.support.procs import gone

REPO = Path(__file__).resolve().parents[3]


def test_the_exiftool_started_ahead_is_the_one_that_reads(tmp_path, monkeypatch):
    monkeypatch.delenv("PF_EXIFTOOL_PATH", raising=False)
    monkeypatch.setenv("PF_INBOX_DIR", str(tmp_path / "inbox"))
    (tmp_path / "inbox").mkdir()
    early.prestart_from_env()
    assert early._spares == []  # an empty inbox: ExifTool starts with the first file
    (tmp_path / "inbox" / "later.png").write_bytes(b"x")
    early.prestart_from_env()
    with early._lock:
        ahead = [proc.pid for _, proc in early._spares]
    assert len(ahead) == early.AHEAD == 1
    defaults = LibrarianSettings.model_fields
    reader = metadata.MetadataReader(defaults["exiftool_path"].default, 1)
    try:
        [tags] = reader.read_many([samples.photo(tmp_path / "a.jpg")])
        assert tags["PF:Reader"] == "exiftool" and tags["EXIF:Model"] == "Pixel 8"
        assert reader.pids() == ahead  # adopted: same command line as the settings' own
    finally:
        reader.close()
    assert early._spares == []


def _fake_exiftool(tmp_path: Path) -> Path:
    """An "exiftool" that notes its pid when started and then waits for the end of its input."""
    exe = tmp_path / "exiftool"
    exe.write_text(f"#!{sys.executable}\nimport os, sys\n"
                   f"open({str(tmp_path / 'started')!r}, 'a').write(f'{{os.getpid()}}\\n')\n"
                   "sys.stdin.read()\n")
    exe.chmod(0o755)
    return exe


def served_ahead(monkeypatch) -> list[str]:
    """The names of the files whose read-ahead answer was used (filled as the reader takes them)."""
    served: list[str] = []
    real = early.answer_for

    def spy(path):
        got = real(path)
        if got is not None:
            served.append(path.name)
        return got

    monkeypatch.setattr(early, "answer_for", spy)
    return served


def test_help_starts_no_exiftool_and_a_run_leaves_none_behind(tmp_path):
    exe = _fake_exiftool(tmp_path)
    env = {**os.environ, "PF_EXIFTOOL_PATH": str(exe), "PF_DATABASE_URL": "postgresql://127.0.0.1:9/none",
           "PF_DB_WAIT_SECONDS": "0.1", "PF_INBOX_DIR": str(tmp_path / "in"),
           "PF_STORAGE_DIR": str(tmp_path / "storage")}
    (tmp_path / "in").mkdir()
    samples.photo(tmp_path / "in" / "a.jpg")
    cli = [sys.executable, "-m", "photo_factory.cli", "librarian"]
    subprocess.run([*cli, "--help"], env=env, check=True, capture_output=True, cwd=REPO)
    assert not (tmp_path / "started").exists()
    # no database: the run gives up (exit 1), and the process started ahead goes with it
    run = subprocess.run([*cli, "--once"], env=env, capture_output=True, cwd=REPO, timeout=120)
    assert run.returncode == 1, run.stderr
    [pid] = (tmp_path / "started").read_text().split()
    assert gone(int(pid), timeout=30)


#: Never imported by ``librarian.service``: imaging beyond Pillow's core, video, the dashboard,
#: data science, geocoding, HEIF (loaded at the first HEIC), the file watcher (service mode only),
#: a settings library's sources (dotenv, asyncio: pydantic-settings took ~0.1 s of every start, ADR-063).
HEAVY = ("av", "numpy", "pandas", "streamlit", "pillow_heif", "geopy", "cv2", "pyvips", "apprise",
         "prometheus_client", "docker", "watchdog", "reverse_geocoder", "shapely", "plotly", "altair",
         "pydantic_settings", "dotenv", "asyncio", "argparse")


def test_the_librarian_imports_nothing_heavy():
    code = "import photo_factory.cli, librarian.service, sys; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    loaded = {m.split(".")[0] for m in out.stdout.split()}
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_files_read_ahead_are_used_only_while_they_are_the_file_that_was_read(tmp_path, monkeypatch):
    """The process started ahead reads the inbox's first JPEGs while Python imports; an answer
    is taken only for a file whose identity (inode, size, times) is unchanged since: a photo
    rewritten in between (new inode), grown, or retouched in place is read again."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    names = ["same.jpg", "rewritten.jpg", "grown.jpg", "touched.jpg", ".hidden.jpg", "clip.mp4"]
    paths = [samples.photo(inbox / n, model="Before") if n.endswith(".jpg") else inbox / n for n in names]
    paths[-1].write_bytes(b"not read ahead")
    monkeypatch.setenv("PF_INBOX_DIR", str(inbox))
    monkeypatch.delenv("PF_EXIFTOOL_PATH", raising=False)
    early.prestart_from_env()
    with early._lock:
        [asked] = early._pending.values()
    assert sorted(os.path.basename(os.fsdecode(p)) for p in asked) == sorted(names[:4])  # no hidden, no video
    samples.exif(inbox / "rewritten.jpg", "-Model=After")  # ExifTool writes a new file: new inode
    with open(inbox / "grown.jpg", "ab") as f:
        f.write(b"\0" * 10)
    os.utime(inbox / "touched.jpg", ns=(1, 1))
    served = served_ahead(monkeypatch)
    reader = metadata.MetadataReader("exiftool", 1)
    try:
        got = dict(zip(names[:4], reader.read_many(paths[:4]), strict=True))
    finally:
        reader.close()
    assert served == ["same.jpg"]
    assert got["rewritten.jpg"]["EXIF:Model"] == "After"
    assert all(t["PF:Reader"] == "exiftool" for t in got.values())
    assert got["same.jpg"]["EXIF:Model"] == "Before" and got["same.jpg"]["Composite:ImageSize"] == "64 48"


def test_a_second_reader_thread_waits_for_the_answers_read_ahead(tmp_path, monkeypatch):
    """Two ExifTool reader threads: the one that did not adopt the process started ahead waits
    for its answers instead of reading the same files a second time."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    paths = [samples.photo(inbox / f"IMG_{i:02d}.jpg", seed=i) for i in range(16)]
    monkeypatch.setenv("PF_INBOX_DIR", str(inbox))
    monkeypatch.delenv("PF_EXIFTOOL_PATH", raising=False)
    early.prestart_from_env()
    served = served_ahead(monkeypatch)
    late = early.received

    def slow(proc, answer):  # the answer arrives well after the other thread's own ExifTool started
        time.sleep(3.0)
        late(proc, answer)

    monkeypatch.setattr(early, "received", slow)
    reader = metadata.MetadataReader("exiftool", 2)
    try:
        tags = reader.read_many(paths)
    finally:
        reader.close()
    assert sorted(served) == sorted(p.name for p in paths)
    assert all(t["PF:Reader"] == "exiftool" and t["EXIF:Model"] == "Pixel 8" for t in tags)


#: records every command's arguments (one JSON list a line) to $PF_TEST_CALLS
RECORDING = """
with open(os.environ["PF_TEST_CALLS"], "a") as log:
    log.write(json.dumps(args) + "\\n")
sys.stdout.write(json.dumps([{"SourceFile": f, "File:FileType": "JPEG"} for f in files]) + "\\n")
"""


def test_jpegs_are_read_without_composite_tags_other_types_with(tmp_path, monkeypatch):
    """The speed-up itself: ``-e`` for JPEGs only (their Composites are made in Python); a HEIC, a
    video or a PNG still gets ExifTool's own Composite tags."""
    exe = fake_exiftool.install(tmp_path / "exiftool", RECORDING)
    calls = tmp_path / "calls"
    monkeypatch.setenv("PF_TEST_CALLS", str(calls))
    names = ["a.JPG", "b.jpeg", "c.heic", "d.mp4", "e.png", "f.jpg"]
    for n in names:
        (tmp_path / n).write_bytes(b"x")
    reader = metadata.MetadataReader(exe, 1)
    try:
        reader.read_many([tmp_path / n for n in names])
    finally:
        reader.close()
    import json

    reads = [json.loads(line) for line in calls.read_text().splitlines() if "-ver" not in line]
    by_options = {tuple(a for a in call if not a.startswith("/") and not a.startswith("post")):
                  sorted(Path(a).name for a in call if a.startswith("/")) for call in reads}
    assert by_options == {("-e", "-echo4"): ["a.JPG", "b.jpeg", "f.jpg"],
                          ("-echo4",): ["c.heic", "d.mp4", "e.png"]}


def _burst(inbox: Path, n: int) -> list[Path]:
    """``n`` JPEGs in ``inbox``, three cameras in turn (copies: ExifTool runs three times only)."""
    inbox.mkdir()
    models = [samples.photo(inbox.parent / f"model{i}.jpg", model=f"Cam {i}", seed=i) for i in range(3)]
    paths = []
    for i in range(n):
        paths.append(inbox / f"IMG_{i:03d}.jpg")
        shutil.copyfile(models[i % 3], paths[-1])
    return paths


def test_a_burst_read_ahead_is_read_by_the_one_exiftool_started_ahead(tmp_path, monkeypatch):
    """Chunks handed to two reader threads, as a batch does: every answer comes from the
    process started ahead, and neither thread starts an ExifTool of its own (a second Perl
    start costs about what 50 camera JPEGs cost to read)."""
    paths = _burst(tmp_path / "inbox", 40)
    monkeypatch.setenv("PF_INBOX_DIR", str(tmp_path / "inbox"))
    monkeypatch.delenv("PF_EXIFTOOL_PATH", raising=False)
    early.prestart_from_env()
    served = served_ahead(monkeypatch)
    reader = metadata.MetadataReader("exiftool", 2)
    try:
        futures = [reader.submit(paths[i:i + 8]) for i in range(0, len(paths), 8)]
        tags = [t for f in futures for t in f.result()]
        assert reader.pids() == []  # no process of its own, none adopted: nothing left to read
    finally:
        reader.close()
    assert sorted(served) == sorted(p.name for p in paths)
    assert [t["EXIF:Model"] for t in tags] == [f"Cam {i % 3}" for i in range(len(paths))]


def test_read_ahead_answers_are_taken_call_by_call_in_the_order_they_were_asked(tmp_path, monkeypatch):
    """The read ahead is several calls queued at once; a reader that wants the last call's files
    first takes the earlier answers from the pipe on the way (kept for their files), and the
    process, once every answer is taken, is adopted for a file nobody read ahead."""
    paths = _burst(tmp_path / "inbox", 11)
    monkeypatch.setattr(early, "GROUP", 3)
    monkeypatch.setenv("PF_INBOX_DIR", str(tmp_path / "inbox"))
    monkeypatch.delenv("PF_EXIFTOOL_PATH", raising=False)
    early.prestart_from_env()
    with early._lock:
        [calls] = early._calls.values()
        [proc] = [p for _, p in early._spares]
    assert [len(files) for _, files in calls] == [3, 3, 3, 2]
    served = served_ahead(monkeypatch)
    reader = metadata.MetadataReader("exiftool", 1)
    try:
        tags = reader.read_many(paths[::-1])  # the last call's files first
        more = reader.read_many([samples.photo(tmp_path / "late.jpg", model="Late")])
        assert reader.pids() == [proc.pid]
    finally:
        reader.close()
    assert sorted(served) == sorted(p.name for p in paths)
    assert [t["EXIF:Model"] for t in tags] == [f"Cam {i % 3}" for i in range(len(paths))][::-1]
    assert more[0]["EXIF:Model"] == "Late"


class _Pipes:
    """Stands for a process started ahead: its stdout and stderr are pipes we fill ourselves."""

    pid = 0

    def __init__(self, out: bytes, err: bytes):
        self.stdout, self.stderr = self._pipe(out), self._pipe(err)

    @staticmethod
    def _pipe(data: bytes):
        r, w = os.pipe()
        os.write(w, data)
        os.close(w)
        return os.fdopen(r, "rb", buffering=0)

    def poll(self) -> int | None:
        return None


def test_an_answer_is_cut_at_its_own_marker_when_one_read_holds_several():
    """All the queued answers can arrive in one read: each is cut at the line that is its own
    marker (a marker inside a tag value is JSON text on the same line, never a line of its own)."""
    first = b'[{"SourceFile": "/in/a.jpg", "XMP:Title": "x {ready999002} y"}]'
    second = b'[{"SourceFile": "/in/b.jpg"}]'
    proc = _Pipes(first + b"\n{ready999001}\n" + second + b"\n{ready999002}\n", b"post999001\npost999002\n")
    try:
        assert stayopen.read_ahead_answer(proc, 999001, 5.0, lambda: False) == first  # type: ignore[arg-type]
        assert stayopen.read_ahead_answer(proc, 999002, 5.0, lambda: False) == second  # type: ignore[arg-type]
        assert not stayopen._read_on
    finally:
        stayopen.forget_read_ahead()
        proc.stdout.close()
        proc.stderr.close()


def test_the_start_does_not_search_installed_distributions_for_pydantic_plugins(tmp_path):
    """pydantic's plugin search reads every installed distribution's entry points (~20-40 ms of
    every start); the project has no plugins. Setting PYDANTIC_DISABLE_PLUGINS keeps a user's."""
    code = ("import importlib.metadata as m, sys\n"
            "real = m.entry_points\n"
            "def spy(**kw):\n"
            "    print('searched', kw.get('group'))\n"
            "    return real(**kw)\n"
            "m.entry_points = spy\n"
            "from photo_factory.cli import main\n"
            "main(['librarian', '--help'])\n")
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert "searched pydantic" not in out.stdout
    mine = subprocess.run([sys.executable, "-c", code], env={**env, "PYDANTIC_DISABLE_PLUGINS": ""},
                          capture_output=True, text=True, cwd=REPO)
    assert "searched pydantic" in mine.stdout
