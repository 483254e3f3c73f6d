#!/bin/busybox sh
# /init of the guest (busybox): a stopped monitor under each deny engine.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
mount -t securityfs securityfs /sys/kernel/security
mount -t tmpfs tmp /tmp
mkdir -p /tmp/denied /mnt
# group-writable copies: never let through by the kernel, always decided
cp /bin/ok /tmp/ok
cp /bin/ok /tmp/denied/evil
chmod 775 /tmp/ok /tmp/denied/evil
echo "guest: kernel $(uname -r), active LSMs: $(cat /sys/kernel/security/lsm)"

run() {
	echo "== ksysmon $*"
	/ksysmon --events process_exit --latency-ms 20 "$@" >/tmp/out 2>/tmp/err &
	pid=$!
	i=0
	while ! grep -q "ksysmon: ready" /tmp/err; do
		i=$((i + 1))
		if [ $i -gt 600 ] || ! kill -0 $pid 2>/dev/null; then
			cat /tmp/err
			return
		fi
		sleep 0.1
	done
	/stopmon $pid 10 /tmp/ok
	/stopmon $pid 10 /tmp/denied/evil
	kill -INT $pid
	wait $pid
	echo "exit status $?"
	cat /tmp/err
	grep exec_blocked /tmp/out
}

run --deny-engine lsm --deny '/tmp/denied/*'
run --deny-engine fanotify --deny '/tmp/denied/*'
run --audit --deny '/tmp/denied/*'

# --deny-unverifiable: what the fanotify engine cannot see is killed (here,
# where no other user's memfd or namespace exec can be hit)
echo "== ksysmon --deny '/tmp/denied/*' --deny-unverifiable"
/ksysmon --events process_exit --latency-ms 20 -f json --deny '/tmp/denied/*' --deny-unverifiable \
	>/tmp/out 2>/tmp/err &
pid=$!
while ! grep -q "ksysmon: ready" /tmp/err; do sleep 0.1; done
/memfdexec /tmp/ok ksm-guest
unshare -Urm sh -c 'mount -t tmpfs t /mnt && cp /tmp/ok /mnt/prog && exec /mnt/prog'
echo "unshare: exit status $?"
/tmp/ok
echo "watched: exit status $?"
kill -INT $pid
wait $pid
echo "exit status $?"
cat /tmp/err
grep exec_blocked /tmp/out
echo "guest: done"
poweroff -f
