"""The inbox, the storage and a local backup folder must be disjoint: every layout where one is
the other or inside it is refused by the settings, with a message naming both variables."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from photo_factory import folders
from photo_factory.settings import CoreSettings, SettingsError, load

VARS = {"inbox": "PF_INBOX_DIR", "storage": "PF_STORAGE_DIR", "backup": "PF_BACKUP_REMOTE"}


def _load(monkeypatch: pytest.MonkeyPatch, inbox: object, storage: object, backup: object = "") -> CoreSettings:
    monkeypatch.setenv("PF_INBOX_DIR", str(inbox))
    monkeypatch.setenv("PF_STORAGE_DIR", str(storage))
    monkeypatch.setenv("PF_BACKUP_REMOTE", str(backup))
    return load(CoreSettings)


@pytest.mark.parametrize(("inbox", "storage"), [
    ("in", "in/storage"),  # the finding: the library deleted as duplicates of itself
    ("st/inbox", "st"),  # the inbox registered as library content
    ("same", "same"),
    ("in", "in/../in/deeper/storage"),
    ("x/../in", "in/storage"),
    ("in/", "in/./storage/"),
])
def test_overlapping_inbox_and_storage_are_refused_naming_both(monkeypatch, tmp_path, inbox, storage):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SettingsError) as err:
        _load(monkeypatch, inbox, storage)
    assert "PF_INBOX_DIR" in str(err.value) and "PF_STORAGE_DIR" in str(err.value)
    assert list(tmp_path.iterdir()) == []  # refusing touches nothing


def test_relative_and_absolute_spellings_of_one_folder_are_the_same_folder(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SettingsError, match="same folder"):
        _load(monkeypatch, "data", tmp_path / "data")


def test_a_symlink_that_leads_into_the_inbox_is_seen_through(monkeypatch, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "in")
    with pytest.raises(SettingsError, match="PF_STORAGE_DIR .* is inside PF_INBOX_DIR"):
        _load(monkeypatch, tmp_path / "in", tmp_path / "link" / "storage")
    with pytest.raises(SettingsError, match="same folder"):
        _load(monkeypatch, tmp_path / "link", tmp_path / "in")


def test_a_symlinked_parent_of_the_storage_is_seen_through(monkeypatch, tmp_path):
    (tmp_path / "st").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "st")
    with pytest.raises(SettingsError, match="PF_INBOX_DIR .* is inside PF_STORAGE_DIR"):
        _load(monkeypatch, tmp_path / "alias" / "inbox", tmp_path / "st")


@pytest.mark.parametrize("backup", ["{root}/in/backup", "{root}/st", "{root}/st/Library/../backup",
                                    ":local:{root}/in", "{root}"])
def test_a_local_backup_folder_overlapping_either_is_refused(monkeypatch, tmp_path, backup):
    with pytest.raises(SettingsError, match="PF_BACKUP_REMOTE"):
        _load(monkeypatch, tmp_path / "in", tmp_path / "st", backup.format(root=tmp_path))


@pytest.mark.parametrize("backup", ["", "b2:bucket/photos", "crypt:", "{root}/backup", ":local:{root}/backup",
                                    "my remote:in"])
def test_separate_folders_and_real_remotes_are_accepted(monkeypatch, tmp_path, backup):
    core = _load(monkeypatch, tmp_path / "in", tmp_path / "st", backup.format(root=tmp_path))
    assert core.inbox_dir == tmp_path / "in"


def test_sibling_names_with_a_common_prefix_are_not_nested(monkeypatch, tmp_path):
    _load(monkeypatch, tmp_path / "photos", tmp_path / "photos-storage")
    _load(monkeypatch, tmp_path / "in", tmp_path / "inbox")


def _bind_mount_or_skip(source, target) -> None:
    """Bind-mount, or skip: mounting needs root and CAP_SYS_ADMIN (not there in a docker build)."""
    import subprocess

    if os.geteuid() != 0:
        pytest.skip("bind mounts need root")
    if subprocess.run(["mount", "--bind", str(source), str(target)], capture_output=True).returncode != 0:
        pytest.skip("bind mounts are not permitted here (no CAP_SYS_ADMIN, e.g. in a docker build)")


def test_a_bind_mount_of_the_inbox_is_recognised_as_the_same_folder(monkeypatch, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "mnt").mkdir()
    _bind_mount_or_skip(tmp_path / "in", tmp_path / "mnt")
    import subprocess

    try:
        with pytest.raises(SettingsError, match="PF_STORAGE_DIR .* is inside PF_INBOX_DIR"):
            _load(monkeypatch, tmp_path / "in", tmp_path / "mnt" / "storage")
    finally:
        subprocess.run(["umount", str(tmp_path / "mnt")], check=True)


# -- property: any layout of three folders under one root --------------------------------------
_SEGMENTS = st.sampled_from(["a", "b", "ab", "a.b", "..", ".", "link"])
_PATHS = st.lists(_SEGMENTS, min_size=0, max_size=4)


def _expected_overlap(root: Path, parts: list[list[str]]) -> bool:
    real = [os.path.realpath(root.joinpath(*p)) for p in parts]
    return any(os.path.commonpath([a, b]) in (a, b) for i, a in enumerate(real) for b in real[i + 1:])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(inbox=_PATHS, storage=_PATHS, backup=st.one_of(st.none(), _PATHS))
def test_any_layout_is_accepted_exactly_when_the_folders_are_disjoint(tmp_path_factory, inbox, storage, backup):
    root = tmp_path_factory.mktemp("layout")
    (root / "a").mkdir()
    (root / "link").symlink_to(root / "a")  # a link into one of the folders it may name
    named = {"PF_INBOX_DIR": root.joinpath(*inbox), "PF_STORAGE_DIR": root.joinpath(*storage)}
    parts = [inbox, storage]
    if backup is not None:
        named["PF_BACKUP_REMOTE"] = root.joinpath(*backup)
        parts.append(backup)
    problem = folders.overlap_problem(named)
    assert (problem is not None) == _expected_overlap(root, parts)
    if problem is not None:
        assert sum(var in problem for var in named) == 2, problem


@pytest.mark.parametrize(("remote", "local"), [
    ("/srv/backup", Path("/srv/backup")),
    ("./backup", Path("./backup")),
    ("backup", Path("backup")),
    (":local:/srv/b", Path("/srv/b")),
    (":local,links:/srv/b", Path("/srv/b")),
    ("b2:bucket", None),
    ("crypt:photos", None),
    (":s3,provider=AWS:bucket", None),
    ("", None),
])
def test_local_rclone_destinations_are_told_from_remotes(remote, local):
    assert folders.local_rclone_path(remote) == local


def test_the_inbox_walk_never_enters_the_storage_behind_a_bind_mount(tmp_path):
    import subprocess

    from librarian.inbox import walk

    inbox, store = tmp_path / "in", tmp_path / "st"
    (inbox / "storage").mkdir(parents=True)
    (store / "Library" / "2024").mkdir(parents=True)
    (store / "Library" / "2024" / "a.jpg").write_bytes(b"x")
    (inbox / "new.jpg").write_bytes(b"y")
    (inbox / "link").symlink_to(store)  # a link is an entry (quarantined as a link), never a fence
    _bind_mount_or_skip(store, inbox / "storage")
    try:
        fence = folders.Fence([store, store / "Library"])
        assert {p.name for p in walk(inbox, fence)} == {"new.jpg", "link"}
        assert "a.jpg" in {p.name for p in walk(inbox)}  # what the librarian used to take
        assert fence.encloses(inbox / "storage" / "Library" / "2024" / "a.jpg", inbox)
        assert not fence.encloses(inbox / "new.jpg", inbox)
    finally:
        subprocess.run(["umount", str(inbox / "storage")], check=True)
