"""One alert for the root cause: services failing with the disk are folded into its incident."""

from __future__ import annotations

from service_monitor.conditions import condition
from service_monitor.rootcause import duration, fold


def svc(name: str) -> dict[str, str]:
    return condition(f"service:{name}", "service", f"{name} is error", "No space left on device")


def test_services_failing_with_a_low_disk_are_folded_into_the_disk_alert() -> None:
    low = condition("disk:storage", "disk", "low disk space on storage", "1 GB free")
    got = fold([low, svc("librarian"), svc("thumbnails"), svc("disk")])
    assert [c["key"] for c in got] == ["disk:storage"]
    assert got[0]["message"] == "1 GB free (affected: librarian, thumbnails)"


def test_a_missing_volume_is_a_root_too() -> None:
    gone = condition("service:disk", "service", "disk is error", "volume missing: storage")
    got = fold([gone, svc("librarian")])
    assert [c["key"] for c in got] == ["service:disk"] and "affected: librarian" in got[0]["message"]


def test_without_a_root_every_service_speaks_for_itself() -> None:
    assert [c["key"] for c in fold([svc("librarian"), svc("geocode")])] == ["service:librarian", "service:geocode"]


def test_right_after_a_database_outage_service_conditions_wait() -> None:
    other = condition("failures", "failures", "many failures", "x", "warning")
    assert fold([svc("librarian"), other], after_outage=True) == [other]


def test_durations_read_like_a_person_would_say_them() -> None:
    assert [duration(s) for s in (45, 720, 3 * 3600 + 300, 2 * 86400 + 4 * 3600)] == [
        "45 s", "12 min", "3 h 5 min", "2 d 4 h"]
