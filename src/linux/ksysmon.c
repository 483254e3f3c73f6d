// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ksysmon: reports process, exec, exit and thread events from the kernel.
 * Loads the BPF sensor, drains its ring buffer in batches, prints each
 * event as text or JSON, and on SIGINT/SIGTERM detaches, drains what is
 * left and prints a summary.  SIGHUP reopens the files and reloads the
 * configuration, SIGUSR1 prints the summary so far; both between batches,
 * so that no event is lost or cut.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <systemd/sd-daemon.h>

#include "linux/caps.h"
#include "policy/deny.h"
#include "linux/kfilter.h"
#include "linux/loader.h"
#include "sinks/metrics.h"
#include "pipeline/config.h"
#include "pipeline/options.h"
#include "pipeline/pipeline.h"
#include "pipeline/replay.h"
#include "ksysmon.skel.h"

#ifndef KSYSMON_VERSION
#error "KSYSMON_VERSION comes from the Makefile (debian/changelog)"
#endif

struct monitor {
	struct ksysmon_bpf *skel;
	struct ring_buffer *rb;
	struct ksm_pipeline pipe;
	uint64_t lost_reported[KSM_EV_MAX]; /* the kernel's counters, last read */
	int ncpus;
	struct ksm_deny *deny; /* exec policy, NULL without rules */
	/* --config, reloaded on SIGHUP */
	const char *config;
	struct ksm_rules *rules;
	struct ksm_kernel_filter kfilter; /* the part of rules in the kernel */
	uint32_t wanted;   /* event types of the options */
	uint32_t attached; /* of those, the ones the programs report */
	uint64_t reloads;
	/* --metrics-file */
	struct ksm_file_target metrics;
	bool metrics_on, metrics_failing;
	gid_t metrics_gid;
	uint64_t metrics_next_ns; /* CLOCK_MONOTONIC */
	uint64_t start_time;
	/* the queue's consumer and producer positions, mapped read-only */
	const volatile uint64_t *queue_pos[2];
	uint64_t queue_size;
};

static volatile sig_atomic_t stop_requested, reload_requested, stats_requested;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_requested = 1;
	else if (sig == SIGUSR1)
		stats_requested = 1;
	else
		stop_requested = 1;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	static int debug = -1;
	if (debug < 0)
		debug = getenv("KSYSMON_DEBUG") != NULL;
	(void)level;
	if (!debug)
		return 0; /* failures are reported by ksysmon in one line */
	return vfprintf(stderr, fmt, args);
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct monitor *m = ctx;
	ksm_pipeline_record(&m->pipe, data, size);
	return 0;
}

/* Reads the kernel's per-CPU lost counters; when any grew since the last
 * report, emits an events_lost event with the differences. */
static int report_lost(struct monitor *m)
{
	struct ksm_events_lost rec = { 0 };
	bool any = false;
	int fd = bpf_map__fd(m->skel->maps.lost);

	for (uint32_t t = 1; t < KSM_EV_MAX; t++) {
		uint64_t sum;
		if (ksm_percpu_sum(fd, t, m->ncpus, &sum))
			return -errno;
		if (sum > m->lost_reported[t]) {
			rec.lost[t] = sum - m->lost_reported[t];
			m->lost_reported[t] = sum;
			any = true;
		}
	}
	if (!any)
		return 0;
	rec.hdr.type = KSM_EV_EVENTS_LOST;
	rec.hdr.flags = KSM_HF_TIME_REALTIME;
	rec.hdr.size = sizeof(rec);
	rec.hdr.time = ksm_clock_ns(CLOCK_REALTIME);
	ksm_pipeline_record(&m->pipe, &rec, sizeof(rec));
	return 0;
}

/* What the options need from this process and this kernel, checked before
 * anything is loaded. */
/* A read of a map the sensor holds: what the run does with its maps. */
static int read_lost_map(void *ctx)
{
	struct monitor *m = ctx;
	uint64_t sum;
	return ksm_percpu_sum(bpf_map__fd(m->skel->maps.lost), KSM_EV_PROCESS_EXEC, m->ncpus, &sum);
}

static int preflight(const struct ksm_options *o, uint64_t *keep)
{
	uint64_t start;
	char err[512];

	ksm_caps_needed(o, &start, keep);
	if (ksm_caps_check(start, err, sizeof(err))) {
		fprintf(stderr, "ksysmon: %s\n", err);
		return -1;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		fprintf(stderr, "ksysmon: kernel BTF not found at /sys/kernel/btf/vmlinux (a kernel built with CONFIG_DEBUG_INFO_BTF is needed)\n");
		return -1;
	}
	return 0;
}

static void install_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGUSR1 };
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* Reads the configuration file: its rules, and the part the kernel can
 * decide.  0, or -1 with "file:line: reason" in err. */
static int load_config(const char *path, struct ksm_rules **rules, struct ksm_kernel_filter *kf,
		       char *err, size_t errlen)
{
	if (ksm_rules_load(path, rules, err, errlen))
		return -1;
	ksm_rules_kernel_filter(*rules, kf);
	return 0;
}

/* The first event type of mask, by name. */
static const char *first_type(uint32_t mask)
{
	for (unsigned t = 1; t < KSM_EV_MAX; t++)
		if (mask & (1u << t))
			return ksm_event_name(t);
	return "?";
}

/* SIGHUP: the configuration file read again and put in force whole, or
 * refused whole (the one in force is kept).  Events already drained were
 * decided by the old rules; the kernel's exclusions are swapped without a
 * gap; every later event is decided by the new rules. */
static int reload_config(struct monitor *m)
{
	static struct ksm_kernel_filter kf;
	struct ksm_rules *rules;
	char err[512];

	if (load_config(m->config, &rules, &kf, err, sizeof(err))) {
		fprintf(stderr, "ksysmon: %s; the configuration in force is kept\n", err);
		return -1;
	}
	if (!ksm_rules_same_options(m->rules, rules)) {
		fprintf(stderr, "ksysmon: %s: its options changed (a restart applies them); the configuration in force is kept\n",
			m->config);
		ksm_rules_free(rules);
		return -1;
	}
	uint32_t switched_on = m->wanted & ~m->attached & ~kf.disabled_types;
	if (switched_on) {
		fprintf(stderr, "ksysmon: %s: %s was off when ksysmon started (its programs are not attached; a restart switches it on); the configuration in force is kept\n",
			m->config, first_type(switched_on));
		ksm_rules_free(rules);
		return -1;
	}
	int e = ksm_kfilter_swap(m->skel, &m->kfilter, &kf);
	if (e) {
		fprintf(stderr, "ksysmon: cannot set the kernel exclusions of %s: %s; the configuration in force is kept\n",
			m->config, strerror(-e));
		ksm_rules_free(rules);
		return -1;
	}
	m->kfilter = kf;
	ksm_rules_free(m->rules);
	m->rules = rules;
	m->pipe.rules = rules;
	return 0;
}

/* SIGHUP: files reopened, configuration reloaded; "reloaded" when all went well. */
static void reload(struct monitor *m)
{
	sd_notify(0, "RELOADING=1");
	m->reloads++;
	int err = ksm_pipeline_reopen(&m->pipe);
	if (m->config && reload_config(m))
		err = -1;
	if (!err)
		fprintf(stderr, "ksysmon: reloaded\n");
	sd_notify(0, "READY=1");
}

/* The queue's positions, for its fill level (libbpf 1.1 has no call for
 * it): the consumer's page, then the producer's. */
static void map_queue(struct monitor *m, const struct ksm_options *o)
{
	long page = sysconf(_SC_PAGESIZE);
	int fd = bpf_map__fd(m->skel->maps.events);
	for (int i = 0; i < 2; i++) {
		void *p = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, fd, (off_t)i * page);
		m->queue_pos[i] = p == MAP_FAILED ? NULL : p;
	}
	m->queue_size = o->ringbuf_bytes;
}

static void unmap_queue(struct monitor *m)
{
	long page = sysconf(_SC_PAGESIZE);
	for (int i = 0; i < 2; i++)
		if (m->queue_pos[i])
			munmap((void *)m->queue_pos[i], (size_t)page);
}

static void collect_metrics(const struct monitor *m, struct ksm_metrics *x)
{
	const struct ksm_pipeline *p = &m->pipe;
	const struct ksm_output *views[] = { &p->out, &p->capture };
	int kf = bpf_map__fd(m->skel->maps.kfiltered);

	memset(x, 0, sizeof(*x));
	for (unsigned t = 0; t < KSM_EV_MAX; t++) {
		x->shown[t] = p->seen[t];
		x->filtered_user[t] = p->filtered[t];
		x->lost[t] = p->lost[t];
		if (ksm_percpu_sum(kf, t, m->ncpus, &x->filtered_kernel[t]))
			x->filtered_kernel[t] = 0;
	}
	if (m->queue_pos[0] && m->queue_pos[1])
		x->queue_used = *m->queue_pos[1] - *m->queue_pos[0];
	x->queue_size = m->queue_size;
	for (size_t i = 0; i < 2; i++) {
		if (views[i]->fd < 0)
			continue;
		uint64_t lost = 0;
		for (unsigned t = 1; t < KSM_EV_MAX; t++)
			lost += views[i]->lost[t];
		x->views[x->n_views].file = views[i]->name;
		x->views[x->n_views].not_written = lost;
		x->views[x->n_views++].failures = views[i]->episodes;
	}
	if (p->syslog) {
		struct ksm_syslog_stats st;
		ksm_syslog_stats(p->syslog, &st);
		x->syslog = true;
		x->syslog_sent = st.sent;
		x->syslog_dropped = st.dropped;
		x->syslog_waiting = st.waiting;
		x->syslog_failures = st.failures;
		x->syslog_failing = st.failing;
	}
	x->hashing = p->hashing;
	x->digests_computed = p->hash.hashed;
	x->digests_cached = p->hash.cached;
	x->digests_failed = p->hash.failed;
	x->reloads = m->reloads;
	x->start_time = m->start_time;
}

/* The metrics file replaced; a failure said once until it works again. */
static void write_metrics(struct monitor *m)
{
	static struct ksm_metrics x;
	struct ksm_buf b = { 0 };

	if (!m->metrics_on)
		return;
	collect_metrics(m, &x);
	ksm_metrics_format(&b, &x);
	int e = ksm_metrics_write(&m->metrics, m->metrics_gid, &b);
	ksm_buf_free(&b);
	if (e && !m->metrics_failing)
		fprintf(stderr, "ksysmon: cannot write the metrics file '%s': %s; tried again every %llu s\n",
			m->metrics.path, strerror(-e), KSM_METRICS_INTERVAL_NS / 1000000000ull);
	m->metrics_failing = e != 0;
	m->metrics_next_ns = ksm_clock_ns(CLOCK_MONOTONIC) + KSM_METRICS_INTERVAL_NS;
}

/* Checks where the metrics go, before anything is loaded. */
static int open_metrics(struct monitor *m, const struct ksm_options *o)
{
	char err[512];

	m->metrics.dirfd = m->metrics.fd = -1;
	if (!o->metrics_file)
		return 0;
	if (ksm_file_resolve(&m->metrics, o->metrics_file, err, sizeof(err))) {
		fprintf(stderr, "ksysmon: %s\n", err);
		return -1;
	}
	if (m->metrics.stream) {
		fprintf(stderr, "ksysmon: cannot write the metrics file '%s': it must be a regular file (it is replaced whole)\n",
			o->metrics_file);
		return -1;
	}
	m->metrics_on = true;
	m->metrics_gid = o->file_gid < 0 ? (gid_t)-1 : (gid_t)o->file_gid;
	m->start_time = ksm_clock_ns(CLOCK_REALTIME) / 1000000000ull;
	return 0;
}

/* The summary lines (SIGUSR1, and at the end). */
static void summary(const struct monitor *m)
{
	bool kernel = m->pipe.rules || m->pipe.containers.on;
	ksm_pipeline_summary(&m->pipe, kernel && m->skel ?
				 (int64_t)ksm_kfilter_count(m->skel, m->ncpus) : -1);
}

/* A --pid of no process is accepted (a process may take the id later, and
 * is then followed), but said, since it is more often a mistake. */
static void warn_absent_pids(const struct ksm_options *o)
{
	for (size_t i = 0; i < o->n_pids; i++)
		if (kill((pid_t)o->pids[i], 0) && errno == ESRCH)
			fprintf(stderr, "ksysmon: warning: --pid %u: no such process now; followed if a process takes this id\n",
				o->pids[i]);
}

/* A record of the exec policy thread (realtime-stamped). */
static void on_deny_record(void *ctx, const void *rec, size_t size)
{
	struct monitor *m = ctx;
	ksm_pipeline_record(&m->pipe, rec, size);
}

/* One batch: whatever the queue holds now, then the lost counters.  A
 * failing output does not stop it (its events are counted as lost). */
static int drain(struct monitor *m)
{
	ksm_pipeline_read_clock(&m->pipe);
	int n = ring_buffer__consume(m->rb);
	if (n < 0)
		return n;
	int err = report_lost(m);
	if (err)
		return err;
	ksm_deny_drain(m->deny, on_deny_record, m);
	ksm_pipeline_flush(&m->pipe);
	return 0;
}

static int run(struct monitor *m, const struct ksm_options *o)
{
	int err = 0;

	while (!stop_requested) {
		/* the sensor wakes us only when the backlog is large; otherwise
		 * the timeout bounds how long an event waits */
		err = ring_buffer__poll(m->rb, (int)o->latency_ms);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "ksysmon: reading the event queue failed: %s\n", strerror(-err));
			return err;
		}
		err = drain(m);
		if (err) {
			fprintf(stderr, "ksysmon: %s\n", strerror(-err));
			return err;
		}
		if (reload_requested) {
			reload_requested = 0;
			reload(m);
		}
		if (stats_requested) {
			stats_requested = 0;
			summary(m);
			write_metrics(m);
		} else if (m->metrics_on && ksm_clock_ns(CLOCK_MONOTONIC) >= m->metrics_next_ns) {
			write_metrics(m);
		}
		err = ksm_pipeline_write_end(&m->pipe);
		if (err)
			return err == -EPIPE ? 0 : err; /* the failure was said when it began */
	}
	return 0;
}

/* The fanotify engine's superblocks, for the sensor's --deny-unverifiable. */
static void on_watched(void *ctx, const uint32_t *sb_devs, size_t n)
{
	struct monitor *m = ctx;
	int err = ksm_sensor_set_watched(m->skel, sb_devs, n);
	if (err)
		fprintf(stderr, "ksysmon: deny: cannot tell the sensor which filesystems are watched: %s\n",
			strerror(-err));
}

/* Live: the sensor's events until SIGINT/SIGTERM. */
static int watch(struct monitor *m, const struct ksm_options *opts)
{
	char err_msg[256];
	uint64_t keep_caps;
	int err = 1;

	if (preflight(opts, &keep_caps) || open_metrics(m, opts))
		return 1;
	libbpf_set_print(libbpf_print);
	m->ncpus = libbpf_num_possible_cpus();
	if (m->ncpus <= 0) {
		fprintf(stderr, "ksysmon: cannot count CPUs: %s\n", strerror(-m->ncpus));
		return 1;
	}
	bool deny_in_kernel = false;
	m->skel = ksm_sensor_load(opts, m->ncpus, &m->kfilter, &deny_in_kernel);
	if (!m->skel)
		return 1;
	m->rb = ring_buffer__new(bpf_map__fd(m->skel->maps.events), on_record, m, NULL);
	if (!m->rb) {
		fprintf(stderr, "ksysmon: cannot map the event queue: %s\n", strerror(errno));
		return 1;
	}
	map_queue(m, opts);
	/* what was running before: seeded just before the events start */
	if (ksm_pipeline_init(&m->pipe, opts, m->rules, true, err_msg, sizeof(err_msg))) {
		fprintf(stderr, "ksysmon: %s\n", err_msg);
		return 1;
	}
	if (ksysmon_bpf__attach(m->skel)) {
		fprintf(stderr, "ksysmon: cannot attach to the scheduler tracepoints: %s\n", strerror(errno));
		return 1;
	}
	/* --container: now that new cgroups are noted, the existing ones */
	if ((err = ksm_kfilter_containers(m->skel, &m->pipe.containers, &m->pipe.enrich.tree)))
		fprintf(stderr, "ksysmon: --container is applied by ksysmon alone, not in the kernel: %s\n",
			err == -E2BIG ? "the selected containers have too many cgroups" : strerror(-err));
	err = 1;
	/* what the kernel does not decide, this process decides */
	size_t n_globs = deny_in_kernel ? 0 : opts->n_deny_globs;
	if (n_globs || opts->n_deny_sha256) {
		struct ksm_deny_config dc = {
			.globs = opts->deny_globs, .n_globs = n_globs,
			.sha256 = opts->deny_sha256, .n_sha256 = opts->n_deny_sha256,
			.audit = opts->deny_audit, .fail_closed = opts->deny_fail_closed,
			.timeout_ms = opts->deny_timeout_ms,
			.unwatched_killed = opts->deny_unverifiable,
			.watched = opts->deny_unverifiable ? on_watched : NULL, .watched_ctx = m,
			.cgroup_root_fd = m->pipe.enrich.tree.mnt_fd,
		};
		if (ksm_deny_start(&m->deny, &dc, err_msg, sizeof(err_msg))) {
			fprintf(stderr, "ksysmon: %s\n", err_msg);
			return 1;
		}
		if (opts->deny_unverifiable)
			ksm_sensor_arm_unwatched(m->skel); /* the filesystems are marked */
	}
	/* attached: what only loading needed is given up for the rest of the
	 * run; CAP_BPF stays where the kernel asks for it at every bpf() call
	 * (5.10 with unprivileged BPF disabled) */
	if (ksm_caps_refused_with(keep_caps, read_lost_map, m))
		keep_caps |= 1ull << CAP_BPF;
	if ((err = ksm_caps_drop(keep_caps))) {
		fprintf(stderr, "ksysmon: cannot give up capabilities: %s\n", strerror(-err));
		return 1;
	}
	write_metrics(m); /* there from the start */
	fprintf(stderr, "ksysmon: ready\n");
	/* under systemd (Type=notify): started once every program is attached */
	sd_notify(0, "READY=1");

	err = run(m, opts) ? 1 : 0;
	sd_notify(0, "STOPPING=1");

	/* no new events after this; then everything already queued is shown */
	ksysmon_bpf__detach(m->skel);
	ksm_deny_stop(m->deny); /* nothing stays blocked; its last reports follow */
	int derr = drain(m);
	if (derr && !err) {
		fprintf(stderr, "ksysmon: %s\n", strerror(-derr));
		err = 1;
	}
	ksm_pipeline_finish(&m->pipe);
	summary(m);
	write_metrics(m);
	return err;
}

/* The command line, over the options of its --config file (read first,
 * whole: a bad file stops ksysmon before it starts).  0, or -1 said. */
static int parse_all(int argc, char **argv, struct ksm_options *o, struct monitor *m,
		     struct ksm_config_args *args)
{
	const char *path = ksm_options_config_path(argc, argv);
	const struct ksm_config_option *co;
	char err[512];
	size_t n = 0;

	if (path && *path && load_config(path, &m->rules, &m->kfilter, err, sizeof(err))) {
		fprintf(stderr, "ksysmon: %s\n", err);
		return -1;
	}
	co = ksm_rules_options(m->rules, &n);
	int rc = n ? ksm_parse_options_with_config(argc, argv, path, co, n, args, o, err, sizeof(err))
		   : ksm_parse_options(argc, argv, o, err, sizeof(err));
	if (rc)
		fprintf(stderr, "ksysmon: %s\n", err);
	return rc;
}

/* Before anything was started: what the options made is freed. */
static int end_early(struct monitor *m, struct ksm_config_args *args, int rc)
{
	ksm_rules_free(m->rules);
	ksm_config_args_free(args);
	return rc;
}

int main(int argc, char **argv)
{
	struct ksm_options opts;
	struct monitor m = { .pipe.out.fd = -1, .pipe.capture.fd = -1, .metrics.dirfd = -1, .metrics.fd = -1 };
	char err_msg[512];
	int err;

	struct ksm_config_args cfg_args = { 0 };
	if (parse_all(argc, argv, &opts, &m, &cfg_args))
		return end_early(&m, &cfg_args, 2);
	if (opts.help) {
		fputs(ksm_usage(), stdout);
		return end_early(&m, &cfg_args, 0);
	}
	if (opts.version) {
		puts("ksysmon " KSYSMON_VERSION);
		return end_early(&m, &cfg_args, 0);
	}
	m.config = opts.config;
	m.wanted = opts.event_mask;
	opts.event_mask &= ~m.kfilter.disabled_types;
	m.attached = opts.event_mask;
	signal(SIGPIPE, SIG_IGN); /* a closed stdout shows up as EPIPE */
	install_signals();
	if (!opts.read) {
		warn_absent_pids(&opts);
		err = watch(&m, &opts);
	} else if (ksm_pipeline_init(&m.pipe, &opts, m.rules, false, err_msg, sizeof(err_msg))) {
		fprintf(stderr, "ksysmon: %s\n", err_msg);
		err = 1;
	} else {
		m.pipe.stop = &stop_requested;
		int rc = ksm_replay_file(&m.pipe, opts.read);
		if (rc != -2) {
			ksm_pipeline_finish(&m.pipe);
			ksm_pipeline_summary(&m.pipe, -1);
		}
		err = rc ? 1 : 0;
	}
	ksm_deny_free(m.deny);
	unmap_queue(&m);
	ksm_file_release(&m.metrics);
	ring_buffer__free(m.rb);
	ksysmon_bpf__destroy(m.skel);
	ksm_pipeline_free(&m.pipe);
	ksm_rules_free(m.rules);
	ksm_config_args_free(&cfg_args);
	return err;
}
