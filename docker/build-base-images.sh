#!/usr/bin/env bash
# Builds the public base images that Nimbus instances boot from, without any image registry.
#
#   nimbus/busybox:latest   Debian's static busybox, a symlink per applet, minimal /etc
#
# Idempotent: an image whose recipe label matches what this script would build is left alone.
# Usage: docker/build-base-images.sh [--force] [--check]
#   --force   rebuild even when the image is present and current
#   --check   build nothing; exit 0 when every base image is present and current, 3 otherwise
# Environment: NIMBUS_BUSYBOX (default /bin/busybox, from Debian's busybox-static),
#              DOCKER (the docker CLI, default `docker`).
set -euo pipefail

readonly IMAGE="nimbus/busybox:latest"
# Bump when the root filesystem layout below changes, so existing images are rebuilt.
readonly RECIPE_VERSION="1"
readonly BUSYBOX="${NIMBUS_BUSYBOX:-/bin/busybox}"
readonly DOCKER="${DOCKER:-docker}"

force=0
check_only=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --check) check_only=1 ;;
    -h | --help)
      sed -n '2,12p' "$0"
      exit 0
      ;;
    *)
      echo "build-base-images: unknown argument: $arg" >&2
      exit 2
      ;;
  esac
done

log() { echo "build-base-images: $*" >&2; }

if ! command -v "$DOCKER" > /dev/null 2>&1; then
  log "the docker CLI ($DOCKER) is not installed"
  exit 1
fi
if ! "$DOCKER" info > /dev/null 2>&1; then
  log "the Docker engine is not reachable (is dockerd running?)"
  exit 1
fi
if [[ ! -x "$BUSYBOX" ]]; then
  log "$BUSYBOX not found: install Debian's busybox-static (apt-get install busybox-static)"
  exit 1
fi
if ! "$BUSYBOX" --list-full > /dev/null 2>&1; then
  log "$BUSYBOX does not answer --list-full"
  exit 1
fi
if command -v file > /dev/null 2>&1 && ! file -L "$BUSYBOX" | grep -q 'statically linked'; then
  log "$BUSYBOX is not statically linked: an image holding only it would not run"
  exit 1
fi

busybox_sha="$(sha256sum "$BUSYBOX" | cut -c1-16)"
recipe="v${RECIPE_VERSION}-busybox-${busybox_sha}"

current_recipe="$("$DOCKER" image inspect --format '{{ index .Config.Labels "org.nimbus.recipe" }}' "$IMAGE" 2> /dev/null || true)"

if [[ "$check_only" == 1 ]]; then
  if [[ "$current_recipe" == "$recipe" ]]; then
    log "$IMAGE is present ($recipe)"
    exit 0
  fi
  log "$IMAGE is missing or stale (have '${current_recipe}', want '${recipe}')"
  exit 3
fi

if [[ "$force" == 0 && "$current_recipe" == "$recipe" ]]; then
  log "$IMAGE is present ($recipe), nothing to do"
  exit 0
fi

workdir="$(mktemp -d "${TMPDIR:-/tmp}/nimbus-base-image.XXXXXX")"
trap 'rm -rf "$workdir"' EXIT
root="$workdir/rootfs"

mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,home,proc,sys,dev,run,var/log,var/tmp,tmp}
chmod 1777 "$root/tmp" "$root/var/tmp"
chmod 0700 "$root/root"

install -m 0755 "$BUSYBOX" "$root/bin/busybox"
# One symlink per applet, at the path busybox itself reports (bin/sh, usr/bin/wget, sbin/ip...).
while IFS= read -r applet; do
  [[ -z "$applet" || "$applet" == "bin/busybox" ]] && continue
  mkdir -p "$root/$(dirname "$applet")"
  ln -sf /bin/busybox "$root/$applet"
done < <("$BUSYBOX" --list-full)

cat > "$root/etc/passwd" << 'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat > "$root/etc/group" << 'EOF'
root:x:0:
nogroup:x:65534:
EOF
cat > "$root/etc/shadow" << 'EOF'
root:*:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
EOF
chmod 0640 "$root/etc/shadow"
# busybox prints its banner and exits non-zero when asked for help.
busybox_banner="$("$BUSYBOX" --help 2>&1 || true)"
busybox_version="$(sed -n '1s/^BusyBox v\([^ ]*\).*/\1/p' <<< "$busybox_banner")"
cat > "$root/etc/os-release" << EOF
NAME="Nimbus BusyBox"
ID=nimbus-busybox
VERSION_ID="${busybox_version:-unknown}"
PRETTY_NAME="Nimbus BusyBox ${busybox_version:-unknown}"
EOF
echo "nimbus" > "$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' > "$root/etc/hosts"
: > "$root/etc/resolv.conf"
echo "/bin/sh" > "$root/etc/shells"

log "importing $IMAGE ($recipe)"
# A fixed owner, order and mtime keep the tarball the same from one build to the next.
tar --numeric-owner --owner=0 --group=0 --sort=name --mtime='@0' -C "$root" -cf - . |
  "$DOCKER" import \
    --message "nimbus base image: busybox ${busybox_version:-unknown}" \
    --change 'CMD ["/bin/sh"]' \
    --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'WORKDIR /root' \
    --change "LABEL org.nimbus.base-image=busybox" \
    --change "LABEL org.nimbus.recipe=${recipe}" \
    --change "LABEL org.nimbus.os=linux" \
    --change "LABEL org.nimbus.busybox-version=${busybox_version:-unknown}" \
    - "$IMAGE" > /dev/null

log "built $IMAGE ($recipe)"
