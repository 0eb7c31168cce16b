#!/usr/bin/env bash
# Starts, stops or reports the Docker engine that runs aod's tenants.
#   docker/engine.sh start    start dockerd in the background (idempotent) and wait until it answers
#   docker/engine.sh stop     stop a dockerd started here
#   docker/engine.sh status   print "running" (exit 0) or "stopped" (exit 3)
# On a fresh machine `scripts/setup --test` installs docker.io, then calls `start`.
# `start` also makes sure the host has what tenant workspaces need (gocryptfs over FUSE),
# because a tenant cannot start without it on either backend.
set -euo pipefail

SOCK=${AOD_DOCKER_SOCK:-/var/run/docker.sock}
PIDFILE=${AOD_DOCKER_PIDFILE:-/var/run/docker.pid}
LOG=${AOD_DOCKER_LOG:-/var/log/aod-dockerd.log}
WAIT_S=${AOD_DOCKER_WAIT_S:-60}

die() { echo "docker/engine.sh: error: $*" >&2; exit 1; }
answers() { docker -H "unix://$SOCK" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

ensure_host_tools() {
  local need=()
  command -v gocryptfs >/dev/null 2>&1 || need+=(gocryptfs)
  command -v fusermount3 >/dev/null 2>&1 || need+=(fuse3)
  if [ "${#need[@]}" -gt 0 ]; then
    echo "docker/engine.sh: installing ${need[*]} (encrypted tenant workspaces)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; } \
      || die "cannot install ${need[*]}"
  fi
  [ -e /dev/fuse ] || die "/dev/fuse is missing: tenant workspaces cannot be encrypted"
}

start() {
  ensure_host_tools
  if answers; then echo "docker engine: already running ($SOCK)"; return 0; fi
  command -v dockerd >/dev/null 2>&1 || die "dockerd not found (apt-get install docker.io)"
  command -v docker >/dev/null 2>&1 || die "docker CLI not found (apt-get install docker.io)"
  if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    echo "docker engine: dockerd $(cat "$PIDFILE") is starting; waiting"
  else
    rm -f "$PIDFILE"
    mkdir -p "$(dirname "$LOG")"
    setsid nohup dockerd --host="unix://$SOCK" --pidfile="$PIDFILE" >>"$LOG" 2>&1 < /dev/null &
  fi
  local i
  for ((i = 0; i < WAIT_S * 4; i++)); do
    if answers; then echo "docker engine: running ($SOCK)"; return 0; fi
    sleep 0.25
  done
  echo "---- last lines of $LOG" >&2
  tail -n 30 "$LOG" >&2 || true
  die "dockerd did not answer on $SOCK within ${WAIT_S}s"
}

stop() {
  if [ ! -f "$PIDFILE" ]; then echo "docker engine: not started here"; return 0; fi
  local pid i
  pid=$(cat "$PIDFILE")
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < 120; i++)); do
    kill -0 "$pid" 2>/dev/null || { echo "docker engine: stopped"; return 0; }
    sleep 0.25
  done
  die "dockerd $pid did not stop within 30s"
}

status() {
  if answers; then echo "running"; else echo "stopped"; exit 3; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: docker/engine.sh start|stop|status" >&2; exit 2 ;;
esac
