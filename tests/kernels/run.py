#!/usr/bin/env python3
"""The kernel matrix: ksysmon's core cases on Debian's kernels under QEMU,
and on this machine's kernel natively.

  run.py --kernels 5.10,6.12            boot those kernels, run every case
  run.py --kernels all --native         every kernel of the matrix, and native
  run.py --kernels 6.12 --case images   one case on one kernel, serial log shown
  run.py --kernels 6.12 --shell 'CMDS'  boot, run CMDS (busybox sh) as root, print
                                        the serial log; no case unless --case

Kernels are fetched with apt into build/kernels/ once (tests/kernels/
kernels.py).  Results: build/kernels/LABEL/{serial.log,results/,checks.json};
build/kernels/matrix.md is the table of every kernel's latest run.  Ends with
"kernels: N passed, M failed"; exits non-zero on any failure.
"""
import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check  # noqa: E402
import kernels  # noqa: E402
import matrix  # noqa: E402

NATIVE = "native"


def guest_binaries(args):
    return {"/usr/bin/ksysmon": args.ksysmon, "/usr/bin/workload": args.workload,
            "/usr/bin/probe": args.probe}


def probe_objects(args):
    return [os.path.join(args.probes, "probe_%s.bpf.o" % k) for k in ("fentry", "kprobe", "lsm")]


def sensor_version():
    r = subprocess.run(["git", "-C", kernels.ROOT, "describe", "--always", "--dirty"],
                       capture_output=True, text=True)
    return r.stdout.strip() or "unknown"


def run_guest(label, args, common, cases):
    """Boots label with cases; returns (results dir, [Result], seconds)."""
    kdir = kernels.kernel_dir(label)
    res_dir = os.path.join(kdir, "results")
    shutil.rmtree(res_dir, ignore_errors=True)
    os.makedirs(res_dir)
    initrd = kernels.build_initrd(label, common, adhoc=args.shell)
    log = os.path.join(kdir, "serial.log")
    timeout = args.timeout or 120 + args.case_timeout * max(len(cases), 1)
    echo = args.shell is not None or args.case is not None
    seconds, timed_out, rc = kernels.boot(label, initrd, cases, log, timeout, args.case_timeout,
                                          adhoc=args.shell is not None, echo=echo)
    extracted = kernels.extract_results(log, res_dir)
    results = []
    if timed_out:
        results.append(check.Result("guest", check.FAIL,
                                    "no power-off within %d s: qemu killed (serial log: %s)"
                                    % (timeout, os.path.relpath(log, kernels.ROOT))))
    for c, why in extracted.items():
        if why:
            results.append(check.Result("case %s" % c, check.FAIL, why))
    if cases:
        results += check.check_kernel(res_dir, cases)
    return res_dir, results, seconds


def native_modules():
    """A directory holding this kernel's GUEST_MODULES (decompressed), or
    None where the kernel has no loadable modules."""
    if not os.path.exists("/proc/modules"):
        return None
    rel = os.uname().release
    out = os.path.join(kernels.BUILD, NATIVE, "modules")
    os.makedirs(out, exist_ok=True)
    try:
        kernels.copy_modules([os.path.join("/lib/modules", rel)], out, rel)
    except kernels.FetchError:
        return None  # the module case then fails: modules, but no dummy.ko
    return out


def run_native(args, cases):
    """The same cases on this machine's kernel, without a guest."""
    kdir = os.path.join(kernels.BUILD, NATIVE)
    res_dir = os.path.join(kdir, "results")
    shutil.rmtree(res_dir, ignore_errors=True)
    os.makedirs(res_dir)
    env = dict(os.environ, KSM=os.path.abspath(args.ksysmon),
               WL=os.path.abspath(args.workload), KSM_PROBE=os.path.abspath(args.probe),
               KSM_PROBES=os.path.abspath(args.probes))
    env.pop("KSM_MODULES", None)
    mods = native_modules()
    if mods:
        env["KSM_MODULES"] = mods
    timeout = args.timeout or 120 + args.case_timeout * len(cases)
    t0 = time.monotonic()
    results = []
    p = subprocess.Popen(["sh", os.path.join(kernels.GUEST, "cases.sh"), res_dir] + cases,
                         env=env, start_new_session=True)
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, 9)
        p.wait()
        results.append(check.Result("native run", check.FAIL, "killed after %d s" % timeout))
    results += check.check_kernel(res_dir, cases)
    return res_dir, results, time.monotonic() - t0


def report(label, results):
    for r in results:
        mark = {check.PASS: "ok", check.FAIL: "FAIL", check.NA: "n/a", check.INFO: "info",
                check.FALLBACK: "fallback"}[r.status]
        line = "  %-8s %-6s %s" % (mark, label, r.check)
        if r.detail and r.status != check.PASS:
            line += ": " + r.detail.replace("\n", "\n" + " " * 18)
        print(line)


def counts(results):
    """(passed, failed): a fallback or a feature not available counts as
    passed (ksysmon said so, and the rest was right); facts about the
    kernel are not counted."""
    passed = sum(r.status != check.FAIL and not r.fact for r in results)
    failed = sum(r.status == check.FAIL for r in results)
    return passed, failed


def save(label, results, seconds, res_dir):
    info = {"label": label, "seconds": round(seconds, 1), "sensor": sensor_version(),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "notes": check.notes(res_dir),
            "results": [{"check": r.check, "status": r.status, "detail": r.detail,
                         "fact": r.fact} for r in results]}
    if label == NATIVE:
        info["release"] = os.uname().release
        info["package"] = "of the host"
    else:
        info["release"] = kernels.release(label)
        info["package"] = kernels.package_version(label)
    with open(os.path.join(os.path.dirname(res_dir), "checks.json"), "w") as f:
        json.dump(info, f, indent=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--kernels", default="", help="comma-separated labels (%s) or all"
                    % ",".join(kernels.KERNELS))
    ap.add_argument("--native", action="store_true", help="also run natively")
    ap.add_argument("--case", action="append", help="only this case (repeatable): %s"
                    % ",".join(check.CASES))
    ap.add_argument("--shell", help="commands run in the guest before any case")
    ap.add_argument("--timeout", type=int, default=0, help="seconds per guest")
    ap.add_argument("--case-timeout", type=int, default=240)
    ap.add_argument("--ksysmon", default=os.path.join(kernels.ROOT, "build/ksysmon"))
    ap.add_argument("--workload", default=os.path.join(kernels.ROOT, "build/tests/workload"))
    ap.add_argument("--probe", default=os.path.join(kernels.BUILD, "probe"))
    ap.add_argument("--probes", default=kernels.BUILD, help="directory of probe_*.bpf.o")
    args = ap.parse_args()
    labels = list(kernels.KERNELS) if args.kernels == "all" else \
        [k for k in args.kernels.split(",") if k]
    for k in labels:
        if k not in kernels.KERNELS:
            ap.error("unknown kernel %r (known: %s)" % (k, ", ".join(kernels.KERNELS)))
    if os.geteuid() != 0:
        print("kernels: needs root (BPF, and device nodes in the initramfs)", file=sys.stderr)
        return 1
    if args.shell is not None:
        cases = args.case or []
    else:
        cases = args.case or list(check.CASES)
        if "features" not in cases:
            cases = ["features"] + cases
    apt = kernels.Apt()
    common = None
    total_p = total_f = 0
    if args.native:
        res_dir, results, secs = run_native(args, cases)
        report(NATIVE, results)
        p, f = counts(results)
        print("kernel native (%s): %d checks pass, %d fail, %.0f s" % (os.uname().release, p, f,
                                                                        secs))
        save(NATIVE, results, secs, res_dir)
        total_p, total_f = total_p + p, total_f + f
    for label in labels:
        try:
            kernels.fetch(label, apt)
        except (kernels.FetchError, subprocess.CalledProcessError) as e:
            print("  FAIL     %-6s fetch: %s" % (label, e))
            total_f += 1
            continue
        if common is None:
            common = kernels.build_common(guest_binaries(args), probe_objects(args))
        print("kernel %s (%s, %s): booting" % (label, kernels.release(label),
                                               kernels.package_version(label)), flush=True)
        res_dir, results, secs = run_guest(label, args, common, cases if args.shell is None
                                           else (args.case or []))
        report(label, results)
        p, f = counts(results)
        if results or args.shell is None:
            print("kernel %s (%s): %d checks pass, %d fail, guest %.0f s" % (
                label, kernels.release(label), p, f, secs), flush=True)
        else:
            print("kernel %s (%s): guest %.0f s" % (label, kernels.release(label), secs))
        if args.shell is None or args.case:
            save(label, results, secs, res_dir)
        total_p, total_f = total_p + p, total_f + f
    if args.shell is None:
        path = matrix.write(kernels.BUILD, matrix.LABELS)
        print("kernels: table in %s" % os.path.relpath(path, kernels.ROOT))
        print("kernels: %d passed, %d failed" % (total_p, total_f))
    return 1 if total_f else 0


if __name__ == "__main__":
    sys.exit(main())
