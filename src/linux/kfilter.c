// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "linux/kfilter.h"

#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ksysmon.skel.h"
#include "ksysmon_filter.h"

/* The types of generation gen in an exclusion map's value (the other
 * generation's kept as it is); a value of no type in either is removed. */
static int put_gen(struct bpf_map *map, const void *key, uint32_t gen, uint32_t types)
{
	struct ksm_excl_types v = { { 0, 0 } };
	int fd = bpf_map__fd(map);

	if (bpf_map_lookup_elem(fd, key, &v) && errno != ENOENT)
		return -errno;
	v.types[gen] = types;
	if (!v.types[0] && !v.types[1])
		return bpf_map_delete_elem(fd, key) && errno != ENOENT ? -errno : 0;
	return bpf_map_update_elem(fd, key, &v, BPF_ANY) ? -errno : 0;
}

/* The prefix as little-endian words with a byte mask: the BPF side compares
 * 8 bytes at a time. */
static struct ksm_prefix_excl prefix_words(unsigned types, const char *prefix, size_t len)
{
	struct ksm_prefix_excl p = { .types = types, .len = (uint32_t)len };
	uint8_t bytes[KSM_PREFIX_BYTES] = { 0 }, mask[KSM_PREFIX_BYTES] = { 0 };
	memcpy(bytes, prefix, len);
	memset(mask, 0xff, len);
	memcpy(p.word, bytes, sizeof(bytes));
	memcpy(p.mask, mask, sizeof(mask));
	return p;
}

static struct ksm_comm_key comm_key(const char *comm)
{
	struct ksm_comm_key key = { { 0 } };
	strncpy(key.comm, comm, sizeof(key.comm) - 1);
	return key;
}

/* Writes a list of numeric values into generation gen of map (types 0
 * with want false). */
static int put_nums(struct bpf_map *map, const struct ksm_num_excl *list, size_t n, uint32_t gen,
		    bool want)
{
	int err = 0;
	for (size_t i = 0; i < n && !err; i++) {
		uint32_t key = (uint32_t)list[i].value;
		err = put_gen(map, &key, gen, want ? list[i].types : 0);
	}
	return err;
}

/* Writes the id exclusions (and pid_ns inclusions) of kf into generation
 * gen (types 0 where kf has none of a value: with want false, every value
 * of kf gets 0). */
static int put_ids(struct ksysmon_bpf *skel, const struct ksm_kernel_filter *kf, uint32_t gen,
		   bool want)
{
	int err = put_nums(skel->maps.excl_pid, kf->pid_excl, kf->n_pid_excl, gen, want);
	if (!err)
		err = put_nums(skel->maps.excl_uid, kf->uid_excl, kf->n_uid_excl, gen, want);
	if (!err)
		err = put_nums(skel->maps.excl_pidns, kf->pidns_excl, kf->n_pidns_excl, gen, want);
	if (!err)
		err = put_nums(skel->maps.incl_pidns, kf->pidns_incl, kf->n_pidns_incl, gen, want);
	for (size_t i = 0; i < kf->n_comm_excl && !err; i++) {
		struct ksm_comm_key key = comm_key(kf->comm_excl[i].comm);
		err = put_gen(skel->maps.excl_comm, &key, gen, want ? kf->comm_excl[i].types : 0);
	}
	return err;
}

static int put_prefixes(struct ksysmon_bpf *skel, const struct ksm_kernel_filter *kf, uint32_t gen)
{
	int fd = bpf_map__fd(skel->maps.excl_prefix);
	for (uint32_t i = 0; i < kf->n_prefix_excl && i < KSM_MAX_PREFIX; i++) {
		uint32_t slot = gen * KSM_MAX_PREFIX + i;
		struct ksm_prefix_excl p = prefix_words(kf->prefix_excl[i].types, kf->prefix_excl[i].prefix,
						    kf->prefix_excl[i].len);
		if (bpf_map_update_elem(fd, &slot, &p, BPF_ANY))
			return -errno;
	}
	return 0;
}

int ksm_kfilter_swap(struct ksysmon_bpf *skel, const struct ksm_kernel_filter *old,
		     const struct ksm_kernel_filter *kf)
{
	struct ksysmon_bpf__bss *bss = skel->bss;
	uint32_t cur = __atomic_load_n(&bss->filter_gen, __ATOMIC_ACQUIRE) & 1, next = cur ^ 1;
	static const struct ksm_kernel_filter none;
	if (!old)
		old = &none;

	/* the next generation: the old values cleared in it, then the new set */
	int err = put_ids(skel, old, next, false);
	if (!err)
		err = put_ids(skel, kf, next, true);
	if (!err)
		err = put_prefixes(skel, kf, next);
	if (err) {
		put_ids(skel, kf, next, false); /* nothing of it left for a later swap */
		return err;
	}
	bss->excl_ids[next] = kf->n_pid_excl || kf->n_uid_excl || kf->n_comm_excl || kf->n_pidns_excl;
	bss->incl_pidns_types[next] = kf->pidns_incl_types;
	bss->n_excl_prefixes[next] = (uint32_t)(kf->n_prefix_excl < KSM_MAX_PREFIX ? kf->n_prefix_excl : KSM_MAX_PREFIX);
	__atomic_store_n(&bss->filter_gen, next, __ATOMIC_RELEASE);
	/* the old generation is no longer read: its values go */
	return put_ids(skel, old, cur, false);
}

struct sel_scan {
	const struct ksm_container_sel *sel;
	int fd; /* sel_cgroups */
	int err;
};

static void note_selected(void *ctx, const struct ksm_container *c, uint64_t cgroup_id)
{
	struct sel_scan *s = ctx;
	uint8_t one = 1;
	if (!s->err && ksm_container_selected(s->sel, c) &&
	    bpf_map_update_elem(s->fd, &cgroup_id, &one, BPF_ANY))
		s->err = -errno;
}

int ksm_kfilter_containers(struct ksysmon_bpf *skel, const struct ksm_container_sel *sel,
			   const struct ksm_cgroups *tree)
{
	if (!skel->rodata->filter_cgroups)
		return 0;
	struct sel_scan s = { .sel = sel, .fd = bpf_map__fd(skel->maps.sel_cgroups) };
	int err = ksm_cgroups_containers(tree, note_selected, &s);
	if (err || s.err)
		return err ? err : s.err;
	__atomic_store_n(&skel->bss->cgroups_armed, true, __ATOMIC_RELEASE);
	return 0;
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
