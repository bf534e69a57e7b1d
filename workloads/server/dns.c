/* workloads/server/dns.c: greenbench-dns, a small authoritative DNS
 * responder for benchmarks and tests of resolvers.
 *
 *   greenbench-dns [--port P] [--delay-ms D] [--zone Z] [--nxdomain NAME]...
 *                  [--truncate] [--silent] [--private-net] [--exit-on-stdin-eof]
 *
 * Listens on 127.0.0.1 only, UDP and TCP on the same port (port 0: the
 * kernel picks), prints "dns://127.0.0.1:PORT" as its first stdout line, and
 * answers every name at or under the zone (default "test.") with an A
 * record in 127.0.0.0/8 or an AAAA record in fd00::/8 drawn from a hash of
 * the name, NODATA for other types, NXDOMAIN at or under each --nxdomain
 * name (default "nx." + zone) and REFUSED elsewhere (dns_wire.c). Each
 * answer leaves --delay-ms after its query arrived; --truncate makes every
 * UDP answer TC=1 and empty, so that a resolver asks again over TCP;
 * --silent reads queries and answers none. --private-net first moves it
 * into network and mount namespaces of its own (private_net.c) where it is
 * the resolver of /etc/resolv.conf, on port 53 unless --port says
 * otherwise: programs that join them resolve through it with getaddrinfo.
 * SIGTERM or SIGINT ends it
 * cleanly (exit 0), and so, with --exit-on-stdin-eof, does the end of its
 * stdin, as for greenbench-server.
 *
 * One thread, one libev loop on epoll. The delays are greenbench-server's:
 * every answer waiting out its delay sits in one min-heap by due time, and
 * one timerfd, set to the earliest, wakes the loop; an ev_timer per answer
 * would leave up to a millisecond late (libev's epoll backend waits in
 * whole milliseconds, rounded up). A delayed answer is built when its query
 * arrives and kept whole, so a burst of a thousand queries is a thousand
 * heap entries of a few hundred bytes. Over TCP each message has its 2-byte
 * length (RFC 1035 4.2.2); a connection may carry any number of queries,
 * arrive in any pieces, and is closed after 10 s without progress. Counts
 * go to stderr at exit. */
#include "server/delays.h"
#include "server/ending.h"
#include "server/dns_wire.h"
#include "server/private_net.h"
#include "server/shedding.h"
#include "server/request.h"
#include "option_error.h"

#include <ev.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_NXDOMAIN 64          /* --nxdomain names at most. */
#define UDP_PER_WAKE 256         /* Datagrams read per wake-up: let due answers and TCP run too. */
#define UDP_RCVBUF (4 << 20)     /* A burst of a thousand queries must not overflow the socket. */
#define TCP_IN_FIRST 1024        /* A connection's input buffer at first; it grows to one message. */
#define TCP_OUT_HIGH 65536       /* Unsent answer bytes past which a connection's queries wait. */
#define TCP_IDLE_S 10.0          /* Close a connection that made no progress for this long. */
#define RESOLVER_PORT 53         /* The only port getaddrinfo asks. */
#define BIND_TRIES 16            /* Kernel-picked UDP ports whose TCP twin may be taken. */

typedef struct tconn tconn;
struct tconn {
    ev_io io;                   /* Readable while it takes queries; writable while answers wait to go. */
    ev_timer idle;
    tconn *prev, *next;         /* In dns.conns while open. */
    int fd, events;
    bool eof;                   /* The client has stopped sending: close once all is answered. */
    bool closed;                /* fd closed; kept until its delayed answers are dropped. */
    size_t pending;             /* Its answers in the heap. */
    uint8_t *in;
    size_t in_len, in_cap;
    uint8_t *out;               /* Answers not yet written, with their length prefixes. */
    size_t out_len, out_cap;
};

/* An answer waiting for its due time: to a UDP peer, or to a TCP connection. */
typedef struct outgoing {
    delay_entry delay;          /* When it leaves, in dns.delays. */
    tconn *conn;                /* NULL: over UDP, to peer. */
    struct sockaddr_in peer;
    int rcode;
    bool truncated;
    uint16_t len;
    uint8_t msg[DNS_ANSWER_MAX];
} outgoing;

static struct {
    long long delay_ms;
    int port;
    bool truncate, silent, private_net, exit_on_stdin_eof;
    dns_name zone, nx[MAX_NXDOMAIN];
    size_t n_nx;
    dns_policy policy;
    struct ev_loop *loop;
    int udp_fd, tcp_fd;
    ev_io udp_io, tcp_io;
    accept_pause tcp_pause; /* Out of descriptors: shed, pause accepting. */
    server_ending ending; /* SIGTERM, SIGINT, and stdin with --exit-on-stdin-eof. */
    tconn *conns;
    delays delays;
    ev_io delays_io; /* On delays.timer_fd. */
    /* For the line at exit. dropped: queries never answered (malformed,
     * --silent, a send that failed, a connection gone before its answer). */
    long long udp_queries, tcp_queries, answered, nxdomain, truncated, dropped;
} dns = { .udp_fd = -1, .tcp_fd = -1, .delays.timer_fd = -1, .tcp_pause.spare_fd = -1 };

static void on_conn_io(struct ev_loop *loop, ev_io *w, int revents);
static void on_conn_idle(struct ev_loop *loop, ev_timer *w, int revents);

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- TCP connections ---- */

static tconn *conn_new(int fd)
{
    tconn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->in = malloc(TCP_IN_FIRST);
    if (c->in == NULL) {
        free(c);
        return NULL;
    }
    c->in_cap = TCP_IN_FIRST;
    c->fd = fd;
    c->next = dns.conns;
    if (dns.conns != NULL)
        dns.conns->prev = c;
    dns.conns = c;
    ev_init(&c->io, on_conn_io);
    ev_init(&c->idle, on_conn_idle);
    c->idle.repeat = TCP_IDLE_S;
    ev_timer_again(dns.loop, &c->idle);
    return c;
}

static void conn_free(tconn *c)
{
    free(c->in);
    free(c->out);
    free(c);
}

/* Close c's socket now; its memory goes once no delayed answer points at it. */
static void conn_close(tconn *c)
{
    ev_io_stop(dns.loop, &c->io);
    ev_timer_stop(dns.loop, &c->idle);
    close(c->fd);
    c->closed = true;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        dns.conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    if (c->pending == 0)
        conn_free(c);
}

/* Wait for events on c's fd (0: stop waiting). */
static void conn_watch(tconn *c, int events)
{
    if (c->events == events)
        return;
    ev_io_stop(dns.loop, &c->io);
    c->events = events;
    if (events != 0) {
        ev_io_set(&c->io, c->fd, events);
        ev_io_start(dns.loop, &c->io);
    }
}

/* Read while the client is sending and its answers are not piling up;
 * write while answers wait. Closes c, and returns false, once the client
 * has stopped sending and has every answer. */
static bool conn_rewatch(tconn *c)
{
    if (c->eof && c->pending == 0 && c->out_len == 0) {
        conn_close(c);
        return false;
    }
    bool reading = !c->eof && c->out_len < TCP_OUT_HIGH;
    conn_watch(c, (reading ? EV_READ : 0) | (c->out_len > 0 ? EV_WRITE : 0));
    return true;
}

/* Write what can be written now. Returns false if c was closed. */
static bool conn_flush(tconn *c)
{
    size_t sent = 0;
    while (sent < c->out_len) {
        ssize_t n = send(c->fd, c->out + sent, c->out_len - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        conn_close(c); /* EPIPE, ECONNRESET: the client left. */
        return false;
    }
    if (sent > 0) {
        memmove(c->out, c->out + sent, c->out_len - sent);
        c->out_len -= sent;
        ev_timer_again(dns.loop, &c->idle);
    }
    return conn_rewatch(c);
}

/* Queue one answer on c, its length first, for conn_flush. Returns false
 * if out of memory. */
static bool conn_queue(tconn *c, const uint8_t *msg, size_t len)
{
    if (c->out_len + 2 + len > c->out_cap) {
        size_t cap = c->out_cap ? 2 * c->out_cap : 1024;
        while (cap < c->out_len + 2 + len)
            cap *= 2;
        uint8_t *out = realloc(c->out, cap);
        if (out == NULL)
            return false;
        c->out = out;
        c->out_cap = cap;
    }
    c->out[c->out_len] = (uint8_t)(len >> 8);
    c->out[c->out_len + 1] = (uint8_t)len;
    memcpy(c->out + c->out_len + 2, msg, len);
    c->out_len += 2 + len;
    return true;
}

/* ---- answers ---- */

static void count_sent(int rcode, bool truncated)
{
    dns.answered++;
    dns.nxdomain += rcode == DNS_NXDOMAIN;
    dns.truncated += truncated;
}

/* Send p's answer now, to its peer or onto its connection. Returns false
 * if its connection is closed (or was already): it is not to be touched. */
static bool deliver(const outgoing *p)
{
    tconn *c = p->conn;
    if (c == NULL) {
        /* A UDP socket whose buffer is full drops, as the network would. */
        if (sendto(dns.udp_fd, p->msg, p->len, MSG_DONTWAIT, (const struct sockaddr *)&p->peer,
                   sizeof p->peer) < 0)
            dns.dropped++;
        else
            count_sent(p->rcode, p->truncated);
        return true;
    }
    if (c->closed) {
        dns.dropped++;
        return false;
    }
    if (!conn_queue(c, p->msg, p->len)) {
        dns.dropped++;
        return true;
    }
    count_sent(p->rcode, p->truncated);
    return conn_flush(c);
}

/* ---- delays ---- */

/* p waits until due_ns. Returns false if out of memory. */
static bool delay_add(outgoing *p, long long due_ns)
{
    if (!delays_add(&dns.delays, &p->delay, due_ns))
        return false;
    if (p->conn != NULL)
        p->conn->pending++;
    return true;
}

/* An answer taken out of the delays: its connection no longer waits on it,
 * and one that has closed goes with its last answer. */
static outgoing *delay_taken(delay_entry *e)
{
    outgoing *p = (outgoing *)((char *)e - offsetof(outgoing, delay));
    if (p->conn != NULL && --p->conn->pending == 0 && p->conn->closed) {
        conn_free(p->conn);
        p->conn = NULL;
        p->rcode = -1; /* Marks it as bound for a connection that is gone. */
    }
    return p;
}

/* The timerfd fired: send every answer now due, then set the timerfd to
 * the next one. */
static void on_delays_due(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    delays_timer_fired(&dns.delays);
    delay_entry *e;
    while ((e = delays_next_due(&dns.delays, now_ns())) != NULL) {
        /* Its connection's count is down already: the last answer out
         * closes a connection whose client has stopped sending. */
        outgoing *p = delay_taken(e);
        if (p->rcode < 0)
            dns.dropped++;
        else
            deliver(p);
        free(p);
    }
    delays_rearm(&dns.delays);
}

/* ---- queries ---- */

/* One query has arrived, over TCP on conn or (conn NULL) over UDP from
 * peer: answer it, now or after the delay, or drop it. Returns false if
 * conn was closed. */
static bool take_query(const uint8_t *msg, size_t len, tconn *conn, const struct sockaddr_in *peer)
{
    /* Timed from now, not from when the loop woke: with a burst of
     * queries per wake-up those differ. */
    long long arrived = now_ns();
    dns_query q;
    if (dns.silent || dns_parse_query(msg, len, &q) != 0) {
        dns.dropped++;
        return true;
    }
    outgoing one, *p = &one;
    if (dns.delay_ms > 0 && (p = malloc(sizeof *p)) == NULL) {
        dns.dropped++;
        return true;
    }
    bool truncate = dns.truncate && conn == NULL;
    *p = (outgoing){ .conn = conn, .truncated = truncate };
    if (peer != NULL)
        p->peer = *peer;
    p->len = (uint16_t)dns_answer(&q, &dns.policy, truncate, p->msg, &p->rcode);
    if (p == &one)
        return deliver(p);
    if (!delay_add(p, arrived + dns.delay_ms * 1000000)) {
        free(p);
        dns.dropped++;
    }
    return true;
}

static void on_udp(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    /* Larger than any query: one that does not fit is no query of ours,
     * and MSG_TRUNC says so. */
    uint8_t msg[4096];
    for (int i = 0; i < UDP_PER_WAKE; i++) {
        struct sockaddr_in peer;
        socklen_t plen = sizeof peer;
        ssize_t n = recvfrom(w->fd, msg, sizeof msg, MSG_TRUNC, (struct sockaddr *)&peer, &plen);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return; /* EAGAIN: none left; anything else is a datagram's error (ICMP): nothing to do. */
        }
        dns.udp_queries++;
        if ((size_t)n > sizeof msg || plen != sizeof peer)
            dns.dropped++;
        else
            take_query(msg, (size_t)n, NULL, &peer);
    }
}

/* Answer every whole message in c's input. Returns false if c was closed. */
static bool take_messages(tconn *c)
{
    size_t at = 0;
    while (c->in_len - at >= 2) {
        size_t len = (size_t)c->in[at] << 8 | c->in[at + 1];
        if (c->in_len - at - 2 < len)
            break;
        dns.tcp_queries++;
        if (!take_query(c->in + at + 2, len, c, NULL))
            return false;
        at += 2 + len;
    }
    memmove(c->in, c->in + at, c->in_len - at);
    c->in_len -= at;
    /* Room for the whole of the message begun: at most 2 + 65535 bytes. */
    if (c->in_len >= 2) {
        size_t need = 2 + ((size_t)c->in[0] << 8 | c->in[1]);
        if (need > c->in_cap) {
            uint8_t *in = realloc(c->in, need);
            if (in == NULL) {
                conn_close(c);
                return false;
            }
            c->in = in;
            c->in_cap = need;
        }
    }
    return true;
}

static void conn_read(tconn *c)
{
    for (;;) {
        ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
        if (n > 0) {
            c->in_len += (size_t)n;
            ev_timer_again(dns.loop, &c->idle);
            if (!take_messages(c))
                return;
            if (c->out_len >= TCP_OUT_HIGH)
                break;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0) {
            conn_close(c); /* A reset: nobody to answer. */
            return;
        }
        /* The end of its queries; a half of a message left over is dropped. */
        c->eof = true;
        break;
    }
    conn_rewatch(c);
}

static void on_conn_io(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    tconn *c = (tconn *)w; /* io is the first member. */
    if ((revents & EV_WRITE) && !conn_flush(c))
        return;
    if ((revents & EV_READ) && !c->eof && !c->closed)
        conn_read(c);
}

/* No progress for TCP_IDLE_S: close, unless answers are still waiting out their delay. */
static void on_conn_idle(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    tconn *c = (tconn *)((char *)w - offsetof(tconn, idle));
    if (c->pending > 0)
        ev_timer_again(loop, w);
    else
        conn_close(c);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    for (;;) {
        int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK &&
                !accept_pause_if_out_of_fds(&dns.tcp_pause, loop, errno, "greenbench-dns"))
                perror("greenbench-dns: accept4");
            return;
        }
        tconn *c = conn_new(fd);
        if (c == NULL) {
            close(fd);
            continue;
        }
        /* The query has usually come with the connection: read it now. */
        conn_read(c);
    }
}

/* ---- stopping ---- */

/* ---- options ---- */

static void usage(void)
{
    printf("usage: greenbench-dns [--port P] [--delay-ms D] [--zone Z] [--nxdomain NAME]...\n"
           "                      [--truncate] [--silent] [--private-net] [--exit-on-stdin-eof]\n"
           "Answers DNS over UDP and TCP on 127.0.0.1:P (P=0, the default: the kernel picks),\n"
           "printing dns://127.0.0.1:PORT as the first line. For names at or under the zone Z\n"
           "(default test.): A gets one address in 127.0.0.0/8 and AAAA one in fd00::/8, both\n"
           "from a hash of the name (stable, mostly distinct), other types no record\n"
           "(NODATA); names at or under --nxdomain NAME (repeatable, at most %d; default nx.Z)\n"
           "get NXDOMAIN, and names outside Z REFUSED. TTL %d s.\n"
           "--delay-ms sends every answer D milliseconds (default 0) after its query came.\n"
           "--truncate sends UDP answers with TC=1 and no records (TCP answers are whole).\n"
           "--silent reads queries and answers none.\n"
           "--private-net serves in network and mount namespaces of its own (as root, or in a\n"
           "user namespace where the kernel allows one), on port 53 unless --port is given, with\n"
           "/etc/resolv.conf there naming 127.0.0.1 only: a program that joins them (nsenter\n"
           "--target PID --net --mount, or setns) resolves through it with getaddrinfo.\n"
           "SIGTERM or SIGINT stops it; so does the end of its stdin, with --exit-on-stdin-eof.\n",
           MAX_NXDOMAIN, DNS_TTL);
}

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "greenbench-dns: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see greenbench-dns --help)\n");
    va_end(ap);
    return -1;
}

static int parse_name(const char *opt, const char *arg, dns_name *out)
{
    if (dns_name_from_text(arg, out) != 0)
        return usage_error("%s=%s: expected a domain name such as test. (labels of 1 to 63 bytes, "
                           "at most 253 characters)",
                           opt, arg);
    return 0;
}

static int parse_args(int argc, char **argv)
{
    enum {
        OPT_PORT = 256,
        OPT_DELAY_MS,
        OPT_ZONE,
        OPT_NXDOMAIN,
        OPT_TRUNCATE,
        OPT_SILENT,
        OPT_PRIVATE_NET,
        OPT_EXIT_ON_STDIN_EOF,
        OPT_HELP
    };
    static const struct option options[] = {
        { "port", required_argument, NULL, OPT_PORT },
        { "delay-ms", required_argument, NULL, OPT_DELAY_MS },
        { "zone", required_argument, NULL, OPT_ZONE },
        { "nxdomain", required_argument, NULL, OPT_NXDOMAIN },
        { "truncate", no_argument, NULL, OPT_TRUNCATE },
        { "silent", no_argument, NULL, OPT_SILENT },
        { "private-net", no_argument, NULL, OPT_PRIVATE_NET },
        { "exit-on-stdin-eof", no_argument, NULL, OPT_EXIT_ON_STDIN_EOF },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    opterr = 0;
    int c, at;
    bool port_given = false;
    dns_name_from_text("test.", &dns.zone);
    while ((c = getopt_long(argc, argv, ":h", options, &at)) != -1) {
        long long v, max;
        switch (c) {
        case OPT_PORT: max = 65535; break;
        case OPT_DELAY_MS: max = GB_MAX_DELAY_MS; break;
        case OPT_ZONE:
            if (parse_name("--zone", optarg, &dns.zone) != 0)
                return -1;
            continue;
        case OPT_NXDOMAIN:
            if (dns.n_nx == MAX_NXDOMAIN)
                return usage_error("--nxdomain: at most %d names", MAX_NXDOMAIN);
            if (parse_name("--nxdomain", optarg, &dns.nx[dns.n_nx]) != 0)
                return -1;
            dns.n_nx++;
            continue;
        case OPT_TRUNCATE: dns.truncate = true; continue;
        case OPT_SILENT: dns.silent = true; continue;
        case OPT_PRIVATE_NET: dns.private_net = true; continue;
        case OPT_EXIT_ON_STDIN_EOF: dns.exit_on_stdin_eof = true; continue;
        case 'h':
        case OPT_HELP: usage(); exit(0);
        default: { /* ':' or '?': a missing value, or an unknown option. */
            char why[160];
            option_error(why, sizeof why, c, argv);
            return usage_error("%s", why);
        }
        }
        if (!gb_parse_num(optarg, optarg + strlen(optarg), max, &v))
            return usage_error("--%s=%s: expected an integer from 0 to %lld", options[at].name, optarg,
                               max);
        if (c == OPT_PORT)
            dns.port = (int)v, port_given = true;
        else
            dns.delay_ms = v;
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (dns.private_net && !port_given)
        dns.port = RESOLVER_PORT;
    if (dns.n_nx == 0) {
        /* nx. + the zone: "nx" as one more label in front of it. */
        dns_name *nx = &dns.nx[dns.n_nx++];
        if (dns.zone.len + 3 > DNS_NAME_MAX)
            return usage_error("--zone: too long to have nx. under it; give --nxdomain");
        memcpy(nx->wire, "\2nx", 3);
        memcpy(nx->wire + 3, dns.zone.wire, dns.zone.len);
        nx->len = dns.zone.len + 3;
    }
    dns.policy = (dns_policy){ .zone = &dns.zone, .nx = dns.nx, .n_nx = dns.n_nx };
    return 0;
}

/* ---- setting up ---- */

/* A socket of type on 127.0.0.1:port. Returns it, or -errno. */
static int bind_loopback(int type, int port)
{
    int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    if (type == SOCK_STREAM)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = { .sin_family = AF_INET,
                                .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        (type == SOCK_STREAM && listen(fd, SOMAXCONN) != 0)) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

/* UDP and TCP on one port: --port, or one the kernel picks for UDP whose
 * TCP twin is free (another program may hold that one: then another UDP
 * port, a few times). Returns the port, or -1 having said why. */
static int bind_both(void)
{
    for (int i = 0; i < BIND_TRIES; i++) {
        dns.udp_fd = bind_loopback(SOCK_DGRAM, dns.port);
        if (dns.udp_fd < 0) {
            fprintf(stderr, "greenbench-dns: cannot bind UDP 127.0.0.1:%d: %s\n", dns.port,
                    strerror(-dns.udp_fd));
            return -1;
        }
        struct sockaddr_in addr;
        socklen_t alen = sizeof addr;
        getsockname(dns.udp_fd, (struct sockaddr *)&addr, &alen);
        int port = ntohs(addr.sin_port);
        dns.tcp_fd = bind_loopback(SOCK_STREAM, port);
        if (dns.tcp_fd >= 0)
            return port;
        close(dns.udp_fd);
        dns.udp_fd = -1;
        if (dns.port != 0 || dns.tcp_fd != -EADDRINUSE) {
            fprintf(stderr, "greenbench-dns: cannot listen on TCP 127.0.0.1:%d: %s\n", port,
                    strerror(-dns.tcp_fd));
            return -1;
        }
    }
    fprintf(stderr, "greenbench-dns: no port free for both UDP and TCP in %d tries\n", BIND_TRIES);
    return -1;
}

/* The loop and its watchers. Returns 0, or -1 having said why. */
static int loop_setup(void)
{
    dns.loop = ev_default_loop(EVBACKEND_EPOLL);
    if (dns.loop == NULL)
        dns.loop = ev_default_loop(EVFLAG_AUTO);
    if (dns.loop == NULL) {
        fprintf(stderr, "greenbench-dns: cannot make a libev loop\n");
        return -1;
    }
    int err = delays_init(&dns.delays);
    if (err != 0) {
        fprintf(stderr, "greenbench-dns: timerfd_create: %s\n", strerror(-err));
        return -1;
    }
    /* The kernel caps it at net.core.rmem_max; what it grants is enough for tests. */
    int rcvbuf = UDP_RCVBUF;
    setsockopt(dns.udp_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    ev_io_init(&dns.delays_io, on_delays_due, dns.delays.timer_fd, EV_READ);
    ev_set_priority(&dns.delays_io, EV_MAXPRI); /* Due answers before new queries. */
    ev_io_start(dns.loop, &dns.delays_io);
    ev_io_init(&dns.udp_io, on_udp, dns.udp_fd, EV_READ);
    ev_io_start(dns.loop, &dns.udp_io);
    ev_io_init(&dns.tcp_io, on_accept, dns.tcp_fd, EV_READ);
    ev_io_start(dns.loop, &dns.tcp_io);
    accept_pause_init(&dns.tcp_pause, &dns.tcp_io);
    server_ending_start(&dns.ending, dns.loop, dns.exit_on_stdin_eof);
    return 0;
}

/* After the loop: answers still waiting are dropped, connections closed. */
static void shut_down(void)
{
    delay_entry *e;
    while ((e = delays_first(&dns.delays)) != NULL) {
        delays_remove(&dns.delays, e);
        free(delay_taken(e));
        dns.dropped++;
    }
    delays_free(&dns.delays);
    while (dns.conns != NULL)
        conn_close(dns.conns);
    if (dns.udp_fd >= 0)
        close(dns.udp_fd);
    if (dns.tcp_fd >= 0)
        close(dns.tcp_fd);
    if (dns.loop != NULL)
        accept_pause_close(&dns.tcp_pause, dns.loop);
}

/* name in text form, as dig writes it ("test."). */
static void name_text(const dns_name *name, char *out, size_t n)
{
    size_t at = 0;
    for (size_t i = 0; name->wire[i] != 0 && at + name->wire[i] + 2 < n; i += 1u + name->wire[i])
        at += (size_t)snprintf(out + at, n - at, "%.*s.", name->wire[i], (const char *)name->wire + i + 1);
    if (at == 0)
        snprintf(out, n, ".");
}

static void say_start(int port)
{
    char zone[1024], nx[1024];
    name_text(&dns.zone, zone, sizeof zone);
    name_text(&dns.nx[0], nx, sizeof nx);
    fprintf(stderr,
            "greenbench-dns: serving zone %s (NXDOMAIN for %s%s) on UDP and TCP 127.0.0.1:%d; "
            "delay %lld ms%s%s\n",
            zone, nx, dns.n_nx > 1 ? " and others" : "", port, dns.delay_ms,
            dns.truncate ? "; UDP answers truncated" : "", dns.silent ? "; silent: no answers" : "");
}

int main(int argc, char **argv)
{
    if (parse_args(argc, argv) != 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    raise_nofile_limit(); /* One descriptor per TCP connection. */
    char why[256];
    if (dns.private_net && private_net_enter(why, sizeof why) != 0) {
        fprintf(stderr, "greenbench-dns: --private-net: %s\n", why);
        return 1;
    }
    int port = bind_both();
    int rc = port < 0 || loop_setup() != 0 ? 1 : 0;
    if (rc == 0) {
        printf("dns://127.0.0.1:%d\n", port);
        fflush(stdout);
        say_start(port);
        ev_run(dns.loop, 0);
    }
    shut_down();
    if (rc == 0)
        fprintf(stderr,
                "greenbench-dns: stopped: %lld queries over UDP, %lld over TCP; %lld answered (%lld "
                "NXDOMAIN, %lld truncated), %lld dropped; %lld TCP connections shed for lack of "
                "descriptors\n",
                dns.udp_queries, dns.tcp_queries, dns.answered, dns.nxdomain, dns.truncated, dns.dropped,
                dns.tcp_pause.shed);
    if (dns.loop != NULL)
        ev_loop_destroy(dns.loop);
    return rc;
}
