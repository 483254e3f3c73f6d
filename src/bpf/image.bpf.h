/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Image loads: Windows' PsSetLoadImageNotifyRoutine (Sysmon's ImageLoad) on Linux.
 *
 * - At exec, the kernel itself maps the program and its ELF interpreter:
 *   reported from sched_process_exec (program: the mapping holding
 *   mm->start_code; interpreter: AT_BASE of the saved auxiliary vector).
 * - Afterwards every executable file mapping comes from mmap(PROT_EXEC) or
 *   mprotect(PROT_EXEC): reported at the syscalls' exit, with the arguments
 *   read back from the task's saved registers, so one tracepoint per
 *   syscall suffices and anonymous or non-executable mappings are rejected
 *   in a few instructions.
 *
 * An image is the run of adjacent mappings of one file that starts at file
 * offset 0 (where the dynamic loader's reservation starts).  It is reported
 * once: when the mapping being made executable is its only executable part.
 */
#ifndef KSM_IMAGE_BPF_H
#define KSM_IMAGE_BPF_H

#include "ksysmon_bpf.h"
#include "maps.bpf.h"
#include "path.bpf.h"
#include "file.bpf.h"
#include "filter.bpf.h"

#define KSM_PROT_EXEC 0x4
#define KSM_MAP_ANONYMOUS 0x20
#define KSM_VM_EXEC 0x4
#define KSM_AT_BASE 7
#define KSM_VMA_STEPS 16 /* mappings walked each way from the new one */
#define KSM_RB_DEPTH 64  /* levels of the mappings' red-black tree */

/* One mapping, as the image walk needs it. */
struct vma_info {
	__u64 start;
	__u64 end;
	__u64 pgoff;
	__u64 flags;
	struct file *file;
	struct inode *inode;
	bool found;
};

/*
 * Two ways to find the mapping at an address, chosen by the loader:
 * - bpf_find_vma() (5.17+), whose callback gets the mapping under the
 *   mmap lock; the walk over neighbours runs under bpf_loop();
 * - before 6.1, the mappings' red-black tree and list (mm->mm_rb,
 *   vm_prev/vm_next), read through CO-RE, for kernels without those
 *   helpers.  The programs of each way are separate, so a kernel never
 *   sees a helper it lacks.
 */
static long vma_cb(struct task_struct *task, struct vm_area_struct *vma, struct vma_info *v)
{
	v->start = vma->vm_start;
	v->end = vma->vm_end;
	v->pgoff = vma->vm_pgoff;
	v->flags = vma->vm_flags;
	v->file = vma->vm_file;
	v->inode = vma->vm_file ? vma->vm_file->f_inode : NULL;
	v->found = true;
	return 0;
}

static __always_inline bool vma_at(struct task_struct *task, __u64 addr, struct vma_info *v)
{
	v->found = false;
	bpf_find_vma(task, addr, vma_cb, v, 0);
	return v->found;
}

struct mm_struct___rb {
	struct rb_root mm_rb;
} __attribute__((preserve_access_index));

struct vm_area_struct___rb {
	struct rb_node vm_rb;
	struct vm_area_struct *vm_next;
	struct vm_area_struct *vm_prev;
} __attribute__((preserve_access_index));

static __always_inline bool vma_read(struct vm_area_struct *vma, struct vma_info *v)
{
	v->found = vma != NULL;
	if (!vma)
		return false;
	v->start = BPF_CORE_READ(vma, vm_start);
	v->end = BPF_CORE_READ(vma, vm_end);
	v->pgoff = BPF_CORE_READ(vma, vm_pgoff);
	v->flags = BPF_CORE_READ(vma, vm_flags);
	/* a plain local: CO-RE must not see the local struct vma_info */
	struct file *file = BPF_CORE_READ(vma, vm_file);
	v->file = file;
	v->inode = file ? BPF_CORE_READ(file, f_inode) : NULL;
	return true;
}

/* find_vma() of kernels before 6.1: the first mapping ending above addr,
 * if it contains addr. */
static __always_inline struct vm_area_struct *vma_tree_find(__u64 addr)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct mm_struct___rb *mm = (struct mm_struct___rb *)BPF_CORE_READ(task, mm);
	struct rb_node *node = BPF_CORE_READ(mm, mm_rb.rb_node);
	struct vm_area_struct *found = NULL;
	__u64 rb_off = bpf_core_field_offset(struct vm_area_struct___rb, vm_rb);

	for (int i = 0; i < KSM_RB_DEPTH && node; i++) {
		struct vm_area_struct *vma = (void *)node - rb_off;
		if (BPF_CORE_READ(vma, vm_end) > addr) {
			found = vma;
			if (BPF_CORE_READ(vma, vm_start) <= addr)
				break;
			node = BPF_CORE_READ(node, rb_left);
		} else {
			node = BPF_CORE_READ(node, rb_right);
		}
	}
	if (found && BPF_CORE_READ(found, vm_start) <= addr)
		return found;
	return NULL;
}

static __always_inline bool vma_tree_at(__u64 addr, struct vma_info *v)
{
	return vma_read(vma_tree_find(addr), v);
}

struct image_scratch {
	struct ksm_image_load rec;
	char path[KSM_PATH_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct image_scratch);
} image_scratch SEC(".maps");

/* State of the walk over the mappings next to a new executable one. */
struct image_walk {
	__u64 lo, hi;        /* the range being made executable */
	struct inode *inode; /* the file's */
	__u64 start, end;    /* extent found so far */
	__u64 pgoff;         /* file page of `start` */
	bool exec_elsewhere; /* another part of the image is executable */
};

static __always_inline bool other_exec(const struct image_walk *w, const struct vma_info *v)
{
	return (v->flags & KSM_VM_EXEC) && (v->end <= w->lo || v->start >= w->hi);
}

/* One step of the walk: p is the mapping just below (back) or above the
 * extent, if any.  Returns 1 when the walk ends there. */
static __always_inline long extend_back(struct image_walk *w, const struct vma_info *p)
{
	if (!p->found || p->inode != w->inode || p->end != w->start)
		return 1;
	if (other_exec(w, p)) {
		w->exec_elsewhere = true;
		return 1;
	}
	w->start = p->start;
	w->pgoff = p->pgoff;
	return 0;
}

static __always_inline long extend_forward(struct image_walk *w, const struct vma_info *n)
{
	if (!n->found || n->inode != w->inode || n->start != w->end)
		return 1;
	if (other_exec(w, n)) {
		w->exec_elsewhere = true;
		return 1;
	}
	w->end = n->end;
	return 0;
}

/* bpf_loop() steps: the callbacks are verified once, whatever the number
 * of steps. */
static long walk_back(__u32 i, struct image_walk *w)
{
	struct vma_info p = { .found = false };
	if (!w->pgoff)
		return 1;
	vma_at(bpf_get_current_task_btf(), w->start - 1, &p);
	return extend_back(w, &p);
}

static long walk_forward(__u32 i, struct image_walk *w)
{
	struct vma_info n;
	vma_at(bpf_get_current_task_btf(), w->end, &n);
	return extend_forward(w, &n);
}

/* The image's record, once its extent is known. */
static __always_inline int emit_image(const struct image_walk *w, struct file *file,
				      struct inode *inode)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 zero = 0, flags;
	struct image_scratch *s = bpf_map_lookup_elem(&image_scratch, &zero);
	if (!s)
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	s->rec.pid = id >> 32;
	s->rec.tid = (__u32)id;
	s->rec.base = w->start;
	s->rec.size = w->end - w->start;
	struct vfsmount *mnt;
	struct dentry *dentry;
	user_path(file, &mnt, &dentry); /* what /proc/PID/maps shows */
	file_id_fill(&s->rec.file, BPF_CORE_READ(dentry, d_inode), inode);
	s->rec.inode = s->rec.file.inode;
	s->rec.dev = s->rec.file.dev;
	__u32 len = path_resolve(mnt, dentry, s->path, &flags);
	s->rec.flags = 0;
	if (flags & PATH_TRUNCATED)
		s->rec.flags |= KSM_IMAGE_TRUNCATED;
	if (flags & PATH_UNLINKED)
		s->rec.flags |= KSM_IMAGE_DELETED;
	if (flags & PATH_UNREACHABLE)
		s->rec.flags |= KSM_IMAGE_UNREACHABLE;
	if (len > 7 && s->path[1] == 'm' && s->path[2] == 'e' && s->path[3] == 'm' &&
	    s->path[4] == 'f' && s->path[5] == 'd' && s->path[6] == ':')
		s->rec.flags |= KSM_IMAGE_MEMFD;
	if (excluded_pid(KSM_EV_IMAGE_LOAD, s->rec.pid) ||
	    (!(flags & PATH_UNREACHABLE) && excluded_prefix(KSM_EV_IMAGE_LOAD, s->path, len)) ||
	    excluded_scope(KSM_EV_IMAGE_LOAD, task))
		return 0;
	s->rec.path.offset = sizeof(s->rec);
	s->rec.path.length = len;
	s->rec.start_time = BPF_CORE_READ(task, group_leader, start_boottime);
	ns_fill(&s->rec.ns, task);
	__u32 size = sizeof(s->rec) + (len & KSM_POS_MASK);
	fill_header(&s->rec.hdr, KSM_EV_IMAGE_LOAD, size);
	s->rec.hdr.flags |= KSM_HF_TASK_NS;
	if (bpf_ringbuf_output(&events, s, size, wakeup_flag()))
		count_lost(KSM_EV_IMAGE_LOAD);
	return 0;
}

/*
 * Reports the image around the executable range [lo, hi) in the current
 * process, unless another part of it is already executable.  Global
 * functions, verified once apart from their callers.
 */
__noinline int report_image(__u64 lo, __u64 hi)
{
	struct image_walk w = { .lo = lo, .hi = hi };
	struct vma_info v;

	if (!vma_at(bpf_get_current_task_btf(), lo, &v) || !v.file)
		return 0;
	w.inode = v.inode;
	w.start = v.start;
	w.end = v.end;
	w.pgoff = v.pgoff;
	bpf_loop(KSM_VMA_STEPS, walk_back, &w, 0);
	bpf_loop(KSM_VMA_STEPS, walk_forward, &w, 0);
	if (w.exec_elsewhere)
		return 0; /* already loaded: this is another segment of it */
	/* plain locals: CO-RE must not see the local struct vma_info */
	struct file *file = v.file;
	struct inode *inode = v.inode;
	return emit_image(&w, file, inode);
}

__noinline int report_image_tree(__u64 lo, __u64 hi)
{
	struct image_walk w = { .lo = lo, .hi = hi };
	struct vm_area_struct___rb *vma = (void *)vma_tree_find(lo);
	struct vm_area_struct___rb *p = vma, *n = vma;
	struct vma_info v, x;

	if (!vma_read((void *)vma, &v) || !v.file)
		return 0;
	w.inode = v.inode;
	w.start = v.start;
	w.end = v.end;
	w.pgoff = v.pgoff;
	for (int i = 0; i < KSM_VMA_STEPS && w.pgoff; i++) {
		p = (void *)BPF_CORE_READ(p, vm_prev);
		vma_read((void *)p, &x);
		if (extend_back(&w, &x))
			break;
	}
	for (int i = 0; i < KSM_VMA_STEPS; i++) {
		n = (void *)BPF_CORE_READ(n, vm_next);
		vma_read((void *)n, &x);
		if (extend_forward(&w, &x))
			break;
	}
	if (w.exec_elsewhere)
		return 0;
	struct file *file = v.file;
	struct inode *inode = v.inode;
	return emit_image(&w, file, inode);
}

/* Either way of finding mappings; `tree` is a constant in each program. */
static __always_inline int report_image_in(bool tree, __u64 lo, __u64 hi)
{
	return tree ? report_image_tree(lo, hi) : report_image(lo, hi);
}

static __always_inline bool vma_lookup(bool tree, __u64 addr, struct vma_info *v)
{
	if (tree)
		return vma_tree_at(addr, v);
	return vma_at(bpf_get_current_task_btf(), addr, v);
}

static __always_inline bool image_wanted(void)
{
	return type_enabled(KSM_EV_IMAGE_LOAD) && pid_selected(bpf_get_current_pid_tgid() >> 32);
}

#if defined(__TARGET_ARCH_x86)
#define KSM_NR_MMAP 9
#define KSM_NR_MPROTECT 10
#define SYSCALL_NR(regs) ((regs)->orig_ax)
#elif defined(__TARGET_ARCH_arm64)
#define KSM_NR_MMAP 222
#define KSM_NR_MPROTECT 226
#define SYSCALL_NR(regs) ((regs)->syscallno)
#else
#error "syscall numbers of this architecture are not known"
#endif

/* Images made executable by mprotect(2), already reported: a second
 * mprotect(PROT_EXEC) of the same mapping is not a new load. */
struct mprotect_key {
	__u32 pid;
	__u32 pad;
	__u64 start;
	struct inode *inode;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct mprotect_key);
	__type(value, __u8);
} mprotect_seen SEC(".maps");

static __always_inline void mprotect_exec(bool tree, unsigned long start, unsigned long len)
{
	struct vma_info v;
	__u8 one = 1;

	if (!vma_lookup(tree, start, &v) || !v.file)
		return;
	struct mprotect_key key = { .pid = bpf_get_current_pid_tgid() >> 32, .start = v.start,
				    .inode = v.inode };
	if (bpf_map_lookup_elem(&mprotect_seen, &key))
		return;
	bpf_map_update_elem(&mprotect_seen, &key, &one, BPF_ANY);
	report_image_in(tree, start, start + len);
}

/*
 * mmap(2) or mprotect(2) returned: the arguments are still in the saved
 * user registers.  One raw tracepoint for both, and nothing on syscall
 * entry: every system call pays one program run that the syscall number
 * ends in two instructions, not the perf syscall events' per-call work.
 */
static __always_inline int syscall_exit(bool tree, struct pt_regs *regs, long nr, long ret)
{
	if (ret < 0 && ret > -4096)
		return 0;
	unsigned long prot = PT_REGS_PARM3_SYSCALL(regs);
	if (!(prot & KSM_PROT_EXEC) || !image_wanted())
		return 0;
	unsigned long len = PT_REGS_PARM2_SYSCALL(regs);
	if (nr == KSM_NR_MPROTECT) {
		mprotect_exec(tree, PT_REGS_PARM1_SYSCALL(regs), len);
		return 0;
	}
	if (PT_REGS_PARM4_SYSCALL(regs) & KSM_MAP_ANONYMOUS)
		return 0;
	report_image_in(tree, (__u64)ret, (__u64)ret + len);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(handle_syscall_exit, struct pt_regs *regs, long ret)
{
	long nr = SYSCALL_NR(regs);
	if (nr != KSM_NR_MMAP && nr != KSM_NR_MPROTECT)
		return 0;
	return syscall_exit(false, regs, nr, ret);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(handle_syscall_exit_tree, struct pt_regs *regs, long ret)
{
	long nr = SYSCALL_NR(regs);
	if (nr != KSM_NR_MMAP && nr != KSM_NR_MPROTECT)
		return 0;
	return syscall_exit(true, regs, nr, ret);
}

/* The same at the exit of the two system calls alone (fexit), where the
 * kernel allows it: other system calls then pay nothing at all. */
#if defined(__TARGET_ARCH_x86)
#define KSM_SYS_MMAP "__x64_sys_mmap"
#define KSM_SYS_MPROTECT "__x64_sys_mprotect"
#elif defined(__TARGET_ARCH_arm64)
#define KSM_SYS_MMAP "__arm64_sys_mmap"
#define KSM_SYS_MPROTECT "__arm64_sys_mprotect"
#endif

/* One fexit program per syscall and way of finding mappings. */
#define KSM_FEXIT_HOOK(name, func, nr, tree)                          \
	SEC("fexit/" func)                                            \
	int BPF_PROG(name, struct pt_regs *regs, long ret)            \
	{                                                             \
		return syscall_exit(tree, regs, nr, ret);              \
	}

KSM_FEXIT_HOOK(handle_mmap_fexit, KSM_SYS_MMAP, KSM_NR_MMAP, false)
KSM_FEXIT_HOOK(handle_mprotect_fexit, KSM_SYS_MPROTECT, KSM_NR_MPROTECT, false)
KSM_FEXIT_HOOK(handle_mmap_fexit_tree, KSM_SYS_MMAP, KSM_NR_MMAP, true)
KSM_FEXIT_HOOK(handle_mprotect_fexit_tree, KSM_SYS_MPROTECT, KSM_NR_MPROTECT, true)

/* The same through the perf syscall events, which only mmap and mprotect
 * reach (the others pay a bitmap test instead of a program run). */
SEC("tracepoint/syscalls/sys_exit_mmap")
int handle_mmap_exit(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	return syscall_exit(false, regs, KSM_NR_MMAP, ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_mprotect")
int handle_mprotect_exit(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	return syscall_exit(false, regs, KSM_NR_MPROTECT, ctx->ret);
}

/* The program and its interpreter, mapped by the kernel during exec. */
static __always_inline int exec_images(bool tree, struct task_struct *task)
{
	if (!image_wanted())
		return 0;
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	__u64 code = BPF_CORE_READ(mm, start_code);
	report_image_in(tree, code, code + 1);

	__u64 interp = 0;
	for (int i = 0; i < 56; i += 2) {
		__u64 type = BPF_CORE_READ(mm, saved_auxv[i]);
		if (type == 0)
			break;
		if (type == KSM_AT_BASE) {
			interp = BPF_CORE_READ(mm, saved_auxv[i + 1]);
			break;
		}
	}
	if (!interp)
		return 0;
	/* the interpreter's first mapping is not executable: report it
	 * through the first executable mapping after it */
	struct vma_info v;
	__u64 addr = interp;
	for (int i = 0; i < 4; i++) {
		if (!vma_lookup(tree, addr, &v))
			break;
		if (v.flags & KSM_VM_EXEC) {
			report_image_in(tree, v.start, v.end);
			break;
		}
		addr = v.end;
	}
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec_images, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	return exec_images(false, task);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec_images_tree, struct task_struct *task, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	return exec_images(true, task);
}

/* Kernel modules, where the kernel has them (module_load tracepoint): the
 * loader attaches this only when the kernel's BTF has the tracepoint.
 * Local struct definitions keep the object building against kernels
 * without CONFIG_MODULES; CO-RE maps them onto the running kernel's.
 * Since 6.4 the text is mod->mem[MOD_TEXT]; before, the core layout's
 * first text_size bytes. */
struct module_memory___ksm {
	void *base;
	unsigned int size;
} __attribute__((preserve_access_index));

struct module_layout___ksm {
	void *base;
	unsigned int size;
	unsigned int text_size;
} __attribute__((preserve_access_index));

struct module___ksm {
	char name[56];
	struct module_memory___ksm mem[7];
	struct module_layout___ksm core_layout;
} __attribute__((preserve_access_index));

static __always_inline void module_text(struct module___ksm *mod, __u64 *base, __u64 *size)
{
	if (bpf_core_field_exists(mod->mem)) {
		*base = (__u64)BPF_CORE_READ(mod, mem[0].base); /* MOD_TEXT */
		*size = BPF_CORE_READ(mod, mem[0].size);
	} else {
		*base = (__u64)BPF_CORE_READ(mod, core_layout.base);
		*size = BPF_CORE_READ(mod, core_layout.text_size);
	}
}

SEC("tp_btf/module_load")
int BPF_PROG(handle_module_load, struct module___ksm *mod)
{
	__u32 zero = 0;
	if (!type_enabled(KSM_EV_IMAGE_LOAD))
		return 0;
	struct image_scratch *s = bpf_map_lookup_elem(&image_scratch, &zero);
	if (!s)
		return 0;
	s->rec.pid = 0;
	s->rec.tid = 0;
	module_text(mod, &s->rec.base, &s->rec.size);
	s->rec.inode = 0;
	s->rec.dev = 0;
	__builtin_memset(&s->rec.file, 0, sizeof(s->rec.file));
	s->rec.flags = KSM_IMAGE_KERNEL;
	s->rec.start_time = 0;
	long n = bpf_probe_read_kernel_str(s->path, sizeof(mod->name), mod->name);
	__u32 len = n > 0 ? n - 1 : 0;
	s->rec.path.offset = sizeof(s->rec);
	s->rec.path.length = len;
	__u32 size = sizeof(s->rec) + (len & 63);
	fill_header(&s->rec.hdr, KSM_EV_IMAGE_LOAD, size);
	if (bpf_ringbuf_output(&events, s, size, wakeup_flag()))
		count_lost(KSM_EV_IMAGE_LOAD);
	return 0;
}

#endif
