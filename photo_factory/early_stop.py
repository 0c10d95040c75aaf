"""A stop signal that arrives while a service is still starting is kept, not fatal.

A service installs its SIGTERM/SIGINT handlers (:meth:`photo_factory.loop.Stopper.install_signal_handlers`)
once Python has imported it, ~0.4 s after the process started (seconds on a loaded box). Until
then the default action applies: ``docker compose stop`` or Ctrl-C at that moment ended the
process with the signal (exit 143) instead of the clean stop it gets a moment later. For a
service whose handlers follow its imports directly (the CLI's ``PRELUDES``), :func:`defer` is
called first thing: a first signal is noted and handed to the service's own handlers
(:func:`handover`), which then stop at once, cleanly. If they do not take it within
:data:`HANDOVER_S` (the service never got that far), or a second signal comes, the default
action runs as before: deferring never makes a process harder to stop.

Standard library only (it runs before anything heavy is imported).
"""

from __future__ import annotations

import os
import signal
import threading

#: How long a noted signal waits for the service's own handlers before the default action runs.
HANDOVER_S = 10.0
_SIGNALS = (signal.SIGTERM, signal.SIGINT)

_lock = threading.RLock()  # a handler may run inside a handler, in the same thread


class _State:
    deferring = False
    signum: int | None = None
    timer: threading.Timer | None = None


_state = _State()


def _die(signum: int) -> None:
    """The signal's default action, as if nothing had been deferred."""
    for s in _SIGNALS:
        signal.signal(s, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _expire() -> None:
    """The timer's end: signal again; the main thread (the only one that may change a signal's
    action) takes it as a second signal and lets the default action run."""
    with _lock:
        signum = _state.signum if _state.deferring else None
    if signum is not None:
        os.kill(os.getpid(), signum)


def _noted(signum: int, _frame: object) -> None:
    with _lock:
        if not _state.deferring:
            return
        if _state.signum is None:
            _state.signum = signum
            _state.timer = threading.Timer(HANDOVER_S, _expire)
            _state.timer.daemon = True
            _state.timer.start()
            return
        # a second signal, or the time is up: stop now, the default way
        _state.deferring = False
        timer = _state.timer
    if timer is not None:
        timer.cancel()
    _die(signum)


def defer() -> None:
    """Note SIGTERM/SIGINT until :func:`handover` (main thread only, like any signal handler)."""
    with _lock:
        _state.deferring, _state.signum, _state.timer = True, None, None
    for s in _SIGNALS:
        signal.signal(s, _noted)


def handover() -> int | None:
    """Stop deferring; the signal noted meanwhile (the caller stops at once), or None. The caller
    installs its own handlers first (until then a signal is noted, never lost)."""
    with _lock:
        was, signum, timer = _state.deferring, _state.signum, _state.timer
        _state.deferring, _state.signum, _state.timer = False, None, None
    if timer is not None:
        timer.cancel()
    return signum if was else None
