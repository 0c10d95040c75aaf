"""Folders that must never overlap: the inbox, the storage, a local backup folder.

The librarian empties the inbox and removes inbox files whose content the library already holds.
A storage inside the inbox is therefore taken for new files and its library "deduplicated" away;
an inbox inside the storage is registered as library content. Two checks keep them apart:

- :func:`overlap_problem` at configuration time compares resolved real paths (symlinks, ``..``
  and relative paths resolved) and, where the folders exist, file identities of every ancestor;
- :func:`identity` / :class:`Fence` at run time, for what no path comparison can see (a bind
  mount that shows the storage inside the inbox): a walk of the inbox compares each folder's
  ``(st_dev, st_ino)`` with the storage's and never enters it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from itertools import combinations
from pathlib import Path

Identity = tuple[int, int]

#: rclone's connection-string prefix ``name:`` / ``:backend,opt=v:`` (see ``rclone help flags``).
_REMOTE = re.compile(r"^:?[\w.\-+@ ]+(?:,[^:/]*)?:")
_LOCAL_BACKEND = re.compile(r"^:local(?:,[^:]*)?:(.*)$", re.DOTALL)


def real(path: Path | str) -> Path:
    """The absolute path with ``~``, ``..`` and every existing symlink resolved."""
    return Path(os.path.realpath(os.path.abspath(os.path.expanduser(os.fspath(path)))))


def local_rclone_path(remote: str) -> Path | None:
    """The local folder an rclone destination writes to, or None for a real remote.

    ``/backup``, ``./backup``, ``backup`` and ``:local:/backup`` are local folders; ``b2:bucket``
    and ``crypt:`` are remotes (a configured remote of type ``local`` or ``alias`` cannot be
    told from here).
    """
    remote = remote.strip()
    if not remote:
        return None
    m = _LOCAL_BACKEND.match(remote)
    if m:
        return Path(m.group(1) or ".")
    if remote.startswith(("/", ".", "~")) or not _REMOTE.match(remote):
        return Path(remote)
    return None


def identity(path: Path | str, follow: bool = True) -> Identity | None:
    """``(st_dev, st_ino)`` of ``path`` (a last-component link followed unless ``follow`` is
    false), None if it does not exist."""
    try:
        st = os.stat(path, follow_symlinks=follow)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _chain(path: Path) -> set[Identity]:
    """Identities of ``path`` (or its deepest existing ancestor) and of every ancestor."""
    out: set[Identity] = set()
    for p in (path, *path.parents):
        ident = identity(p)
        if ident is not None:
            out.add(ident)
    return out


def _inside(inner: Path, outer: Path) -> bool:
    """``inner`` is ``outer`` or below it, by path or (both existing) by file identity."""
    if inner == outer or inner.is_relative_to(outer):
        return True
    outer_id = identity(outer)
    return outer_id is not None and outer_id in _chain(inner)


def overlap_problem(folders: Mapping[str, Path | str]) -> str | None:
    """A message naming both variables when two of ``folders`` (variable name -> path) are the
    same folder or one is inside the other; None when they are pairwise disjoint."""
    resolved = [(name, real(p)) for name, p in folders.items()]
    for (name_a, a), (name_b, b) in combinations(resolved, 2):
        if a == b or (identity(a) is not None and identity(a) == identity(b)):
            return (f"{name_a} and {name_b} are the same folder ({a}); "
                    "they must be separate folders, neither inside the other")
        for (n_in, p_in), (n_out, p_out) in (((name_a, a), (name_b, b)), ((name_b, b), (name_a, a))):
            if _inside(p_in, p_out):
                return (f"{n_in} ({p_in}) is inside {n_out} ({p_out}); "
                        "they must be separate folders, neither inside the other")
    return None


class Fence:
    """Folders a walk must never enter, recognised by identity (bind mounts included)."""

    def __init__(self, folders: Iterable[Path]):
        self.ids = {i for i in (identity(f) for f in folders) if i is not None}

    def __contains__(self, path: Path | str) -> bool:
        """``path`` itself is a fenced folder (a link to one is not: links are never entered)."""
        ident = identity(path, follow=False)
        return ident is not None and ident in self.ids

    def encloses(self, path: Path, root: Path) -> bool:
        """``path`` (below ``root``) lies in a fenced folder: one of its ancestors up to and
        including ``root`` is fenced (or ``path`` itself is)."""
        for p in (path, *path.parents):
            if p in self:
                return True
            if p == root:
                return False
        return False
