#!/usr/bin/env bash
# Boots one Debian kernel of the matrix under QEMU with ksysmon and prints
# its serial log, to try a change on one kernel quickly:
#   scripts/kernels/run-guest.sh 6.12 'KSYSMON_DEBUG=1 ksysmon --events all & sleep 20; kill %1'
#   scripts/kernels/run-guest.sh 6.12 --case images     # one case, judged
# Kernels: 5.10 6.1 6.12 7.x.  Commands run as root in busybox sh, with
# ksysmon, workload and their libraries in /usr/bin; see tests/kernels/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -ge 2 ] || { sed -n '2,8p' "$0" >&2; exit 2; }
kernel=$1
shift
make -s build/ksysmon build/tests/workload build/kernels/probe \
	build/kernels/probe_fentry.bpf.o build/kernels/probe_kprobe.bpf.o build/kernels/probe_lsm.bpf.o
if [ "$1" = --case ]; then
	exec python3 tests/kernels/run.py --kernels "$kernel" "$@"
fi
exec python3 tests/kernels/run.py --kernels "$kernel" --shell "$*"
