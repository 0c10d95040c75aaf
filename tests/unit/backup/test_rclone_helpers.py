"""The rclone wrapper's pure parts: joining remotes, file lists, output parsing."""


from processor.backup import rclone


def test_remotes_join_like_rclone_expects():
    assert rclone.join("secret:", "db", "x.dump") == "secret:db/x.dump"
    assert rclone.join("b2:bucket/photos", "Library") == "b2:bucket/photos/Library"
    assert rclone.join("/mnt/backup/", "/db/") == "/mnt/backup/db"
    assert rclone.join("secret:") == "secret:"


def test_file_lists_are_raw_so_names_starting_with_a_hash_are_not_comments():
    names = ["#1 birthday.jpg", ";semi.jpg", " leading space.jpg"]
    assert rclone.files_list(names).split("\n")[:-1] == names


def test_names_with_line_breaks_cannot_be_listed():
    assert rclone.listable("Library/2024/2024-01-01/a.jpg")
    assert not rclone.listable("Library/2024/2024-01-01/a\nb.jpg")


def test_hashsum_output_is_parsed_per_path():
    out = f"{'a' * 64}  Library/x y.jpg\n{'B' * 64}  Library/z.jpg\nnot a line\n"
    assert rclone._parse_hashsum(out) == {"Library/x y.jpg": "a" * 64, "Library/z.jpg": "b" * 64}


def test_rclone_log_lines_lose_their_timestamps_and_repeats():
    err = "2024/01/01 10:00:00 ERROR : a: boom\n2024/01/01 10:00:01 ERROR : a: boom\nFailed: boom\n"
    assert rclone._tail(err) == "ERROR : a: boom\nFailed: boom"


def test_a_check_without_a_common_hash_is_recognised_as_size_only():
    assert rclone.size_only("2024/01/01 NOTICE: Local file system: No common hash found - not using a hash")
    assert not rclone.size_only("2024/01/01 NOTICE: 0 differences found\n")
