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
