"""Fault injection for the real CLI: one function wrapped, the way a kill -9 or a racing writer lands there."""

from __future__ import annotations

#: ``python -c PATCHED_CLI <sub-command args…>`` runs the real ``photo-factory`` with one function
#: wrapped, named ``module:attr.path``:
#:
#: - ``PF_TEST_CRASH`` = ``target|before-or-after|n``: the process dies (exit 137, no clean-up) at
#:   that point of the n-th call;
#: - ``PF_TEST_HOOK`` = ``target|match|action``: before the first call whose arguments mention
#:   ``match``, ``action`` runs; ``replace:<src>|<dest>`` renames src over dest keeping dest's
#:   mtime (Syncthing's way of replacing a file);
#: - ``PF_TEST_HOLD`` = ``target|before-or-after``: the first call waits there (up to 60 s), so
#:   another thread's ``PF_TEST_CRASH`` lands while this one is half-way (then the process dies).
PATCHED_CLI = """
import functools, importlib, os, sys, threading

def patch(target, wrap):
    module, _, attr = target.partition(":")
    owner, *path = [importlib.import_module(module), *attr.split(".")]
    for name in path[:-1]:
        owner = getattr(owner, name)
    setattr(owner, path[-1], functools.wraps(getattr(owner, path[-1]))(wrap(getattr(owner, path[-1]))))

def crash(original, when, nth):
    calls = [0]
    lock = threading.Lock()
    def crashing(*args, **kwargs):
        with lock:  # several threads call it (the hashers): each call takes its own number,
            calls[0] += 1  # kept for the check after the call (others have counted on by then)
            mine = calls[0]
        if when == "before" and mine == int(nth):
            os._exit(137)
        result = original(*args, **kwargs)
        if when == "after" and mine == int(nth):
            os._exit(137)
        return result
    return crashing

def hook(original, match, action):
    calls = [0]
    lock = threading.Lock()
    def hooked(*args, **kwargs):
        with lock:
            first = not calls[0] and match in repr((args, kwargs))
            if first:
                calls[0] += 1
        if first:
            kind, _, arg = action.partition(":")
            if kind == "replace":
                src, dest = arg.split("|")
                st = os.stat(dest)
                os.rename(src, dest)
                os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns))
        return original(*args, **kwargs)
    return hooked

def hold(original, when):
    calls = [0]
    lock = threading.Lock()
    def holding(*args, **kwargs):
        with lock:
            calls[0] += 1
            mine = calls[0]
        if when == "before" and mine == 1:
            threading.Event().wait(60)
        result = original(*args, **kwargs)
        if when == "after" and mine == 1:
            threading.Event().wait(60)
        return result
    return holding

if os.environ.get("PF_TEST_HOLD"):
    target, when = os.environ["PF_TEST_HOLD"].split("|")
    patch(target, lambda original: hold(original, when))
if os.environ.get("PF_TEST_CRASH"):
    target, when, nth = os.environ["PF_TEST_CRASH"].split("|")
    patch(target, lambda original: crash(original, when, nth))
if os.environ.get("PF_TEST_HOOK"):
    target, match, action = os.environ["PF_TEST_HOOK"].split("|", 2)
    patch(target, lambda original: hook(original, match, action))
from photo_factory.cli import main
sys.argv = ["photo-factory", *sys.argv[1:]]
main()
"""
