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
