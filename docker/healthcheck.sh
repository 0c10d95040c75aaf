#!/bin/sh
# Container health check without a Python start: pf-healthcheck SERVICE [GRACE_TENTHS] [MIN_AGE]
#
# Healthy when the service's last committed heartbeat (the line photo_factory/health_file.py
# writes after each beat the database accepted) is younger than max(GRACE x interval, MIN_AGE)
# seconds and its status is not error, stopping or stopped — the rule of
# `photo-factory healthcheck` (grace 2.5, min-age 15), which stays the thorough check.
# Exit 0 healthy, 1 not, with one line saying why (shown by `docker inspect`).
set -u
service=${1:?usage: pf-healthcheck SERVICE [GRACE_TENTHS] [MIN_AGE]}
grace_tenths=${2:-25}
min_age=${3:-15}
file="${PF_HEALTH_DIR:-${TMPDIR:-/tmp}/photo-factory-health}/$service"
if [ ! -r "$file" ]; then
  printf '%s\n' "$service: no heartbeat yet"
  exit 1
fi
tab=$(printf '\t')
IFS="$tab" read -r status interval written message < "$file" || true
case "$interval$written" in
  ''|*[!0-9]*) printf '%s\n' "$service: unreadable health file"; exit 1 ;;
esac
age=$(( $(date +%s) - written ))
limit=$(( interval * grace_tenths / 10 ))
[ "$limit" -ge "$min_age" ] || limit=$min_age
if [ "$age" -gt "$limit" ]; then
  printf '%s\n' "$service: heartbeat is ${age}s old (limit ${limit}s)"
  exit 1
fi
case "$status" in
  error|stopping|stopped) printf '%s\n' "$service: status $status: $message"; exit 1 ;;
esac
printf '%s\n' "$service: $status, heartbeat ${age}s old"
exit 0
