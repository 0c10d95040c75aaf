"""Where thumbnails go and how the worker is configured."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest
from pydantic import ValidationError

from photo_factory.files import write_atomically
from processor.thumbnails.paths import thumbnail_rel
from processor.thumbnails.settings import ThumbnailSettings
from processor.thumbnails.video import candidate_times


def test_the_library_tree_is_mirrored_with_the_full_original_name():
    assert thumbnail_rel("Library/2024/2024-05-01/IMG_1.HEIC", 256) == PurePosixPath(
        "Derivatives/thumbnails/256/2024/2024-05-01/IMG_1.HEIC.jpg")
    assert thumbnail_rel("Library/2024/2024-05-01/IMG_1.MOV", 256) != thumbnail_rel(
        "Library/2024/2024-05-01/IMG_1.HEIC", 256)


def test_a_path_escaping_the_storage_is_refused():
    with pytest.raises(ValueError):
        thumbnail_rel("Library/../../etc/passwd", 256)


def test_a_thumbnail_is_written_whole_or_not_at_all(tmp_path):
    target = tmp_path / "a" / "b.jpg"
    write_atomically(target, b"data")
    assert target.read_bytes() == b"data"
    assert [p.name for p in target.parent.iterdir()] == ["b.jpg"]


def test_sizes_default_to_a_grid_size_and_a_preview_largest_first():
    assert ThumbnailSettings().sizes == (1440, 256)
    assert ThumbnailSettings(thumbnail_sizes="128, 512,128").sizes == (512, 128)


@pytest.mark.parametrize("bad", ["", "big", "4,99999"])
def test_bad_sizes_are_refused(bad):
    with pytest.raises(ValidationError):
        ThumbnailSettings(thumbnail_sizes=bad)


def test_webp_is_an_option_and_other_formats_are_refused():
    assert ThumbnailSettings(thumbnail_format="WebP").extension == "webp"
    with pytest.raises(ValidationError):
        ThumbnailSettings(thumbnail_format="gif")


def test_poster_candidates_stay_inside_the_video_and_start_past_black_intros():
    assert candidate_times(3.0) == [0.0, 1.0, 2.0, 0.3, 0.75, 1.5]
    assert candidate_times(0.5) == [0.0, 0.05, 0.125, 0.25]
