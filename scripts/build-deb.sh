#!/bin/sh
# Builds a Debian package of dhproxy: the binary (static, without cgo, so
# that a process running VRRP can drop its privileges and keep only the
# network capabilities on all of its threads), the systemd units, a default
# configuration and the man page.
#   scripts/build-deb.sh [OUTDIR]      -> OUTDIR/dhproxy_<version>_<arch>.deb
set -eu
cd "$(dirname "$0")/.."
out=${1:-.}
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.26.11}
version=$(sed -n 's/^[[:space:]]*Version[[:space:]]*= "\(.*\)"/\1/p' cmd/dhproxy/version.go | tr - "~")
version=${version:-0.0.0}
arch=$(dpkg --print-architecture)
root=$(mktemp -d)
chmod 755 "$root"
trap 'rm -rf "$root"' EXIT
install -d "$root/DEBIAN" "$root/usr/sbin" "$root/lib/systemd/system" "$root/etc/dhproxy" \
    "$root/etc/default" "$root/usr/share/man/man8" "$root/usr/share/doc/dhproxy"
CGO_ENABLED=0 go build -trimpath -o "$root/usr/sbin/dhproxy" ./cmd/dhproxy
install -m 644 examples/systemd/dhproxy.service examples/systemd/dhproxy-keepalived.service "$root/lib/systemd/system/"
install -m 644 packaging/debian/haproxy.cfg "$root/etc/dhproxy/haproxy.cfg"
install -m 644 packaging/debian/default "$root/etc/default/dhproxy"
gzip -9n -c packaging/debian/dhproxy.8 > "$root/usr/share/man/man8/dhproxy.8.gz"
install -m 644 README.md docs/reload.md "$root/usr/share/doc/dhproxy/"
printf '/etc/dhproxy/haproxy.cfg\n/etc/default/dhproxy\n' > "$root/DEBIAN/conffiles"
size=$(du -sk "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: dhproxy
Version: $version
Architecture: $arch
Maintainer: dhproxy developers <dhproxy@localhost>
Installed-Size: $size
Section: net
Priority: optional
Homepage: https://github.com/dhproxy/dhproxy
Description: load balancer and HA suite running haproxy.cfg and keepalived.conf
 dhproxy runs HAProxy 2.6 configurations (proxy, checks, runtime API,
 seamless reloads) and keepalived configurations (VRRP, virtual servers)
 in one binary.
CONTROL
chmod 755 "$root/usr/sbin/dhproxy"
dpkg-deb --root-owner-group --build "$root" "$out/dhproxy_${version}_${arch}.deb" >/dev/null
echo "$out/dhproxy_${version}_${arch}.deb"
