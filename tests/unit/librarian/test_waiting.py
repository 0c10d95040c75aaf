import os

from librarian.waiting import Waiting


def test_the_grace_runs_from_when_the_file_stopped_changing_and_restarts_when_it_changes(tmp_path):
    now = [1000.0]
    w = Waiting(60, wall=lambda: now[0])
    f = tmp_path / "half.jpg"
    f.write_bytes(b"x")
    assert not w.overdue(f, os.stat(f), "no EOI")
    now[0] += 59
    assert not w.overdue(f, os.stat(f), "no EOI")
    assert w.summary(tmp_path)["incomplete_waiting"] == 1
    now[0] += 2
    assert w.overdue(f, os.stat(f), "no EOI")
    with open(f, "ab") as out:
        out.write(b"more")
    os.utime(f, ns=(1, 1))  # a different mtime: changed
    assert not w.overdue(f, os.stat(f), "no EOI")
    w.forget(f)
    assert w.summary(tmp_path) == {"incomplete_waiting": 0, "incomplete_oldest_since": None,
                                   "incomplete_files": []}


def test_trusted_file_times_keep_the_grace_across_restarts(tmp_path):
    f = tmp_path / "half.mov"
    f.write_bytes(b"x")
    st = os.stat(f)
    w = Waiting(60, wall=lambda: max(st.st_mtime, st.st_ctime) + 61)
    w.trust_file_times = True
    assert w.overdue(f, st, "no moov")  # a new librarian: the file stopped changing 61 s ago


def test_files_gone_from_the_inbox_are_no_longer_reported(tmp_path):
    w = Waiting(60)
    f = tmp_path / "x.mp4"
    f.write_bytes(b"x")
    w.overdue(f, os.stat(f), "no moov")
    f.unlink()
    w.prune()
    assert len(w) == 0
