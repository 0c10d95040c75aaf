"""Run every benchmark: each ``bench/<area>/run.py`` as ``python -m bench.<area>.run``, in its own process.

``python -m bench thumbnails`` runs only the named areas; options after the names go to each of them
(``python -m bench pipeline --replicas 1 2 4``). Exit status is non-zero if any failed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def areas() -> list[str]:
    return sorted(p.parent.name for p in HERE.glob("*/run.py"))


def main(argv: list[str]) -> int:
    split = next((i for i, a in enumerate(argv) if a.startswith("-")), len(argv))
    chosen, options = argv[:split] or areas(), argv[split:]
    unknown = sorted(set(chosen) - set(areas()))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; have: {', '.join(areas())}", file=sys.stderr)
        return 2
    failed = []
    for area in chosen:
        print(f"== bench/{area} ==", flush=True)
        rc = subprocess.run([sys.executable, "-m", f"bench.{area}.run", *options], cwd=HERE.parent).returncode
        if rc != 0:
            failed.append(area)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
