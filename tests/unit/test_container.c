// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The container of a cgroup path: every line of tests/unit/data/cgroup_paths.txt
 * (runtime, expected id or "-", path), and the edges of the parser. */
#include "unit.h"

#include "core/container.h"
#include "pipeline/select.h"

#define CORPUS "tests/unit/data/cgroup_paths.txt"

static const char ID[] = "3f2a9c1b7d0e4a5b8c6d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b";

static bool parse(const char *path, struct ksm_container *c)
{
	return ksm_container_from_cgroup((const uint8_t *)path, strlen(path), c);
}

/* One corpus line: "runtime<TAB>id or -<TAB>path"; '#' lines and blank
 * ones are comments.  Returns the number of checks made (0 or 1). */
static int check_line(char *line, unsigned lineno)
{
	line[strcspn(line, "\r\n")] = '\0';
	if (!line[0] || line[0] == '#')
		return 0;
	char *runtime = strtok(line, "\t");
	char *id = strtok(NULL, "\t");
	char *path = strtok(NULL, "\t");
	if (!runtime || !id || !path)
		fail_msg(CORPUS ":%u: not three tab-separated fields", lineno);
	struct ksm_container c = { 0 };
	bool found = parse(path, &c);
	if (!strcmp(id, "-")) {
		if (found)
			fail_msg(CORPUS ":%u: %s: found %s %s, expected none", lineno, path, c.runtime,
				 c.id);
		return 1;
	}
	if (!found)
		fail_msg(CORPUS ":%u: %s: no container, expected %s %s", lineno, path, runtime, id);
	if (strcmp(c.id, id) || strcmp(c.runtime, runtime))
		fail_msg(CORPUS ":%u: %s: found %s %s, expected %s %s", lineno, path, c.runtime,
			 c.id, runtime, id);
	return 1;
}

static void test_corpus(void **state)
{
	(void)state;
	FILE *f = fopen(CORPUS, "r");
	assert_non_null(f);
	char line[4096];
	unsigned lineno = 0;
	int checked = 0, positive = 0, negative = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		bool neg = strstr(line, "\t-\t") != NULL;
		int n = check_line(line, lineno);
		checked += n;
		if (n)
			*(neg ? &negative : &positive) += 1;
	}
	fclose(f);
	/* the corpus holds both kinds, of every runtime */
	assert_true(positive >= 7);
	assert_true(negative >= 3);
	assert_int_equal(checked, positive + negative);
}

static void expect(const char *path, const char *runtime, const char *id)
{
	struct ksm_container c = { 0 };
	bool found = parse(path, &c);
	if (!runtime) {
		if (found)
			fail_msg("%s: found %s %s", path, c.runtime, c.id);
		return;
	}
	if (!found)
		fail_msg("%s: none found, expected %s", path, runtime);
	assert_string_equal(c.runtime, runtime);
	assert_string_equal(c.id, id);
}

static void test_edges(void **state)
{
	(void)state;
	char path[512];

	/* a sub-cgroup of the container is the container */
	snprintf(path, sizeof(path), "/machine.slice/libpod-%s.scope/container", ID);
	expect(path, "podman", ID);
	/* nested: the innermost */
	snprintf(path, sizeof(path), "/docker/%s/docker/%.63s0", ID, ID);
	char inner[65];
	snprintf(inner, sizeof(inner), "%.63s0", ID);
	expect(path, "docker", inner);
	/* one hex digit short or long, upper case: not an id */
	snprintf(path, sizeof(path), "/libpod_parent/libpod-%.63s", ID);
	expect(path, NULL, NULL);
	snprintf(path, sizeof(path), "/libpod_parent/libpod-%sa", ID);
	expect(path, NULL, NULL);
	snprintf(path, sizeof(path), "/docker/3F%.62s", ID + 2);
	expect(path, NULL, NULL);
	/* the host */
	expect("/", NULL, NULL);
	expect("", NULL, NULL);
	expect("/user.slice/user-1000.slice/session-3.scope", NULL, NULL);
	/* a bare id anywhere else is not a container */
	snprintf(path, sizeof(path), "/%s", ID);
	expect(path, NULL, NULL);
	/* runs of slashes */
	snprintf(path, sizeof(path), "//libpod_parent//libpod-%s//", ID);
	expect(path, "podman", ID);
}

/* Names as long as a cgroup's may be, kept whole; containers however deep. */
static void test_long_and_deep(void **state)
{
	(void)state;
	static char path[16384], name[256];
	memset(name, 'n', 243);
	name[243] = '\0';
	/* lxc.payload. + 243 = 255 bytes, the longest cgroup name */
	snprintf(path, sizeof(path), "/lxc.payload.%s", name);
	expect(path, "lxc", name);
	snprintf(path, sizeof(path), "/lxc/%s%s", name, "123456789012");
	char whole[300];
	snprintf(whole, sizeof(whole), "%.243s%s", name, "123456789012");
	expect(path, "lxc", whole);
	/* an nspawn unit of 248 bytes, most of them escapes: unescaped, whole */
	size_t o = (size_t)snprintf(path, sizeof(path), "/machine.slice/machine-");
	for (int i = 0; i < 40; i++)
		o += (size_t)snprintf(path + o, sizeof(path) - o, "ab\\x2d");
	snprintf(path + o, sizeof(path) - o, ".scope/payload");
	char unescaped[256] = "";
	for (int i = 0; i < 40; i++)
		strcat(unescaped, "ab-");
	expect(path, "systemd-nspawn", unescaped);
	/* 200 levels, then the container */
	o = 0;
	for (int i = 0; i < 200; i++)
		o += (size_t)snprintf(path + o, sizeof(path) - o, "/d");
	snprintf(path + o, sizeof(path) - o, "/libpod-%s/sub", ID);
	expect(path, "podman", ID);
	/* and a container nested under it 100 levels further */
	o = strlen(path);
	for (int i = 0; i < 100; i++)
		o += (size_t)snprintf(path + o, sizeof(path) - o, "/e");
	snprintf(path + o, sizeof(path) - o, "/docker/%.63s0", ID);
	char inner[65];
	snprintf(inner, sizeof(inner), "%.63s0", ID);
	expect(path, "docker", inner);
	/* longer than any cgroup name (a forged record): no container */
	memset(name, 'n', 244);
	name[244] = '\0';
	snprintf(path, sizeof(path), "/lxc.payload.%s", name);
	expect(path, NULL, NULL);
}

static void test_prefix(void **state)
{
	(void)state;
	struct ksm_container c = { 0 };
	char path[256];
	snprintf(path, sizeof(path), "/libpod_parent/libpod-%s", ID);
	assert_true(parse(path, &c));
	assert_true(ksm_container_id_begins(&c, "3f2a", 4));
	assert_true(ksm_container_id_begins(&c, ID, 64));
	assert_false(ksm_container_id_begins(&c, "3f2b", 4));
	char longer[70];
	snprintf(longer, sizeof(longer), "%s0", ID);
	assert_false(ksm_container_id_begins(&c, longer, 65));
}

/* Live, --container holds the whole id of the container found at start:
 * a container whose name merely begins so (lxc "abc" for "ab") is not it;
 * a replay's prefix selects every id beginning so. */
static void test_selection_whole_id(void **state)
{
	(void)state;
	struct ksm_container ab, abc;
	assert_true(parse("/lxc.payload.ab", &ab));
	assert_true(parse("/lxc.payload.abc", &abc));
	struct ksm_container_sel live = { .on = true, .n = 1 };
	snprintf(live.ids[0].id, sizeof(live.ids[0].id), "ab");
	live.ids[0].len = 2;
	live.ids[0].whole = true;
	assert_true(ksm_container_selected(&live, &ab));
	assert_false(ksm_container_selected(&live, &abc));
	assert_false(ksm_container_selected(&live, NULL));
	struct ksm_container_sel replay;
	const char *vals[] = { "ab" };
	char err[256];
	assert_int_equal(ksm_container_sel_init(&replay, vals, 1, NULL, err, sizeof(err)), 0);
	assert_true(ksm_container_selected(&replay, &ab));
	assert_true(ksm_container_selected(&replay, &abc));
}

/* An id pasted in capitals selects the container engines name in
 * lowercase (the same hex number); a value that is no hex id is refused
 * in one line, whoever calls. */
static void test_selection_any_case(void **state)
{
	(void)state;
	struct ksm_container c;
	char path[128], err[256];
	snprintf(path, sizeof(path), "/libpod_parent/libpod-%s", ID);
	assert_true(parse(path, &c));
	struct ksm_container_sel sel;
	const char *upper[] = { "3F2A9C" };
	assert_int_equal(ksm_container_sel_init(&sel, upper, 1, NULL, err, sizeof(err)), 0);
	assert_string_equal(sel.ids[0].id, "3f2a9c");
	assert_true(ksm_container_selected(&sel, &c));
	const char *other[] = { "3F2B" };
	assert_int_equal(ksm_container_sel_init(&sel, other, 1, NULL, err, sizeof(err)), 0);
	assert_false(ksm_container_selected(&sel, &c));
	const char *name[] = { "web-1" };
	assert_int_equal(ksm_container_sel_init(&sel, name, 1, NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "--container 'web-1' is not a container id");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_long_and_deep),
		cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_selection_whole_id),
		cmocka_unit_test(test_selection_any_case),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
