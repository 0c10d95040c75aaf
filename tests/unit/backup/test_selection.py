"""What a partial restore selects (pure)."""

from datetime import date

from processor.backup.selection import Selection, folder_day

P = "Library/2024/2024-01-31/IMG_0001.JPG"


def test_the_capture_day_comes_from_the_day_folder():
    assert folder_day(P) == date(2024, 1, 31)
    assert folder_day("Derivatives/x.jpg") is None and folder_day("x.jpg") is None
    assert folder_day("Library/2024/not-a-day/x.jpg") is None


def test_everything_selects_every_path():
    assert Selection().everything and Selection().matches(P)


def test_one_file_selects_only_that_path():
    assert Selection(path=P).matches(P)
    assert not Selection(path=P).matches(P.replace("0001", "0002"))


def test_a_day_range_is_inclusive():
    sel = Selection(since=date(2024, 1, 31), until=date(2024, 2, 1))
    assert sel.matches(P) and sel.matches("Library/2024/2024-02-01/a.jpg")
    assert not sel.matches("Library/2024/2024-02-02/a.jpg")
    assert sel.describe() == "days 2024-01-31 to 2024-02-01"


def test_a_batch_is_split_into_even_chunks_of_a_useful_size():
    from processor.backup.batch import _split
    from processor.backup.store import Asset

    items = [Asset(i, f"Library/2024/2024-01-01/{i}.jpg", "0" * 64, 1) for i in range(100)]
    assert [len(c) for c in _split(items, 4)] == [25, 25, 25, 25]
    assert [len(c) for c in _split(items[:30], 4)] == [30]
    assert _split([], 4) == []
