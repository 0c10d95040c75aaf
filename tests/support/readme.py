"""The README's command blocks, for the tests that run them verbatim (so the two cannot drift).

A block is the fenced code block right after an HTML comment naming it, e.g.
``<!-- commands: restore-docker -->`` (anything after the name, up to ``-->``, is a remark).
Each non-blank line that is not only a comment is one command (a line ending in ``\\``
continues on the next), returned exactly as written.
"""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def commands(name: str, readme: Path = README) -> list[str]:
    text = readme.read_text(encoding="utf-8")
    found = re.search(rf"<!-- commands: {re.escape(name)}(?: [^>]*)? -->\s*```[a-z]*\n(.*?)```", text, re.S)
    if found is None:
        raise AssertionError(f"README has no block marked <!-- commands: {name} -->")
    out: list[str] = []
    pending = ""
    for line in found.group(1).splitlines():
        if pending:
            pending += "\n" + line
        elif line.strip() and not line.lstrip().startswith("#"):
            pending = line
        if pending and not line.endswith("\\"):
            out.append(pending)
            pending = ""
    assert out, f"the README block {name!r} holds no command"
    return out
