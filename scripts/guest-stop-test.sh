#!/usr/bin/env bash
# Stops a --deny monitor for 10 s (SIGSTOP) under each engine, inside a
# QEMU guest (TCG, never KVM; bounded by a timeout) running a Debian kernel
# with BPF LSM active, and prints how long an exec waited meanwhile.  The
# kernel package is fetched with an apt configuration of its own under
# build/qemu (never the machine's sources).  Needs root, qemu-system-x86,
# busybox-static.  Usage: scripts/guest-stop-test.sh [KERNEL-PACKAGE]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
Q=$ROOT/build/qemu
PKG=${1:-linux-image-6.12.95+deb12-amd64-unsigned}
mkdir -p "$Q/apt/lists/partial" "$Q/apt/cache/archives/partial" "$Q/apt/etc/none"
: >"$Q/apt/status"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-backports main" \
	>"$Q/apt/sources.list"
cat >"$Q/apt/apt.conf" <<CONF
Dir::Etc::SourceList "$Q/apt/sources.list";
Dir::Etc::SourceParts "$Q/apt/etc/none";
Dir::Etc::Parts "$Q/apt/etc/none";
Dir::Etc::PreferencesParts "$Q/apt/etc/none";
Dir::State::Lists "$Q/apt/lists";
Dir::State::status "$Q/apt/status";
Dir::Cache "$Q/apt/cache";
APT::Architecture "amd64";
CONF
export APT_CONFIG=$Q/apt/apt.conf
if ! ls "$Q"/"$PKG"_*.deb >/dev/null 2>&1; then
	apt-get update -qq
	(cd "$Q" && apt-get download -qq "$PKG")
fi
rm -rf "$Q/deb" "$Q/root"
dpkg-deb -x "$Q"/"$PKG"_*.deb "$Q/deb"
make -C "$ROOT" build/ksysmon >/dev/null
R=$Q/root
mkdir -p "$R/bin" "$R/proc" "$R/sys" "$R/dev" "$R/tmp"
cp /bin/busybox "$R/bin/busybox"
cp "$ROOT/build/ksysmon" "$R/ksysmon"
for lib in $(ldd "$ROOT/build/ksysmon" | grep -o '/[^ ]*'); do
	mkdir -p "$R$(dirname "$lib")"
	cp -L "$lib" "$R$lib"
done
gcc -static -O2 -Wall -Wextra -Werror "$ROOT/tests/guest/stopmon.c" -o "$R/stopmon"
gcc -static -O2 -Wall -Wextra -Werror "$ROOT/tests/guest/ok.c" -o "$R/bin/ok"
install -m 755 "$ROOT/tests/guest/init.sh" "$R/init"
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) >"$Q/initrd.gz"
timeout 900 qemu-system-x86_64 -accel tcg -m 2048 -smp 2 -nographic -no-reboot \
	-kernel "$Q"/deb/boot/vmlinuz-* -initrd "$Q/initrd.gz" \
	-append 'console=ttyS0 quiet panic=-1' </dev/null | tr -d '\r' | grep -E '(guest: |^==|^stopmon|^exit status|^ksysmon|Process [0-9]+ )'
