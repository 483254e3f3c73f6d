// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * probe OBJ: loads the BPF object OBJ and attaches its programs, then
 * detaches them.  Prints "ok", or the step that failed and why; exits 0
 * when every program is attached.  Used by the kernel matrix to record
 * which attach kinds (fentry, kprobe, BPF-LSM) a kernel offers.
 *
 * probe --exit-group-dead: prints exit_group_dead=1 when the kernel's
 * sched_process_exit tracepoint says whether the group is dead (6.16+),
 * else 0 — the test ksysmon's loader makes (src/linux/loader.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static int exit_group_dead(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	if (!btf) {
		printf("exit_group_dead=unknown (no kernel BTF)\n");
		return 1;
	}
	int id = btf__find_by_name_kind(btf, "btf_trace_sched_process_exit", BTF_KIND_TYPEDEF);
	const struct btf_type *t = id > 0 ? btf__type_by_id(btf, btf__type_by_id(btf, id)->type) : NULL;
	if (t && btf_is_ptr(t))
		t = btf__type_by_id(btf, t->type);
	/* (void *__data, struct task_struct *p, bool group_dead) */
	printf("exit_group_dead=%d\n", t && btf_is_func_proto(t) && btf_vlen(t) >= 3);
	btf__free(btf);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--exit-group-dead"))
		return exit_group_dead();
	if (argc != 2) {
		fprintf(stderr, "usage: probe OBJ\n");
		return 2;
	}
	libbpf_set_print(quiet);
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		printf("open: %s\n", strerror(errno));
		return 1;
	}
	int rc = 0;
	if (bpf_object__load(obj)) {
		printf("load: %s\n", strerror(errno));
		rc = 1;
	} else {
		struct bpf_program *prog;
		bpf_object__for_each_program(prog, obj) {
			struct bpf_link *link = bpf_program__attach(prog);
			if (!link) {
				printf("attach %s: %s\n", bpf_program__section_name(prog), strerror(errno));
				rc = 1;
				continue;
			}
			bpf_link__destroy(link);
		}
	}
	bpf_object__close(obj);
	if (!rc)
		printf("ok\n");
	return rc;
}
