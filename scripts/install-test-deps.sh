#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, only those missing.
# Idempotent; must run as root. Safe while another apt/dpkg runs: it waits
# for the dpkg lock and retries.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
PKGS=(curl nghttp2-client mariadb-server mariadb-client haproxy iproute2 procps rsyslog nftables keepalived socat systemd chromium logrotate pebble testssl.sh php-fpm)

missing=()
for p in "${PKGS[@]}"; do
    # dpkg-query prints "install ok installed" only for fully installed packages.
    if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-test-deps: all present (${PKGS[*]})"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-test-deps: missing packages (run as root to install): ${missing[*]}" >&2
    exit 1
fi

echo "install-test-deps: installing ${missing[*]}"

# Remember which services were running before, so we only stop what apt started.
was_running() { service "$1" status >/dev/null 2>&1; }
declare -A before=()
for s in mariadb haproxy rsyslog keepalived php8.2-fpm; do
    if was_running "$s"; then before[$s]=1; fi
done

# Another apt-get may hold the dpkg lock: retry with a bounded wait
# (apt's own lock timeout plus a few outer attempts for update races).
apt_retry() {
    local i
    for i in 1 2 3 4 5; do
        if apt-get -o DPkg::Lock::Timeout=300 "$@"; then
            return 0
        fi
        echo "install-test-deps: apt-get $* failed (attempt $i), retrying" >&2
        sleep 10
    done
    return 1
}

# Try with the current package lists first; if that fails (stale or absent
# lists), refresh them and retry.
if ! apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${missing[@]}"; then
    apt_retry update
    apt_retry install -y --no-install-recommends "${missing[@]}"
fi

# Package postinst scripts may start system services; the tests run their own
# instances on private ports, so stop those started by this install.
for s in mariadb haproxy rsyslog keepalived php8.2-fpm; do
    if [ -z "${before[$s]:-}" ] && was_running "$s"; then
        echo "install-test-deps: stopping service $s started by apt"
        service "$s" stop || true
    fi
done
echo "install-test-deps: done"
