# ksysmon: Windows driver, client and their tests.
#
# An includable fragment: the top-level Makefile does `include
# windows/windows.mk`; it also works alone with
#   make -f windows/windows.mk windows test-windows
# Paths are relative to the repository root; every variable starts with
# WIN_ so that nothing clashes with the including Makefile.

WIN_CC ?= x86_64-w64-mingw32-gcc
WIN_HOSTCC ?= gcc
WIN_PYTHON ?= python3
WIN_DDK ?= /usr/x86_64-w64-mingw32/include/ddk
WIN_OUT := build/windows
WIN_HOST_OUT := $(WIN_OUT)/host

WIN_WARN := -Wall -Wextra -Werror
# Windows 10 (NTDDI_WIN10 = 0x0A000000, _WIN32_WINNT_WIN10 = 0x0A00)
WIN_VER := -DNTDDI_VERSION=0x0A000000 -D_WIN32_WINNT=0x0A00

WIN_DRV_SRCS := windows/driver/driver.c windows/driver/queue.c windows/driver/record.c \
	windows/driver/devsec.c \
	windows/driver/deny.c windows/driver/rt.c
WIN_DRV_HDRS := $(wildcard windows/driver/*.h) windows/common/ksm_ioctl.h include/ksysmon_event.h
WIN_DRV_CFLAGS := -std=gnu11 -O2 $(WIN_WARN) -I$(WIN_DDK) -Iinclude -Iwindows/common \
	-D_AMD64_ -D_KERNEL_MODE $(WIN_VER) -ffreestanding -fno-stack-protector \
	-fno-builtin -mno-red-zone -mno-stack-arg-probe
# --file-alignment/section-alignment 0x1000 are what the Windows loader
# expects of drivers; the checksum is written by ld for native images.
WIN_DRV_LDFLAGS := -nostdlib -shared -Wl,--subsystem,native -Wl,--entry,DriverEntry \
	-Wl,--image-base,0x140000000 -Wl,--forceinteg -Wl,--nxcompat -Wl,--dynamicbase \
	-Wl,--high-entropy-va -Wl,--enable-reloc-section -Wl,--file-alignment,0x200 -Wl,--section-alignment,0x1000 \
	-Wl,--exclude-all-symbols -Wl,--no-insert-timestamp
WIN_DRV_LIBS := -lntoskrnl

WIN_CLIENT_SRCS := windows/client/ksysmon.c windows/client/ntpath.c \
	$(addprefix src/core/,decode.c buf.c format_text.c fields.c format_json.c timefmt.c escape.c)
WIN_CLIENT_CFLAGS := -std=c11 -O2 $(WIN_WARN) -Iinclude -Isrc -Iwindows/common -Iwindows/client \
	-D_WIN32_WINNT=0x0A00 -DUNICODE -D_UNICODE -municode
WIN_CLIENT_LDFLAGS := -static

WIN_LOADME_SRCS := windows/tests/loadme.c

WIN_TARGETS := $(WIN_OUT)/ksysmon.sys $(WIN_OUT)/ksysmon.exe $(WIN_OUT)/ksysmon.inf \
	$(WIN_OUT)/loadme.sys

.PHONY: windows test-windows windows-clean test-windows-unit test-windows-pe \
	test-windows-wine

windows: $(WIN_TARGETS)

# the cross compiler and Wine come from Debian's packages, installed here
# when missing (everything the Windows side builds goes through these)
$(WIN_OUT) $(WIN_HOST_OUT):
	bash scripts/deps.sh --windows
	mkdir -p $@

$(WIN_OUT)/ksysmon.sys: $(WIN_DRV_SRCS) $(WIN_DRV_HDRS) windows/windows.mk | $(WIN_OUT)
	$(WIN_CC) $(WIN_DRV_CFLAGS) $(WIN_DRV_LDFLAGS) -o $@ $(WIN_DRV_SRCS) $(WIN_DRV_LIBS)

$(WIN_OUT)/loadme.sys: $(WIN_LOADME_SRCS) windows/windows.mk | $(WIN_OUT)
	$(WIN_CC) $(WIN_DRV_CFLAGS) $(WIN_DRV_LDFLAGS) -o $@ $(WIN_LOADME_SRCS) $(WIN_DRV_LIBS)

$(WIN_OUT)/ksysmon.exe: $(WIN_CLIENT_SRCS) $(wildcard windows/client/*.h) src/core/decode.h src/core/bootclock.h src/core/buf.h \
		src/core/format.h include/ksysmon_event.h windows/common/ksm_ioctl.h windows/windows.mk | $(WIN_OUT)
	$(WIN_CC) $(WIN_CLIENT_CFLAGS) -o $@ $(WIN_CLIENT_SRCS) $(WIN_CLIENT_LDFLAGS)

$(WIN_OUT)/ksysmon.inf: windows/driver/ksysmon.inf | $(WIN_OUT)
	cp $< $@

# ---- host tests ----

WIN_HOST_CFLAGS := -std=gnu11 -g -O1 $(WIN_WARN) -DKSM_WDK_SHIM -Iwindows/tests -Iwindows/driver \
	-Iwindows/common -Iinclude -Isrc -pthread
WIN_HOST_PORTABLE := windows/driver/queue.c windows/driver/record.c windows/driver/deny.c \
	windows/driver/rt.c windows/driver/devsec.c windows/tests/wdk_shim.c
WIN_HOST_DEPS := $(WIN_HOST_PORTABLE) $(WIN_DRV_HDRS) windows/tests/wdk_shim.h windows/windows.mk

$(WIN_HOST_OUT)/test_driver: windows/tests/test_driver.c windows/tests/harness.h \
		$(WIN_HOST_DEPS) src/core/decode.c | $(WIN_HOST_OUT)
	$(WIN_HOSTCC) $(WIN_HOST_CFLAGS) -fsanitize=address,undefined -fno-sanitize-recover=all \
		-o $@ windows/tests/test_driver.c $(WIN_HOST_PORTABLE) src/core/decode.c

$(WIN_HOST_OUT)/test_driver_tsan: windows/tests/test_tsan.c windows/tests/harness.h \
		$(WIN_HOST_DEPS) src/core/decode.c | $(WIN_HOST_OUT)
	$(WIN_HOSTCC) $(WIN_HOST_CFLAGS) -fsanitize=thread -o $@ windows/tests/test_tsan.c \
		$(WIN_HOST_PORTABLE) src/core/decode.c

$(WIN_HOST_OUT)/test_ntpath: windows/tests/test_ntpath.c windows/client/ntpath.c \
		windows/client/ntpath.h windows/tests/harness.h | $(WIN_HOST_OUT)
	$(WIN_HOSTCC) -std=gnu11 -g -O1 $(WIN_WARN) -Iwindows/client -Iwindows/tests \
		-fsanitize=address,undefined -fno-sanitize-recover=all -o $@ \
		windows/tests/test_ntpath.c windows/client/ntpath.c

WIN_HOST_TESTS := $(WIN_HOST_OUT)/test_driver $(WIN_HOST_OUT)/test_driver_tsan \
	$(WIN_HOST_OUT)/test_ntpath

test-windows-unit: $(WIN_HOST_TESTS)
	@set -e; for t in $(WIN_HOST_TESTS); do echo "== $$t"; \
		TSAN_OPTIONS=halt_on_error=1 $$t; done

# The routines that restrict \Device\ksysmon to SYSTEM and Administrators
# (windows/driver/devsec.h): an image without them would hand its events
# to every user.
WIN_DRV_REQUIRED := ntoskrnl.exe!ObOpenObjectByPointer ntoskrnl.exe!ZwSetSecurityObject \
	ntoskrnl.exe!RtlAddAccessAllowedAce

test-windows-pe: $(WIN_OUT)/ksysmon.sys $(WIN_OUT)/loadme.sys
	$(WIN_PYTHON) windows/tools/pecheck.py --allow windows/tools/ntoskrnl_allow.txt \
		$(addprefix --require ,$(WIN_DRV_REQUIRED)) $(WIN_OUT)/ksysmon.sys
	$(WIN_PYTHON) windows/tools/pecheck.py --allow windows/tools/ntoskrnl_allow.txt \
		$(WIN_OUT)/loadme.sys
	$(WIN_PYTHON) windows/tools/pecheck_selftest.py $(WIN_OUT)/ksysmon.sys $(WIN_DRV_REQUIRED)

test-windows-wine: windows
	windows/tests/wine_smoke.sh $(WIN_OUT)

test-windows: test-windows-unit test-windows-pe test-windows-wine

windows-clean:
	rm -rf $(WIN_OUT)
