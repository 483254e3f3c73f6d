// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The metrics file: the text format (labels escaped, one sample per type),
 * and its replacement by a whole new file. */
#include "unit.h"

#include <sys/stat.h>
#include <unistd.h>

#include "sinks/metrics.h"

UNIT_SCRATCH_DIR("/tmp/ksm-metrics-XXXXXX")

static char *text_of(const struct ksm_metrics *m)
{
	struct ksm_buf b = { 0 };
	ksm_metrics_format(&b, m);
	ksm_buf_putc(&b, '\0');
	assert_false(b.failed);
	return b.data;
}

static void test_format(void **state)
{
	(void)state;
	struct ksm_metrics m = { 0 };
	m.shown[KSM_EV_PROCESS_EXEC] = 7;
	m.filtered_user[KSM_EV_PROCESS_EXEC] = 2;
	m.filtered_kernel[KSM_EV_PROCESS_EXIT] = 5;
	m.views[0].file = "/var/log/a \"b\"\\c\nd";
	m.views[0].not_written = 3;
	m.n_views = 1;
	char *t = text_of(&m);
	assert_non_null(strstr(t, "\nksysmon_events_seen_total{type=\"process_exec\"} 9\n"));
	assert_non_null(strstr(t, "\nksysmon_events_shown_total{type=\"process_exec\"} 7\n"));
	assert_non_null(strstr(t, "\nksysmon_events_filtered_total{type=\"process_exit\",where=\"kernel\"} 5\n"));
	assert_non_null(strstr(t, "\nksysmon_events_filtered_total{type=\"process_exec\",where=\"user\"} 2\n"));
	assert_non_null(strstr(t, "\nksysmon_output_events_not_written_total{file=\"/var/log/a \\\"b\\\"\\\\c\\nd\"} 3\n"));
	assert_null(strstr(t, "events_lost\""));   /* a report, not a type with counters */
	assert_null(strstr(t, "ksysmon_syslog_")); /* only with --syslog */
	assert_null(strstr(t, "ksysmon_digest"));  /* only with --hash */
	/* every family is declared once before its samples */
	assert_non_null(strstr(t, "# TYPE ksysmon_events_shown_total counter\n"));
	assert_non_null(strstr(t, "# TYPE ksysmon_queue_used_bytes gauge\n"));
	free(t);

	/* with --syslog: its counters, what waits, and whether it fails */
	m.syslog = true;
	m.syslog_sent = 10;
	m.syslog_dropped = 4;
	m.syslog_waiting = 2;
	m.syslog_failures = 3;
	m.syslog_failing = true;
	t = text_of(&m);
	assert_non_null(strstr(t, "\nksysmon_syslog_sent_total 10\n"));
	assert_non_null(strstr(t, "\nksysmon_syslog_dropped_total 4\n"));
	assert_non_null(strstr(t, "# TYPE ksysmon_syslog_waiting gauge\nksysmon_syslog_waiting 2\n"));
	assert_non_null(strstr(t, "# TYPE ksysmon_syslog_failures_total counter\nksysmon_syslog_failures_total 3\n"));
	assert_non_null(strstr(t, "# TYPE ksysmon_syslog_failing gauge\nksysmon_syslog_failing 1\n"));
	free(t);
}

static void test_write_replaces_whole(void **state)
{
	(void)state;
	char path[256], err[256];
	struct ksm_file_target t;
	struct ksm_buf b = { 0 };
	struct stat before, after;

	snprintf(path, sizeof(path), "%s/k.prom", dir);
	assert_int_equal(ksm_file_resolve(&t, path, err, sizeof(err)), 0);
	ksm_buf_puts(&b, "ksysmon_reloads_total 1\n");
	assert_int_equal(ksm_metrics_write(&t, (gid_t)-1, &b), 0);
	assert_int_equal(stat(path, &before), 0);
	assert_int_equal(before.st_mode & 07777, KSM_METRICS_MODE);
	ksm_buf_reset(&b);
	ksm_buf_puts(&b, "ksysmon_reloads_total 2\n");
	assert_int_equal(ksm_metrics_write(&t, (gid_t)-1, &b), 0);
	assert_int_equal(stat(path, &after), 0);
	assert_int_not_equal(before.st_ino, after.st_ino);
	FILE *f = fopen(path, "r");
	char line[64] = "";
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_string_equal(line, "ksysmon_reloads_total 2\n");
	ksm_buf_free(&b);
	ksm_file_release(&t);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_write_replaces_whole),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
