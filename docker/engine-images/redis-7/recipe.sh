# Redis 7 with the Prometheus exporter (see files/usr/local/bin/nimbus-redis).
# shellcheck shell=bash disable=SC2034
IMAGE="nimbus/redis:7"
PACKAGES=(redis-server redis-tools prometheus-redis-exporter)
CHANGES=('ENTRYPOINT ["/usr/local/bin/nimbus-redis"]' 'CMD ["server"]' 'USER redis')
post_install() {
  chmod 0755 "$1/usr/local/bin/nimbus-redis"
}
