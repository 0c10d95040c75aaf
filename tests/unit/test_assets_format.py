"""``photo-factory assets`` output: the JSON contract and the plain line (pure)."""

from __future__ import annotations

import io
import json
from datetime import date

from photo_factory.assets import as_line, as_record, write

ROW = {"id": 7, "library_path": "Library/2024/2024-01-31/IMG_1.HEIC", "sha256": "a" * 64, "size_bytes": 10,
       "media_type": "image", "capture_date": date(2024, 1, 31), "date_source": "EXIF:DateTimeOriginal",
       "tz_source": "EXIF:OffsetTimeOriginal", "group_id": 3, "group_kind": "live_photo", "group_role": "still",
       "motion_video": None, "sidecars": ["Library/2024/2024-01-31/IMG_1.HEIC.xmp"]}


def test_a_json_line_has_every_contract_field():
    out = io.StringIO()
    assert write([ROW, {**ROW, "id": 8, "group_id": None, "group_kind": None, "group_role": None,
                        "sidecars": None}], out, as_json=True) == 2
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first == {"id": 7, "library_path": ROW["library_path"], "sha256": "a" * 64, "size_bytes": 10,
                     "media_type": "image", "capture_date": "2024-01-31", "date_source": "EXIF:DateTimeOriginal",
                     "tz_source": "EXIF:OffsetTimeOriginal", "group": {"id": 3, "kind": "live_photo", "role": "still"},
                     "sidecars": ["Library/2024/2024-01-31/IMG_1.HEIC.xmp"], "motion_video": None}
    assert second["group"] is None and second["sidecars"] == []


def test_a_plain_line_is_tab_separated():
    assert as_line(as_record(ROW)) == "7\t2024-01-31\timage\tlive_photo:still\tLibrary/2024/2024-01-31/IMG_1.HEIC"
