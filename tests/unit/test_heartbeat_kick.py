"""A status change is written at once, not at the next interval (no database: the write is stubbed
by subclassing, the thread logic is what is under test)."""

import threading

from photo_factory.heartbeat import HeartbeatService


class Recording(HeartbeatService):
    def __init__(self):
        super().__init__("postgresql://unused", "svc", interval=3600)
        self.written = []
        self.event = threading.Event()

    def beat(self) -> bool:
        self.written.append(self._status)
        self.event.set()
        return True


def test_a_new_status_is_written_without_waiting_for_the_interval():
    hb = Recording().start()
    hb.event.clear()
    hb.set("ok", "working")
    assert hb.event.wait(5)
    hb.event.clear()
    hb.set("ok", "still working")  # same status: waits for the interval
    assert not hb.event.wait(0.3)
    hb._stop.set()
    hb._kick.set()
    assert hb.written[:2] == ["starting", "ok"]


class ByThread(Recording):
    def beat(self) -> bool:
        self.written.append(threading.current_thread().name)
        self.event.set()
        return True


def test_the_first_beat_can_be_left_to_the_thread_so_a_start_does_not_wait_for_the_database():
    """The librarian's start-up goes on while the heartbeat connects and writes "starting"."""
    hb = ByThread()
    hb.start(first_beat_now=False)
    assert hb.event.wait(5)
    hb.stop()
    assert hb.written[0] == "heartbeat-svc" and hb.written[-1] == threading.current_thread().name
