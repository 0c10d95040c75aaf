from datetime import UTC, datetime

import pytest

from librarian.metadata import basics, curated, location


def test_gps_is_signed_decimal_degrees_with_altitude():
    loc = location({"Composite:GPSLatitude": -33.8568, "Composite:GPSLongitude": 151.2153,
                    "Composite:GPSAltitude": 12.5})
    assert loc == {"lat": -33.8568, "lon": 151.2153, "alt": 12.5}


@pytest.mark.parametrize("lat, lon", [(0, 0), (0.0, 0.0), (91, 10), (10, 181), (-90.5, 0), ("nan", 1),
                                      (None, 3), ("", "")])
def test_bogus_or_out_of_range_gps_is_rejected(lat, lon):
    assert location({"Composite:GPSLatitude": lat, "Composite:GPSLongitude": lon}) is None


def test_basics_from_video_and_photo_tags():
    b = basics({"File:FileType": "MOV", "File:MIMEType": "video/quicktime", "QuickTime:Make": "Apple",
                "QuickTime:Model": "iPhone 15", "Composite:ImageSize": "1920 1080", "QuickTime:Duration": 3.2})
    assert (b.file_type, b.camera_make, b.camera_model, b.width, b.height, b.duration_s) == \
        ("MOV", "Apple", "iPhone 15", 1920, 1080, 3.2)
    p = basics({"File:FileType": "JPEG", "File:ImageWidth": 4000, "File:ImageHeight": 3000,
                "EXIF:Orientation": 6, "EXIF:Make": "  Canon\x00 "})
    assert (p.width, p.height, p.orientation, p.camera_make) == (4000, 3000, 6, "Canon")


def test_curated_metadata_drops_binary_long_and_maker_note_values():
    kept = curated({"EXIF:Make": "Canon", "MakerNotes:Foo": 1, "EXIF:ThumbnailImage": "(Binary data 5 bytes)",
                    "XMP:Long": "x" * 1000, "File:FileName": "a.jpg", "Composite:GPSLatitude": 1.5,
                    "EXIF:Nul": "a\x00b", "EXIF:List": [1, 2]})
    assert kept == {"EXIF:Make": "Canon", "Composite:GPSLatitude": 1.5, "EXIF:List": "[1, 2]"}


def test_every_tag_read_whole_and_filtered_is_what_the_tag_list_returned(tmp_path):
    """ExifTool is asked for everything and the kept names are filtered here (a tag list made it
    match each name against every tag of the file: more work than the whole extraction). Same
    answer on the sample photos, videos, Live Photos, motion photos and sidecars."""
    import json
    import subprocess
    from pathlib import Path

    from librarian import metadata
    from tests.support import samples

    root = Path(__file__).resolve().parents[2] / "samples"
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() != ".md")
    files += [samples.photo(tmp_path / "gps.jpg", offset="+02:00", gps=(48.85, 2.35)),
              samples.video(tmp_path / "v.mov")]
    assert len(files) > 20
    names = [f"-{t}" for t in metadata.TAGS + metadata.SIDECAR_TAGS]
    args = ["exiftool", "-G", "-n", "-j", "-fast", "-api", "LargeFileSupport=1"]
    listed = json.loads(subprocess.run([*args, *names, *map(str, files)], capture_output=True).stdout)
    reader = metadata.MetadataReader(processes=1)
    try:
        read = reader.read_many(files)
    finally:
        reader.close()
    for path, want, got in zip(files, listed, read, strict=True):
        want.pop("SourceFile")
        assert got.pop("PF:Reader") == "exiftool", path
        assert got == want, path


_GPS_CASES = {
    "south_west_below_sea": ["-GPSLatitude=33.8568", "-GPSLatitudeRef=S", "-GPSLongitude=151.2153",
                             "-GPSLongitudeRef=W", "-GPSAltitude=12.5", "-GPSAltitudeRef=1"],
    "north_east_above_sea": ["-GPSLatitude=48.85", "-GPSLatitudeRef=N", "-GPSLongitude=2.35",
                             "-GPSLongitudeRef=E", "-GPSAltitude=35", "-GPSAltitudeRef=0"],
    "gps_date_time_fraction": ["-GPSLatitude=10", "-GPSLatitudeRef=N", "-GPSLongitude=20",
                               "-GPSLongitudeRef=E", "-GPSDateStamp=2024:06:01", "-GPSTimeStamp=20:00:01.5"],
    "latitude_without_ref": ["-GPSLatitude=10", "-GPSLongitude=20", "-GPSLongitudeRef=E"],
    "altitude_without_ref": ["-GPSAltitude=100"],
    "xmp_altitude_below": ["-XMP:GPSAltitude=40", "-XMP:GPSAltitudeRef=1", "-XMP:GPSLatitude=1.5",
                           "-XMP:GPSLongitude=-2.5"],
    "xmp_and_exif_altitude": ["-XMP:GPSAltitude=40", "-XMP:GPSAltitudeRef=1", "-EXIF:GPSAltitude=7"],
    "exif_size_differs": ["-EXIF:ImageWidth=100", "-EXIF:ImageHeight=50"],
    "nothing": [],
    # dates written by photo editors and scanners: IPTC/XMP only, no EXIF DateTimeOriginal
    "iptc_date_only": ["-EXIF:all=", "-IPTC:DateCreated=2023:05:06", "-IPTC:TimeCreated=10:11:12+02:00"],
    "iptc_day_without_time": ["-EXIF:all=", "-IPTC:DateCreated=2023:05:06"],
    "xmp_date_iptc_time": ["-EXIF:all=", "-XMP-photoshop:DateCreated=2023:05:06", "-IPTC:TimeCreated=10:11:12"],
    "iptc_beside_exif_date": ["-IPTC:DateCreated=2020:01:02", "-IPTC:TimeCreated=03:04:05"],
    "xmp_date_time_original": ["-EXIF:all=", "-XMP-exif:DateTimeOriginal=2022:02:02 02:02:02",
                               "-IPTC:DateCreated=2023:05:06", "-IPTC:TimeCreated=10:11:12"],
}


@pytest.mark.parametrize("case", sorted(_GPS_CASES))
def test_composites_made_for_a_jpeg_are_exiftools_own(tmp_path, case):
    """JPEGs are read with ``-e`` (no Composite tags: ~45 % of ExifTool's time a file) and the
    Composite tags the librarian reads are made in Python: the kept answer is ExifTool's own,
    tag for tag, for every GPS reference, altitude and size layout."""
    import json
    import subprocess

    from librarian import metadata
    from tests.support import samples

    path = samples.photo(tmp_path / f"{case}.JPG", gps=None)
    if _GPS_CASES[case]:
        samples.exif(path, *_GPS_CASES[case])
    names = [f"-{t}" for t in metadata.TAGS + metadata.SIDECAR_TAGS]
    args = ["exiftool", "-G", "-n", "-j", "-fast", "-api", "LargeFileSupport=1"]
    [want] = json.loads(subprocess.run([*args, *names, str(path)], capture_output=True, check=True).stdout)
    want.pop("SourceFile")
    reader = metadata.MetadataReader(processes=1)
    try:
        [got] = reader.read_many([path])
    finally:
        reader.close()
    assert got.pop("PF:Reader") == "exiftool"
    assert got == want


@pytest.mark.parametrize("kind", ["mp4", "png", "heic"])
def test_a_file_named_jpg_that_is_not_a_jpeg_keeps_its_size_place_and_date(tmp_path, kind):
    """A video, PNG or HEIC named ``.jpg`` is read without ExifTool's Composite tags too: what the
    librarian takes from them (size, position, capture time) is still what ExifTool's gave."""
    import json
    import subprocess

    from librarian import dates, metadata
    from tests.support import samples

    src = tmp_path / f"src.{kind}"
    if kind == "mp4":
        samples.video(src, creation_time="2024-02-01T10:00:00Z")
        samples.exif(src, "-Keys:GPSCoordinates=-33.85, 151.21, -5")
    elif kind == "heic":
        pytest.importorskip("pillow_heif").register_heif_opener()
        samples.image(src, "HEIF", size=(64, 48))
        samples.exif(src, "-GPSLatitude=33.85", "-GPSLatitudeRef=S", "-GPSLongitude=151.21",
                     "-GPSLongitudeRef=E", "-DateTimeOriginal=2024:01:02 03:04:05")
    else:
        samples.image(src, "PNG", size=(64, 48))
    path = src.rename(tmp_path / "misnamed.jpg")
    args = ["exiftool", "-G", "-n", "-j", "-fast", "-api", "LargeFileSupport=1"]
    [full] = json.loads(subprocess.run([*args, str(path)], capture_output=True, check=True).stdout)
    reader = metadata.MetadataReader(processes=1)
    try:
        [got] = reader.read_many([path])
    finally:
        reader.close()

    def when(tags):
        return dates.capture_time(tags, file_name=path.name, mtime=0.0, zone_name="UTC", now=seen)

    seen = datetime(2024, 6, 1, tzinfo=UTC)

    assert metadata.basics(got) == metadata.basics(full)
    assert (metadata.basics(got).location is not None) == (kind != "png")
    assert when(got) == when(full)


@pytest.mark.parametrize("ahead", [False, True], ids=["read", "read-ahead"])
@pytest.mark.parametrize("kind", ["avi", "gif"])
def test_a_video_or_gif_named_jpg_keeps_the_duration_and_size_exiftool_gives(tmp_path, monkeypatch, kind, ahead):
    """Red team: an AVI's duration and a GIF's size are Composite tags ExifTool makes from other
    tags (RIFF.pm: FrameCount / FrameRate; ImageSize from GIF:ImageWidth), which ``with_composites``
    does not make. A file named ``.jpg`` is read with ``-e`` because of its NAME: the AVI lost its
    duration and the GIF its size. What the content is decides, not the name."""
    import json
    import subprocess

    from librarian import metadata
    from tests.support import samples

    src = tmp_path / f"src.{kind}"
    if kind == "avi":
        samples.video(src, creation_time=None, seconds=2.0)
    else:
        samples.image(src, "GIF", size=(64, 48))
    (tmp_path / "inbox").mkdir()
    path = src.rename(tmp_path / "inbox" / "misnamed.jpg")
    args = ["exiftool", "-G", "-n", "-j", "-fast", "-api", "LargeFileSupport=1"]
    [full] = json.loads(subprocess.run([*args, str(path)], capture_output=True, check=True).stdout)
    if ahead:  # the answer of the process started ahead (librarian/early.py), read with -e too
        from librarian import early

        monkeypatch.setenv("PF_INBOX_DIR", str(path.parent))
        monkeypatch.delenv("PF_EXIFTOOL_PATH", raising=False)
        early.prestart_from_env()
        assert early._pending
    reader = metadata.MetadataReader(processes=1)
    try:
        [got] = reader.read_many([path])
    finally:
        reader.close()
    want = metadata.basics(full)
    assert (want.width, want.height) == (64, 48)
    assert kind != "avi" or want.duration_s == 2.0
    assert metadata.basics(got) == want
