"""Fault injection for the real CLI: one call made fatal, the way a kill -9 would land there."""

from __future__ import annotations

#: ``python -c CRASHING_CLI <sub-command args…>`` runs the real ``photo-factory`` with one call made
#: fatal: ``PF_TEST_CRASH`` is ``module:attr.path|before-or-after|n`` and the process dies (exit
#: 137, no clean-up) at that point of the n-th call.
CRASHING_CLI = """
import functools, importlib, os, sys
target, when, nth = os.environ["PF_TEST_CRASH"].split("|")
module, _, attr = target.partition(":")
owner, *path = [importlib.import_module(module), *attr.split(".")]
for name in path[:-1]:
    owner = getattr(owner, name)
original = getattr(owner, path[-1])
calls = [0]
@functools.wraps(original)
def crashing(*args, **kwargs):
    calls[0] += 1
    if when == "before" and calls[0] == int(nth):
        os._exit(137)
    result = original(*args, **kwargs)
    if when == "after" and calls[0] == int(nth):
        os._exit(137)
    return result
setattr(owner, path[-1], crashing)
from photo_factory.cli import main
sys.argv = ["photo-factory", *sys.argv[1:]]
main()
"""
