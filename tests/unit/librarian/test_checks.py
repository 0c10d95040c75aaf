from librarian import checks
from tests.support import samples


def test_whole_images_pass(tmp_path):
    for name in ("a.jpg", "a.png", "a.gif", "a.webp", "a.tif"):
        assert checks.problem(samples.image(tmp_path / name), name.split(".")[1].upper()
                              .replace("JPG", "JPEG").replace("TIF", "TIFF")) is None


def test_a_truncated_jpeg_and_png_are_reported_as_truncated(tmp_path):
    jpg = samples.image(tmp_path / "a.jpg", size=(400, 300))
    png = samples.image(tmp_path / "a.png", size=(400, 300))
    assert checks.problem(samples.truncated(jpg, tmp_path / "t.jpg"), "JPEG")[0] == "truncated"
    assert checks.problem(samples.truncated(png, tmp_path / "t.png"), "PNG")[0] == "truncated"


def test_a_jpeg_with_a_trailer_after_its_end_marker_is_fine(tmp_path):
    jpg = samples.image(tmp_path / "motion.jpg", size=(200, 150))
    video = samples.video(tmp_path / "v.mp4").read_bytes()
    with open(jpg, "ab") as f:  # like a motion photo's embedded video
        f.write(video)
    assert checks.problem(jpg, "JPEG") is None
    other = samples.image(tmp_path / "other.jpg", size=(200, 150))
    with open(other, "ab") as f:  # a vendor trailer nobody can walk
        f.write(b"SEFH" + b"v" * 5000)
    assert checks.problem(other, "JPEG") is None


def test_a_motion_photo_whose_video_is_cut_short_is_incomplete(tmp_path):
    jpg = samples.image(tmp_path / "motion.jpg", size=(200, 150))
    video = samples.video(tmp_path / "v.mp4").read_bytes()
    with open(jpg, "ab") as f:
        f.write(video[: len(video) // 2])
    found = checks.examine(jpg, "JPEG", 256 << 20)
    assert found.incomplete and found.problem is None


def test_garbage_behind_a_jpeg_header_is_undecodable(tmp_path):
    f = tmp_path / "bad.jpg"
    f.write_bytes(b"\xff\xd8\xff\xe0" + b"\x13" * 4000)
    assert checks.problem(f, "JPEG")[0] in ("undecodable", "truncated")


def test_a_truncated_png_bomb_is_reported_without_being_decoded(tmp_path):
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0))  # 10 gigapixels
    f = tmp_path / "bomb.png"
    f.write_bytes(b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)))
    reason, detail = checks.problem(f, "PNG")
    assert reason == "truncated" and "PNG" in detail
