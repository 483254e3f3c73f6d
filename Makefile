# ksysmon — build, run, test and install.
#   make          build build/ksysmon (installs nothing)
#   make run      run the monitor (as root); installs missing packages first
#   make test     every test: unit + integration (ASan/UBSan) + Windows;
#                 installs missing packages first
#   make install  install into $(DESTDIR)$(PREFIX) (PREFIX=/usr/local); make uninstall
#   make bench    overhead benchmarks (see bench/README.md)
#   make vmlinux  regenerate src/bpf/vmlinux/<arch>/vmlinux.h from this kernel

BUILD    := build
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= $(shell command -v bpftool || echo /usr/sbin/bpftool)
PKG_CONFIG ?= pkg-config
# the architecture the BPF object is built for: that of the target machine
ARCH     ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
# the one place of the version: the top entry of debian/changelog (its
# upstream part, before the Debian revision)
VERSION  := $(shell sed -n '1{s/.*(//;s/[-)].*//;p;}' debian/changelog)

# where `make install` puts things
PREFIX      ?= /usr/local
SBINDIR     ?= $(PREFIX)/sbin
MANDIR      ?= $(PREFIX)/share/man
SYSCONFDIR  ?= /etc
UNITDIR     ?= $(PREFIX)/lib/systemd/system
LOGDIR      ?= /var/log/ksysmon

# the libraries, found by pkg-config
PKGS     := libbpf libelf zlib libcrypto yaml-0.1 libsystemd
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS))
PKG_LIBS   = $(shell $(PKG_CONFIG) --libs $(PKGS))

WARN     := -Wall -Wextra -Werror
CFLAGS   ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) \
	     -DKSYSMON_VERSION='"$(VERSION)"' -Iinclude -Isrc -I$(BUILD)
LDLIBS    = $(PKG_LIBS) -lpthread
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# The client is built in layers, one folder and one static library each,
# listed from the bottom up; a layer calls only the layers before it
# (README.md, "Layout"):
#   core      record decoding, the field walk, formatters, escaping, time
#             (shared with the Windows client)
#   sinks     outputs and rotation, syslog, capture files, metrics
#   policy    deny rules, digests, the fanotify decision engine
#   pipeline  options, configuration, rules, selection, process table, enrichment,
#             the event pipeline and capture replay
#   linux     the sensor: BPF loader, kernel filters, capabilities, main
LAYERS    := core sinks policy pipeline linux
layer_srcs = $(sort $(wildcard src/$(1)/*.c))
CLI_SRCS  := $(foreach l,$(LAYERS),$(call layer_srcs,$(l)))
CORE_SRCS := $(call layer_srcs,core)
BPF_SRCS  := src/bpf/ksysmon.bpf.c
# kernel types: generated once per architecture and kept in the tree, so
# that the object is the same whatever kernel the build machine runs
VMLINUX   := src/bpf/vmlinux/$(ARCH)/vmlinux.h
BPF_HDRS  := $(wildcard src/bpf/*.h) $(wildcard include/*.h) $(VMLINUX)

# objects: build/obj/<layer>/x.o (and build/asan/obj/... under ASan/UBSan),
# each with its header dependencies (-MMD), so that touching one file
# rebuilds only what includes it
obj_of     = $(patsubst src/%.c,$(BUILD)/$(2)obj/%.o,$(1))
layer_lib  = $(BUILD)/$(2)lib/libksm_$(1).a
# the link order is the reverse of the layer order
LINK_ORDER := $(shell echo $(LAYERS) | tr ' ' '\n' | tac)
LIBS_OF    = $(foreach l,$(LINK_ORDER),$(call layer_lib,$(l),$(1)))

UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))

.PHONY: layers all deps run test check unit integration fuzz fuzz-smoke bench clean windows test-windows \
	install uninstall vmlinux test-kernels test-kernels-quick kernels-readme

all: $(BUILD)/ksysmon

deps:
	@bash scripts/deps.sh

$(BUILD)/.dir:
	@mkdir -p $(BUILD)/tests $(BUILD)/asan
	@touch $@

$(VMLINUX):
	@echo "no kernel types for $(ARCH): run 'make vmlinux' on a $(ARCH) machine (see src/bpf/vmlinux/README.md)" >&2
	@exit 1

# regenerates this architecture's kernel types from the running kernel's BTF
vmlinux:
	@mkdir -p $(dir $(VMLINUX))
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $(VMLINUX).tmp && mv $(VMLINUX).tmp $(VMLINUX)

$(BUILD)/ksysmon.bpf.o: $(BPF_SRCS) $(BPF_HDRS) | $(BUILD)/.dir
	$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) $(WARN) -Wno-unused-function -Wno-unused-parameter \
		-Iinclude -Isrc/bpf -I$(dir $(VMLINUX)) -c $< -o $@

$(BUILD)/ksysmon.skel.h: $(BUILD)/ksysmon.bpf.o
	$(BPFTOOL) gen skeleton $< name ksysmon_bpf > $@.tmp && mv $@.tmp $@

# one pattern rule per object flavour: $(1) is the output prefix ("" or
# "asan/"), $(2) the extra flags
define object_rules
$(BUILD)/$(1)obj/%.o: src/%.c | $(BUILD)/.dir
	@mkdir -p $$(@D)
	$$(CC) $$(ALL_CFLAGS) $(2) -MMD -MP -c $$< -o $$@

# the sensor includes the generated skeleton; the version is compiled in
$(call obj_of,$(call layer_srcs,linux),$(1)): $(BUILD)/ksysmon.skel.h
$(BUILD)/$(1)obj/linux/ksysmon.o: debian/changelog

-include $(patsubst %.o,%.d,$(call obj_of,$(CLI_SRCS),$(1)))
endef

# one static library per layer and flavour
define library_rule
$(call layer_lib,$(1),$(2)): $(call obj_of,$(call layer_srcs,$(1)),$(2))
	@mkdir -p $$(@D)
	rm -f $$@ && $$(AR) rcs $$@ $$^
endef

$(eval $(call object_rules,,))
$(eval $(call object_rules,asan/,-O1 $$(SAN)))
$(foreach l,$(LAYERS),$(eval $(call library_rule,$(l),)))
$(foreach l,$(LAYERS),$(eval $(call library_rule,$(l),asan/)))

$(BUILD)/ksysmon: $(call LIBS_OF,)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $^ -o $@ $(LDLIBS)

# the same client under AddressSanitizer/UBSan, for the integration tests
$(BUILD)/asan/ksysmon: $(call LIBS_OF,asan/)
	$(CC) $(ALL_CFLAGS) -O1 $(SAN) $^ -o $@ $(LDLIBS)

# the unit tests link the layers' ASan libraries below the sensor
UNIT_LIBS := $(filter-out %libksm_linux.a,$(call LIBS_OF,asan/))

$(BUILD)/tests/%: tests/unit/%.c $(UNIT_LIBS) tests/unit/unit.h | $(BUILD)/.dir
	$(CC) $(ALL_CFLAGS) -O1 $(SAN) -Itests/unit -MMD -MP $< $(UNIT_LIBS) -o $@ -lcmocka $(LDLIBS)

-include $(UNIT_TESTS:=.d)

# the layers' rules (README.md, "Layout"), on the sources and the objects,
# and what touching each file rebuilds
layers: $(BUILD)/ksysmon
	python3 tests/layers/check.py --objects $(BUILD)/obj --incremental

$(BUILD)/tests/workload: tests/integration/workload.c | $(BUILD)/.dir
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O1 -g -pthread $< -o $@ -ldl

$(BUILD)/tests/workload-static: tests/integration/workload.c | $(BUILD)/.dir
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O1 -g -pthread -static $< -o $@

run: deps
	@$(MAKE) --no-print-directory $(BUILD)/ksysmon
	$(BUILD)/ksysmon $(ARGS)

unit: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; $$t; done

integration: $(BUILD)/asan/ksysmon $(BUILD)/tests/workload $(BUILD)/tests/workload-static
	python3 tests/integration/run.py --monitor $(BUILD)/asan/ksysmon --workload $(BUILD)/tests/workload

# the capture reader under libFuzzer: briefly in `make test`, longer in
# `make fuzz` (FUZZ_SECONDS); findings are left in build/fuzz/
FUZZ_SECONDS ?= 300
FUZZ_SRCS := $(filter-out src/linux/% src/policy/deny.c,$(CLI_SRCS))

$(BUILD)/fuzz/fuzz_replay: tests/fuzz/fuzz_replay.c $(FUZZ_SRCS) $(wildcard src/*/*.h) $(wildcard include/*.h) | $(BUILD)/.dir
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

$(BUILD)/kernels/probe_%.bpf.o: tests/kernels/probes.bpf.c $(VMLINUX) | $(BUILD)/.dir
	@mkdir -p $(BUILD)/kernels
	$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -DPROBE_$(shell echo $* | tr a-z A-Z) \
		$(WARN) -I$(dir $(VMLINUX)) -c $< -o $@

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

# the packages first, then every test
test: deps
	@$(MAKE) --no-print-directory check

check: layers unit fuzz-smoke integration $(if $(wildcard windows/windows.mk),test-windows) test-kernels-quick

$(BUILD)/bench/storm: bench/storm.c | $(BUILD)/.dir
	@mkdir -p $(BUILD)/bench
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O2 -static $< -o $@

bench: $(BUILD)/ksysmon $(BUILD)/tests/workload $(BUILD)/bench/storm
	python3 bench/bench.py --monitor $(BUILD)/ksysmon --workload $(BUILD)/tests/workload --fast-exec $(BUILD)/bench/storm
	python3 bench/bench_image.py --monitor $(BUILD)/ksysmon --workload $(BUILD)/tests/workload
	python3 bench/bench_deny.py --monitor $(BUILD)/ksysmon
	python3 bench/bench_ship.py --monitor $(BUILD)/ksysmon --workload $(BUILD)/tests/workload

# an administrator's configuration is never overwritten
define install_conf
	@if [ -e $(DESTDIR)$(2) ]; then echo "keeping $(DESTDIR)$(2)"; \
	else install -D -m 0644 $(1) $(DESTDIR)$(2); fi
endef

# the installed files name each other by the install's paths
SUBST = sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@LOGDIR@|$(LOGDIR)|g'

install: $(BUILD)/ksysmon
	install -D -m 0755 $(BUILD)/ksysmon $(DESTDIR)$(SBINDIR)/ksysmon
	install -D -m 0644 man/ksysmon.8 $(DESTDIR)$(MANDIR)/man8/ksysmon.8
	install -D -m 0644 man/ksysmon.yaml.5 $(DESTDIR)$(MANDIR)/man5/ksysmon.yaml.5
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/logrotate.d
	$(SUBST) dist/ksysmon.service.in > $(DESTDIR)$(UNITDIR)/ksysmon.service
	$(SUBST) dist/ksysmon.logrotate.in > $(DESTDIR)$(SYSCONFDIR)/logrotate.d/ksysmon
	chmod 0644 $(DESTDIR)$(UNITDIR)/ksysmon.service $(DESTDIR)$(SYSCONFDIR)/logrotate.d/ksysmon
	$(call install_conf,dist/ksysmon.yaml,$(SYSCONFDIR)/ksysmon/ksysmon.yaml)
	$(call install_conf,dist/ksysmon.default,$(SYSCONFDIR)/default/ksysmon)
	install -d -m 0750 $(DESTDIR)$(LOGDIR)

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/ksysmon $(DESTDIR)$(MANDIR)/man8/ksysmon.8 \
		$(DESTDIR)$(MANDIR)/man5/ksysmon.yaml.5 $(DESTDIR)$(UNITDIR)/ksysmon.service \
		$(DESTDIR)$(SYSCONFDIR)/logrotate.d/ksysmon
	@echo "kept: $(DESTDIR)$(SYSCONFDIR)/ksysmon/ksysmon.yaml, $(DESTDIR)$(SYSCONFDIR)/default/ksysmon (the configuration) and $(DESTDIR)$(LOGDIR) (the events)"

clean:
	rm -rf $(BUILD)

-include windows/windows.mk
-include bench/bench.mk
