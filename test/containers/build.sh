#!/usr/bin/env bash
# Builds the images the container suites use, once: each is tagged with a
# hash of what it is made from, and skipped when `docker image inspect`
# already finds that tag. No image registry is reachable here, so the base
# is a minimal Debian made by debootstrap from Debian's own mirror.
#   local/debian-base:bookworm          debootstrap --variant=minbase, docker import
#   local/triplicate-<dir>:<hash>       each test/containers/<dir>/Dockerfile FROM that base
#   local/triplicate-<dir>:current      what the tests start (moved to the newest hash)
# Needs a Docker engine that answers (see engine.sh). Exit 1 on failure.
set -euo pipefail
cd "$(dirname "$0")"

MIRROR=${TRIPLICATE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
BASE=local/debian-base:bookworm
export DOCKER_BUILDKIT=0 # the engine has no buildx here; the legacy builder works FROM local images

have() { docker image inspect "$1" >/dev/null 2>&1; }
secs() { echo $((SECONDS - $1))s; }

if ! have "$BASE"; then
  t=$SECONDS
  # /var/tmp, not /tmp: the rootfs is ~150 MB and /tmp may be RAM.
  root=$(mktemp -d /var/tmp/triplicate-rootfs.XXXXXX)
  trap 'rm -rf "$root"' EXIT
  echo "containers: debootstrap bookworm (minbase) from $MIRROR" >&2
  debootstrap --variant=minbase bookworm "$root" "$MIRROR" >"$root.log" 2>&1 || {
    tail -n 20 "$root.log" >&2
    echo "containers: debootstrap failed (log above)" >&2
    exit 1
  }
  rm -f "$root.log"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import --change 'CMD ["/bin/bash"]' - "$BASE" >/dev/null
  rm -rf "$root"
  trap - EXIT
  echo "containers: $BASE imported in $(secs "$t")" >&2
fi
base_id=$(docker image inspect -f '{{.Id}}' "$BASE")

for dockerfile in */Dockerfile; do
  name=${dockerfile%/Dockerfile}
  # The hash covers every file of the (small) context and the base it is built on.
  hash=$( (echo "$base_id"; find "$name" -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16)
  tag=local/triplicate-$name:$hash
  if ! have "$tag"; then
    t=$SECONDS
    echo "containers: building $tag" >&2
    # Host networking at build time: apt inside reaches the mirror the host reaches.
    # (The legacy builder's deprecation notice goes to the log too; it is shown only on failure.)
    docker build -q --network host -t "$tag" "$name" >"/var/tmp/triplicate-build-$name.log" 2>&1 || {
      tail -n 30 "/var/tmp/triplicate-build-$name.log" >&2
      echo "containers: building $tag failed (log above)" >&2
      exit 1
    }
    echo "containers: $tag built in $(secs "$t")" >&2
  fi
  docker tag "$tag" "local/triplicate-$name:current"
done
