// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * --syslog's transport: the messages of syslog_format.c to a syslog
 * server over a unix, TCP or UDP socket.
 *
 * The event loop calls ksm_syslog_send, so nothing may block it
 * for long.  TCP frames are queued and sent together by ksm_syslog_flush,
 * once per batch of events (or every KSM_SYSLOG_BATCH_BYTES); datagrams go
 * one by one.  Sends have a 1 s timeout; a message that cannot be sent is
 * counted as dropped and the connection is closed, and a new one is tried
 * at most once per second (without waiting for a TCP handshake longer
 * than 100 ms).  Until then messages are dropped without any waiting.
 * A datagram too big for the socket (EMSGSIZE) is sent once more in a
 * shortened form, every value and MSG cut to KSM_SYSLOG_SHORT_VALUE bytes
 * and truncated="true" added, rather than lost: padding the arguments must
 * not be a way to hide an execution.
 */
#include "sinks/syslog.h"

#include "core/clock.h"
#include "core/errmsg.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define SEND_TIMEOUT_MS 1000
#define RETRY_INTERVAL_MS 1000
#define OPEN_CONNECT_MS 3000
#define RETRY_CONNECT_MS 100
#define CLOSE_FLUSH_MS 1000
#define KSM_SYSLOG_BATCH_BYTES (256u << 10) /* TCP frames sent at once, at most */

/* ---- targets ----------------------------------------------------------- */

enum transport { T_UNIX, T_TCP, T_UDP };

struct target {
	enum transport kind;
	char host[256];
	char port[6];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static const char *transport_name(enum transport t)
{
	return t == T_UNIX ? "unix" : t == T_TCP ? "tcp" : "udp";
}

/* 1..65535, decimal digits only (getaddrinfo would also take names). */
static int parse_port(const char *s, char out[6])
{
	size_t n = strlen(s);
	unsigned long v = 0;
	if (n == 0 || n > 5 || strspn(s, "0123456789") != n)
		return -1;
	v = strtoul(s, NULL, 10);
	if (v < 1 || v > 65535)
		return -1;
	snprintf(out, 6, "%lu", v);
	return 0;
}

/* HOST:PORT, HOST a name, an IPv4 address or a bracketed IPv6 address. */
static int parse_host_port(const char *target, const char *s, struct target *t, char *err,
			   size_t errlen)
{
	const char *host = s, *colon;
	size_t hlen;

	if (*s == '[') {
		const char *close = strchr(s, ']');
		if (!close)
			return ksm_fail(err, errlen, "syslog target \"%s\": missing ']' after IPv6 address", target);
		host = s + 1;
		hlen = (size_t)(close - host);
		colon = close + 1;
		if (*colon != ':')
			return ksm_fail(err, errlen, "syslog target \"%s\": expected ':PORT' after ']'", target);
	} else {
		colon = strchr(s, ':');
		if (!colon)
			return ksm_fail(err, errlen, "syslog target \"%s\": missing ':PORT'", target);
		if (strchr(colon + 1, ':'))
			return ksm_fail(err, errlen, "syslog target \"%s\": an IPv6 address needs brackets, as in [::1]:514", target);
		hlen = (size_t)(colon - host);
	}
	if (hlen == 0)
		return ksm_fail(err, errlen, "syslog target \"%s\": empty host", target);
	if (hlen >= sizeof(t->host))
		return ksm_fail(err, errlen, "syslog target \"%s\": host name too long", target);
	if (memchr(host, '[', hlen) || memchr(host, ']', hlen) || memchr(host, '/', hlen))
		return ksm_fail(err, errlen, "syslog target \"%s\": bad host", target);
	memcpy(t->host, host, hlen);
	t->host[hlen] = '\0';
	if (parse_port(colon + 1, t->port))
		return ksm_fail(err, errlen, "syslog target \"%s\": port must be a number from 1 to 65535", target);
	return 0;
}

static int parse_target(const char *target, struct target *t, char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	if (!target)
		target = KSM_SYSLOG_DEFAULT;
	if (!strncmp(target, "unix:", 5)) {
		size_t n = strlen(target + 5);
		t->kind = T_UNIX;
		if (n == 0)
			return ksm_fail(err, errlen, "syslog target \"%s\": empty socket path", target);
		if (n >= sizeof(t->path))
			return ksm_fail(err, errlen, "syslog target \"%s\": socket path longer than %zu bytes", target, sizeof(t->path) - 1);
		memcpy(t->path, target + 5, n + 1);
		return 0;
	}
	t->kind = T_TCP;
	if (!strncmp(target, "tcp:", 4))
		return parse_host_port(target, target + 4, t, err, errlen);
	if (!strncmp(target, "udp:", 4)) {
		t->kind = T_UDP;
		return parse_host_port(target, target + 4, t, err, errlen);
	}
	if (!*target)
		return ksm_fail(err, errlen, "empty syslog target: expected unix:PATH, HOST:PORT, tcp:HOST:PORT or udp:HOST:PORT");
	return parse_host_port(target, target, t, err, errlen);
}

int ksm_syslog_check(const char *target, char *err, size_t errlen)
{
	struct target t;
	return parse_target(target, &t, err, errlen);
}

/* ---- the connection ---------------------------------------------------- */

enum state { S_DOWN, S_CONNECTING, S_UP };

struct ksm_syslog {
	struct target target;
	char name[300]; /* for messages: unix:PATH, tcp:HOST:PORT ... */
	struct sockaddr_storage addr; /* resolved once, at open */
	socklen_t addrlen;
	int fd;
	enum state state;
	uint64_t next_try_ms; /* monotonic: no new connection before this */
	char hostname[KSM_SYSLOG_HOSTNAME_MAX + 1];
	uint32_t procid;
	struct ksm_buf msg;
	struct ksm_buf frames; /* TCP: frames not yet sent */
	uint64_t pending;      /* messages in frames */
	struct ksm_syslog_stats st;
};

static uint64_t now_ms(void)
{
	return ksm_monotonic_ns() / 1000000u;
}

static int sock_type(const struct ksm_syslog *s)
{
	return s->target.kind == T_TCP ? SOCK_STREAM : SOCK_DGRAM;
}

static void drop_connection(struct ksm_syslog *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->state = S_DOWN;
}

/* Blocking again, with the send timeout that bounds every send. */
static int make_ready(struct ksm_syslog *s)
{
	struct timeval tv = { .tv_sec = SEND_TIMEOUT_MS / 1000,
			      .tv_usec = SEND_TIMEOUT_MS % 1000 * 1000 };
	int fl = fcntl(s->fd, F_GETFL);
	if (fl < 0 || fcntl(s->fd, F_SETFL, fl & ~O_NONBLOCK) < 0 ||
	    setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return -1;
	s->state = S_UP;
	return 0;
}

/* A connection under way: done within wait_ms?  0: up; -1 with errno:
 * failed (ETIMEDOUT if still pending, the connection kept). */
static int finish_connect(struct ksm_syslog *s, int wait_ms)
{
	struct pollfd p = { .fd = s->fd, .events = POLLOUT };
	int soerr = 0;
	socklen_t len = sizeof(soerr);
	int n;

	do
		n = poll(&p, 1, wait_ms);
	while (n < 0 && errno == EINTR);
	if (n == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (n < 0 || getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		goto fail;
	if (soerr) {
		errno = soerr;
		goto fail;
	}
	if (make_ready(s) == 0)
		return 0;
fail:
	n = errno;
	drop_connection(s);
	errno = n;
	return -1;
}

/* Starts a connection to the resolved address, waiting at most wait_ms
 * for a TCP handshake; 0: up, -1 with errno otherwise. */
static int start_connect(struct ksm_syslog *s, int wait_ms)
{
	int saved;

	s->fd = socket(s->addr.ss_family, sock_type(s) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->fd < 0)
		return -1;
	if (connect(s->fd, (struct sockaddr *)&s->addr, s->addrlen) == 0)
		return make_ready(s);
	if (errno != EINPROGRESS)
		goto fail;
	s->state = S_CONNECTING;
	return finish_connect(s, wait_ms);
fail:
	saved = errno;
	drop_connection(s);
	errno = saved;
	return -1;
}

/* Up, or trying to be, without waiting long; false: drop the message. */
static bool connection_ready(struct ksm_syslog *s)
{
	uint64_t now;

	if (s->state == S_UP)
		return true;
	if (s->state == S_CONNECTING && finish_connect(s, 0) == 0)
		return true;
	now = now_ms();
	if (now < s->next_try_ms)
		return false;
	/* a handshake still pending after a retry interval is given up */
	drop_connection(s);
	s->next_try_ms = now + RETRY_INTERVAL_MS;
	return start_connect(s, RETRY_CONNECT_MS) == 0;
}

/* A syslog server never sends anything: a readable TCP socket means the
 * server closed it.  Checked before a send, which would otherwise succeed
 * once into the dead connection and lose that message. */
static bool peer_closed(const struct ksm_syslog *s)
{
	struct pollfd p = { .fd = s->fd, .events = POLLIN };
	char c;

	if (s->target.kind != T_TCP || poll(&p, 1, 0) <= 0)
		return false;
	return recv(s->fd, &c, 1, MSG_DONTWAIT | MSG_PEEK) <= 0 ||
	       (p.revents & (POLLERR | POLLHUP));
}

/* Sends every byte of iov (a TCP frame); -1 on error or timeout. */
static int send_all(int fd, struct iovec *iov, int n)
{
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n };

	while (mh.msg_iovlen) {
		ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		while (mh.msg_iovlen && (size_t)w >= mh.msg_iov->iov_len) {
			w -= (ssize_t)mh.msg_iov->iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen) {
			mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + w;
			mh.msg_iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* RFC 6587 3.4.1 octet counting: "LEN SP MSG", queued for the next flush. */
static void queue_frame(struct ksm_syslog *s)
{
	char len[24];
	int n = snprintf(len, sizeof(len), "%zu ", s->msg.len);
	ksm_buf_put(&s->frames, len, (size_t)n);
	ksm_buf_put(&s->frames, s->msg.data, s->msg.len);
	s->pending++;
}

/* After a failed send: start afresh later. */
static void give_up_connection(struct ksm_syslog *s)
{
	drop_connection(s);
	s->next_try_ms = now_ms() + RETRY_INTERVAL_MS;
}

/* TCP frames go out together, once per batch of events: one system call
 * instead of one per event.  If the batch cannot be sent, every message in
 * it is counted as dropped (some may have reached the server). */
void ksm_syslog_flush(struct ksm_syslog *s)
{
	if (!s || !s->pending)
		return;
	bool ok = !s->frames.failed && connection_ready(s);
	if (ok && peer_closed(s)) {
		drop_connection(s);
		ok = connection_ready(s);
	}
	if (ok) {
		struct iovec iov = { s->frames.data, s->frames.len };
		ok = send_all(s->fd, &iov, 1) == 0;
		if (!ok)
			give_up_connection(s);
	}
	if (ok)
		s->st.sent += s->pending;
	else
		s->st.dropped += s->pending;
	s->pending = 0;
	ksm_buf_reset(&s->frames);
	s->frames.failed = false;
}

static int send_datagram(struct ksm_syslog *s, const struct ksm_event *ev)
{
	ssize_t w;

	do
		w = send(s->fd, s->msg.data, s->msg.len, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w >= 0 || errno != EMSGSIZE)
		return w < 0 ? -1 : 0;
	ksm_buf_reset(&s->msg);
	ksm_syslog_format_short(&s->msg, ev, s->hostname, s->procid);
	if (s->msg.failed)
		return -1;
	do
		w = send(s->fd, s->msg.data, s->msg.len, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	return w < 0 ? -1 : 0;
}

void ksm_syslog_send(struct ksm_syslog *s, const struct ksm_event *ev)
{
	int rc;

	if (!s)
		return;
	ksm_buf_reset(&s->msg);
	ksm_syslog_format(&s->msg, ev, s->hostname, s->procid);
	if (s->msg.failed)
		goto dropped;
	if (s->target.kind == T_TCP) {
		queue_frame(s);
		if (s->frames.len >= KSM_SYSLOG_BATCH_BYTES)
			ksm_syslog_flush(s);
		return;
	}
	if (!connection_ready(s))
		goto dropped;
	rc = send_datagram(s, ev);
	if (rc < 0) {
		give_up_connection(s);
		goto dropped;
	}
	s->st.sent++;
	return;
dropped:
	s->st.dropped++;
}

/* ---- open and close ---------------------------------------------------- */

static int resolve_unix(struct ksm_syslog *s)
{
	struct sockaddr_un *un = (struct sockaddr_un *)&s->addr;
	un->sun_family = AF_UNIX;
	memcpy(un->sun_path, s->target.path, strlen(s->target.path) + 1);
	s->addrlen = (socklen_t)sizeof(*un);
	return 0;
}

/* At open a connection must be up within OPEN_CONNECT_MS, or it fails. */
static int open_connect(struct ksm_syslog *s)
{
	int saved;

	if (start_connect(s, OPEN_CONNECT_MS) == 0)
		return 0;
	saved = errno;
	drop_connection(s); /* also one still pending */
	errno = saved;
	return -1;
}

/* Tries the addresses of HOST in turn; the first that connects is kept
 * for reconnections, so that no name lookup happens in the event loop. */
static int resolve_connect(struct ksm_syslog *s, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = sock_type(s), .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	int rc, last = 0;

	rc = getaddrinfo(s->target.host, s->target.port, &hints, &res);
	if (rc)
		return ksm_fail(err, errlen, "syslog %s: cannot resolve %s: %s", s->name,
				s->target.host, rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
	rc = -1;
	for (struct addrinfo *ai = res; ai && rc; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(s->addr))
			continue;
		memcpy(&s->addr, ai->ai_addr, ai->ai_addrlen);
		s->addrlen = ai->ai_addrlen;
		rc = open_connect(s);
		if (rc)
			last = errno;
	}
	freeaddrinfo(res);
	if (rc)
		return ksm_fail(err, errlen, "syslog %s: cannot connect: %s", s->name,
				strerror(last ? last : EADDRNOTAVAIL));
	return 0;
}

static void set_identity(struct ksm_syslog *s)
{
	if (gethostname(s->hostname, sizeof(s->hostname)) < 0)
		s->hostname[0] = '\0';
	s->hostname[sizeof(s->hostname) - 1] = '\0';
	s->procid = (uint32_t)getpid();
}

int ksm_syslog_open(struct ksm_syslog **out, const char *target, char *err, size_t errlen)
{
	struct ksm_syslog *s = calloc(1, sizeof(*s));
	int rc = -1;

	*out = NULL;
	if (!s)
		return ksm_fail(err, errlen, "syslog: out of memory");
	s->fd = -1;
	if (!target)
		target = KSM_SYSLOG_DEFAULT;
	if (parse_target(target, &s->target, err, errlen))
		goto cleanup;
	if (s->target.kind == T_UNIX)
		snprintf(s->name, sizeof(s->name), "%s", target);
	else
		snprintf(s->name, sizeof(s->name), "%s:%s:%s", transport_name(s->target.kind),
			 s->target.host, s->target.port);
	set_identity(s);
	if (s->target.kind == T_UNIX) {
		resolve_unix(s);
		if (open_connect(s)) {
			rc = ksm_fail(err, errlen, "syslog %s: cannot connect: %s", s->name,
				      strerror(errno));
			goto cleanup;
		}
	} else if (resolve_connect(s, err, errlen)) {
		goto cleanup;
	}
	*out = s;
	return 0;
cleanup:
	ksm_syslog_close(s);
	return rc;
}

void ksm_syslog_stats(const struct ksm_syslog *s, struct ksm_syslog_stats *st)
{
	*st = s ? s->st : (struct ksm_syslog_stats){ 0 };
}

/* TCP: half-close and wait (a bounded time) for the server to close its
 * end, which it does after reading everything sent before. */
static void flush_tcp(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t end = now_ms() + CLOSE_FLUSH_MS;
	char junk[256];

	if (shutdown(fd, SHUT_WR) < 0)
		return;
	for (uint64_t now = now_ms(); now < end; now = now_ms()) {
		int n = poll(&p, 1, (int)(end - now));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || recv(fd, junk, sizeof(junk), MSG_DONTWAIT) <= 0)
			return;
	}
}

void ksm_syslog_close(struct ksm_syslog *s)
{
	if (!s)
		return;
	ksm_syslog_flush(s);
	if (s->state == S_UP && s->target.kind == T_TCP)
		flush_tcp(s->fd);
	drop_connection(s);
	ksm_buf_free(&s->msg);
	ksm_buf_free(&s->frames);
	free(s);
}
