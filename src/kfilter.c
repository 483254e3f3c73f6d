// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "kfilter.h"

#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ksysmon.skel.h"

#define PREFIX_WORDS 8 /* as struct prefix_excl in src/bpf/filter.bpf.h */

struct prefix_excl {
	uint32_t types;
	uint32_t len;
	uint64_t word[PREFIX_WORDS];
	uint64_t mask[PREFIX_WORDS];
};

void ksm_kfilter_configure(struct ksysmon_bpf *skel, const struct ksm_kernel_filter *kf)
{
	skel->rodata->excl_ids = kf->n_pid_excl || kf->n_uid_excl || kf->n_comm_excl;
	skel->rodata->n_excl_prefixes = (uint32_t)kf->n_prefix_excl;
}

static int put(struct bpf_map *map, const void *key, const void *value)
{
	return bpf_map_update_elem(bpf_map__fd(map), key, value, BPF_ANY) ? -errno : 0;
}

/* The prefix as little-endian words with a byte mask: the BPF side compares
 * 8 bytes at a time. */
static struct prefix_excl prefix_words(unsigned types, const char *prefix, size_t len)
{
	struct prefix_excl p = { .types = types, .len = (uint32_t)len };
	uint8_t bytes[PREFIX_WORDS * 8] = { 0 }, mask[PREFIX_WORDS * 8] = { 0 };
	memcpy(bytes, prefix, len);
	memset(mask, 0xff, len);
	memcpy(p.word, bytes, sizeof(bytes));
	memcpy(p.mask, mask, sizeof(mask));
	return p;
}

int ksm_kfilter_fill(struct ksysmon_bpf *skel, const struct ksm_kernel_filter *kf)
{
	int err = 0;
	for (size_t i = 0; i < kf->n_pid_excl && !err; i++) {
		uint32_t key = (uint32_t)kf->pid_excl[i].value, types = kf->pid_excl[i].types;
		err = put(skel->maps.excl_pid, &key, &types);
	}
	for (size_t i = 0; i < kf->n_uid_excl && !err; i++) {
		uint32_t key = (uint32_t)kf->uid_excl[i].value, types = kf->uid_excl[i].types;
		err = put(skel->maps.excl_uid, &key, &types);
	}
	for (size_t i = 0; i < kf->n_comm_excl && !err; i++) {
		char key[16] = { 0 };
		uint32_t types = kf->comm_excl[i].types;
		strncpy(key, kf->comm_excl[i].comm, sizeof(key) - 1);
		err = put(skel->maps.excl_comm, key, &types);
	}
	for (uint32_t i = 0; i < kf->n_prefix_excl && !err; i++) {
		struct prefix_excl p = prefix_words(kf->prefix_excl[i].types, kf->prefix_excl[i].prefix,
						    kf->prefix_excl[i].len);
		err = put(skel->maps.excl_prefix, &i, &p);
	}
	return err;
}

int ksm_percpu_sum(int map_fd, uint32_t key, int ncpus, uint64_t *sum)
{
	uint64_t percpu[ncpus];
	*sum = 0;
	if (bpf_map_lookup_elem(map_fd, &key, percpu))
		return -errno;
	for (int c = 0; c < ncpus; c++)
		*sum += percpu[c];
	return 0;
}

uint64_t ksm_kfilter_count(struct ksysmon_bpf *skel, int ncpus)
{
	uint64_t total = 0, n;
	for (uint32_t t = 0; t < KSM_EV_MAX; t++)
		if (!ksm_percpu_sum(bpf_map__fd(skel->maps.kfiltered), t, ncpus, &n))
			total += n;
	return total;
}
