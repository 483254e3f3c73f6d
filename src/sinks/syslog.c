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
 *
 * A TCP message is counted as sent once the server's TCP acknowledged it
 * (SIOCOUTQ: the bytes written that are not acknowledged yet); until then
 * it is waiting.  A connection that fails with messages waiting loses
 * them: they are counted as dropped.  A syslog server never answers: one
 * that does (a RELP server answers plain frames with "serverclose" and
 * discards them) takes nothing, and what was written to it is dropped.
 *
 * The target's failures are said on stderr once when they start (the
 * first message dropped, or messages waiting unacknowledged for
 * STALL_MS), and once when it works again: a message delivered after
 * RECOVERY_MS without a failure (longer than the retry interval, so that
 * a UDP port nobody listens on, which takes one datagram after each
 * reconnection, is not said to work again every second).
 */
#include "sinks/syslog.h"

#include "core/clock.h"
#include "core/errmsg.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
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
#define STALL_MS 3000     /* messages waiting unacknowledged this long: failing */
#define ABORT_MS 10000    /* TCP_USER_TIMEOUT: the kernel ends the connection then */
#define RECOVERY_MS 2000  /* no failure for this long, and a delivery: working again */
#define KSM_SYSLOG_BATCH_BYTES (256u << 10) /* TCP frames sent at once, at most */
/* TCP messages waiting for their acknowledgement, each known by its end:
 * the send buffer (SNDBUF) holds fewer of the shortest messages */
#define IN_FLIGHT 8192
#define SNDBUF (512u << 10)

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

/* ---- the state ------------------------------------------------------- */

enum state { S_DOWN, S_CONNECTING, S_UP };

/* TCP messages written and not yet acknowledged, oldest first */
struct in_flight {
	struct {
		uint64_t end;  /* bytes written on the connection up to its end */
		uint64_t msgs;
		uint64_t at_ms; /* when written */
	} b[IN_FLIGHT];
	unsigned head, n;
	uint64_t written; /* bytes written on this connection */
	uint64_t acked;   /* messages acknowledged, not yet confirmed */
};

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
	struct ksm_buf sizes;  /* their sizes (uint32_t each) */
	uint64_t pending;      /* messages in frames */
	struct in_flight fly;  /* TCP: sent, not yet acknowledged (st.waiting) */
	/* the current failure: since when, the last failure, drops before it */
	uint64_t fail_start_ms, last_fail_ms, dropped_before;
	bool delivered_since; /* a message delivered since the last failure */
	int last_error;       /* of the last failure */
	bool finished;        /* ksm_syslog_finish done: nothing more is sent */
	struct ksm_syslog_stats st;
};

/* Failures without an errno of their own. */
#define ANSWERED (-1) /* the server sent something: not a plain syslog receiver */
#define STALLED (-2)  /* messages waiting unacknowledged for STALL_MS */
#define UNACKED (-3)  /* messages not acknowledged when ksysmon stopped */
#define CLOSED (-4)   /* the server closed the connection */

static uint64_t now_ms(void)
{
	return ksm_monotonic_ns() / 1000000u;
}

static int sock_type(const struct ksm_syslog *s)
{
	return s->target.kind == T_TCP ? SOCK_STREAM : SOCK_DGRAM;
}

/* ---- failures and recoveries ---------------------------------------------- */

static void describe(const struct ksm_syslog *s, int error, char *buf, size_t len)
{
	if (error == CLOSED)
		snprintf(buf, len, "the server closed the connection");
	else if (error == ANSWERED)
		snprintf(buf, len, "the server answered (a syslog server never does: it takes no plain syslog messages, a RELP server?)");
	else if (error == STALLED)
		snprintf(buf, len, "the server acknowledged nothing for %d s (%llu messages waiting)",
			 STALL_MS / 1000, (unsigned long long)s->st.waiting);
	else if (error == UNACKED)
		snprintf(buf, len, "the server did not acknowledge %llu messages before ksysmon stopped",
			 (unsigned long long)s->st.waiting);
	else if (error == EAGAIN || error == EWOULDBLOCK)
		snprintf(buf, len, "the server took nothing for %d s", SEND_TIMEOUT_MS / 1000);
	else
		snprintf(buf, len, "%s", strerror(error));
}

/* The target fails (error: an errno, or one of the codes above): said
 * once, when it starts failing. */
static void failing(struct ksm_syslog *s, int error)
{
	char why[256];
	uint64_t now = now_ms();

	s->last_fail_ms = now;
	s->last_error = error;
	s->delivered_since = false;
	if (s->st.failing)
		return;
	s->st.failing = true;
	s->st.failures++;
	s->fail_start_ms = now;
	s->dropped_before = s->st.dropped;
	describe(s, error, why, sizeof(why));
	fprintf(stderr, "ksysmon: syslog %s is failing: %s; %s\n", s->name, why,
		error == STALLED ? "messages wait for it, and are counted as dropped if the connection ends"
				 : "its messages are counted as dropped until it works again (a connection is tried at most once a second)");
}

static void dropped(struct ksm_syslog *s, uint64_t n, int error)
{
	failing(s, error);
	s->st.dropped += n;
}

/* Working again: a message delivered, and no failure for RECOVERY_MS. */
static void check_recovered(struct ksm_syslog *s)
{
	uint64_t now = now_ms();

	if (!s->st.failing || !s->delivered_since || now - s->last_fail_ms < RECOVERY_MS)
		return;
	s->st.failing = false;
	fprintf(stderr, "ksysmon: syslog %s works again after %llu.%llu s: %llu messages dropped meanwhile (sent=%llu dropped=%llu in all)\n",
		s->name, (unsigned long long)((now - s->fail_start_ms) / 1000),
		(unsigned long long)((now - s->fail_start_ms) % 1000 / 100),
		(unsigned long long)(s->st.dropped - s->dropped_before),
		(unsigned long long)s->st.sent, (unsigned long long)s->st.dropped);
}

static void delivered(struct ksm_syslog *s, uint64_t n)
{
	s->st.sent += n;
	if (n)
		s->delivered_since = true;
}

/* ---- TCP messages on their way -------------------------------------------- */

/* A message of bytes written to the connection. */
static void in_flight_add(struct ksm_syslog *s, size_t bytes)
{
	struct in_flight *f = &s->fly;
	f->written += bytes;
	s->st.waiting++;
	if (f->n == IN_FLIGHT) { /* more than SNDBUF holds: the newest, acknowledged with it */
		unsigned last = (f->head + f->n - 1) % IN_FLIGHT;
		f->b[last].end = f->written;
		f->b[last].msgs++;
		return;
	}
	unsigned i = (f->head + f->n++) % IN_FLIGHT;
	f->b[i].end = f->written;
	f->b[i].msgs = 1;
	f->b[i].at_ms = now_ms();
}

/* The messages the server's TCP acknowledged (SIOCOUTQ: the bytes written
 * not yet acknowledged): delivered once a later look finds no answer from
 * the server (confirm). */
static void settle_acknowledged(struct ksm_syslog *s)
{
	struct in_flight *f = &s->fly;
	int outq;

	if (!f->n || s->fd < 0 || ioctl(s->fd, SIOCOUTQ, &outq) < 0 || outq < 0 ||
	    (uint64_t)outq > f->written)
		return;
	uint64_t acked = f->written - (uint64_t)outq;
	while (f->n && f->b[f->head].end <= acked) {
		f->acked += f->b[f->head].msgs;
		f->head = (f->head + 1) % IN_FLIGHT;
		f->n--;
	}
}

/* No answer came since they were acknowledged: delivered. */
static void confirm(struct ksm_syslog *s)
{
	delivered(s, s->fly.acked);
	s->st.waiting -= s->fly.acked;
	s->fly.acked = 0;
}

/* What is still waiting on a connection that ends is lost. */
static void lose_in_flight(struct ksm_syslog *s, int error)
{
	if (s->st.waiting)
		dropped(s, s->st.waiting, error);
	s->st.waiting = 0;
	s->fly.n = s->fly.head = 0;
	s->fly.written = s->fly.acked = 0;
}

/* ---- the connection ------------------------------------------------------ */

static void close_fd(struct ksm_syslog *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->state = S_DOWN;
}

/* Data the server has not acknowledged is discarded at the close (a
 * reset), never delivered later: what is counted as dropped stays so. */
static void abort_at_close(struct ksm_syslog *s)
{
	struct linger now = { .l_onoff = 1, .l_linger = 0 };
	if (s->fd >= 0 && s->target.kind == T_TCP)
		setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &now, sizeof(now));
}

/* The connection ends without an answer from the server: what it
 * acknowledged is delivered, the rest lost (error: why). */
static void end_connection(struct ksm_syslog *s, int error)
{
	settle_acknowledged(s);
	confirm(s);
	if (s->fly.n)
		abort_at_close(s);
	lose_in_flight(s, error);
	close_fd(s);
}

/* Blocking again, with the send timeout that bounds every send; TCP
 * data unacknowledged for ABORT_MS ends the connection. */
static int make_ready(struct ksm_syslog *s)
{
	struct timeval tv = { .tv_sec = SEND_TIMEOUT_MS / 1000,
			      .tv_usec = SEND_TIMEOUT_MS % 1000 * 1000 };
	unsigned abort_ms = ABORT_MS;
	int fl = fcntl(s->fd, F_GETFL);
	if (fl < 0 || fcntl(s->fd, F_SETFL, fl & ~O_NONBLOCK) < 0 ||
	    setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return -1;
	int sndbuf = SNDBUF;
	if (s->target.kind == T_TCP &&
	    (setsockopt(s->fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &abort_ms, sizeof(abort_ms)) < 0 ||
	     setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)) < 0))
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
	close_fd(s);
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
	close_fd(s);
	errno = saved;
	return -1;
}

/* Up, or trying to be, without waiting long; false: drop the message,
 * *error saying why. */
static bool connection_ready(struct ksm_syslog *s, int *error)
{
	uint64_t now;

	if (s->state == S_UP)
		return true;
	if (s->state == S_CONNECTING) {
		if (finish_connect(s, 0) == 0)
			return true;
		*error = errno; /* ETIMEDOUT: no answer yet */
	} else {
		*error = s->last_error ? s->last_error : ENOTCONN;
	}
	now = now_ms();
	if (now < s->next_try_ms)
		return false;
	/* a handshake still pending after a retry interval is given up */
	close_fd(s);
	s->next_try_ms = now + RETRY_INTERVAL_MS;
	if (start_connect(s, RETRY_CONNECT_MS) == 0)
		return true;
	*error = errno;
	return false;
}

/* A syslog server never sends anything: a readable TCP socket means the
 * server closed it, or answered (a RELP server's "serverclose").  Checked
 * before a send, which would otherwise succeed once into the dead
 * connection and lose that message.  0: neither; else ANSWERED, CLOSED,
 * or the errno of a broken connection. */
static int peer_state(const struct ksm_syslog *s)
{
	struct pollfd p = { .fd = s->fd, .events = POLLIN };
	char c;

	if (s->target.kind != T_TCP || s->state != S_UP || poll(&p, 1, 0) <= 0)
		return 0;
	ssize_t n = recv(s->fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);
	if (n > 0)
		return ANSWERED;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return (p.revents & (POLLERR | POLLHUP)) ? CLOSED : 0;
	return n < 0 ? errno : CLOSED;
}

/* Sends every byte of iov (TCP frames); -1 on error or timeout.  *done:
 * the bytes the connection took, also of a failed send. */
static int send_all(int fd, struct iovec *iov, int n, size_t *done)
{
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n };

	*done = 0;
	while (mh.msg_iovlen) {
		ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		*done += (size_t)w;
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
	uint32_t size = (uint32_t)((size_t)n + s->msg.len);
	ksm_buf_put(&s->frames, len, (size_t)n);
	ksm_buf_put(&s->frames, s->msg.data, s->msg.len);
	ksm_buf_put(&s->sizes, &size, sizeof(size));
	s->pending++;
}

/* After a failure: start afresh later; nothing written to this
 * connection and not acknowledged (a frame cut by a failed send too)
 * reaches the server after. */
static void give_up_connection(struct ksm_syslog *s, int error)
{
	abort_at_close(s);
	end_connection(s, error);
	s->next_try_ms = now_ms() + RETRY_INTERVAL_MS;
}

/* TCP: what the server did with the batches on their way: acknowledged
 * (delivered at the next look, if it did not answer meanwhile), answered
 * or reset (dropped: it took nothing, or not all), closed (the rest
 * lost), or nothing for STALL_MS (failing: they wait). */
static void check_tcp(struct ksm_syslog *s)
{
	int peer = peer_state(s);
	if (peer)
		s->last_error = peer; /* why, if it cannot connect again */
	/* an answer, or a reset (a server closing with data unread): what it
	 * acknowledged may not have been taken */
	if (peer && peer != CLOSED) {
		lose_in_flight(s, peer);
		give_up_connection(s, peer);
		return;
	}
	confirm(s);
	if (peer == CLOSED) { /* a plain close: it read what it acknowledged */
		end_connection(s, CLOSED);
		return;
	}
	settle_acknowledged(s);
	if (s->fly.n && now_ms() - s->fly.b[s->fly.head].at_ms >= STALL_MS)
		failing(s, STALLED);
}

/* TCP frames go out together, once per batch of events: one system call
 * instead of one per event.  If the batch cannot be sent, every message in
 * it is counted as dropped (some may have reached the server). */
static void send_batch(struct ksm_syslog *s)
{
	int error = ENOMEM;
	check_tcp(s);
	bool ok = !s->frames.failed && !s->sizes.failed && connection_ready(s, &error);
	if (ok) {
		struct iovec iov = { s->frames.data, s->frames.len };
		size_t done;
		ok = send_all(s->fd, &iov, 1, &done) == 0;
		if (!ok) { /* the part written counts in what the server may acknowledge */
			error = errno;
			s->fly.written += done;
			give_up_connection(s, error);
		}
	}
	if (ok) { /* each message acknowledged on its own */
		for (uint64_t i = 0; i < s->pending; i++) {
			uint32_t size;
			memcpy(&size, s->sizes.data + i * sizeof(size), sizeof(size));
			in_flight_add(s, size);
		}
	} else {
		dropped(s, s->pending, error);
	}
	s->pending = 0;
	ksm_buf_reset(&s->frames);
	ksm_buf_reset(&s->sizes);
	s->frames.failed = s->sizes.failed = false;
}

void ksm_syslog_flush(struct ksm_syslog *s)
{
	if (!s)
		return;
	if (s->target.kind == T_TCP) {
		if (s->pending)
			send_batch(s);
		else
			check_tcp(s);
		settle_acknowledged(s); /* confirmed at the next look */
	}
	check_recovered(s);
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
	if (s->msg.failed) {
		errno = ENOMEM;
		return -1;
	}
	do
		w = send(s->fd, s->msg.data, s->msg.len, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	return w < 0 ? -1 : 0;
}

void ksm_syslog_send(struct ksm_syslog *s, const struct ksm_event *ev)
{
	int error = ENOMEM;

	if (!s)
		return;
	ksm_buf_reset(&s->msg);
	ksm_syslog_format(&s->msg, ev, s->hostname, s->procid);
	if (s->msg.failed)
		goto dropped;
	if (s->target.kind == T_TCP) {
		queue_frame(s);
		if (s->frames.len >= KSM_SYSLOG_BATCH_BYTES)
			send_batch(s);
		return;
	}
	if (!connection_ready(s, &error))
		goto dropped;
	if (send_datagram(s, ev) < 0) {
		error = errno;
		give_up_connection(s, error);
		goto dropped;
	}
	delivered(s, 1);
	check_recovered(s);
	return;
dropped:
	dropped(s, 1, error);
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
	close_fd(s); /* also one still pending */
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

/* TCP, at the end: what is on its way acknowledged (within CLOSE_FLUSH_MS
 * in all), then a half-close and the server's close awaited, which it
 * does after reading everything sent before; an answer (not a close)
 * means it took nothing. */
static void flush_tcp(struct ksm_syslog *s)
{
	struct pollfd p = { .fd = s->fd, .events = POLLIN };
	uint64_t end = now_ms() + CLOSE_FLUSH_MS;
	char junk[256];

	while (s->fly.n && s->state == S_UP && now_ms() < end) {
		poll(NULL, 0, 10);
		check_tcp(s);
	}
	if (s->state != S_UP || shutdown(s->fd, SHUT_WR) < 0)
		return;
	for (uint64_t now = now_ms(); now < end; now = now_ms()) {
		int n = poll(&p, 1, (int)(end - now));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		ssize_t got = recv(s->fd, junk, sizeof(junk), MSG_DONTWAIT);
		if (got > 0) {
			lose_in_flight(s, ANSWERED);
			return;
		}
		if (got == 0 || errno != EAGAIN)
			return;
	}
}

void ksm_syslog_finish(struct ksm_syslog *s)
{
	if (!s || s->finished)
		return;
	ksm_syslog_flush(s);
	if (s->state == S_UP && s->target.kind == T_TCP)
		flush_tcp(s);
	end_connection(s, UNACKED);
	s->finished = true;
}

void ksm_syslog_close(struct ksm_syslog *s)
{
	if (!s)
		return;
	ksm_syslog_finish(s);
	ksm_buf_free(&s->msg);
	ksm_buf_free(&s->frames);
	ksm_buf_free(&s->sizes);
	free(s);
}
