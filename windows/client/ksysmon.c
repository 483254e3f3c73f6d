/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ksysmon.exe: reads records from the ksysmon driver (\\.\ksysmon) and
 * prints them, one line each, as text or JSON Lines - the same output as
 * the Linux client, through the same decoder and formatters.
 *
 * Reads are overlapped and wait in the driver until records arrive; the
 * process sleeps in WaitForMultipleObjects, never in a polling loop.
 */
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "core/buf.h"
#include "core/decode.h"
#include "core/format.h"
#include "ksm_ioctl.h"
#include "ntpath.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_NO_DRIVER = 3 };

struct options {
	BOOL json;
	long long count;    /* stop after this many records; -1: never */
	DWORD duration_ms;  /* stop after this long; INFINITE: never */
	BOOL set_deny;      /* send the deny list */
	BOOL set_only;      /* ... and exit */
	BOOL verbose;
	const WCHAR *ready_file; /* created once a read waits in the driver */
	WCHAR *deny;        /* multi-string being built */
	size_t deny_chars;
};

static HANDLE g_stop; /* set by Ctrl+C */

static void usage(FILE *f)
{
	fputs("usage: ksysmon [--format text|json] [--count N] [--duration SECONDS]\n"
	      "               [--deny IMAGE]... [--clear-deny] [--set-only] [--verbose]\n"
	      "Prints the events of the ksysmon driver, one per line.\n"
	      "  --deny IMAGE   deny process creation for images ending in IMAGE\n"
	      "                 (a file name or a path tail); repeatable\n"
	      "  --clear-deny   empty the deny list\n"
	      "  --set-only     set the deny list and exit\n"
	      "  --count N      exit after N records\n"
	      "  --duration S   exit after S seconds\n"
	      "  --ready-file F create file F once a read is waiting in the driver\n"
	      "                 (lets scripts start the activity to be observed)\n",
	      f);
}

static BOOL add_deny(struct options *o, const WCHAR *rule)
{
	size_t n = wcslen(rule);
	WCHAR *p;

	if (n == 0)
		return FALSE;
	p = realloc(o->deny, (o->deny_chars + n + 2) * sizeof(WCHAR));
	if (!p)
		return FALSE;
	memcpy(p + o->deny_chars, rule, (n + 1) * sizeof(WCHAR));
	o->deny_chars += n + 1;
	p[o->deny_chars] = 0; /* the list terminator, not counted yet */
	o->deny = p;
	o->set_deny = TRUE;
	return TRUE;
}

static BOOL parse_number(const WCHAR *s, long long *v)
{
	WCHAR *end;

	*v = wcstoll(s, &end, 10);
	return *s && !*end && *v >= 0;
}

static int parse_args(int argc, WCHAR **argv, struct options *o)
{
	long long v;

	o->count = -1;
	o->duration_ms = INFINITE;
	for (int i = 1; i < argc; i++) {
		const WCHAR *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!wcscmp(a, L"--format") && val) {
			if (!wcscmp(val, L"json"))
				o->json = TRUE;
			else if (wcscmp(val, L"text"))
				return -1;
			i++;
		} else if (!wcscmp(a, L"--count") && val && parse_number(val, &v)) {
			o->count = v;
			i++;
		} else if (!wcscmp(a, L"--duration") && val && parse_number(val, &v) &&
			   v < 86400LL * 24) {
			o->duration_ms = (DWORD)(v * 1000);
			i++;
		} else if (!wcscmp(a, L"--deny") && val) {
			if (!add_deny(o, val))
				return -1;
			i++;
		} else if (!wcscmp(a, L"--clear-deny")) {
			o->set_deny = TRUE;
		} else if (!wcscmp(a, L"--set-only")) {
			o->set_only = TRUE;
		} else if (!wcscmp(a, L"--ready-file") && val) {
			o->ready_file = val;
			i++;
		} else if (!wcscmp(a, L"--verbose")) {
			o->verbose = TRUE;
		} else if (!wcscmp(a, L"--help") || !wcscmp(a, L"-h")) {
			usage(stdout);
			exit(EXIT_OK);
		} else {
			return -1;
		}
	}
	if (o->set_only && !o->set_deny)
		return -1;
	return 0;
}

static void print_error(const char *what, DWORD err)
{
	char msg[256] = "";

	FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, err, 0,
		       msg, sizeof(msg), NULL);
	msg[strcspn(msg, "\r\n")] = 0;
	fprintf(stderr, "ksysmon: %s: %s (error %lu)\n", what, msg, (unsigned long)err);
}

static HANDLE open_device(BOOL for_write, int *rc)
{
	DWORD access = GENERIC_READ | (for_write ? GENERIC_WRITE : 0);
	HANDLE h = CreateFileW(KSM_USER_PATH, access, 0, NULL, OPEN_EXISTING,
			       FILE_FLAG_OVERLAPPED, NULL);
	DWORD err;

	if (h != INVALID_HANDLE_VALUE)
		return h;
	err = GetLastError();
	if (err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND) {
		fputs("ksysmon driver is not installed (cannot open \\\\.\\ksysmon)\n", stderr);
		*rc = EXIT_NO_DRIVER;
	} else {
		/* The device is exclusive: a second client gets access denied. */
		print_error("cannot open \\\\.\\ksysmon (is another ksysmon running? "
			    "administrator rights are needed)", err);
		*rc = EXIT_FAIL;
	}
	return NULL;
}

/* Waits for an overlapped operation; FALSE with *stopped when Ctrl+C or
 * the deadline came first (the operation is then cancelled). */
static BOOL wait_io(HANDLE dev, OVERLAPPED *ov, DWORD deadline_tick, BOOL has_deadline,
		    DWORD *bytes, BOOL *stopped)
{
	HANDLE objs[2] = { ov->hEvent, g_stop };
	DWORD timeout = INFINITE, r;

	*stopped = FALSE;
	if (has_deadline) {
		LONG left = (LONG)(deadline_tick - GetTickCount());
		timeout = left > 0 ? (DWORD)left : 0;
	}
	r = WaitForMultipleObjects(2, objs, FALSE, timeout);
	if (r != WAIT_OBJECT_0) {
		/* Cancel and wait for the driver to complete the IRP: its
		 * buffer must stay valid until then. */
		*stopped = TRUE;
		CancelIoEx(dev, ov);
	}
	if (GetOverlappedResult(dev, ov, bytes, TRUE))
		return TRUE;
	return FALSE;
}

static BOOL send_deny(HANDLE dev, const struct options *o)
{
	OVERLAPPED ov = { 0 };
	DWORD bytes = 0, len = o->deny ? (DWORD)((o->deny_chars + 1) * sizeof(WCHAR)) : 0;
	BOOL ok, stopped;

	ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
	if (!ov.hEvent)
		return FALSE;
	ok = DeviceIoControl(dev, KSM_IOCTL_SET_DENY_LIST, o->deny, len, NULL, 0, NULL, &ov);
	if (!ok && GetLastError() == ERROR_IO_PENDING)
		ok = wait_io(dev, &ov, 0, FALSE, &bytes, &stopped);
	if (!ok)
		print_error("cannot set the deny list", GetLastError());
	CloseHandle(ov.hEvent);
	return ok;
}

/* ---- NT paths ---- */

static struct ksm_ntpaths g_paths;

static void load_dos_devices(void)
{
	WCHAR drives[512], target[1024], dir[MAX_PATH];
	DWORD n = GetLogicalDriveStringsW(ARRAYSIZE(drives), drives);

	for (WCHAR *d = drives; n && n < ARRAYSIZE(drives) && *d; d += wcslen(d) + 1) {
		WCHAR name[3] = { d[0], L':', 0 };
		/* A drive may have several targets; the first is current. */
		if (QueryDosDeviceW(name, target, ARRAYSIZE(target)))
			ksm_ntpaths_add(&g_paths, (const uint16_t *)target, (const uint16_t *)name);
	}
	n = GetWindowsDirectoryW(dir, ARRAYSIZE(dir));
	if (n && n < ARRAYSIZE(dir))
		ksm_ntpaths_set_systemroot(&g_paths, (const uint16_t *)dir);
}

/* Rewrites one UTF-16 string of the event to its drive-letter form,
 * using storage for the new text. */
static void convert_text(struct ksm_text *t, uint16_t *storage, size_t cap)
{
	size_t n;

	if (!t->present || !t->utf16 || t->len < 2)
		return;
	/* Records are 8-byte aligned in the read buffer, strings 2-byte. */
	n = ksm_ntpath_convert(&g_paths, (const uint16_t *)t->data, t->len / 2, storage, cap);
	if (n) {
		t->data = (const uint8_t *)storage;
		t->len = (uint32_t)(n * 2);
	}
}

static void convert_paths(struct ksm_event *ev, uint16_t *storage, size_t cap)
{
	switch (ev->type) {
	case KSM_EV_PROCESS_CREATE:
		convert_text(&ev->u.create.image, storage, cap);
		break;
	case KSM_EV_IMAGE_LOAD:
		convert_text(&ev->u.image.path, storage, cap);
		break;
	case KSM_EV_EXEC_BLOCKED:
		convert_text(&ev->u.blocked.path, storage, cap);
		break;
	default:
		break;
	}
}

/* ---- the read loop ---- */

struct reader {
	HANDLE dev;
	uint8_t *buf;
	DWORD cap;
	uint16_t *path; /* converted path storage */
	size_t path_cap;
	struct ksm_buf out;
	long long printed;
	long long malformed;
};

/* Prints the records in buf[0..len); FALSE when the count is reached. */
static BOOL print_records(struct reader *r, DWORD len, const struct options *o)
{
	DWORD off = 0;

	while (off < len) {
		struct ksm_event ev;
		enum ksm_decode_status st = ksm_decode(r->buf + off, len - off, 0, &ev);

		if (st != KSM_DECODE_OK) {
			/* The rest of this read cannot be framed any more. */
			fprintf(stderr, "ksysmon: malformed record: %s\n", ksm_decode_strerror(st));
			r->malformed++;
			break;
		}
		off += ev.size;
		convert_paths(&ev, r->path, r->path_cap);
		ksm_buf_reset(&r->out);
		if (o->json)
			ksm_format_json(&r->out, &ev);
		else
			ksm_format_text(&r->out, &ev);
		fwrite(r->out.data, 1, r->out.len, stdout);
		if (++r->printed == o->count)
			return FALSE;
	}
	fflush(stdout);
	return TRUE;
}

static BOOL grow(struct reader *r)
{
	uint8_t *p;

	if (r->cap >= 64u * 1024 * 1024)
		return FALSE;
	p = realloc(r->buf, r->cap * 2);
	if (!p)
		return FALSE;
	r->buf = p;
	r->cap *= 2;
	return TRUE;
}

/* Tells scripts that the client is parked in the driver. */
static void announce_waiting(const struct options *o)
{
	HANDLE f;

	if (o->verbose)
		fputs("ksysmon: waiting for records\n", stderr);
	if (!o->ready_file)
		return;
	f = CreateFileW(o->ready_file, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
			FILE_ATTRIBUTE_NORMAL, NULL);
	if (f == INVALID_HANDLE_VALUE)
		print_error("cannot create the ready file", GetLastError());
	else
		CloseHandle(f);
}

static int read_loop(struct reader *r, const struct options *o)
{
	OVERLAPPED ov = { 0 };
	DWORD deadline = GetTickCount() + o->duration_ms, bytes, err;
	BOOL has_deadline = o->duration_ms != INFINITE, stopped = FALSE, ok, announced = FALSE;
	int rc = EXIT_OK;

	ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
	if (!ov.hEvent)
		return EXIT_FAIL;
	while (o->count != 0 && r->printed != o->count) {
		ResetEvent(ov.hEvent);
		bytes = 0;
		ok = ReadFile(r->dev, r->buf, r->cap, NULL, &ov);
		err = ok ? 0 : GetLastError();
		if (!ok && err == ERROR_IO_PENDING) {
			if (!announced)
				announce_waiting(o);
			announced = TRUE;
			ok = wait_io(r->dev, &ov, deadline, has_deadline, &bytes, &stopped);
			if (o->verbose && ok && bytes)
				fprintf(stderr, "ksysmon: a waiting read completed (%lu bytes)\n",
					(unsigned long)bytes);
			err = ok ? 0 : GetLastError();
		} else if (ok) {
			GetOverlappedResult(r->dev, &ov, &bytes, FALSE);
		}
		if (stopped)
			break;
		if (!ok && err == ERROR_INSUFFICIENT_BUFFER && grow(r))
			continue;
		if (!ok) {
			print_error("read from \\\\.\\ksysmon failed", err);
			rc = EXIT_FAIL;
			break;
		}
		if (!print_records(r, bytes, o))
			break;
		if (r->out.failed) {
			fputs("ksysmon: out of memory\n", stderr);
			rc = EXIT_FAIL;
			break;
		}
	}
	fflush(stdout);
	CloseHandle(ov.hEvent);
	return rc;
}

static BOOL WINAPI on_ctrl(DWORD type)
{
	(void)type;
	SetEvent(g_stop);
	return TRUE;
}

int wmain(int argc, WCHAR **argv)
{
	struct options o = { 0 };
	struct reader r = { 0 };
	int rc = EXIT_OK;

	if (parse_args(argc, argv, &o) < 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	g_stop = CreateEventW(NULL, TRUE, FALSE, NULL);
	if (!g_stop)
		return EXIT_FAIL;
	SetConsoleCtrlHandler(on_ctrl, TRUE);
	r.dev = open_device(o.set_deny, &rc);
	if (!r.dev)
		goto out;
	if (o.set_deny && !send_deny(r.dev, &o)) {
		rc = EXIT_FAIL;
		goto out;
	}
	if (o.set_only)
		goto out;
	load_dos_devices();
	r.cap = KSM_READ_MIN_BUFFER;
	r.buf = malloc(r.cap);
	r.path_cap = 32768 + MAX_PATH;
	r.path = malloc(r.path_cap * sizeof(uint16_t));
	if (!r.buf || !r.path) {
		fputs("ksysmon: out of memory\n", stderr);
		rc = EXIT_FAIL;
		goto out;
	}
	rc = read_loop(&r, &o);
	if (o.verbose)
		fprintf(stderr, "ksysmon: exiting after %lld records\n", r.printed);
out:
	ksm_buf_free(&r.out);
	free(r.buf);
	free(r.path);
	free(o.deny);
	if (r.dev)
		CloseHandle(r.dev);
	CloseHandle(g_stop);
	return rc;
}
