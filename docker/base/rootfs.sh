#!/usr/bin/env bash
# Builds the base image: debootstrap --variant=minbase of Debian bookworm with the packages in
# packages.txt, stripped of caches, logs and machine identity, imported with `docker import`.
#   docker/base/rootfs.sh TAG WORKDIR [MIRROR]
# Called by docker/build.sh (which decides the tag from the digest of this folder).
set -euo pipefail
cd "$(dirname "$0")"
TAG=$1
WORK=$2
MIRROR=${3:-http://deb.debian.org/debian}
SUITE=bookworm
EPOCH=${SOURCE_DATE_EPOCH:-1700000000}

[ "$(id -u)" = 0 ] || { echo "docker/base/rootfs.sh: debootstrap needs root" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "docker/base/rootfs.sh: apt-get install debootstrap" >&2; exit 1; }
rootfs="$WORK/rootfs"
rm -rf "$rootfs"
mkdir -p "$WORK"
include=$(grep -v '^\s*#' packages.txt | grep -v '^\s*$' | paste -sd, -)
echo "== docker/base/rootfs.sh: debootstrap $SUITE ($include) from $MIRROR" >&2
if ! debootstrap --variant=minbase --include="$include" "$SUITE" "$rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1; then
  tail -n 20 "$WORK/debootstrap.log" >&2
  echo "docker/base/rootfs.sh: debootstrap failed (log: $WORK/debootstrap.log)" >&2
  exit 1
fi
rm -rf "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
       "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/* "$rootfs"/tmp/* "$rootfs"/root/.cache
: > "$rootfs/etc/machine-id"
echo "== docker/base/rootfs.sh: docker import $TAG" >&2
tar -C "$rootfs" --sort=name --mtime="@$EPOCH" --numeric-owner -c . \
  | docker import --change "LABEL org.aod.image=base" --change "LABEL org.aod.inputs=${TAG##*:}" \
      --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8' - "$TAG" >/dev/null
rm -rf "$rootfs"
