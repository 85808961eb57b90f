#!/usr/bin/env bash
# Install the Debian packages the tests need, only when something is missing.
#
# Idempotent and non-interactive: run as root (CI and developer machines are root). It calls
# `apt-get update` only when at least one package must be installed, so a machine that already
# has everything pays nothing. It never starts, stops or reconfigures the system services.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

# Package -> why the tests need it.
packages=(
    docker.io        # dockerd + containerd + runc: the private Docker engine fixture
    busybox-static   # a static /bin/busybox to build the test image without a registry
    tmux             # drives the terminal app in end-to-end tests
    iptables         # dockerd's bridge networking and published ports
    postgresql       # initdb/postgres for private PostgreSQL instances
    rabbitmq-server  # private RabbitMQ node (rabbitmq-server, rabbitmqctl)
    redis-server     # private redis-server instances
    procps           # ps, to check that no private server outlives the tests
    util-linux       # runuser, to run initdb/postgres as the postgres user
    openssh-server   # private sshd instances: Docker over ssh, through a jump host
    openssh-client   # ssh and ssh-keygen, as an operator's machine has them
)

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
for package in "${packages[@]}"; do
    installed "$package" || missing+=("$package")
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "system-deps: all test packages are installed"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "system-deps: missing ${missing[*]}; run this script as root" >&2
    exit 1
fi

echo "system-deps: installing ${missing[*]}"
# Never let a package's postinst start or restart a service on this machine: the system
# PostgreSQL, Redis and RabbitMQ are left exactly as they are, and the tests start their own
# private servers. policy-rc.d answering 101 is Debian's documented way to say "do not start".
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    created_policy=1
fi
cleanup() {
    if [ "$created_policy" -eq 1 ]; then
        rm -f "$policy"
    fi
}
trap cleanup EXIT

apt-get update -qq
apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}"
echo "system-deps: done"
