#!/usr/bin/env bash
# Restore Photo Factory from its backup remote after a disk died — or prove that you could.
#
#   scripts/restore.sh                  # the catalogue and every original back, each file verified
#   scripts/restore.sh --list-dumps     # the database dumps on the remote
#   scripts/restore.sh --drill          # restore into scratch targets, compare, clean up
#   scripts/restore.sh --files-only --file Library/2024/2024-01-31/IMG_0001.JPG
#   scripts/restore.sh --storage-dir /mnt/new/storage --database-url postgresql://…   # elsewhere
#
# It finds its targets itself unless told: --storage-dir defaults to PF_STORAGE_DIR and
# --database-url to PF_DATABASE_URL. In the compose `restore` service (`docker compose run --rm
# restore`) those are /data/storage and the factory-db database, with bridge or host networking
# alike; on a `make run` machine they are make run's own: var/storage and its private PostgreSQL
# under var/pg (started if it is not running).
#
# Needs: PF_BACKUP_REMOTE (e.g. "secret:") or --remote, the rclone config holding that remote and
# its crypt passwords (RCLONE_CONFIG=/path/rclone.conf), rclone, pg_restore and psql on PATH, and the
# photo-factory CLI (this checkout's .venv, the one on PATH, or PHOTO_FACTORY=…).
# Every other argument is passed to `photo-factory restore`; see `photo-factory restore --help`.
# Exit status: 0 every restored file verified, 1 a file missing or different, 2 refused, 3 failed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
die() { echo "restore.sh: $*" >&2; exit 2; }

pf="${PHOTO_FACTORY:-}"
if [[ -z "$pf" ]]; then
  if [[ -x "$here/.venv/bin/photo-factory" ]]; then pf="$here/.venv/bin/photo-factory"
  else pf="$(command -v photo-factory || true)"; fi
fi
[[ -n "$pf" ]] || die "photo-factory not found (make install, or set PHOTO_FACTORY)"

for tool in rclone pg_restore psql; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done

args=("$@")
given() {  # given --flag: the flag is among the arguments (as --flag VALUE or --flag=VALUE)
  local a
  for a in ${args[@]+"${args[@]}"}; do [[ "$a" == "$1" || "$a" == "$1="* ]] && return 0; done
  return 1
}

# A setting may come from a file (PF_X_FILE, a Docker secret): the CLI reads it, as every command does.
if [[ -z "${PF_BACKUP_REMOTE:-}" && -z "${PF_BACKUP_REMOTE_FILE:-}" ]] && ! given --remote; then
  die "set PF_BACKUP_REMOTE (e.g. secret:) or pass --remote"
fi
if [[ -n "${RCLONE_CONFIG:-}" && ! -r "$RCLONE_CONFIG" ]]; then
  die "RCLONE_CONFIG=$RCLONE_CONFIG is not readable (it holds the encryption keys)"
fi

if given --list-dumps || given --help || given -h; then
  exec "$pf" restore "$@"
fi

# The database: PF_DATABASE_URL (or PF_DATABASE_URL_FILE), or the one `make run` uses (its private
# cluster, started if needed).
if [[ -z "${PF_DATABASE_URL:-}" && -z "${PF_DATABASE_URL_FILE:-}" ]] && ! given --database-url; then
  py="$(dirname "$pf")/python"
  [[ -x "$py" ]] || die "set PF_DATABASE_URL or pass --database-url"
  found="$(cd "$here" && "$py" -m photo_factory.devrun --print-env)" \
    || die "could not start make run's private database: set PF_DATABASE_URL or pass --database-url"
  eval "$found"
  export PF_DATABASE_URL PF_STORAGE_DIR
fi

if ! given --drill; then
  if ! given --storage-dir; then
    [[ -n "${PF_STORAGE_DIR:-}" ]] || die "set PF_STORAGE_DIR or pass --storage-dir"
    args+=(--storage-dir "$PF_STORAGE_DIR")
  fi
  if ! given --database-url && ! given --files-only; then
    # by name, not by value: the URL and its password stay off every command line (ps)
    export PF_DATABASE_URL
    args+=(--into-configured-database)
  fi
fi

# After `up` or a reboot the database may still be starting: wait for it, not for a traceback.
url="${PF_DATABASE_URL:-}"
if [[ -z "$url" && -f "${PF_DATABASE_URL_FILE:-}" && -r "${PF_DATABASE_URL_FILE:-}" ]]; then
  url="$(head -c 131072 "$PF_DATABASE_URL_FILE" | sed -E 's/^[[:space:]]+//; s/[[:space:]]+$//')"
fi
if [[ -n "$url" ]] && command -v pg_isready >/dev/null; then
  deadline=$((SECONDS + ${PF_DB_WAIT_SECONDS:-60}))
  # pg_isready needs no password: it gets the URL without one (argv is visible to every user)
  bare="$(printf '%s' "$url" | sed -E 's#^([a-z]+://[^:/@]*):[^@]*@#\1@#; s/password=[^ &]*//g')"
  until pg_isready -q -d "$bare"; do
    (( SECONDS < deadline )) || { echo "restore.sh: the database does not answer (PF_DATABASE_URL)" >&2; exit 3; }
    sleep 1
  done
fi

exec "$pf" restore "${args[@]}"
