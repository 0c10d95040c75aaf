"""A stop signal during a service's start-up is handed to its own handlers (photo_factory/early_stop.py).

Each case runs in a fresh interpreter: signal dispositions are per process.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest


def run(body: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
    code = textwrap.dedent("""
        import os, signal, time
        from photo_factory import early_stop
    """) + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_a_signal_before_the_handlers_stops_the_service_once_they_are_installed(sig):
    done = run(f"""
        early_stop.defer()
        os.kill(os.getpid(), signal.{sig})
        time.sleep(0.2)  # "importing"
        from photo_factory import loop
        stopper = loop.Stopper()
        stopper.install_signal_handlers()
        assert stopper.stop.is_set() and stopper.signals == 1
        print("stopped cleanly")
    """)
    assert done.returncode == 0, done.stderr
    assert "stopped cleanly" in done.stdout


def test_without_a_signal_nothing_is_requested_and_the_next_signal_is_the_services():
    done = run("""
        early_stop.defer()
        from photo_factory import loop
        stopper = loop.Stopper()
        stopper.install_signal_handlers()
        assert not stopper.stop.is_set()
        os.kill(os.getpid(), signal.SIGTERM)
        assert stopper.stop.wait(30) and stopper.signals == 1
        print("ok")
    """)
    assert done.returncode == 0, done.stderr


def test_a_second_signal_before_the_handlers_ends_the_process_the_default_way():
    done = run("""
        early_stop.defer()
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
        print("survived")
    """)
    assert done.returncode == -signal.SIGTERM
    assert "survived" not in done.stdout


def test_a_service_that_never_takes_the_signal_still_ends_by_it():
    done = run("""
        early_stop.HANDOVER_S = 0.3
        early_stop.defer()
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(10)  # stuck before its handlers: the noted signal must not be swallowed
        print("survived")
    """)
    assert done.returncode == -signal.SIGTERM
    assert "survived" not in done.stdout
