#!/usr/bin/env bash
# Builds the Debian images the managed engines run on (PostgreSQL, Redis, ...), without a registry:
# one debootstrap minbase root filesystem, cached on disk, then per image an `apt-get install` in a
# copy of it, the recipe's files laid over it, and `tar | docker import`.
#
# Recipes: one folder per image under docker/engine-images/<name>/ holding
#   recipe.sh   bash, sourced: IMAGE="nimbus/<engine>:<tag>", PACKAGES=(debian package names),
#               optional CHANGES=(docker import --change lines: CMD, USER, ENV...) and an optional
#               post_install function run on the host with the root filesystem as $1 (the chroot
#               is $1: run commands inside it with `chroot "$1" ...`)
#   files/      optional: copied over the root filesystem as is (entrypoints, configuration)
# Adding an image is adding a folder; e.g. etcd: engine-images/etcd/recipe.sh (the real one) with
#   IMAGE="nimbus/etcd:3.4"; PACKAGES=(etcd-server); CHANGES=('CMD ["/usr/bin/etcd"]')
#
# Idempotent: an image whose org.nimbus.recipe label equals the hash of its folder (plus the
# minbase key and this script's RECIPE_VERSION) is left alone. Images are built in parallel.
# Usage: docker/build-engine-images.sh [--force] [--check] [name...]   (names: folder names; all by default)
#   --force   rebuild even when the image is present and current
#   --check   build nothing; exit 0 when every image asked for is current, 3 otherwise
# Environment: NIMBUS_DEBIAN_MIRROR (default: the first Debian URI in /etc/apt/sources.list*),
#              NIMBUS_IMAGE_CACHE (default /var/cache/nimbus-images: the cached minbase),
#              DOCKER (the docker CLI, default `docker`).
set -euo pipefail

readonly RECIPE_VERSION="1"
readonly SUITE="bookworm"
readonly DOCKER="${DOCKER:-docker}"
readonly CACHE_DIR="${NIMBUS_IMAGE_CACHE:-/var/cache/nimbus-images}"
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly RECIPES_DIR="$script_dir/engine-images"

log() { echo "build-engine-images: $*" >&2; }

force=0
check_only=0
wanted=()
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --check) check_only=1 ;;
    -h | --help)
      sed -n '2,22p' "$0"
      exit 0
      ;;
    -*)
      log "unknown argument: $arg"
      exit 2
      ;;
    *) wanted+=("$arg") ;;
  esac
done
if ((${#wanted[@]} == 0)); then
  for dir in "$RECIPES_DIR"/*/; do
    wanted+=("$(basename "$dir")")
  done
fi
for name in "${wanted[@]}"; do
  [[ -f "$RECIPES_DIR/$name/recipe.sh" ]] || {
    log "no recipe $RECIPES_DIR/$name/recipe.sh"
    exit 2
  }
done

debian_mirror() {
  if [[ -n "${NIMBUS_DEBIAN_MIRROR:-}" ]]; then
    echo "$NIMBUS_DEBIAN_MIRROR"
    return
  fi
  local uri
  # deb822 files (URIs: a b) first, then one-line `deb URI suite ...` entries; only /debian ones.
  uri="$(cat /etc/apt/sources.list.d/*.sources 2> /dev/null | sed -n 's/^URIs:[[:space:]]*//p' | tr ' ' '\n' |
    grep -E '/debian/?$' | head -n1 || true)"
  if [[ -z "$uri" ]]; then
    uri="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2> /dev/null | awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }' |
      grep -E '/debian/?$' | head -n1 || true)"
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

# The hash of a recipe folder: every file's path and content, in a stable order.
recipe_hash() {
  local dir="$1"
  (cd "$dir" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16
}

image_recipe_label() {
  "$DOCKER" image inspect --format '{{ index .Config.Labels "org.nimbus.recipe" }}' "$1" 2> /dev/null || true
}

command -v "$DOCKER" > /dev/null 2>&1 || {
  log "the docker CLI ($DOCKER) is not installed"
  exit 1
}
"$DOCKER" info > /dev/null 2>&1 || {
  log "the Docker engine is not reachable (is dockerd running?)"
  exit 1
}

mirror="$(debian_mirror)"
minbase_key="$(printf '%s %s %s' "$SUITE" "$mirror" "$RECIPE_VERSION" | sha256sum | cut -c1-12)"

declare -A want_recipe
todo=()
for name in "${wanted[@]}"; do
  # shellcheck disable=SC1090
  image="$(IMAGE='' && source "$RECIPES_DIR/$name/recipe.sh" && echo "$IMAGE")"
  recipe="v${RECIPE_VERSION}-${minbase_key}-$(recipe_hash "$RECIPES_DIR/$name")"
  want_recipe[$name]="$recipe"
  have="$(image_recipe_label "$image")"
  if [[ "$have" == "$recipe" && "$force" == 0 ]]; then
    log "$image is present ($recipe)"
  else
    [[ "$check_only" == 1 ]] && log "$image is missing or stale (have '${have}', want '${recipe}')"
    todo+=("$name")
  fi
done
if [[ "$check_only" == 1 ]]; then
  ((${#todo[@]} == 0)) && exit 0
  exit 3
fi
((${#todo[@]} == 0)) && exit 0

command -v debootstrap > /dev/null 2>&1 || {
  log "debootstrap is not installed (apt-get install debootstrap)"
  exit 1
}
[[ "$(id -u)" == 0 ]] || {
  log "debootstrap and chroot need root"
  exit 1
}

workdir="$(mktemp -d "${TMPDIR:-/tmp}/nimbus-engine-images.XXXXXX")"
trap 'rm -rf "$workdir"' EXIT

# The shared minbase: debootstrap once per (suite, mirror), kept as a tarball for later builds.
mkdir -p "$CACHE_DIR"
minbase_tar="$CACHE_DIR/minbase-${SUITE}-${minbase_key}.tar"
if [[ ! -s "$minbase_tar" ]]; then
  started=$(date +%s)
  log "debootstrap --variant=minbase $SUITE from $mirror (once; cached in $minbase_tar)"
  if ! debootstrap --variant=minbase "$SUITE" "$workdir/minbase" "$mirror" > "$workdir/debootstrap.log" 2>&1; then
    tail -n 30 "$workdir/debootstrap.log" >&2
    log "debootstrap failed"
    exit 1
  fi
  # Package scripts must not start services in the chroot.
  printf '#!/bin/sh\nexit 101\n' > "$workdir/minbase/usr/sbin/policy-rc.d"
  chmod 0755 "$workdir/minbase/usr/sbin/policy-rc.d"
  rm -rf "$workdir/minbase/var/cache/apt/archives/"*.deb
  tar --numeric-owner -C "$workdir/minbase" -cf "$minbase_tar.partial" .
  mv "$minbase_tar.partial" "$minbase_tar"
  rm -rf "$workdir/minbase"
  log "minbase ready in $(($(date +%s) - started)) s"
fi

build_one() {
  local name="$1" recipe="$2"
  local root="$workdir/$name/rootfs" started
  started=$(date +%s)
  IMAGE='' PACKAGES=() CHANGES=()
  unset -f post_install
  # shellcheck disable=SC1090
  source "$RECIPES_DIR/$name/recipe.sh"
  mkdir -p "$root"
  tar --numeric-owner -C "$root" -xf "$minbase_tar"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  chroot "$root" apt-get update -qq
  chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${PACKAGES[@]}" < /dev/null > "$workdir/$name/apt.log" 2>&1 || {
    tail -n 30 "$workdir/$name/apt.log" >&2
    log "$name: apt-get install failed"
    return 1
  }
  if [[ -d "$RECIPES_DIR/$name/files" ]]; then
    cp -a "$RECIPES_DIR/$name/files/." "$root/"
  fi
  if declare -F post_install > /dev/null; then
    post_install "$root"
  fi
  chroot "$root" apt-get clean
  rm -rf "$root/var/lib/apt/lists/"* "$root/usr/share/doc/"* "$root/usr/share/man/"* "$root/usr/share/info/"*
  : > "$root/etc/resolv.conf"
  local versions
  versions="$(chroot "$root" dpkg-query -W -f='${Package}=${Version} ' "${PACKAGES[@]}")"
  local change_args=()
  local change
  for change in "${CHANGES[@]}"; do
    change_args+=(--change "$change")
  done
  tar --numeric-owner --sort=name -C "$root" -cf - . |
    "$DOCKER" import \
      --message "nimbus engine image $name: $versions" \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      "${change_args[@]}" \
      --change "LABEL org.nimbus.engine-image=$name" \
      --change "LABEL org.nimbus.recipe=$recipe" \
      - "$IMAGE" > /dev/null
  rm -rf "$workdir/$name"
  log "built $IMAGE ($recipe) in $(($(date +%s) - started)) s: $versions"
}

pids=()
for name in "${todo[@]}"; do
  mkdir -p "$workdir/$name"
  build_one "$name" "${want_recipe[$name]}" &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do
  wait "$pid" || status=1
done
exit "$status"
