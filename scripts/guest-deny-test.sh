#!/usr/bin/env bash
# Exec denial where a host run would be unsafe, inside a QEMU guest (TCG,
# never KVM; bounded by a timeout) running a Debian kernel with BPF LSM
# active: a --deny monitor stopped for 10 s (SIGSTOP) under each engine,
# with how long an exec waited meanwhile, and --deny-unverifiable killing
# a memfd exec and a user namespace's tmpfs exec (on a shared host it
# would kill other users' such execs too).  Exits 1 when a check fails.  The
# kernel package is fetched with an apt configuration of its own under
# build/qemu (never the machine's sources).  Needs root, qemu-system-x86,
# busybox-static.  Usage: scripts/guest-deny-test.sh [KERNEL-PACKAGE]
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
gcc -static -O2 -Wall -Wextra -Werror "$ROOT/tests/guest/memfdexec.c" -o "$R/memfdexec"
install -m 755 "$ROOT/tests/guest/init.sh" "$R/init"
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) >"$Q/initrd.gz"
OUT=$Q/guest.log
timeout 900 qemu-system-x86_64 -accel tcg -m 2048 -smp 2 -nographic -no-reboot \
	-kernel "$Q"/deb/boot/vmlinuz-* -initrd "$Q/initrd.gz" \
	-append 'console=ttyS0 quiet panic=-1' </dev/null | tr -d '\r' >"$OUT" || true
grep -E '(guest: |^==|^stopmon|^memfdexec|^unshare|^watched|^exit status|^ksysmon|Process [0-9]+ |exec_blocked)' "$OUT"

# what each engine must do (the guest prints the sections in this order)
fail=0
expect() { # section-number pattern what
	if ! awk -v n="$1" '/^== /{s++} s==n' "$OUT" | grep -qE "$2"; then
		echo "guest-deny-test: FAIL: $3" >&2
		fail=1
	fi
}
expect 1 'exec of /tmp/ok ended while it was stopped, .*exit status 0' "lsm: an exec runs while ksysmon is stopped"
expect 1 'exec of /tmp/denied/evil ended while it was stopped, .*errno 1$' "lsm: a denied exec is refused while ksysmon is stopped"
expect 2 'exec of /tmp/ok waited until it was resumed' "fanotify: a stopped ksysmon holds execs (documented)"
expect 3 'exec of /tmp/ok ended while it was stopped' "audit: nothing waits for a stopped ksysmon"
expect 3 'exec of /tmp/denied/evil ended while it was stopped, .*exit status 0' "audit: the denied program runs"
expect 4 '^memfdexec: pid [0-9]+ killed by signal 9' "--deny-unverifiable: a memfd exec is killed"
expect 4 '^unshare: exit status 137' "--deny-unverifiable: a user namespace's tmpfs exec is killed"
expect 4 '^watched: exit status 0' "--deny-unverifiable: a watched exec runs"
expect 4 '"path":"/memfd:ksm-guest \(deleted\)",.*"rule":"unwatched filesystem"' "--deny-unverifiable: the memfd exec reported"
expect 4 '"path":"/mnt/prog",.*"rule":"unwatched filesystem"' "--deny-unverifiable: the namespace exec reported"
[ $fail -eq 0 ] && echo "guest-deny-test: all checks passed"
exit $fail
