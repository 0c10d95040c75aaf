"""Print the requirements of some extras of pyproject.toml, one a line (for a cached image layer).

Usage: ``python extra_requirements.py pyproject.toml librarian processor`` (no extra: core only).
The image build installs them with ``pip install -c requirements.lock -r -`` before the source is
copied, so that a code change does not re-download the dependencies.
"""

from __future__ import annotations

import re
import sys
import tomllib


def requirements(project: dict, extras: list[str]) -> list[str]:
    """Core dependencies plus those of ``extras`` (self-references like ``pkg[a,b]`` expanded)."""
    name = project["name"]
    optional = project.get("optional-dependencies", {})
    out: list[str] = list(project.get("dependencies", []))
    seen: set[str] = set()
    todo = list(extras)
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for req in optional.get(extra, []):
            m = re.fullmatch(rf"{re.escape(name)}\[([^\]]+)\]", req.strip())
            if m:
                todo.extend(e.strip() for e in m.group(1).split(","))
            elif req not in out:
                out.append(req)
    return out


if __name__ == "__main__":
    with open(sys.argv[1], "rb") as fh:
        print("\n".join(requirements(tomllib.load(fh)["project"], sys.argv[2:])))
