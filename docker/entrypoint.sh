#!/bin/sh
# Photo Factory container entrypoint: run the command as the PUID:PGID user (homelab convention),
# in the TZ timezone, as PID 1 (exec), so that SIGTERM reaches the service directly.
#
#   PUID / PGID   owner of every file the services write (default 1000:1000)
#   TZ            IANA zone, e.g. Europe/Berlin (default UTC)
#
# Only the top level of a mounted folder that Docker created for us (owned by root) is chowned:
# nothing below it is ever touched, so originals keep their ownership.
set -eu

PUID=${PUID:-1000}
PGID=${PGID:-1000}

if [ -n "${TZ:-}" ] && [ ! -e "/usr/share/zoneinfo/$TZ" ]; then
  echo "entrypoint: unknown TZ '$TZ' (no /usr/share/zoneinfo/$TZ); using UTC" >&2
  export TZ=UTC
fi

if [ "$(id -u)" != "0" ]; then
  exec "$@"          # started with `user:`: nothing to switch
fi

if [ "$PUID" = "0" ]; then
  echo "entrypoint: PUID=0: running as root (not recommended)" >&2
  exec "$@"
fi

[ "$(id -g pf)" = "$PGID" ] || groupmod -o -g "$PGID" pf
[ "$(id -u pf)" = "$PUID" ] || usermod -o -u "$PUID" -g "$PGID" pf

# The dashboard and the monitor read the Docker API through the socket (mounted read-only):
# join the socket's group so that the non-root user may connect to it.
if [ -S /var/run/docker.sock ]; then
  sock_gid=$(stat -c %g /var/run/docker.sock)
  if [ "$sock_gid" != "0" ]; then
    getent group "$sock_gid" >/dev/null || groupadd -o -g "$sock_gid" dockersock
    usermod -a -G "$(getent group "$sock_gid" | cut -d: -f1)" pf
  else
    echo "entrypoint: /var/run/docker.sock belongs to root's group; the dashboard shows Docker as unavailable" >&2
  fi
fi

# the fixed mount points of docker-compose.yml, plus wherever PF_INBOX_DIR / PF_STORAGE_DIR point
for dir in /data/inbox /data/storage /data/backup /config/rclone "${PF_INBOX_DIR:-}" "${PF_STORAGE_DIR:-}"; do
  [ -n "$dir" ] && [ -d "$dir" ] || continue
  if [ "$(stat -c %u "$dir")" = "0" ]; then chown "$PUID:$PGID" "$dir"; fi
done

exec gosu pf "$@"
