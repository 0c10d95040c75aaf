import os

import pytest

from librarian.inbox import Candidates, is_ignored, walk


@pytest.mark.parametrize("name", [".stfolder", ".stignore", ".stversions", ".syncthing.IMG_1.JPG.tmp",
                                  "~syncthing~IMG_1.JPG.tmp", ".DS_Store", "Thumbs.db", "@eaDir",
                                  "._IMG_1.JPG", ".hidden.jpg", ".pf-tmp-abc-IMG.JPG", "x.part"])
def test_syncthing_temporaries_control_entries_and_junk_are_never_touched(name):
    assert is_ignored(name)


@pytest.mark.parametrize("name", ["IMG_1.JPG", "syncthing.jpg", "tmp.jpg", "été 🌞.heic"])
def test_ordinary_names_are_taken(name):
    assert not is_ignored(name)


def test_walk_skips_ignored_folders_and_never_descends_into_symlinked_folders(tmp_path):
    (tmp_path / "DCIM").mkdir()
    (tmp_path / "DCIM" / "a.jpg").write_bytes(b"x")
    (tmp_path / ".stversions").mkdir()
    (tmp_path / ".stversions" / "old.jpg").write_bytes(b"x")
    (tmp_path / "@eaDir").mkdir()
    (tmp_path / "@eaDir" / "thumb.jpg").write_bytes(b"x")
    outside = tmp_path.parent / (tmp_path.name + "-outside")
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(b"x")
    os.symlink(outside, tmp_path / "escape")
    found = sorted(p.relative_to(tmp_path).as_posix() for p in walk(tmp_path))
    assert found == ["DCIM/a.jpg", "escape"]


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def test_a_file_is_ready_only_after_the_quiet_period_with_unchanged_size(tmp_path):
    clock = Clock()
    c = Candidates(5.0, clock)
    f = tmp_path / "a.jpg"
    f.write_bytes(b"1")
    c.note(f)
    assert c.ready(10) == []  # first look
    clock.t += 3
    assert c.ready(10) == []  # not quiet long enough
    with open(f, "ab") as fh:  # still being written
        fh.write(b"22")
    clock.t += 3
    assert c.ready(10) == []  # changed: the clock restarts
    clock.t += 5
    assert c.ready(10) == [f]


def test_an_event_restarts_the_quiet_period(tmp_path):
    clock = Clock()
    c = Candidates(2.0, clock)
    f = tmp_path / "a.jpg"
    f.write_bytes(b"1")
    c.note(f)
    c.ready(10)
    clock.t += 1.5
    c.note(f, event=True)
    clock.t += 1
    assert c.ready(10) == []
    clock.t += 1.5
    assert c.ready(10) == [f]


def test_vanished_files_are_dropped_and_deferred_files_wait(tmp_path):
    clock = Clock()
    c = Candidates(0, clock)
    gone, later = tmp_path / "gone.jpg", tmp_path / "later.jpg"
    later.write_bytes(b"x")
    c.note(gone)
    c.note(later)
    c.defer(later, 10)
    assert c.ready(10) == []
    assert gone not in c
    clock.t += 11
    assert c.ready(10) == [later]


def test_a_file_untouched_for_the_quiet_period_is_ready_at_first_look_when_file_times_are_trusted(tmp_path):
    clock = Clock()
    f = tmp_path / "old.jpg"
    f.write_bytes(b"x")
    st = os.stat(f)
    wall = [max(st.st_mtime, st.st_ctime) + 10]
    c = Candidates(5.0, clock, wall=lambda: wall[0])
    c.note(f)
    assert c.ready(10) == []  # not trusted: two looks
    c2 = Candidates(5.0, clock, wall=lambda: wall[0])
    c2.trust_file_times = True
    c2.note(f)
    assert c2.ready(10) == [f]
    wall[0] = max(st.st_mtime, st.st_ctime) + 2  # changed 2 s ago: waits
    c3 = Candidates(5.0, clock, wall=lambda: wall[0])
    c3.trust_file_times = True
    c3.note(f)
    assert c3.ready(10) == []


def test_the_inbox_clock_probe_agrees_on_a_local_disk(tmp_path):
    from librarian.inbox import file_clock_agrees

    assert file_clock_agrees(tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert not file_clock_agrees(tmp_path / "missing")


def test_an_incomplete_file_held_back_is_looked_at_again_as_soon_as_it_grows(tmp_path):
    clock = Clock()
    c = Candidates(1.0, clock)
    f = tmp_path / "half.mp4"
    f.write_bytes(b"x" * 10)
    c.note(f)
    c.ready(10)
    clock.t += 1.5
    assert c.ready(10) == [f]
    c.defer(f, 60, unless_changed_from=os.stat(f))
    clock.t += 5
    assert c.ready(10) == []  # unchanged: held back
    with open(f, "ab") as out:
        out.write(b"rest")
    assert c.ready(10) == []  # grown: settles again first
    clock.t += 1.5
    assert c.ready(10) == [f]


def test_next_due_says_when_the_earliest_waiting_file_can_have_settled(tmp_path):
    clock = Clock()
    c = Candidates(2.0, clock)
    assert c.next_due() is None
    f, g = tmp_path / "a.jpg", tmp_path / "b.jpg"
    f.write_bytes(b"1")
    g.write_bytes(b"2")
    c.note(f)
    c.ready(10)  # first look at f
    clock.t += 0.5
    c.note(g, event=True)
    assert c.next_due() == pytest.approx(1.5)  # f, looked at 0.5 s ago
    clock.t += 1.5
    assert c.next_due() == 0 and c.ready(10) == [f]
    c.discard(f)
    assert c.next_due() == pytest.approx(2.0)  # g: first looked at by that ready()


def test_files_still_waiting_for_their_quiet_period_are_listed_as_settling_ready_and_deferred_ones_not(tmp_path):
    clock = Clock()
    c = Candidates(2.0, clock)
    waiting, deferred, link = tmp_path / "a.jpg", tmp_path / "b.jpg", tmp_path / "c.jpg"
    for f in (waiting, deferred):
        f.write_bytes(b"1")
    os.symlink(waiting, link)
    for f in (waiting, deferred, link):
        c.note(f)
    c.defer(deferred, 60.0)
    assert c.ready(10) == [link]  # not a regular file: no waiting, never read ahead
    assert [p for p, _ in c.settling] == [waiting]
    assert c.settling[0][1].st_size == 1  # with this look's lstat
    c.discard(link)  # taken by the service
    clock.t += 2
    assert c.ready(10) == [waiting]
    assert c.settling == []
