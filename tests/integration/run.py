#!/usr/bin/env python3
"""Runs every tests/integration/test_*.py module against the real monitor.

Prints a closing line "N passed, N failed" and exits non-zero on any
failure or error.  Nothing is skipped: a missing prerequisite is a failure.
"""
import argparse
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--monitor", required=True)
    ap.add_argument("--workload", required=True)
    ap.add_argument("-k", dest="pattern", help="only tests whose name contains this")
    args = ap.parse_args()
    os.environ["KSYSMON"] = os.path.abspath(args.monitor)
    os.environ["KSYSMON_WORKLOAD"] = os.path.abspath(args.workload)
    if os.geteuid() != 0:
        print("integration tests need root (they load BPF programs)", file=sys.stderr)
        return 1
    sys.path.insert(0, HERE)
    loader = unittest.TestLoader()
    if args.pattern:
        loader.testNamePatterns = ["*%s*" % args.pattern]
    suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped
    # skips are failures here: every test must run on this machine and in CI
    print("%d passed, %d failed" % (passed, failed + skipped))
    return 0 if failed == 0 and skipped == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
