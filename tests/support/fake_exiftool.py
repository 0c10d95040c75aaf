"""A stand-in ExifTool speaking the ``-stay_open`` protocol, for what the real one cannot be made
to do on demand (die on one file, stall, record the arguments it was sent).

``answer`` is Python run for each command that is not the version check, with ``args`` (the
command's arguments) and ``files`` (its absolute paths) set; it writes ExifTool's JSON answer to
stdout (or dies, or sleeps)."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

_LOOP = r'''
import json, os, sys, time
args = []
for line in sys.stdin:
    arg = line.rstrip("\n")
    if not arg.startswith("-execute"):
        args.append(arg)
        continue
    seq = arg[len("-execute"):]
    files = [a for a in args if a.startswith("/")]
    if "-ver" in args:
        sys.stdout.write("12.57\n")
    else:
{answer}
    sys.stdout.write("{{ready%s}}\n" % seq)
    sys.stdout.flush()
    sys.stderr.write("{post}post%s\n" % seq)
    sys.stderr.flush()
    args = []
'''


def install(path: Path, answer: str, *, post: str = "") -> str:
    """Write the stand-in to ``path`` (executable) and return its path for ``PF_EXIFTOOL_PATH``."""
    body = textwrap.indent(textwrap.dedent(answer).strip("\n"), " " * 8)
    path.write_text(f"#!{sys.executable}\n" + _LOOP.format(answer=body, post=post))
    path.chmod(0o755)
    return str(path)
