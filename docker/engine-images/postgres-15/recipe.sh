# PostgreSQL 15 with pgbouncer and the Prometheus exporter; one image, three roles (see
# files/usr/local/bin/nimbus-postgres).
# shellcheck shell=bash disable=SC2034
IMAGE="nimbus/postgres:15"
PACKAGES=(postgresql-15 postgresql-client-15 pgbouncer prometheus-postgres-exporter)
CHANGES=('ENTRYPOINT ["/usr/local/bin/nimbus-postgres"]' 'CMD ["primary"]' 'USER postgres')
post_install() {
  local root="$1"
  # The package made a "main" cluster; a database's data lives on its own volume instead.
  rm -rf "$root/var/lib/postgresql/15/main" "$root/etc/postgresql/15/main"
  # The volume's mount point: Docker copies its owner into a new named volume.
  install -d -m 0700 "$root/var/lib/nimbus"
  chroot "$root" chown postgres:postgres /var/lib/nimbus /var/run/postgresql
  chmod 0755 "$root/usr/local/bin/nimbus-postgres"
}
