#!/usr/bin/env bash
# Installs the Debian packages ksysmon needs to build and test.
# Idempotent: does nothing when every package is already present.
set -euo pipefail

linux_pkgs=(clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config
            libcmocka-dev libssl-dev libyaml-dev valgrind make gcc libc6-dev
            python3 util-linux mount passwd rsyslog rsyslog-relp python3-jsonschema
            libclang-rt-14-dev libsystemd-dev debhelper lintian logrotate
            systemd procps groff-base man-db prometheus-node-exporter
            qemu-system-x86 busybox-static cpio xz-utils zstd
            podman runc catatonit btrfs-progs)
# containers in the tests: podman with runc (crun refuses the cgroup v1/v2
# hybrid); catatonit is what podman builds a pod's pause image from, offline.
# btrfs-progs: a root on a btrfs subvolume (a loop file made by the test).
# No uidmap, slirp4netns or fuse-overlayfs: containers run with --network
# none, rootless podman maps the one uid it has, and its store is vfs.
windows_pkgs=(mingw-w64 wine wine64)
# the tools `make bench` compares ksysmon with, and the plot
bench_pkgs=(forkstat bpftrace linux-perf auditd gnuplot-nox)

want=("${linux_pkgs[@]}")
case "${1:-}" in
    --windows) want=("${windows_pkgs[@]}") ;;
    --bench) want=("${bench_pkgs[@]}") ;;
    --all) want+=("${windows_pkgs[@]}") ;;
esac

missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing packages (${missing[*]}); run as root to install them" >&2
    exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
