"""Finding candidate panorama sets from what media_assets knows (no images, no database)."""

from datetime import datetime, timedelta

from processor.stitch.panorama import Shot, detect, pano_folder

T0 = datetime(2024, 7, 14, 10, 30)


def shot(i: int, seconds: float, *, model: str = "Pixel 8", source: str | None = None,
         size: tuple[int, int] = (4000, 3000), orientation: int = 1, settled: bool = True) -> Shot:
    return Shot(id=i, camera_make="Google", camera_model=model, captured_at=T0 + timedelta(seconds=seconds),
                width=size[0], height=size[1], orientation=orientation,
                source_path=source or f"DCIM/Camera/IMG_{i}.jpg", settled=settled)


def run(shots: list[Shot]):
    return detect(shots, max_gap_s=10, min_images=2, max_images=12)


def test_shots_seconds_apart_from_one_camera_form_a_sequence():
    found = run([shot(1, 0), shot(2, 3), shot(3, 6)])
    assert [(s.detection, [x.id for x in s.shots]) for s in found.sets] == [("sequence", [1, 2, 3])]
    assert sorted(found.scanned_ids) == [1, 2, 3]


def test_a_long_pause_splits_shots_into_separate_groups():
    found = run([shot(1, 0), shot(2, 3), shot(3, 60), shot(4, 62)])
    assert [[x.id for x in s.shots] for s in found.sets] == [[1, 2], [3, 4]]


def test_a_lone_shot_is_scanned_but_is_not_a_set():
    found = run([shot(1, 0), shot(2, 100)])
    assert found.sets == []
    assert sorted(found.scanned_ids) == [1, 2]


def test_different_cameras_never_share_a_sequence():
    found = run([shot(1, 0), shot(2, 2, model="iPhone 15"), shot(3, 4)])
    assert [[x.id for x in s.shots] for s in found.sets] == [[1, 3]]


def test_a_change_of_orientation_ends_a_sequence():
    found = run([shot(1, 0), shot(2, 2), shot(3, 4, orientation=6), shot(4, 6, orientation=6)])
    assert [[x.id for x in s.shots] for s in found.sets] == [[1, 2], [3, 4]]


def test_shots_in_a_pano_folder_form_one_forced_set_whatever_their_times():
    shots = [shot(1, 0, source="Pano Trip/a.jpg"), shot(2, 500, source="Pano Trip/b.jpg"),
             shot(3, 2, source="PANO2/c.jpg")]
    found = run(shots)
    assert sorted((s.detection, s.key) for s in found.sets) == [("folder", "1,2"), ("folder", "3")]


def test_a_group_with_a_shot_still_settling_waits_for_a_later_scan():
    found = run([shot(1, 0), shot(2, 3, settled=False), shot(3, 100)])
    assert found.sets == []
    assert found.scanned_ids == [3]


def test_only_a_folder_whose_name_starts_with_pano_forces_a_set():
    assert pano_folder("panorama_2024/IMG_1.jpg") == "panorama_2024"
    assert pano_folder("Holiday/PANO/IMG_1.jpg") == "Holiday/PANO"
    assert pano_folder("Holiday/IMG_1.jpg") is None
    assert pano_folder("PANO_0001.jpg") is None
    assert pano_folder(None) is None


def test_the_set_key_is_the_same_whatever_the_order_of_the_shots():
    a = run([shot(2, 3), shot(1, 0)]).sets[0]
    assert a.key == "1,2"


def test_any_folder_level_named_pano_forces_a_set_per_folder():
    assert pano_folder("panorama/budapest/IMG_1.jpg") == "panorama/budapest"
    assert pano_folder("Trips/Pano x/day 2/IMG_1.jpg") == "Trips/Pano x/day 2"
    assert pano_folder("Trips/Budapest/IMG_1.jpg") is None
    shots = [shot(1, 0, source="panorama/budapest/a.jpg"), shot(2, 900, source="panorama/budapest/b.jpg"),
             shot(3, 5, source="panorama/vienna/c.jpg"), shot(4, 7, source="panorama/vienna/d.jpg")]
    found = run(shots)
    assert sorted((s.detection, s.key) for s in found.sets) == [("folder", "1,2"), ("folder", "3,4")]
