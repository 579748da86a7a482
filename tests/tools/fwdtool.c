/* fwdtool.c - test peers for the forwarders: a many-connection echo server,
 * a client holding thousands of connections, and a PROXY v2 reader. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/*
 * fwdtool echo-server PORT
 *	echo every connection's bytes back; any number at once (epoll)
 * fwdtool storm ADDR PORT N BYTES
 *	open N connections, wait until all are established, then send BYTES
 *	distinct bytes on each and check each gets exactly its own back;
 *	prints "connected N", "echoed N", exits 0 only if all N were echoed
 * fwdtool proxy-server PORT
 *	for each connection read a PROXY v2 header and answer one line:
 *	"PROXY v2 SRC:PORT DST:PORT", or "BAD ..." naming what was wrong
 * fwdtool cps ADDR PORT CLIENTS SECONDS
 *	CLIENTS processes at once, each opening a connection to ADDR (IPv4
 *	or IPv6), sending a byte, reading the echo and closing, again and
 *	again for SECONDS; prints "connections N per_second R", exits 0
 *	only if every connection was echoed
 */

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int listen_on(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fd, 8192) < 0)
		die("bind/listen");
	return fd;
}

/* ---- echo-server ---- */

static void echo_one(int ep, int fd)
{
	char buf[65536];
	ssize_t n;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			ssize_t off = 0;

			/* blocking writes: the peers read as they send */
			fcntl(fd, F_SETFL, 0);
			while (off < n) {
				ssize_t w = write(fd, buf + off, n - off);

				if (w <= 0)
					break;
				off += w;
			}
			fcntl(fd, F_SETFL, O_NONBLOCK);
			continue;
		}
		if (n < 0 && errno == EAGAIN)
			return;
		epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
		close(fd);
		return;
	}
}

__attribute__((noreturn)) static void echo_server(int port)
{
	int lfd = listen_on(port), ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd };
	struct epoll_event evs[256];

	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd != lfd) {
				echo_one(ep, fd);
				continue;
			}
			fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
			if (fd < 0)
				continue;
			ev.events = EPOLLIN;
			ev.data.fd = fd;
			epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
		}
	}
}

/* ---- storm ---- */

struct sconn {
	int fd;
	size_t sent, got;
	bool up, done, bad;
};

static uint8_t pattern(int i, size_t off)
{
	return (uint8_t)(i * 131 + off * 7 + (off >> 8));
}

static void storm_io(struct sconn *c, int i, size_t bytes)
{
	uint8_t buf[16384];
	ssize_t n;

	while (c->sent < bytes) {
		size_t len = bytes - c->sent < sizeof(buf) ? bytes - c->sent
							   : sizeof(buf);

		for (size_t k = 0; k < len; k++)
			buf[k] = pattern(i, c->sent + k);
		n = write(c->fd, buf, len);
		if (n <= 0)
			break;
		c->sent += (size_t)n;
	}
	while ((n = read(c->fd, buf, sizeof(buf))) > 0) {
		for (ssize_t k = 0; k < n; k++)
			if (buf[k] != pattern(i, c->got + k))
				c->bad = true;
		c->got += (size_t)n;
	}
	if (n == 0 || (n < 0 && errno != EAGAIN) || c->got > bytes)
		c->bad = c->got != bytes || c->bad;
	if (c->got == bytes || c->bad)
		c->done = true;
}

static int storm_connect(struct sconn *cs, int n, const char *addr, int port,
			 int ep)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };

	if (inet_pton(AF_INET, addr, &a.sin_addr) != 1)
		die("address");
	for (int i = 0; i < n; i++) {
		struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN,
					  .data.u32 = i };

		cs[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (cs[i].fd < 0)
			die("socket");
		if (connect(cs[i].fd, (struct sockaddr *)&a, sizeof(a)) < 0 &&
		    errno != EINPROGRESS)
			die("connect");
		epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
	}
	return 0;
}

/* storm_wait_up() - until every connection is established, or 60 s */
static int storm_wait_up(struct sconn *cs, int n, int ep)
{
	struct epoll_event evs[512];
	int up = 0;
	time_t end = time(NULL) + 60;

	while (up < n && time(NULL) < end) {
		int k = epoll_wait(ep, evs, 512, 1000);

		for (int j = 0; j < k; j++) {
			struct sconn *c = &cs[evs[j].data.u32];
			int e = 0;
			socklen_t len = sizeof(e);

			if (c->up)
				continue;
			getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &len);
			c->up = true;
			if (e)
				c->bad = c->done = true;
			else
				up++;
			struct epoll_event ev = { .events = EPOLLIN,
						  .data.u32 = evs[j].data.u32 };
			epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
		}
	}
	return up;
}

/* storm_step() - storm_io() on a connection not done yet
 * Return: 1 if that finished it, 0 if not (or if it was done before) */
static int storm_step(struct sconn *c, int i, size_t bytes)
{
	if (c->done)
		return 0;
	storm_io(c, i, bytes);
	return c->done;
}

static int storm(const char *addr, int port, int n, size_t bytes)
{
	struct sconn *cs = calloc((size_t)n, sizeof(*cs));
	int ep = epoll_create1(0), up, left = n, ok = 0;
	struct epoll_event evs[512];
	time_t end;

	storm_connect(cs, n, addr, port, ep);
	up = storm_wait_up(cs, n, ep);
	printf("connected %d\n", up);
	fflush(stdout);
	/* All are open at once now; each sends and checks its echo. Every
	 * call that finishes a connection counts it, wherever it is made. */
	for (int i = 0; i < n; i++)
		left -= cs[i].done || storm_step(&cs[i], i, bytes);
	end = time(NULL) + 120;
	while (left > 0 && time(NULL) < end) {
		int k = epoll_wait(ep, evs, 512, 1000);

		for (int j = 0; j < k; j++)
			left -= storm_step(&cs[evs[j].data.u32],
					   (int)evs[j].data.u32, bytes);
		for (int i = 0; i < n; i++) /* writes left after EAGAIN */
			if (cs[i].sent < bytes)
				left -= storm_step(&cs[i], i, bytes);
	}
	for (int i = 0; i < n; i++)
		ok += cs[i].done && !cs[i].bad && cs[i].got == bytes;
	printf("echoed %d\n", ok);
	for (int i = 0; i < n; i++)
		close(cs[i].fd);
	free(cs);
	close(ep);
	return ok == n ? 0 : 1;
}

/* ---- proxy-server ---- */

static const uint8_t sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
				 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };

static bool read_full(int fd, uint8_t *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = read(fd, buf + off, len - off);

		if (n <= 0)
			return false;
		off += (size_t)n;
	}
	return true;
}

static void proxy_answer(int fd)
{
	uint8_t h[16], a[36];
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN], line[200];
	uint16_t len, sp, dp;
	int fam;

	if (!read_full(fd, h, 16) || memcmp(h, sig, 12)) {
		dprintf(fd, "BAD signature\n");
		return;
	}
	len = (uint16_t)(h[14] << 8 | h[15]);
	if (h[12] != 0x21 || (h[13] != 0x11 && h[13] != 0x21) ||
	    len > sizeof(a) || !read_full(fd, a, len)) {
		dprintf(fd, "BAD header %02x %02x %u\n", h[12], h[13], len);
		return;
	}
	fam = h[13] == 0x11 ? AF_INET : AF_INET6;
	inet_ntop(fam, a, s, sizeof(s));
	inet_ntop(fam, a + (fam == AF_INET ? 4 : 16), d, sizeof(d));
	memcpy(&sp, a + (fam == AF_INET ? 8 : 32), 2);
	memcpy(&dp, a + (fam == AF_INET ? 10 : 34), 2);
	snprintf(line, sizeof(line), "PROXY v2 %s:%u %s:%u\n", s, ntohs(sp), d,
		 ntohs(dp));
	if (write(fd, line, strlen(line)) < 0)
		perror("write");
}

__attribute__((noreturn)) static void proxy_server(int port)
{
	int lfd = listen_on(port);

	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		proxy_answer(fd);
		close(fd);
	}
}

/* cps_one() - one connection: a byte there and back; false on failure */
static bool cps_one(const struct sockaddr_storage *sa, socklen_t len)
{
	int fd = socket(sa->ss_family, SOCK_STREAM, 0);
	char c = 'x';
	bool ok;

	if (fd < 0)
		return false;
	ok = connect(fd, (const struct sockaddr *)sa, len) == 0 &&
	     write(fd, &c, 1) == 1 && read(fd, &c, 1) == 1 && c == 'x';
	close(fd);
	return ok;
}

/* cps_client() - connections until @secs have passed; the count, or -1 */
static long cps_client(const struct sockaddr_storage *sa, socklen_t len,
		       double secs)
{
	struct timespec t0, t;
	long n = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		if (!cps_one(sa, len))
			return -1;
		n++;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((double)(t.tv_sec - t0.tv_sec) +
		     (double)(t.tv_nsec - t0.tv_nsec) / 1e9 <
		 secs);
	return n;
}

static int cps(const char *addr, int port, int clients, double secs)
{
	struct sockaddr_storage sa = { 0 };
	struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa;
	socklen_t len = sizeof(*s4);
	long total = 0, n;
	int fds[2], i, bad = 0;

	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
	} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		len = sizeof(*s6);
	} else {
		fprintf(stderr, "fwdtool: %s is not an address\n", addr);
		return 2;
	}
	if (pipe(fds) < 0)
		die("pipe");
	for (i = 0; i < clients; i++) {
		if (fork() == 0) {
			n = cps_client(&sa, len, secs);
			if (write(fds[1], &n, sizeof(n)) != sizeof(n))
				_exit(1);
			_exit(0);
		}
	}
	close(fds[1]);
	for (i = 0; i < clients && read(fds[0], &n, sizeof(n)) == sizeof(n);
	     i++) {
		if (n < 0)
			bad = 1;
		else
			total += n;
	}
	printf("connections %ld per_second %.0f\n", total,
	       (double)total / secs);
	return bad || i < clients;
}

int main(int argc, char **argv)
{
	raise_nofile();
	if (argc == 3 && !strcmp(argv[1], "echo-server"))
		echo_server(atoi(argv[2]));
	if (argc == 6 && !strcmp(argv[1], "storm"))
		return storm(argv[2], atoi(argv[3]), atoi(argv[4]),
			     (size_t)atol(argv[5]));
	if (argc == 3 && !strcmp(argv[1], "proxy-server"))
		proxy_server(atoi(argv[2]));
	if (argc == 6 && !strcmp(argv[1], "cps"))
		return cps(argv[2], atoi(argv[3]), atoi(argv[4]),
			   atof(argv[5]));
	fprintf(stderr, "usage: fwdtool echo-server PORT | storm ADDR PORT N "
			"BYTES | proxy-server PORT | cps ADDR PORT CLIENTS "
			"SECONDS\n");
	return 2;
}
