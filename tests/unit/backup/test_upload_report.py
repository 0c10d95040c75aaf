"""What one ``rclone copy --use-json-log -vv`` says about each file, and how its errors are typed."""

from __future__ import annotations

import json

import pytest

from processor.backup import rclone


def line(level: str, msg: str, obj: str | None = None) -> str:
    entry = {"level": level, "msg": msg, "source": "operations/operations.go:1", "time": "2026-01-01T00:00:00Z"}
    if obj is not None:
        entry["object"] = obj
    return json.dumps(entry)


def test_each_file_is_copied_checked_unchanged_or_failed():
    log = "\n".join(
        [
            '2026/01/01 00:00:00 DEBUG : Setting --config "x" from environment variable',
            line("debug", "md5 = 0123abcd OK", "Library/a b: c.jpg"),
            line("info", "Copied (new)", "Library/a b: c.jpg"),
            line("info", "Copied (new)", "Library/unchecked.jpg"),  # a backend without hashes
            line("debug", "Unchanged skipping", "Library/old.jpg"),
            line("error", "Failed to copy: preallocate: file too big for remaining disk space", "Library/big.mp4"),
            line("debug", "md5 = 99 (src) != 98 (dst)", "Library/bad.jpg"),
            line("error", "Attempt 1/2 failed with 1 errors and: boom"),
            "not json {",
        ]
    )
    up = rclone.parse_copy_log(log)
    assert up.verified == {"Library/a b: c.jpg"}
    assert up.copied == {"Library/a b: c.jpg", "Library/unchecked.jpg"}
    assert up.unchanged == {"Library/old.jpg"}
    assert set(up.errors) == {"Library/big.mp4"}


def test_a_call_that_got_nowhere_is_the_remotes_fault_but_a_refused_file_is_its_own():
    refused = rclone.parse_copy_log(line("error", "Failed to copy: 413 Request Entity Too Large", "a.jpg"))
    assert refused.got_anywhere(["a.jpg", "b.jpg"])
    unreachable = rclone.parse_copy_log(line("error", "Failed to copy: dial tcp: connection refused", "a.jpg"))
    assert not unreachable.got_anywhere(["a.jpg"])


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("Failed to copy: preallocate: file too big for remaining disk space", "remote_full"),
        ("Failed to copy: write /mnt/usb/x: no space left on device", "remote_full"),
        ("Failed to copy: googleapi: Error 403: The user's Drive storage quota has been exceeded", "remote_full"),
        ("Failed to copy: write /mnt/fat32/x: file too large", "too_large"),
        ("Failed to copy: EntityTooLarge: Your proposed upload exceeds the maximum allowed size", "too_large"),
        ("Failed to copy: open /mnt/x/aaaa: file name too long", "name_too_long"),
        ("Failed to copy: corrupted on transfer: md5 crypted hash differ", "upload_failed"),
    ],
)
def test_upload_errors_get_a_typed_reason(message, reason):
    assert rclone.failure_reason(message) == reason


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ("100k", 102400),
        ("512", 512 * 1024),
        ("10M", 10 * 1024**2),
        ("1.5G", int(1.5 * 1024**3)),
        ("100b", 100),
        ("2MiB", 2 * 1024**2),
        ("off", None),
    ],
)
def test_rclone_sizes_are_parsed_like_rclone_does(value, size):
    assert rclone.parse_size(value) == size


def test_max_size_is_read_from_the_flags_and_kept_out_of_the_upload():
    tool = rclone.Rclone(extra_flags=("--transfers", "8", "--max-size", "1G", "--bwlimit=20M"))
    assert tool.max_size == 1024**3
    assert rclone.without_max_size(tool.extra_flags) == ("--transfers", "8", "--bwlimit=20M")
    assert rclone.Rclone(extra_flags=("--max-size=5M",)).max_size == 5 * 1024**2
    assert rclone.Rclone().max_size is None


def test_files_already_on_the_remote_are_reported_and_settled_by_the_second_call():
    """The first call (``--ignore-existing``) leaves files already on the remote alone; the
    second (``--backup-dir``, only for those) copies or skips them, and its word wins."""
    first = rclone.parse_copy_log("\n".join([
        line("info", "Copied (new)", "Library/new.jpg"), line("debug", "md5 = 01 OK", "Library/new.jpg"),
        line("debug", "Destination exists, skipping", "Library/same.jpg"),
        line("debug", "Destination exists, skipping", "Library/changed.jpg"),
        line("debug", "Destination exists, skipping", "Library/refused.jpg"),
    ]))
    assert first.existing == {"Library/same.jpg", "Library/changed.jpg", "Library/refused.jpg"}
    assert first.got_anywhere(["Library/same.jpg"])  # the remote answered for it
    second = rclone.parse_copy_log("\n".join([
        line("debug", "Unchanged skipping", "Library/same.jpg"),
        line("info", "Copied (replaced existing)", "Library/changed.jpg"),
        line("debug", "md5 = 02 OK", "Library/changed.jpg"),
        line("error", "Failed to copy: no space left on device", "Library/refused.jpg"),
    ]))
    up = first.merge(second)
    assert up.verified == {"Library/new.jpg", "Library/changed.jpg"}
    assert up.unchanged == {"Library/same.jpg"}
    assert set(up.errors) == {"Library/refused.jpg"} and up.existing == set()


@pytest.mark.parametrize("flags", ["-q", "--quiet", "--log-level ERROR", "--log-level=INFO",
                                   "--transfers 8 --quiet"])
def test_rclone_flags_that_set_the_log_level_are_refused_with_a_reason(flags):
    """The backup proves each upload from rclone's per-file debug log; ``-q`` beside its ``-vv`` makes
    rclone refuse to start (every batch failing, attempt after attempt): refused at start instead."""
    from pydantic import ValidationError

    from processor.backup.settings import BackupSettings

    with pytest.raises(ValidationError, match="log level"):
        BackupSettings(backup_rclone_flags=flags)
    assert BackupSettings(backup_rclone_flags="--transfers 8 --bwlimit 20M -v --stats 1s").rclone_flags
