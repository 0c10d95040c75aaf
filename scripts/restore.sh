#!/usr/bin/env bash
# Restore Photo Factory from its backup remote after a disk died — or prove that you could.
#
#   scripts/restore.sh --storage-dir /mnt/new-disk/storage --database-url postgresql://pf@db/photo_factory
#   scripts/restore.sh --drill                 # restore into scratch targets, compare, clean up
#   scripts/restore.sh --list-dumps
#   scripts/restore.sh --storage-dir … --database-url … --files-only --day 2024-01-31
#
# Needs: PF_BACKUP_REMOTE (e.g. "secret:"), the rclone config holding that remote and its crypt
# passwords (RCLONE_CONFIG=/path/rclone.conf), rclone and pg_restore on PATH, and the
# photo-factory CLI (this checkout's .venv, or PHOTO_FACTORY=… to name another one).
# Every argument is passed to `photo-factory restore`; see `photo-factory restore --help`.
# Exit status: 0 every restored file verified, 1 a file missing or different, 2 refused, 3 failed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pf="${PHOTO_FACTORY:-}"
if [[ -z "$pf" ]]; then
  if [[ -x "$here/.venv/bin/photo-factory" ]]; then pf="$here/.venv/bin/photo-factory"
  else pf="$(command -v photo-factory || true)"; fi
fi
[[ -n "$pf" ]] || { echo "restore.sh: photo-factory not found (make install, or set PHOTO_FACTORY)" >&2; exit 2; }

for tool in rclone pg_restore; do
  command -v "$tool" >/dev/null || { echo "restore.sh: $tool is not installed" >&2; exit 2; }
done
if [[ -z "${PF_BACKUP_REMOTE:-}" ]] && [[ " $* " != *" --remote "* ]]; then
  echo "restore.sh: set PF_BACKUP_REMOTE (e.g. secret:) or pass --remote" >&2
  exit 2
fi
if [[ -n "${RCLONE_CONFIG:-}" && ! -r "$RCLONE_CONFIG" ]]; then
  echo "restore.sh: RCLONE_CONFIG=$RCLONE_CONFIG is not readable (it holds the encryption keys)" >&2
  exit 2
fi

exec "$pf" restore "$@"
