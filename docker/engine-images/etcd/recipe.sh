# etcd 3.4 (server and etcdctl): the control plane's store of a Kubernetes cluster on the local
# cluster driver (see files/usr/local/bin/nimbus-etcd).
# shellcheck shell=bash disable=SC2034
IMAGE="nimbus/etcd:3.4"
PACKAGES=(etcd-server etcd-client)
CHANGES=('ENTRYPOINT ["/usr/local/bin/nimbus-etcd"]' 'CMD ["server"]' 'USER etcd')
post_install() {
  local root="$1"
  chroot "$root" getent passwd etcd > /dev/null ||
    chroot "$root" useradd --system --user-group --home-dir /var/lib/etcd --shell /usr/sbin/nologin etcd
  # The volumes' mount points: Docker copies their owner into a new named volume.
  install -d -m 0700 "$root/var/lib/nimbus" "$root/var/lib/nimbus-backups"
  chroot "$root" chown etcd:etcd /var/lib/nimbus /var/lib/nimbus-backups
  chmod 0755 "$root/usr/local/bin/nimbus-etcd"
}
