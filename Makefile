# ksysmon — build, run and test.
#   make          build build/ksysmon (installs missing packages first)
#   make run      run the monitor (as root)
#   make test     every test: unit + integration (ASan/UBSan) + Windows
#   make bench    overhead benchmarks (see bench/README.md)

BUILD    := build
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= $(shell command -v bpftool || echo /usr/sbin/bpftool)
ARCH     := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

WARN     := -Wall -Wextra -Werror
CFLAGS   ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -Iinclude -Isrc -I$(BUILD)
LDLIBS   := -lbpf -lelf -lz -lcrypto -lyaml -lpthread
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# user-side code shared by the Linux client, the Windows client and tests
CORE_SRCS := src/buf.c src/errmsg.c src/decode.c src/escape.c src/fields.c src/format_json.c src/format_text.c src/timefmt.c
CLI_SRCS  := $(CORE_SRCS) src/syslog.c src/capture.c src/pipeline.c src/replay.c src/options.c src/proctab.c src/enrich.c src/config.c src/rules.c src/select.c src/kfilter.c src/loader.c src/filehash.c src/policy.c src/globc.c src/hashcache.c src/deny.c src/safefile.c src/output.c src/ksysmon.c
BPF_SRCS  := src/bpf/ksysmon.bpf.c
BPF_HDRS  := $(wildcard src/bpf/*.h) include/ksysmon_event.h
HDRS      := $(wildcard src/*.h) include/ksysmon_event.h $(BUILD)/ksysmon.skel.h

UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))

.PHONY: all deps run test unit integration fuzz fuzz-smoke bench clean windows test-windows \
	test-kernels test-kernels-quick kernels-readme

all: $(BUILD)/ksysmon

deps:
	@bash scripts/deps.sh

$(BUILD)/.dir: | deps
	@mkdir -p $(BUILD)/tests $(BUILD)/asan
	@touch $@

$(BUILD)/vmlinux.h: | $(BUILD)/.dir
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(BUILD)/ksysmon.bpf.o: $(BPF_SRCS) $(BPF_HDRS) $(BUILD)/vmlinux.h
	$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) $(WARN) -Wno-unused-function -Wno-unused-parameter \
		-Iinclude -Isrc/bpf -I$(BUILD) -c $< -o $@

$(BUILD)/ksysmon.skel.h: $(BUILD)/ksysmon.bpf.o
	$(BPFTOOL) gen skeleton $< name ksysmon_bpf > $@.tmp && mv $@.tmp $@

$(BUILD)/ksysmon: $(CLI_SRCS) $(HDRS)
	$(CC) $(ALL_CFLAGS) $(CLI_SRCS) -o $@ $(LDLIBS)

# the same client under AddressSanitizer/UBSan, for the integration tests
$(BUILD)/asan/ksysmon: $(CLI_SRCS) $(HDRS)
	$(CC) $(ALL_CFLAGS) -O1 $(SAN) $(CLI_SRCS) -o $@ $(LDLIBS)

# pure user-side modules the unit tests link with
UNIT_SRCS := $(CORE_SRCS) src/syslog.c src/capture.c src/safefile.c src/output.c src/options.c src/policy.c src/globc.c src/config.c src/rules.c src/select.c src/proctab.c src/enrich.c

$(BUILD)/tests/%: tests/unit/%.c $(UNIT_SRCS) $(wildcard src/*.h) include/ksysmon_event.h tests/unit/unit.h | $(BUILD)/.dir
	$(CC) $(ALL_CFLAGS) -O1 $(SAN) -Itests/unit $< $(UNIT_SRCS) -o $@ -lcmocka -lyaml

$(BUILD)/tests/workload: tests/integration/workload.c | $(BUILD)/.dir
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O1 -g -pthread $< -o $@ -ldl

$(BUILD)/tests/workload-static: tests/integration/workload.c | $(BUILD)/.dir
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O1 -g -pthread -static $< -o $@

run: $(BUILD)/ksysmon
	$(BUILD)/ksysmon $(ARGS)

unit: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; $$t; done

integration: $(BUILD)/asan/ksysmon $(BUILD)/tests/workload $(BUILD)/tests/workload-static
	python3 tests/integration/run.py --monitor $(BUILD)/asan/ksysmon --workload $(BUILD)/tests/workload

# the capture reader under libFuzzer: briefly in `make test`, longer in
# `make fuzz` (FUZZ_SECONDS); findings are left in build/fuzz/
FUZZ_SECONDS ?= 300
FUZZ_SRCS := $(filter-out src/ksysmon.c src/loader.c src/kfilter.c src/deny.c,$(CLI_SRCS)) src/policy.c src/hashcache.c
FUZZ_SRCS := $(sort $(FUZZ_SRCS))

$(BUILD)/fuzz/fuzz_replay: tests/fuzz/fuzz_replay.c $(FUZZ_SRCS) $(wildcard src/*.h) include/ksysmon_event.h | $(BUILD)/.dir
	@mkdir -p $(BUILD)/fuzz
	$(CLANG) -std=c11 -D_GNU_SOURCE $(WARN) -g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all -Iinclude -Isrc $< $(FUZZ_SRCS) -o $@ -lcrypto -lyaml -lpthread

$(BUILD)/fuzz/seeds: tests/fuzz/make_seeds.py | $(BUILD)/.dir
	rm -rf $@ && python3 $< $@

define run_fuzz
	@mkdir -p $(BUILD)/fuzz/corpus $(BUILD)/fuzz/findings
	@cd $(BUILD)/fuzz/findings && ../fuzz_replay -max_total_time=$(1) -close_fd_mask=3 \
		-rss_limit_mb=4096 -print_final_stats=1 ../corpus ../seeds > ../fuzz.log 2>&1; \
	rc=$$?; tail -12 ../fuzz.log; \
	if [ $$rc -eq 0 ]; then echo "fuzz: 1 passed, 0 failed"; else echo "fuzz: 0 passed, 1 failed"; exit 1; fi
endef

fuzz-smoke: $(BUILD)/fuzz/fuzz_replay $(BUILD)/fuzz/seeds
	$(call run_fuzz,20)

fuzz: $(BUILD)/fuzz/fuzz_replay $(BUILD)/fuzz/seeds
	$(call run_fuzz,$(FUZZ_SECONDS))

# the kernel matrix (tests/kernels/README.md): Debian's kernels under QEMU,
# each running the core cases; the quick variant boots the oldest and the
# most used, `make test-kernels` every kernel and this one natively
KERNEL_PROBES := $(patsubst %,$(BUILD)/kernels/probe_%.bpf.o,fentry kprobe lsm)
KERNELS_DEPS  := $(BUILD)/ksysmon $(BUILD)/tests/workload $(BUILD)/kernels/probe $(KERNEL_PROBES)

$(BUILD)/kernels/probe_%.bpf.o: tests/kernels/probes.bpf.c $(BUILD)/vmlinux.h
	@mkdir -p $(BUILD)/kernels
	$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -DPROBE_$(shell echo $* | tr a-z A-Z) \
		$(WARN) -I$(BUILD) -c $< -o $@

$(BUILD)/kernels/probe: tests/kernels/probe.c | $(BUILD)/.dir
	@mkdir -p $(BUILD)/kernels
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O2 $< -o $@ -lbpf

test-kernels-quick: $(KERNELS_DEPS)
	python3 tests/kernels/run.py --kernels 5.10,6.12

test-kernels: $(KERNELS_DEPS)
	python3 tests/kernels/run.py --kernels all --native

# README.md's kernel table, from the last runs' results
kernels-readme:
	python3 tests/kernels/matrix.py --readme README.md

test: unit fuzz-smoke integration $(if $(wildcard windows/windows.mk),test-windows) test-kernels-quick

$(BUILD)/bench/storm: bench/storm.c | $(BUILD)/.dir
	@mkdir -p $(BUILD)/bench
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O2 -static $< -o $@

bench: $(BUILD)/ksysmon $(BUILD)/tests/workload $(BUILD)/bench/storm
	python3 bench/bench.py --monitor $(BUILD)/ksysmon --workload $(BUILD)/tests/workload --fast-exec $(BUILD)/bench/storm
	python3 bench/bench_image.py --monitor $(BUILD)/ksysmon --workload $(BUILD)/tests/workload
	python3 bench/bench_deny.py --monitor $(BUILD)/ksysmon
	python3 bench/bench_ship.py --monitor $(BUILD)/ksysmon --workload $(BUILD)/tests/workload

clean:
	rm -rf $(BUILD)

-include windows/windows.mk
-include bench/bench.mk
