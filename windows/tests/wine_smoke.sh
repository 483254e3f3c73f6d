#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Wine smoke test of the Windows driver and client.
#   windows/tests/wine_smoke.sh [BUILD_DIR]     (default build/windows)
#
# In a fresh WINEPREFIX: installs ksysmon.sys and the trivial loadme.sys as
# kernel services in one load-order group (so Wine loads them into the same
# winedevice.exe, whose image-load notifications then reach ksysmon), starts
# ksysmon, reads from it with ksysmon.exe, starts loadme, and checks that
# the client prints loadme's image_load record - both queued and through a
# read that was already waiting in the driver.  Then it stops ksysmon and
# checks that the driver's unload routine ran and the device is gone.
#
# Wine runs drivers in user mode and stubs the process and thread notify
# routines (they register but never call back), so only image loads can be
# observed here.  Services stop when the last Wine process exits, hence
# one `wine cmd /c` script for all steps.
set -euo pipefail

BUILD=${1:-build/windows}
BUILD=$(cd "$BUILD" && pwd)
for f in ksysmon.sys loadme.sys ksysmon.exe; do
    [ -f "$BUILD/$f" ] || { echo "wine_smoke: missing $BUILD/$f" >&2; exit 1; }
done
command -v wine >/dev/null || { echo "wine_smoke: wine is not installed" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ksysmon-wine.XXXXXX")
export WINEPREFIX="$WORK/prefix"
export DISPLAY= WAYLAND_DISPLAY=
export WINEDLLOVERRIDES="mscoree,mshtml=" # no Mono/Gecko install prompts
export WINEARCH=win64
cleanup() {
    wineserver -k >/dev/null 2>&1 || true
    if [ "${KEEP_WINE_WORK:-}" = 1 ]; then
        echo "wine_smoke: kept $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

fail=0
check() { # check DESCRIPTION COMMAND...
    local what=$1; shift
    if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fail=$((fail + 1)); fi
}

cp "$BUILD/ksysmon.sys" "$BUILD/loadme.sys" "$BUILD/ksysmon.exe" "$WORK/"
# Wine maps / to Z:
WIN_WORK="Z:$(echo "$WORK" | tr / '\\')"

echo "wine_smoke: creating prefix in $WINEPREFIX"
WINEDEBUG=-all timeout 300 wineboot -i >"$WORK/wineboot.log" 2>&1
# wineboot returns before the services it started have stopped; a driver
# started while they shut down would die with them.
WINEDEBUG=-all timeout 120 wineserver -w

cat >"$WORK/steps.cmd" <<CMD
@echo off
set W=$WIN_WORK
set D=C:\\windows\\system32\\drivers
copy /y %W%\\ksysmon.sys %D%\\ksysmon.sys >nul
copy /y %W%\\loadme.sys %D%\\loadme.sys >nul
rem The same Group puts both drivers into one winedevice.exe.
sc create ksysmon type= kernel start= demand binPath= %D%\\ksysmon.sys group= ksmtest >nul
echo create-ksysmon=%errorlevel%
sc create loadme type= kernel start= demand binPath= %D%\\loadme.sys group= ksmtest >nul
echo create-loadme=%errorlevel%
sc start ksysmon >nul
echo start-ksysmon=%errorlevel%

rem 1. Nothing queued yet: the read waits in the driver until the
rem    deadline cancels it; the client must then exit cleanly.
%W%\\ksysmon.exe --format json --duration 2 --verbose >%W%\\empty.jsonl 2>%W%\\empty.err
echo client-empty=%errorlevel%

rem 2. The deny-list IOCTL is accepted (Wine never calls the process
rem    notify routine, so the denial itself is not observable here).
%W%\\ksysmon.exe --deny notepad.exe --deny tools\\evil.exe --set-only
echo client-deny=%errorlevel%
%W%\\ksysmon.exe --clear-deny --set-only
echo client-clear=%errorlevel%

rem 3. An image load queued while no client reads.
sc start loadme >nul
echo start-loadme=%errorlevel%
%W%\\ksysmon.exe --format json --duration 2 >%W%\\queued.jsonl 2>%W%\\queued.err
echo client-queued=%errorlevel%

rem 4. The same in text form, after reloading loadme.
sc stop loadme >nul
sc start loadme >nul
%W%\\ksysmon.exe --format text --duration 2 >%W%\\queued.txt 2>%W%\\queued-text.err
echo client-text=%errorlevel%

rem 5. A read already waiting in the driver when the image loads.  The
rem    client creates live.ready once its read is parked; cmd has no
rem    sleep, so each wait round costs one "sc query" (bounded rounds).
sc stop loadme >nul
start "" /b cmd /c "%W%\\ksysmon.exe --format json --count 1 --duration 60 --verbose --ready-file %W%\\live.ready >%W%\\live.jsonl 2>%W%\\live.err & echo done>%W%\\live.done"
set n=0
:wait_ready
set /a n+=1
if %n% gtr 1500 goto ready_timeout
if exist %W%\\live.ready goto ready
sc query ksysmon >nul
goto wait_ready
:ready
sc start loadme >nul
echo start-loadme-live=%errorlevel%
set n=0
:wait_exit
set /a n+=1
if %n% gtr 1500 goto exit_timeout
if exist %W%\\live.done goto live_done
sc query ksysmon >nul
goto wait_exit
:ready_timeout
echo live-ready-timeout
goto live_done
:exit_timeout
echo live-exit-timeout
:live_done

rem 6. Unload: the device disappears with the driver.
sc stop loadme >nul
sc stop ksysmon >nul
echo stop-ksysmon=%errorlevel%
%W%\\ksysmon.exe >%W%\\gone.out 2>%W%\\gone.err
echo client-gone=%errorlevel%
echo steps-done
exit /b 0
CMD

echo "wine_smoke: running the steps"
set +e
WINEDEBUG=-all,warn+debugstr timeout 300 wine cmd /c "$WIN_WORK\\steps.cmd" \
    >"$WORK/steps.out" 2>"$WORK/debug.log"
rc=$?
wineserver -w 2>/dev/null
set -e
tr -d '\r' <"$WORK/steps.out" >"$WORK/steps.txt"
echo "--- steps (exit $rc)"
cat "$WORK/steps.txt"
for f in empty.jsonl queued.jsonl queued.txt live.jsonl live.err gone.err; do
    [ -f "$WORK/$f" ] && { echo "--- $f"; tr -d '\r' <"$WORK/$f"; }
done
echo "---"

step() { grep -qx "$1" "$WORK/steps.txt"; }
log_has() { grep -q "$1" "$WORK/debug.log"; }
# The image_load record of loadme.sys in JSON: a kernel image of no
# process, its NT path turned into a drive-letter path.
json_has_loadme() {
    python3 - "$1" <<'PY'
import json, sys
found = False
for line in open(sys.argv[1], encoding="utf-8", errors="strict"):
    ev = json.loads(line)  # every line must be valid JSON
    if (ev.get("type") == "image_load" and ev.get("pid") == 0 and ev.get("kernel") is True
            and ev.get("path", "").lower().endswith("\\drivers\\loadme.sys")
            and ev["path"][1:3] == ":\\" and ev.get("size", 0) > 0):
        found = True
sys.exit(0 if found else 1)
PY
}
no_loadme() { ! grep -qi "loadme" "$1"; }
text_has_loadme() { grep -qiE 'image_load.*:\\\\?windows\\\\?.*loadme\.sys' "$1" || grep -qi 'loadme\.sys' "$1"; }

check "wine cmd ran every step" test "$rc" -eq 0 -a -n "$(grep -x steps-done "$WORK/steps.txt")"
check "services created" step "create-ksysmon=0"
check "ksysmon started" step "start-ksysmon=0"
check "DriverEntry ran (DbgPrintEx 'ksysmon: loaded')" log_has "ksysmon: loaded"
check "waiting read cancelled at the deadline, client exits 0" step "client-empty=0"
check "the waiting read reached the driver" grep -q "waiting for records" "$WORK/empty.err"
check "nothing printed before loadme" no_loadme "$WORK/empty.jsonl"
check "deny-list IOCTL accepted" step "client-deny=0"
check "deny-list cleared" step "client-clear=0"
check "loadme started" step "start-loadme=0"
check "client read the queued records" step "client-queued=0"
check "queued image_load of loadme.sys (JSON)" json_has_loadme "$WORK/queued.jsonl"
check "image_load of loadme.sys (text)" text_has_loadme "$WORK/queued.txt"
check "live: loadme started while the read waited" step "start-loadme-live=0"
check "live: the waiting read was completed by the driver" \
    grep -q "a waiting read completed" "$WORK/live.err"
check "live: image_load of loadme.sys (JSON)" json_has_loadme "$WORK/live.jsonl"
check "ksysmon stopped" step "stop-ksysmon=0"
check "unload routine ran (DbgPrintEx 'ksysmon: unloaded')" log_has "ksysmon: unloaded"
check "device gone: client exit code 3" step "client-gone=3"
check "device gone: the one-line message" \
    grep -qx 'ksysmon driver is not installed (cannot open \\\\.\\ksysmon)' \
    <(tr -d '\r' <"$WORK/gone.err")

if [ "$fail" -ne 0 ]; then
    echo "wine smoke: $fail check(s) failed"
    KEEP_WINE_WORK=${KEEP_WINE_WORK:-1}
    exit 1
fi
echo "wine smoke: all checks passed"
