#!/bin/sh
# The kernel matrix's cases: run ksysmon with real processes and keep, per
# case, everything needed to judge it on the host (tests/kernels/check.py):
# ksysmon's JSON output and standard error, its exit status, and the truth
# the workload prints about itself.  Nothing is judged here.
#
# Runs in a guest (busybox sh) or natively (sh), as root:
#   cases.sh RESULTS_DIR CASE...
# Environment: KSM (the client), WL (the workload), KSM_MODULES (a directory
# with dummy.ko; unset where the kernel has no loadable modules),
# KSM_PROBE (tests/kernels/probe.c) and KSM_PROBES (a directory with its
# probe_*.bpf.o objects).
# Every case leaves RESULTS_DIR/CASE/; files written:
#   err, out, mon.rc         ksysmon's standard error, JSON output, exit status
#   mon.ready                present when it printed "ksysmon: ready"
#   mon.killed               present when it had to be killed (did not stop)
#   t.NAME                   a workload's key=value truth; t.NAME.rc its status
set -u

RES=$1
shift
READY_TIMEOUT=${KSM_READY_TIMEOUT:-120}
THREAD_RUNS=60
TMPD=${TMPDIR:-/tmp}
MON=
# deaths by signal without core files
export WORKLOAD_NO_CORE=1

# true while process $1 exists and is not a zombie
alive() {
	[ -e "/proc/$1/stat" ] || return 1
	! grep -q ') Z ' "/proc/$1/stat" 2>/dev/null
}

# mon_start DIR ARGS...: ksysmon in the background until it is ready (0)
# or has ended / timed out (1, after mon_stop)
mon_start() {
	d=$1
	shift
	echo "$*" >"$d/mon.args"
	: >"$d/err"
	"$KSM" --format json --latency-ms 20 "$@" >"$d/out" 2>"$d/err" &
	MON=$!
	echo "$MON" >"$d/mon.pid"
	i=0
	while [ "$i" -lt $((READY_TIMEOUT * 10)) ]; do
		if grep -q '^ksysmon: ready' "$d/err"; then
			touch "$d/mon.ready"
			return 0
		fi
		alive "$MON" || break
		sleep 0.1
		i=$((i + 1))
	done
	mon_stop "$d"
	# why it refused, for whoever fixes it: the end of libbpf's log
	KSYSMON_DEBUG=1 timeout 120 "$KSM" --format json "$@" </dev/null >/dev/null 2>"$d/debug.log" &
	dbg=$!
	sleep 1
	while alive "$dbg" && ! grep -q '^ksysmon: ready' "$d/debug.log"; do sleep 0.2; done
	kill -INT "$dbg" 2>/dev/null
	wait "$dbg"
	tail -n 60 "$d/debug.log" >"$d/debug.tail"
	rm -f "$d/debug.log"
	return 1
}

# mon_stop DIR: SIGINT, at most 60 s to finish, then SIGKILL
mon_stop() {
	kill -INT "$MON" 2>/dev/null
	i=0
	while alive "$MON" && [ "$i" -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if alive "$MON"; then
		kill -KILL "$MON"
		touch "$1/mon.killed"
	fi
	wait "$MON"
	echo $? >"$1/mon.rc"
}

# truth NAME CMD...: runs CMD, its stdout to t.NAME, its status to t.NAME.rc
truth() {
	n=$1
	shift
	"$@" >"$d/t.$n"
	echo $? >"$d/t.$n.rc"
}

# process create/exec/exit with exit codes and deaths by signal; threads;
# exec from a thread other than the first
case_core() {
	mon_start "$d" || return 0
	truth exit "$WL" vfork "$WL" exit 7
	for code in 0 1 255; do
		truth "code.$code" "$WL" vfork "$WL" exit "$code"
	done
	truth kill "$WL" vfork "$WL" signal 9
	truth segv "$WL" vfork "$WL" signal 11
	# many times: where the last thread is told from signal->live, a thread
	# that exits as its process does is a race that one run can miss
	i=0
	while [ "$i" -lt "$THREAD_RUNS" ]; do
		truth "threads.$i" "$WL" threads 3
		i=$((i + 1))
	done
	truth texec "$WL" thread-exec "$WL" exit 0
	mon_stop "$d"
}

# image loads against dl_iterate_phdr in the same process; the truth file
# adds each object's resolved path, inode and device (stat)
case_images() {
	images_with --events image_load
}

# the same with each hook chosen: the raw syscall-exit tracepoint, the perf
# syscall events
case_images_raw() {
	images_with --events image_load --image-hook raw
}

case_images_perf() {
	images_with --events image_load --image-hook perf
}

images_with() {
	mon_start "$d" "$@" || return 0
	truth dlopen "$WL" dlopen /lib/x86_64-linux-gnu/libz.so.1 /lib/x86_64-linux-gnu/libyaml-0.so.2
	mon_stop "$d"
	grep '^image=' "$d/t.dlopen" | while IFS='|' read -r name base size; do
		name=${name#image=}
		[ "$name" = linux-vdso.so.1 ] && continue
		[ -z "$name" ] && name=$WL
		path=$(realpath "$name")
		echo "$name|$base|$size|$path|$(stat -L -c '%i|%d' "$path")"
	done >"$d/t.images"
}

# a kernel module load (image_load with kernel: true)
case_module() {
	if [ -z "${KSM_MODULES:-}" ]; then
		echo "no loadable modules" >"$d/skipped"
		return 0
	fi
	mon_start "$d" --events image_load || return 0
	insmod "$KSM_MODULES/dummy.ko" 2>"$d/insmod.err"
	echo $? >"$d/insmod.rc"
	rmmod dummy 2>>"$d/insmod.err"
	mon_stop "$d"
}

# --pid: a waiting process is selected; it and its child are reported,
# an outsider is not
case_pid() {
	mkfifo "$d/fifo"
	"$WL" wait-stdin vfork "$WL" exit 4 <"$d/fifo" >"$d/t.target" &
	target=$!
	exec 3>"$d/fifo"
	echo "$target" >"$d/target.pid"
	if mon_start "$d" --pid "$target"; then
		truth outsider "$WL" vfork "$WL" exit 1
		echo go >&3
		exec 3>&-
		wait "$target"
		echo $? >"$d/t.target.rc"
		mon_stop "$d"
	else
		echo go >&3
		exec 3>&-
		wait "$target"
	fi
}

# --config: exec and exit of one program excluded in the kernel
case_config() {
	cp "$WL" "$TMPD/ksm-excl"
	cat >"$d/config.yaml" <<EOF
events:
  process_exec:
    exclude:
      - comm: {is: "ksm-excl"}
  process_exit:
    exclude:
      - comm: {is: "ksm-excl"}
EOF
	mon_start "$d" --config "$d/config.yaml" || return 0
	i=0
	while [ "$i" -lt 20 ]; do
		"$WL" vfork "$TMPD/ksm-excl" exit 0 >>"$d/t.excluded"
		i=$((i + 1))
	done
	truth kept "$WL" vfork "$WL" exit 2
	mon_stop "$d"
	rm -f "$TMPD/ksm-excl"
}

# --deny with fanotify: the exec fails with EPERM, another one runs
case_deny() {
	deny_with
}

# the same decided in the kernel, by a BPF-LSM program
case_deny_lsm() {
	deny_with --deny-engine lsm
}

# the denied exec is tried in a cgroup named as podman names a
# container's: exec_blocked must name it (cgroup.id: its inode)
deny_with() {
	cg=$(cgroup2_mount) || return 0
	c="$cg/ksm_deny/libpod-$DENY_CID"
	mkdir -p "$c"
	stat -c %i "$c" >"$d/cgroup.id"
	cp "$WL" "$TMPD/ksm-denied"
	realpath "$TMPD/ksm-denied" >"$d/denied.path"
	mon_start "$d" --deny "$TMPD/ksm-denied*" "$@" || { rmdir "$c" "$cg/ksm_deny"; return 0; }
	truth denied sh -c 'echo $$ >"$1/cgroup.procs"; exec timeout 30 "$2" failexec "$3"' \
		sh "$c" "$WL" "$TMPD/ksm-denied"
	truth allowed timeout 30 "$WL" vfork "$WL" exit 0
	mon_stop "$d"
	rm -f "$TMPD/ksm-denied"
	rmdir "$c" "$cg/ksm_deny"
}
DENY_CID=de11ed0123456789abcdef0123456789abcdef0123456789abcdef0123456789

# where the unified cgroup hierarchy is mounted (mounted at
# /sys/fs/cgroup first where it is not); fails when it cannot be
cgroup2_mount() {
	while read -r _ point type _; do
		[ "$type" = cgroup2 ] && { echo "$point"; return 0; }
	done </proc/mounts
	mount -t cgroup2 none /sys/fs/cgroup || return 1
	echo /sys/fs/cgroup
}

# true in the matrix's guest, not in a native run: there a stalled or
# killing ksysmon would hold or kill every other user's execs
in_guest() {
	grep -q 'ksm\.cases=' /proc/cmdline
}

# ksysmon stopped (SIGSTOP) for 3 s by a process that never execs, with an
# allowed and a denied exec meanwhile: decided at once by the kernel engine,
# held until ksysmon runs again by the fanotify engine, never held under
# --audit
case_deny_stop_lsm() {
	stop_with --deny-engine lsm
}

case_deny_stop_fanotify() {
	stop_with
}

case_deny_stop_audit() {
	stop_with --audit
}

stop_with() {
	in_guest || {
		touch "$d/guest-only"
		return 0
	}
	cp "$WL" "$TMPD/ksm-stop-denied"
	cp "$WL" "$TMPD/ksm-stop-ok"
	# group-writable: never let through by the kernel, always decided
	chmod 775 "$TMPD/ksm-stop-denied" "$TMPD/ksm-stop-ok"
	realpath "$TMPD/ksm-stop-denied" >"$d/denied.path"
	mon_start "$d" --deny "$TMPD/ksm-stop-denied" "$@" || return 0
	truth ok "$WL" stopped-exec "$MON" 3000 "$TMPD/ksm-stop-ok" exit 0
	truth denied "$WL" stopped-exec "$MON" 3000 "$TMPD/ksm-stop-denied" exit 0
	mon_stop "$d"
	rm -f "$TMPD/ksm-stop-denied" "$TMPD/ksm-stop-ok"
}

# --deny-unverifiable: a memfd exec and an exec from a tmpfs mounted in a
# new user and mount namespace are killed; a watched exec runs
case_deny_unverifiable() {
	in_guest || {
		touch "$d/guest-only"
		return 0
	}
	# whether this kernel runs a memfd at all (5.10's guest does not)
	truth memfd_alone "$WL" memfd-exec "$WL" exit 0
	mon_start "$d" --deny "$TMPD/ksm-nothing*" --deny-unverifiable || return 0
	truth memfd "$WL" memfd-exec "$WL" exit 0
	mkdir -p "$TMPD/ksm-ns"
	truth ns unshare -Urm sh -c 'mount -t tmpfs ksm "$1" && cp "$2" "$1/prog" && exec "$1/prog" exit 0' \
		sh "$TMPD/ksm-ns" "$WL"
	truth watched "$WL" vfork "$WL" exit 0
	mon_stop "$d"
}

# --events all starts, and reports a small workload
case_events_all() {
	mon_start "$d" --events all || return 0
	truth threads "$WL" threads 1
	mon_stop "$d"
}

# a process in a new pid namespace: its pid there, as the kernel shows it
# (NSpid of its own status), and the namespace's id (stat of its ns link,
# read by a process inside); the host's pid namespace beside it
case_namespaces() {
	mon_start "$d" || return 0
	stat -L -c "pid_ns=%i" /proc/self/ns/pid >"$d/t.host"
	unshare --pid --fork sh -c 'stat -L -c "pid_ns=%i" /proc/self/ns/pid;
		exec cat /proc/self/status' >"$d/t.inside"
	echo $? >"$d/t.inside.rc"
	mon_stop "$d"
}

# --container decided in the kernel: a cgroup named as podman names a
# container's, a process in it, one in a cgroup made below it after start,
# one outside (dropped before the queue); threads in it and outside
# (cgroup.id, sub.id: the inodes of the two cgroups)
case_scope() {
	cg=$(cgroup2_mount) || return 0
	id=5ca1ab1e0123456789abcdef0123456789abcdef0123456789abcdef01234567
	c="$cg/ksm_scope/libpod-$id"
	mkdir -p "$c"
	stat -c %i "$c" >"$d/cgroup.id"
	mon_start "$d" --container 5CA1AB1E || { rmdir "$c" "$cg/ksm_scope"; return 0; }
	mkdir "$c/sub"
	stat -c %i "$c/sub" >"$d/sub.id"
	truth inside sh -c 'echo $$ >"$1/cgroup.procs"; exec "$2" vfork "$2" exit 3' sh "$c" "$WL"
	truth below sh -c 'echo $$ >"$1/cgroup.procs"; exec "$2" vfork "$2" exit 4' sh "$c/sub" "$WL"
	truth outside "$WL" vfork "$WL" exit 5
	truth threads_inside sh -c 'echo $$ >"$1/cgroup.procs"; exec "$2" threads 2' sh "$c/sub" "$WL"
	truth threads_outside "$WL" threads 2
	mon_stop "$d"
	rmdir "$c/sub" "$c" "$cg/ksm_scope"
}

# the wall clock set an hour forward, then back, while ksysmon runs and a
# pid namespace's processes come and go (in a guest only: natively it would
# move every other user's clock): event times follow the steps, the
# namespace's start keeps one time, a replay says what was said live
case_clock_step() {
	in_guest || {
		touch "$d/guest-only"
		return 0
	}
	mon_start "$d" -w "$d/cap" --print || return 0
	unshare --pid --fork sh -c 'i=0; while [ $i -lt 70 ]; do "$1" exit 0; sleep 0.05;
		i=$((i + 1)); done' sh "$WL" &
	ns=$!
	sleep 1
	date -s "@$(($(date +%s) + 3600))" >/dev/null
	sleep 1
	date -s "@$(($(date +%s) - 3600))" >/dev/null
	wait "$ns"
	echo $? >"$d/t.loop.rc"
	mon_stop "$d"
	"$KSM" -r "$d/cap" -f json >"$d/replay" 2>"$d/replay.err"
	echo $? >"$d/replay.rc"
}

# programs executed from a tree in no mount namespace, as runc runs its copy
# of itself: a file bound and lazily unmounted, and an open_tree() clone
# never attached; the truth is each process's own /proc/self/exe and the
# executed file's fstat
case_detached() {
	rm -rf "$TMPD/ksm-tree"
	mkdir -p "$TMPD/ksm-tree/sub"
	cp "$WL" "$TMPD/ksm-tree/sub/prog"
	mon_start "$d" --events process_exec,process_exit,image_load || return 0
	truth bind "$WL" detached-exec bind "$WL" ksm-bind paths
	truth tree "$WL" detached-exec tree "$TMPD/ksm-tree" sub/prog ksm-tree paths
	mon_stop "$d"
	rm -rf "$TMPD/ksm-tree"
}

# --deny-engine lsm: a rule naming the path inside such a tree denies
# nothing there (no root leads to it); the same file by its own path is
# denied
case_detached_deny_lsm() {
	rm -rf "$TMPD/ksm-tree"
	mkdir -p "$TMPD/ksm-tree/sub"
	cp "$WL" "$TMPD/ksm-tree/sub/prog"
	realpath "$TMPD/ksm-tree/sub/prog" >"$d/denied.path"
	mon_start "$d" --deny-engine lsm --deny "/sub/*" --deny "$TMPD/ksm-tree/sub/*" || return 0
	truth detached timeout 30 "$WL" detached-exec tree "$TMPD/ksm-tree" sub/prog ksm-tree exit 0
	truth denied timeout 30 "$WL" failexec "$TMPD/ksm-tree/sub/prog"
	mon_stop "$d"
	rm -rf "$TMPD/ksm-tree"
}

# what the kernel offers, independently of ksysmon
case_features() {
	{
		echo "release=$(uname -r)"
		echo "lsm=$(cat /sys/kernel/security/lsm 2>/dev/null)"
		tr=/sys/kernel/tracing
		[ -d $tr/events ] || tr=/sys/kernel/debug/tracing
		[ -d $tr/events/module/module_load ] && echo module_load_tp=1 || echo module_load_tp=0
		[ -e $tr/kprobe_events ] && echo kprobe_events=1 || echo kprobe_events=0
		[ -e /proc/modules ] && echo modules=1 || echo modules=0
		[ -e /sys/kernel/btf/vmlinux ] && echo btf=1 || echo btf=0
		"$KSM_PROBE" --exit-group-dead
	} >"$d/t.features"
	for kind in fentry kprobe lsm; do
		timeout 60 "$KSM_PROBE" "$KSM_PROBES/probe_$kind.bpf.o" >"$d/probe.$kind" 2>&1
		echo $? >"$d/probe.$kind.rc"
	done
}

for c in "$@"; do
	d=$RES/$c
	rm -rf "$d"
	mkdir -p "$d"
	echo "$WL" >"$d/workload.arg0"
	realpath "$WL" >"$d/workload.path"
	start=$(date +%s)
	if type "case_$c" >/dev/null 2>&1; then
		"case_$c"
	else
		echo "no such case" >"$d/skipped"
	fi
	echo $(($(date +%s) - start)) >"$d/seconds"
	touch "$d/done"
done
