#!/usr/bin/env bash
# Builds aod's images from this repository alone, idempotently:
#   aod/base:D     debootstrap --variant=minbase bookworm (+ docker/base/packages.txt), docker import
#                  (docker/base/rootfs.sh)
#   aod/tenant:D   base + JupyterLab, pandas, pyarrow, duckdb, scikit-learn (docker/tenant/requirements.txt,
#                  every version pinned) + the client SDK (tenants/sdk)
#   aod/domain:D   base + the aod package and its pinned dependencies (docker/domain/requirements.txt)
# D is the digest of each image's inputs (python3 -m tenants.isolation.images digest ROLE); an image
# whose tag exists is not rebuilt. Each is also tagged :latest (docker/compose.yaml uses those).
#
#   docker/build.sh [base|tenant|domain|all]     (default: tenant, i.e. base + tenant: what the
#                                                tests and both backends need; `all` adds domain)
#
# Python wheels are downloaded on the host (its pip reaches the package index with the host's CA
# bundle) into /var/cache/aod/wheels (AOD_WHEEL_CACHE), then installed offline inside the build: no certificate and
# no index access ever enters an image. Needs root (debootstrap), a running engine
# (docker/engine.sh start), debootstrap and python3 3.11 with pip.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
OUT=${AOD_BUILD_DIR:-$REPO/docker/build}
WHEELS=${AOD_WHEEL_CACHE:-/var/cache/aod/wheels}   # outside the checkout: reused by every clone
MIRROR=${AOD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
PY=${PYTHON:-python3}
export DOCKER_BUILDKIT=0 SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}

log() { echo "== docker/build.sh: $*" >&2; }
die() { echo "docker/build.sh: error: $*" >&2; exit 1; }
digest() { PYTHONPATH="$REPO" "$PY" -m tenants.isolation.images digest "$1"; }
have() { docker image inspect "$1" >/dev/null 2>&1; }

preflight() {
  docker version --format '{{.Server.Version}}' >/dev/null 2>&1 \
    || die "the Docker engine does not answer (run docker/engine.sh start)"
  "$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
    || die "$PY must be Python 3.11 (the images' Python) to download matching wheels"
  mkdir -p "$OUT"
}

build_base() {
  local d tag
  d=$(digest base); tag="aod/base:$d"
  if have "$tag"; then log "$tag exists"; docker tag "$tag" aod/base:latest; return; fi
  docker/base/rootfs.sh "$tag" "$OUT/base-$d" "$MIRROR"
  rm -rf "$OUT/base-$d"
  docker tag "$tag" aod/base:latest
}

wheels() {  # wheels REQUIREMENTS DEST: download every pinned wheel for CPython 3.11 manylinux x86_64
  local plats=() v
  for v in 5 12 17 24 26 27 28 31 34 35 36; do plats+=(--platform "manylinux_2_${v}_x86_64"); done
  plats+=(--platform manylinux1_x86_64 --platform manylinux2010_x86_64 --platform manylinux2014_x86_64)
  mkdir -p "$2"
  "$PY" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version 3.11.2 --implementation cp --abi cp311 --abi abi3 --abi none "${plats[@]}" \
    -d "$2" -r "$1" 2> >(grep -v 'is ignored' >&2) || die "cannot download the wheels of $1"
}

context() {  # context ROLE: a fresh build context folder, printed
  local ctx="$OUT/ctx-$1"
  rm -rf "$ctx"; mkdir -p "$ctx"
  cp "docker/$1/Dockerfile" "docker/$1/requirements.txt" "$ctx/"
  log "wheels for $1"
  wheels "docker/$1/requirements.txt" "$WHEELS"
  mkdir -p "$ctx/wheels"
  # Only the wheels this image pins (hard links: no copy of the cache).
  "$PY" - "$ctx/requirements.txt" "$WHEELS" "$ctx/wheels" <<'PYEOF'
import os, re, sys
from pathlib import Path
reqs, cache, dest = sys.argv[1:]
norm = lambda s: re.sub(r"[-_.]+", "_", s).lower()
want = {}
for line in Path(reqs).read_text().splitlines():
    line = line.split("#")[0].strip()
    if line:
        name, version = line.split("==")
        want[norm(name)] = version
found = set()
for wheel in sorted(Path(cache).glob("*.whl")):
    name, version = wheel.name.split("-")[:2]
    if want.get(norm(name)) == version:
        try:
            os.link(wheel, Path(dest) / wheel.name)
        except OSError:  # another filesystem
            import shutil
            shutil.copy2(wheel, Path(dest) / wheel.name)
        found.add(norm(name))
missing = sorted(set(want) - found)
if missing:
    sys.exit(f"wheels missing for: {', '.join(missing)}")
PYEOF
  echo "$ctx"
}

docker_build() {  # docker_build ROLE DIGEST CONTEXT
  local tag="aod/$1:$2" base
  base="aod/base:$(digest base)"
  log "docker build $tag"
  docker build --quiet --pull=false --network=none --build-arg "BASE=$base" \
    --label "org.aod.inputs=$2" -t "$tag" "$3" >"$OUT/build-$1.log" 2>&1 \
    || { tail -n 30 "$OUT/build-$1.log" >&2; die "building $tag failed (log: $OUT/build-$1.log)"; }
  docker tag "$tag" "aod/$1:latest"
  rm -rf "$3"
}

build_tenant() {
  local d ctx
  d=$(digest tenant)
  if have "aod/tenant:$d"; then log "aod/tenant:$d exists"; docker tag "aod/tenant:$d" aod/tenant:latest; return; fi
  ctx=$(context tenant)
  mkdir -p "$ctx/lib/tenants" "$ctx/jupyter"
  : > "$ctx/lib/tenants/__init__.py"
  tar -C tenants --exclude=__pycache__ --exclude='*.pyc' -c sdk | tar -C "$ctx/lib/tenants" -x
  cp -r tenants/jupyter/config/. "$ctx/jupyter/"
  docker_build tenant "$d" "$ctx"
}

build_domain() {
  local d ctx
  d=$(digest domain)
  if have "aod/domain:$d"; then log "aod/domain:$d exists"; docker tag "aod/domain:$d" aod/domain:latest; return; fi
  ctx=$(context domain)
  log "gocryptfs packages (encrypted tenant workspaces)"
  mkdir -p "$ctx/debs"
  (cd "$ctx/debs" && { apt-get download gocryptfs libfuse2 >/dev/null 2>&1 \
     || { apt-get update -qq && apt-get download gocryptfs libfuse2 >/dev/null; }; }) \
    || die "cannot download the gocryptfs packages"
  log "aod wheel"
  mkdir -p "$ctx/aod"
  "$PY" -m pip wheel --quiet --disable-pip-version-check --no-deps -w "$ctx/aod" "$REPO" >"$OUT/wheel-aod.log" 2>&1 \
    || { tail -n 20 "$OUT/wheel-aod.log" >&2; die "cannot build the aod wheel"; }
  docker_build domain "$d" "$ctx"
}

what=${1:-tenant}
case "$what" in base|tenant|domain|all) ;; *) die "usage: docker/build.sh [base|tenant|domain|all]" ;; esac
start=$(date +%s)
preflight
build_base
case "$what" in
  tenant) build_tenant ;;
  domain) build_domain ;;
  all) build_tenant; build_domain ;;
esac
log "done in $(( $(date +%s) - start )) s"
