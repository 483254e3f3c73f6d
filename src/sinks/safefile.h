/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Every file ksysmon writes (--output, -w, their rotated names) is opened
 * here, by rules that hold however hostile the directory is (a sticky
 * /tmp shared with other users):
 *
 * - the parent directory is opened once (a link on its path only if root
 *   or ksysmon's user owns it); the file is named relative to it
 *   and its last component is never followed when it is a symbolic link;
 * - a regular file is always a new one: created exclusively under a
 *   temporary name (O_EXCL, O_NOFOLLOW), given its mode and group, checked
 *   with fstat, then renamed into place.  rename(2) replaces a name, never
 *   what a link points to, so nothing planted at the name is written to;
 * - what already stands at the name is checked first: a regular file must
 *   be ksysmon's user's with one link (it is then replaced, not written
 *   into), a symbolic link or another user's file is refused;
 * - a FIFO or a character device owned by root or ksysmon's user, and
 *   /dev/stdout, /dev/stderr and /dev/fd/N (the inherited descriptor), are
 *   streams: written as they are, never created, rotated or truncated.
 */
#ifndef KSM_SAFEFILE_H
#define KSM_SAFEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#define KSM_FILE_DEFAULT_MODE 0600
/* bits --file-mode may hold: the owner writes, others may only read */
#define KSM_FILE_MODE_BITS 0644

/* How new files are made. */
struct ksm_file_policy {
	mode_t mode; /* exact, whatever the umask */
	gid_t gid;   /* (gid_t)-1: ksysmon's group */
};

/* Where a file goes, resolved once at start. */
struct ksm_file_target {
	const char *path; /* as given, for messages */
	int dirfd;        /* the parent directory; -1 for a stream */
	char *name;       /* the last component */
	bool stream;      /* written as it is (fd below), never created */
	int fd;           /* the stream; -1 otherwise */
	struct stat dir;  /* the parent directory's identity */
	bool exists;      /* something stood at the name at start */
	struct stat st;   /* what it was */
};

/* Why an existing file at the name may not be used (NULL: it may): it is
 * a regular file that is not euid's or has other links, a FIFO or device
 * of another user, a symbolic link or another kind of file.  Pure. */
const char *ksm_file_refusal(const struct stat *st, uid_t euid);
/* The descriptor a path names without being opened (/dev/stdout 1,
 * /dev/stderr 2, /dev/fd/N and /proc/self/fd/N N), or -1.  Pure. */
int ksm_file_inherited_fd(const char *path);
/* Whether the files written as a and b (with their rotated names a.1 ..
 * a.<keep>, b.1 .. when rotating) share a name in one directory.  Pure. */
bool ksm_file_names_collide(const char *a, const char *b, bool rotating, unsigned keep);

/* Resolves path: opens its directory, checks what stands at the name and
 * opens it when it is a stream.  0, or -1 with a one-line reason naming
 * the file in err (errno set). */
int ksm_file_resolve(struct ksm_file_target *t, const char *path, char *err, size_t errlen);
void ksm_file_release(struct ksm_file_target *t);
/* Whether a and b are one file (same name, same inode, same stream). */
bool ksm_file_same(const struct ksm_file_target *a, const struct ksm_file_target *b,
		   bool rotating, unsigned keep);

/* A new, empty regular file under a temporary name in t's directory
 * (written to tmp, at least 64 bytes): mode and group of p, checked to be
 * a regular file of euid with one link.  Its descriptor (O_APPEND), or
 * -errno. */
int ksm_file_create(const struct ksm_file_target *t, const struct ksm_file_policy *p,
		    char *tmp, size_t tmplen);
/* Renames tmp to the target's name (replacing whatever is there, never
 * following it); 0 or -errno.  On failure tmp is removed. */
int ksm_file_publish(const struct ksm_file_target *t, const char *tmp);
/* Renames name.<i-1> to name.<i> for i = keep .. 1 (name.0 being the
 * name itself); with keep 0, nothing.  0 or -errno. */
int ksm_file_shift(const struct ksm_file_target *t, unsigned keep);
/* Writes len bytes, again after EINTR and short writes; how many were
 * written, with the errno that stopped it in *e (0: all). */
size_t ksm_file_write_all(int fd, const char *p, size_t len, int *e);

#endif
