/* tests/test_dns_server.c: greenbench-dns. Suite dns_wire: its parser and
 * answers (workloads/server/dns_wire.c) on bytes, edge cases first
 * (compression pointers, truncated messages, labels over 63 bytes, names
 * over 255). Suite dns_server: the program run as a child process, asked
 * with queries built here over UDP and TCP: A and AAAA, NXDOMAIN, REFUSED,
 * NODATA, --truncate, several queries on one connection in pieces,
 * --delay-ms 50 with a thousand queries at once, --silent, malformed
 * queries, --zone, the end of stdin and the usage errors.
 *
 * GREENBENCH_DNS_WRAPPER, when set, is a command (words split on spaces)
 * the server runs under, e.g. "valgrind -q --error-exitcode=1
 * --leak-check=full": its exit status is then valgrind's verdict, and the
 * timing bounds widen, valgrind being some fifty times slower. */
#include "run_program.h"
#include "server_child.h"
#include "server/dns_wire.h"

#include <CUnit/CUnit.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef GREENBENCH_BIN_DIR
#error "GREENBENCH_BIN_DIR must be defined (tests/CMakeLists.txt)"
#endif

#define BURST 1000
#define BURST_SOCKETS 10 /* 100 answers each: well within one socket's default receive buffer. */

/* A greenbench-dns child (server_child.h) and its port. */
typedef struct dns_child {
    server_child c;
    int port;
} dns_child;

static dns_child server = { .c.pid = -1 }; /* The default one: zone test., no delay. */
static char dns_path[4096];

static long long mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static const char *wrapper(void)
{
    const char *w = getenv("GREENBENCH_DNS_WRAPPER");
    return w != NULL && w[0] != '\0' ? w : NULL;
}

/* How much later than a plain run the server may answer: valgrind's slowness. */
static long long slack_ms(void)
{
    return wrapper() != NULL ? 2000 : 0;
}

/* ---- the child ---- */

/* Stop s: close its stdin, SIGTERM, wait. Returns its exit status, -1 if killed. */
static int child_stop(dns_child *s)
{
    return server_child_stop(&s->c);
}

/* Start greenbench-dns --exit-on-stdin-eof with extra (NULL-terminated),
 * under the command under (words split on spaces; NULL: the wrapper, if
 * one is set), and read its first line. Returns 0, or -1 (said on stderr). */
static int child_start_under(dns_child *s, const char *under, char *const extra[])
{
    char words[1024] = "", *argv[40], err[512];
    int argc = 0;
    if (under == NULL)
        under = wrapper();
    if (under != NULL) {
        snprintf(words, sizeof words, "%s", under);
        for (char *save, *w = strtok_r(words, " ", &save); w != NULL && argc < 20;
             w = strtok_r(NULL, " ", &save))
            argv[argc++] = w;
    }
    argv[argc++] = dns_path;
    argv[argc++] = "--exit-on-stdin-eof";
    for (int i = 0; extra[i] != NULL && argc < 39; i++)
        argv[argc++] = extra[i];
    argv[argc] = NULL;
    /* Under valgrind it starts, and ends its leak check, slowly. */
    if (server_child_spawn(&s->c, argv, NULL, 0, 30.0, err, sizeof err) != 0) {
        fprintf(stderr, "\n  %s\n", err);
        return -1;
    }
    s->c.exit_wait_s = 20.0;
    if (sscanf(s->c.url, "dns://127.0.0.1:%d", &s->port) != 1 || s->port <= 0) {
        fprintf(stderr, "\n  %s printed '%s', not dns://127.0.0.1:PORT\n", dns_path, s->c.url);
        child_stop(s);
        return -1;
    }
    return 0;
}

static int child_start(dns_child *s, char *const extra[])
{
    return child_start_under(s, NULL, extra);
}

/* ---- queries and answers ---- */

/* A query for name (text, "www.test.") of type into out (512 bytes); its length. */
static size_t make_query(uint8_t *out, uint16_t id, const char *name, uint16_t type)
{
    uint8_t *at = out;
    *at++ = (uint8_t)(id >> 8);
    *at++ = (uint8_t)id;
    static const uint8_t rest[] = { 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 }; /* RD, one question. */
    memcpy(at, rest, sizeof rest);
    at += sizeof rest;
    for (const char *s = name; *s != '\0';) {
        size_t label = strcspn(s, ".");
        *at++ = (uint8_t)label;
        memcpy(at, s, label);
        at += label;
        s += label + (s[label] == '.');
    }
    *at++ = 0;
    *at++ = (uint8_t)(type >> 8);
    *at++ = (uint8_t)type;
    *at++ = 0;
    *at++ = DNS_CLASS_IN;
    return (size_t)(at - out);
}

/* What a test looks at in an answer. */
typedef struct answer {
    uint16_t id, flags, qd, an, ns, ar;
    int rcode;
    uint16_t type;       /* The first answer record's, if any. */
    uint32_t ttl;
    uint8_t rdata[16];
    size_t rdlen;
} answer;

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* Skip a name at *at (labels, ending with a root label or a pointer). */
static bool skip_name(const uint8_t *a, size_t len, size_t *at)
{
    while (*at < len) {
        uint8_t l = a[*at];
        if (l >= 0xC0) {
            *at += 2;
            return *at <= len;
        }
        *at += 1u + l;
        if (l == 0)
            return *at <= len;
    }
    return false;
}

static bool parse_answer(const uint8_t *a, size_t len, answer *out)
{
    memset(out, 0, sizeof *out);
    if (len < DNS_HEADER_LEN)
        return false;
    out->id = get16(a);
    out->flags = get16(a + 2);
    out->rcode = out->flags & 0xF;
    out->qd = get16(a + 4);
    out->an = get16(a + 6);
    out->ns = get16(a + 8);
    out->ar = get16(a + 10);
    size_t at = DNS_HEADER_LEN;
    if (out->qd == 1 && (!skip_name(a, len, &at) || (at += 4) > len))
        return false;
    if (out->an == 0)
        return true;
    if (!skip_name(a, len, &at) || at + 10 > len)
        return false;
    out->type = get16(a + at);
    out->ttl = (uint32_t)get16(a + at + 4) << 16 | get16(a + at + 6);
    out->rdlen = get16(a + at + 8);
    at += 10;
    if (at + out->rdlen > len || out->rdlen > sizeof out->rdata)
        return false;
    memcpy(out->rdata, a + at, out->rdlen);
    return true;
}

static int udp_socket(int port)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET,
                                .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    CU_ASSERT_FATAL(fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0);
    return fd;
}

static int tcp_socket(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET,
                                .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    CU_ASSERT_FATAL(fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0);
    return fd;
}

/* Wait up to timeout_ms for fd to be readable. */
static bool readable(int fd, long long timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    return poll(&p, 1, (int)timeout_ms) == 1;
}

/* One datagram from fd within timeout_ms: its length, or -1. */
static ssize_t udp_recv(int fd, uint8_t *buf, size_t cap, long long timeout_ms)
{
    if (!readable(fd, timeout_ms))
        return -1;
    return recv(fd, buf, cap, 0);
}

/* Ask query over UDP; the answer, parsed, within 5 s. */
static bool ask_udp(int port, const uint8_t *q, size_t len, answer *a)
{
    int fd = udp_socket(port);
    uint8_t buf[4096];
    ssize_t n = send(fd, q, len, 0) == (ssize_t)len ? udp_recv(fd, buf, sizeof buf, 5000 + slack_ms()) : -1;
    close(fd);
    return n > 0 && parse_answer(buf, (size_t)n, a);
}

static bool send_all(int fd, const void *buf, size_t len)
{
    for (size_t at = 0; at < len;) {
        ssize_t n = send(fd, (const char *)buf + at, len - at, MSG_NOSIGNAL);
        if (n <= 0)
            return false;
        at += (size_t)n;
    }
    return true;
}

/* Send one message over TCP, its length first. */
static bool tcp_send(int fd, const uint8_t *q, size_t len)
{
    uint8_t buf[2 + 512];
    buf[0] = (uint8_t)(len >> 8);
    buf[1] = (uint8_t)len;
    memcpy(buf + 2, q, len);
    return send_all(fd, buf, 2 + len);
}

/* Exactly len bytes from fd within timeout_ms. */
static bool recv_exactly(int fd, uint8_t *buf, size_t len, long long timeout_ms)
{
    long long give_up = mono_us() + timeout_ms * 1000;
    for (size_t at = 0; at < len;) {
        long long left = (give_up - mono_us()) / 1000;
        if (left < 0 || !readable(fd, left))
            return false;
        ssize_t n = recv(fd, buf + at, len - at, 0);
        if (n <= 0)
            return false;
        at += (size_t)n;
    }
    return true;
}

/* One message over TCP within 5 s, parsed; its length into *len if asked. */
static bool tcp_recv(int fd, answer *a)
{
    uint8_t buf[65536];
    if (!recv_exactly(fd, buf, 2, 5000 + slack_ms()))
        return false;
    size_t len = get16(buf);
    return recv_exactly(fd, buf, len, 5000 + slack_ms()) && parse_answer(buf, len, a);
}

/* ---- suite dns_wire ---- */

static size_t wire_query(uint8_t *out, const char *name, uint16_t type)
{
    return make_query(out, 0x1234, name, type);
}

static void test_wire_plain_query(void)
{
    uint8_t m[512];
    size_t len = wire_query(m, "WWW.Test", DNS_TYPE_AAAA);
    dns_query q;
    CU_ASSERT_EQUAL_FATAL(dns_parse_query(m, len, &q), 0);
    CU_ASSERT_EQUAL(q.id, 0x1234);
    CU_ASSERT_EQUAL(q.opcode, 0);
    CU_ASSERT_TRUE(q.rd);
    CU_ASSERT_EQUAL(q.qtype, DNS_TYPE_AAAA);
    CU_ASSERT_EQUAL(q.qclass, DNS_CLASS_IN);
    CU_ASSERT_EQUAL(q.name_len, 10);
    CU_ASSERT_EQUAL(q.question_len, 14);
    CU_ASSERT_EQUAL(memcmp(q.question, "\3WWW\4Test", 10), 0); /* Echoed as sent. */
    /* An OPT record after the question (EDNS) changes nothing. */
    static const uint8_t opt[] = { 0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0 };
    memcpy(m + len, opt, sizeof opt);
    m[11] = 1;
    CU_ASSERT_EQUAL(dns_parse_query(m, len + sizeof opt, &q), 0);
    CU_ASSERT_EQUAL(q.question_len, 14);
}

static void test_wire_compression_pointer_refused(void)
{
    uint8_t m[512];
    size_t len = wire_query(m, "a.test", DNS_TYPE_A);
    dns_query q;
    /* A pointer to itself: followed, it would loop for ever. */
    uint8_t self[512];
    memcpy(self, m, DNS_HEADER_LEN);
    self[12] = 0xC0;
    self[13] = 12;
    memset(self + 14, 0, 4);
    CU_ASSERT_EQUAL(dns_parse_query(self, 18, &q), -EBADMSG);
    /* After a label, pointing back at it. */
    uint8_t after[512];
    memcpy(after, m, 14); /* header, "\1a" */
    after[14] = 0xC0;
    after[15] = 12;
    memset(after + 16, 0, 4);
    CU_ASSERT_EQUAL(dns_parse_query(after, 20, &q), -EBADMSG);
    /* The reserved label types 0x40 and 0x80. */
    m[12] = 0x41;
    CU_ASSERT_EQUAL(dns_parse_query(m, len, &q), -EBADMSG);
    m[12] = 0x81;
    CU_ASSERT_EQUAL(dns_parse_query(m, len, &q), -EBADMSG);
}

static void test_wire_truncated_messages(void)
{
    uint8_t m[512];
    size_t len = wire_query(m, "www.test", DNS_TYPE_A);
    dns_query q;
    for (size_t cut = 0; cut < len; cut++)
        CU_ASSERT_EQUAL(dns_parse_query(m, cut, &q), -EBADMSG);
    CU_ASSERT_EQUAL(dns_parse_query(m, len, &q), 0);
    /* A label that claims more bytes than the message has. */
    m[12] = 60;
    CU_ASSERT_EQUAL(dns_parse_query(m, len, &q), -EBADMSG);
}

/* A query whose name is labels of the given lengths (filled with 'a'). */
static size_t query_of_labels(uint8_t *m, const int *labels, int n)
{
    size_t len = wire_query(m, "", DNS_TYPE_A) - 5; /* Up to the root label. */
    for (int i = 0; i < n; i++) {
        m[len++] = (uint8_t)labels[i];
        memset(m + len, 'a', (size_t)labels[i]);
        len += (size_t)labels[i];
    }
    static const uint8_t tail[] = { 0, 0, DNS_TYPE_A, 0, DNS_CLASS_IN };
    memcpy(m + len, tail, sizeof tail);
    return len + sizeof tail;
}

static void test_wire_label_over_63(void)
{
    uint8_t m[1024];
    dns_query q;
    CU_ASSERT_EQUAL(dns_parse_query(m, query_of_labels(m, (int[]){ 63, 4 }, 2), &q), 0);
    CU_ASSERT_EQUAL(dns_parse_query(m, query_of_labels(m, (int[]){ 64, 4 }, 2), &q), -EBADMSG);
    dns_name name;
    char text[80];
    memset(text, 'a', 64);
    strcpy(text + 64, ".test.");
    CU_ASSERT_EQUAL(dns_name_from_text(text, &name), -EINVAL);
    CU_ASSERT_EQUAL(dns_name_from_text(text + 1, &name), 0);
}

static void test_wire_name_over_255(void)
{
    uint8_t m[1024];
    dns_query q;
    /* 3 * 64 + 62 + the root label: 255 bytes, the most a name may have. */
    CU_ASSERT_EQUAL(dns_parse_query(m, query_of_labels(m, (int[]){ 63, 63, 63, 61 }, 4), &q), 0);
    CU_ASSERT_EQUAL(q.name_len, 255);
    CU_ASSERT_EQUAL(dns_parse_query(m, query_of_labels(m, (int[]){ 63, 63, 63, 62 }, 4), &q), -EBADMSG);
    CU_ASSERT_EQUAL(dns_parse_query(m, query_of_labels(m, (int[]){ 63, 63, 63, 63, 63 }, 5), &q), -EBADMSG);
    /* Its answer, the longest there is, fits a plain UDP message. */
    CU_ASSERT_EQUAL(dns_parse_query(m, query_of_labels(m, (int[]){ 63, 63, 63, 61 }, 4), &q), 0);
    dns_name root;
    CU_ASSERT_EQUAL(dns_name_from_text(".", &root), 0);
    dns_policy p = { .zone = &root };
    uint8_t out[DNS_ANSWER_MAX];
    int rcode;
    q.qtype = DNS_TYPE_MX; /* NODATA: the SOA is the longest part an answer has. */
    CU_ASSERT(dns_answer(&q, &p, false, out, &rcode) <= DNS_ANSWER_MAX);
    q.qtype = DNS_TYPE_AAAA;
    CU_ASSERT(dns_answer(&q, &p, false, out, &rcode) <= DNS_ANSWER_MAX);
    /* And the text form's bound: 253 characters. */
    char text[300];
    memset(text, 'a', sizeof text);
    for (int i = 63; i < 300; i += 64)
        text[i] = '.';
    text[253] = '\0';
    dns_name name;
    CU_ASSERT_EQUAL(dns_name_from_text(text, &name), 0);
    CU_ASSERT_EQUAL(name.len, 255);
    text[253] = 'a';
    text[254] = '\0';
    CU_ASSERT_EQUAL(dns_name_from_text(text, &name), -EINVAL);
}

static void test_wire_not_a_query(void)
{
    uint8_t m[512];
    size_t len = wire_query(m, "www.test", DNS_TYPE_A);
    dns_query q;
    m[2] |= 0x80; /* QR: an answer. */
    CU_ASSERT_EQUAL(dns_parse_query(m, len, &q), -EBADMSG);
    m[2] &= 0x7F;
    m[5] = 2; /* Two questions. */
    CU_ASSERT_EQUAL(dns_parse_query(m, len, &q), -EBADMSG);
    m[5] = 0;
    CU_ASSERT_EQUAL(dns_parse_query(m, len, &q), -EBADMSG);
    m[5] = 1;
    m[7] = 1; /* An answer record. */
    CU_ASSERT_EQUAL(dns_parse_query(m, len, &q), -EBADMSG);
    m[7] = 0;
    /* Another opcode (2, STATUS): NOTIMP, with no question. */
    m[2] |= 2 << 3;
    CU_ASSERT_EQUAL_FATAL(dns_parse_query(m, len, &q), 0);
    CU_ASSERT_EQUAL(q.opcode, 2);
    dns_name zone;
    dns_name_from_text("test", &zone);
    dns_policy p = { .zone = &zone };
    uint8_t out[DNS_ANSWER_MAX];
    int rcode;
    CU_ASSERT_EQUAL(dns_answer(&q, &p, false, out, &rcode), DNS_HEADER_LEN);
    CU_ASSERT_EQUAL(rcode, DNS_NOTIMP);
    CU_ASSERT_EQUAL(out[3] & 0xF, DNS_NOTIMP);
    CU_ASSERT_EQUAL((out[2] >> 3) & 0xF, 2);
}

static void test_wire_names(void)
{
    dns_name n, zone;
    CU_ASSERT_EQUAL(dns_name_from_text("test", &n), 0);
    CU_ASSERT_EQUAL(n.len, 6);
    CU_ASSERT_EQUAL(memcmp(n.wire, "\4test", 6), 0);
    CU_ASSERT_EQUAL(dns_name_from_text("test.", &n), 0);
    CU_ASSERT_EQUAL(n.len, 6);
    CU_ASSERT_EQUAL(dns_name_from_text(".", &n), 0);
    CU_ASSERT_EQUAL(n.len, 1);
    CU_ASSERT_EQUAL(dns_name_from_text("", &n), -EINVAL);
    CU_ASSERT_EQUAL(dns_name_from_text("a..test", &n), -EINVAL);
    CU_ASSERT_EQUAL(dns_name_from_text(".test", &n), -EINVAL);
    CU_ASSERT_EQUAL(dns_name_from_text("test..", &n), -EINVAL);
    dns_name_from_text("Test.", &zone);
    dns_name_from_text("www.TEST", &n);
    CU_ASSERT_TRUE(dns_name_within(n.wire, n.len, &zone));
    CU_ASSERT_TRUE(dns_name_within(zone.wire, zone.len, &zone)); /* The apex. */
    dns_name_from_text("xtest", &n);
    CU_ASSERT_FALSE(dns_name_within(n.wire, n.len, &zone)); /* Not on a label boundary. */
    dns_name_from_text("test.org", &n);
    CU_ASSERT_FALSE(dns_name_within(n.wire, n.len, &zone));
    dns_name_from_text(".", &zone);
    CU_ASSERT_TRUE(dns_name_within(n.wire, n.len, &zone)); /* Everything is under the root. */
}

static void test_wire_addresses(void)
{
    enum { N = 2000 };
    static uint32_t seen[N];
    int same = 0;
    for (int i = 0; i < N; i++) {
        char text[32];
        snprintf(text, sizeof text, "host%d.test", i);
        dns_name n;
        dns_name_from_text(text, &n);
        uint8_t a[4], again[4], v6[16];
        dns_address_a(n.wire, n.len, a);
        dns_address_a(n.wire, n.len, again);
        dns_address_aaaa(n.wire, n.len, v6);
        CU_ASSERT_EQUAL(memcmp(a, again, 4), 0);
        CU_ASSERT_EQUAL(a[0], 127);
        CU_ASSERT_FALSE(a[1] == 0 && a[2] == 0 && a[3] == 0);
        CU_ASSERT_EQUAL(v6[0], 0xfd);
        seen[i] = (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
        for (int j = 0; j < i; j++)
            same += seen[j] == seen[i];
    }
    /* 2 000 names in 2^24 - 2 addresses: about 0.12 collisions expected. */
    CU_ASSERT(same <= 3);
    /* Case does not change the address. */
    dns_name lo, up;
    dns_name_from_text("www.test", &lo);
    dns_name_from_text("WwW.TEST", &up);
    uint8_t a[4], b[4];
    dns_address_a(lo.wire, lo.len, a);
    dns_address_a(up.wire, up.len, b);
    CU_ASSERT_EQUAL(memcmp(a, b, 4), 0);
}

static void test_wire_truncated_answer(void)
{
    uint8_t m[512], out[DNS_ANSWER_MAX];
    size_t len = wire_query(m, "www.test", DNS_TYPE_A);
    dns_query q;
    CU_ASSERT_EQUAL_FATAL(dns_parse_query(m, len, &q), 0);
    dns_name zone;
    dns_name_from_text("test", &zone);
    dns_policy p = { .zone = &zone };
    int rcode;
    size_t n = dns_answer(&q, &p, true, out, &rcode);
    answer a;
    CU_ASSERT_FATAL(parse_answer(out, n, &a));
    CU_ASSERT_EQUAL(n, len); /* The question, and nothing after it. */
    CU_ASSERT(a.flags & 0x0200);
    CU_ASSERT_EQUAL(a.an + a.ns + a.ar, 0);
    CU_ASSERT_EQUAL(rcode, DNS_NOERROR);
}

/* ---- suite dns_server ---- */

static void test_a_and_aaaa(void)
{
    uint8_t q[512];
    answer a1, a2, b, v6;
    CU_ASSERT_FATAL(ask_udp(server.port, q, make_query(q, 7, "www.test", DNS_TYPE_A), &a1));
    CU_ASSERT_EQUAL(a1.id, 7);
    CU_ASSERT_EQUAL(a1.flags & 0xFBF0, 0x8100); /* QR, RD copied; opcode 0, TC and RA clear. */
    CU_ASSERT(a1.flags & 0x0400);               /* AA */
    CU_ASSERT_FALSE(a1.flags & 0x0200);         /* not TC */
    CU_ASSERT_EQUAL(a1.rcode, DNS_NOERROR);
    CU_ASSERT_EQUAL(a1.qd, 1);
    CU_ASSERT_EQUAL(a1.an, 1);
    CU_ASSERT_EQUAL(a1.type, DNS_TYPE_A);
    CU_ASSERT_EQUAL(a1.ttl, 60);
    CU_ASSERT_EQUAL_FATAL(a1.rdlen, 4);
    CU_ASSERT_EQUAL(a1.rdata[0], 127);
    /* Stable, whatever the case; another name, another address. */
    CU_ASSERT_FATAL(ask_udp(server.port, q, make_query(q, 8, "WWW.TEST.", DNS_TYPE_A), &a2));
    CU_ASSERT_EQUAL(memcmp(a1.rdata, a2.rdata, 4), 0);
    CU_ASSERT_FATAL(ask_udp(server.port, q, make_query(q, 9, "mail.test", DNS_TYPE_A), &b));
    CU_ASSERT_EQUAL(b.rdlen, 4);
    CU_ASSERT_NOT_EQUAL(memcmp(a1.rdata, b.rdata, 4), 0);
    CU_ASSERT_FATAL(ask_udp(server.port, q, make_query(q, 10, "www.test", DNS_TYPE_AAAA), &v6));
    CU_ASSERT_EQUAL(v6.type, DNS_TYPE_AAAA);
    CU_ASSERT_EQUAL_FATAL(v6.rdlen, 16);
    CU_ASSERT_EQUAL(v6.rdata[0], 0xfd);
    /* The same over TCP. */
    int fd = tcp_socket(server.port);
    answer t;
    CU_ASSERT(tcp_send(fd, q, make_query(q, 11, "www.test", DNS_TYPE_A)) && tcp_recv(fd, &t));
    CU_ASSERT_EQUAL(t.id, 11);
    CU_ASSERT_EQUAL(memcmp(t.rdata, a1.rdata, 4), 0);
    close(fd);
}

static void test_nxdomain(void)
{
    uint8_t q[512];
    answer a;
    CU_ASSERT_FATAL(ask_udp(server.port, q, make_query(q, 1, "nx.test", DNS_TYPE_A), &a));
    CU_ASSERT_EQUAL(a.rcode, DNS_NXDOMAIN);
    CU_ASSERT_EQUAL(a.an, 0);
    CU_ASSERT_EQUAL(a.ns, 1); /* The SOA, for negative caching. */
    CU_ASSERT(a.flags & 0x0400);
    CU_ASSERT_FATAL(ask_udp(server.port, q, make_query(q, 2, "deep.under.NX.test", DNS_TYPE_AAAA), &a));
    CU_ASSERT_EQUAL(a.rcode, DNS_NXDOMAIN);
    CU_ASSERT_FATAL(ask_udp(server.port, q, make_query(q, 3, "xnx.test", DNS_TYPE_A), &a));
    CU_ASSERT_EQUAL(a.rcode, DNS_NOERROR);
}

static void test_refused_outside_zone(void)
{
    uint8_t q[512];
    answer a;
    CU_ASSERT_FATAL(ask_udp(server.port, q, make_query(q, 1, "example.com", DNS_TYPE_A), &a));
    CU_ASSERT_EQUAL(a.rcode, DNS_REFUSED);
    CU_ASSERT_EQUAL(a.an + a.ns + a.ar, 0);
    CU_ASSERT_EQUAL(a.qd, 1);
    CU_ASSERT_FATAL(ask_udp(server.port, q, make_query(q, 2, "test.example", DNS_TYPE_A), &a));
    CU_ASSERT_EQUAL(a.rcode, DNS_REFUSED);
}

static void test_nodata_for_mx(void)
{
    uint8_t q[512];
    answer a;
    CU_ASSERT_FATAL(ask_udp(server.port, q, make_query(q, 1, "www.test", DNS_TYPE_MX), &a));
    CU_ASSERT_EQUAL(a.rcode, DNS_NOERROR);
    CU_ASSERT_EQUAL(a.an, 0);
    CU_ASSERT_EQUAL(a.ns, 1);
}

/* Two queries on one connection, the first sent a byte at a time, the
 * second with the first's last byte; then a third after the answers. */
static void test_tcp_two_queries_one_connection(void)
{
    uint8_t q1[512], q2[512], buf[1100];
    size_t l1 = make_query(q1, 21, "one.test", DNS_TYPE_A),
           l2 = make_query(q2, 22, "two.test", DNS_TYPE_AAAA);
    buf[0] = 0;
    buf[1] = (uint8_t)l1;
    memcpy(buf + 2, q1, l1);
    buf[2 + l1] = 0;
    buf[3 + l1] = (uint8_t)l2;
    memcpy(buf + 4 + l1, q2, l2);
    int fd = tcp_socket(server.port);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (size_t i = 0; i < 1 + l1; i++) {
        CU_ASSERT_FATAL(send_all(fd, buf + i, 1));
        usleep(1000);
    }
    CU_ASSERT_FATAL(send_all(fd, buf + 1 + l1, 3 + l2));
    answer a1, a2, a3;
    CU_ASSERT_FATAL(tcp_recv(fd, &a1) && tcp_recv(fd, &a2));
    CU_ASSERT_EQUAL(a1.id, 21);
    CU_ASSERT_EQUAL(a1.type, DNS_TYPE_A);
    CU_ASSERT_EQUAL(a2.id, 22);
    CU_ASSERT_EQUAL(a2.type, DNS_TYPE_AAAA);
    CU_ASSERT_FATAL(tcp_send(fd, q1, make_query(q1, 23, "nx.test", DNS_TYPE_A)) && tcp_recv(fd, &a3));
    CU_ASSERT_EQUAL(a3.id, 23);
    CU_ASSERT_EQUAL(a3.rcode, DNS_NXDOMAIN);
    /* A client that stops sending still gets what it asked. */
    CU_ASSERT_FATAL(tcp_send(fd, q1, make_query(q1, 24, "last.test", DNS_TYPE_A)));
    shutdown(fd, SHUT_WR);
    CU_ASSERT_FATAL(tcp_recv(fd, &a3));
    CU_ASSERT_EQUAL(a3.id, 24);
    CU_ASSERT_EQUAL(recv(fd, buf, sizeof buf, 0), 0); /* Then the server closes. */
    close(fd);
}

static void test_malformed_dropped(void)
{
    int fd = udp_socket(server.port);
    uint8_t q[512], buf[4096];
    /* Garbage, a pointer loop, an answer, a header alone: no answer to any. */
    static const uint8_t junk[] = "\xde\xad\xbe\xef";
    size_t len = make_query(q, 31, "a.test", DNS_TYPE_A);
    CU_ASSERT(send(fd, junk, 4, 0) == 4);
    q[12] = 0xC0;
    q[13] = 12;
    CU_ASSERT(send(fd, q, len, 0) == (ssize_t)len);
    len = make_query(q, 32, "a.test", DNS_TYPE_A);
    q[2] |= 0x80;
    CU_ASSERT(send(fd, q, len, 0) == (ssize_t)len);
    CU_ASSERT(send(fd, q, DNS_HEADER_LEN, 0) == DNS_HEADER_LEN);
    CU_ASSERT(send(fd, q, 0, 0) == 0);
    len = make_query(q, 33, "a.test", DNS_TYPE_A);
    CU_ASSERT(send(fd, q, len, 0) == (ssize_t)len);
    ssize_t n = udp_recv(fd, buf, sizeof buf, 5000 + slack_ms());
    answer a;
    CU_ASSERT_FATAL(n > 0 && parse_answer(buf, (size_t)n, &a));
    CU_ASSERT_EQUAL(a.id, 33); /* The first answer is the good query's. */
    close(fd);
    /* Over TCP: a malformed message, then a good one, on one connection. */
    fd = tcp_socket(server.port);
    CU_ASSERT(tcp_send(fd, junk, 4));
    CU_ASSERT(tcp_send(fd, q, make_query(q, 34, "b.test", DNS_TYPE_A)) && tcp_recv(fd, &a));
    CU_ASSERT_EQUAL(a.id, 34);
    close(fd);
}

static void test_truncate(void)
{
    dns_child s;
    CU_ASSERT_FATAL(child_start(&s, (char *[]){ "--truncate", NULL }) == 0);
    uint8_t q[512];
    size_t len = make_query(q, 41, "www.test", DNS_TYPE_A);
    answer u, t;
    CU_ASSERT(ask_udp(s.port, q, len, &u));
    CU_ASSERT(u.flags & 0x0200);
    CU_ASSERT_EQUAL(u.id, 41);
    CU_ASSERT_EQUAL(u.qd, 1);
    CU_ASSERT_EQUAL(u.an + u.ns + u.ar, 0);
    int fd = tcp_socket(s.port);
    CU_ASSERT(tcp_send(fd, q, len) && tcp_recv(fd, &t));
    CU_ASSERT_FALSE(t.flags & 0x0200);
    CU_ASSERT_EQUAL(t.an, 1);
    CU_ASSERT_EQUAL(t.rdlen, 4);
    close(fd);
    CU_ASSERT_EQUAL(child_stop(&s), 0);
}

static void test_silent(void)
{
    dns_child s;
    CU_ASSERT_FATAL(child_start(&s, (char *[]){ "--silent", NULL }) == 0);
    uint8_t q[512], buf[4096];
    size_t len = make_query(q, 51, "www.test", DNS_TYPE_A);
    int u = udp_socket(s.port), t = tcp_socket(s.port);
    CU_ASSERT(send(u, q, len, 0) == (ssize_t)len);
    CU_ASSERT(tcp_send(t, q, len));
    CU_ASSERT_EQUAL(udp_recv(u, buf, sizeof buf, 500), -1);
    CU_ASSERT_FALSE(readable(t, 1));
    close(u);
    close(t);
    CU_ASSERT_EQUAL(child_stop(&s), 0);
}

/* --delay-ms 50: one answer over each transport no sooner than 50 ms, then
 * a thousand queries at once over UDP, every one answered 50 to 150 ms
 * after it left. */
static void test_delay(void)
{
    dns_child s;
    CU_ASSERT_FATAL(child_start(&s, (char *[]){ "--delay-ms", "50", NULL }) == 0);
    uint8_t q[512];
    size_t len = make_query(q, 61, "slow.test", DNS_TYPE_A);
    answer a;
    long long t0 = mono_us();
    CU_ASSERT(ask_udp(s.port, q, len, &a));
    CU_ASSERT(mono_us() - t0 >= 50000);
    int fd = tcp_socket(s.port);
    t0 = mono_us();
    CU_ASSERT(tcp_send(fd, q, len) && tcp_recv(fd, &a));
    CU_ASSERT(mono_us() - t0 >= 50000);
    close(fd);

    int fds[BURST_SOCKETS];
    static long long sent_at[BURST];
    static bool answered[BURST];
    memset(answered, 0, sizeof answered);
    for (int i = 0; i < BURST_SOCKETS; i++)
        fds[i] = udp_socket(s.port);
    long long first = mono_us();
    for (int i = 0; i < BURST; i++) {
        len = make_query(q, (uint16_t)i, i % 2 ? "burst.test" : "other.burst.test", DNS_TYPE_A);
        sent_at[i] = mono_us();
        CU_ASSERT(send(fds[i % BURST_SOCKETS], q, len, 0) == (ssize_t)len);
    }
    long long sent = mono_us() - first;
    int got = 0, early = 0;
    long long latest = 0, give_up = first + (2000 + slack_ms()) * 1000;
    struct pollfd p[BURST_SOCKETS];
    while (got < BURST && mono_us() < give_up) {
        for (int i = 0; i < BURST_SOCKETS; i++)
            p[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
        if (poll(p, BURST_SOCKETS, 100) <= 0)
            continue;
        for (int i = 0; i < BURST_SOCKETS; i++) {
            uint8_t buf[512];
            ssize_t n;
            while ((n = recv(fds[i], buf, sizeof buf, MSG_DONTWAIT)) > 0) {
                long long now = mono_us();
                if (!parse_answer(buf, (size_t)n, &a) || a.id >= BURST || answered[a.id])
                    continue;
                answered[a.id] = true;
                got++;
                early += now - sent_at[a.id] < 50000;
                if (now - first > latest)
                    latest = now - first;
            }
        }
    }
    for (int i = 0; i < BURST_SOCKETS; i++)
        close(fds[i]);
    fprintf(stderr, "\n  %d queries sent in %.1f ms; %d answered, the last %.1f ms after the first query\n",
            BURST, sent / 1e3, got, latest / 1e3);
    CU_ASSERT_EQUAL(got, BURST);
    CU_ASSERT_EQUAL(early, 0);
    CU_ASSERT(latest <= (150 + slack_ms()) * 1000);
    CU_ASSERT_EQUAL(child_stop(&s), 0);
}

/* --zone and --nxdomain: another zone, two NXDOMAIN names, and test. refused. */
static void test_zone_option(void)
{
    dns_child s;
    CU_ASSERT_FATAL(
        child_start(&s, (char *[]){ "--zone", "Bench.Example.", "--nxdomain", "gone.bench.example",
                                    "--nxdomain", "missing.bench.example", NULL }) == 0);
    uint8_t q[512];
    answer a;
    CU_ASSERT(ask_udp(s.port, q, make_query(q, 1, "www.bench.example", DNS_TYPE_A), &a));
    CU_ASSERT_EQUAL(a.rcode, DNS_NOERROR);
    CU_ASSERT_EQUAL(a.an, 1);
    CU_ASSERT(ask_udp(s.port, q, make_query(q, 2, "x.missing.bench.example", DNS_TYPE_A), &a));
    CU_ASSERT_EQUAL(a.rcode, DNS_NXDOMAIN);
    CU_ASSERT(ask_udp(s.port, q, make_query(q, 3, "gone.bench.example", DNS_TYPE_A), &a));
    CU_ASSERT_EQUAL(a.rcode, DNS_NXDOMAIN);
    CU_ASSERT(ask_udp(s.port, q, make_query(q, 4, "nx.bench.example", DNS_TYPE_A), &a));
    CU_ASSERT_EQUAL(a.rcode, DNS_NOERROR); /* --nxdomain replaces the default. */
    CU_ASSERT(ask_udp(s.port, q, make_query(q, 5, "www.test", DNS_TYPE_A), &a));
    CU_ASSERT_EQUAL(a.rcode, DNS_REFUSED);
    CU_ASSERT_EQUAL(child_stop(&s), 0);
}

/* The end of its stdin alone ends it, cleanly. */
/* The CPU time pid has used, in clock ticks. */
static long long cpu_ticks(pid_t pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL || fgets(line, sizeof line, f) == NULL) {
        if (f != NULL)
            fclose(f);
        return -1;
    }
    fclose(f);
    unsigned long long utime = 0, stime = 0;
    const char *after = strrchr(line, ')'); /* The name may hold spaces. */
    if (after == NULL ||
        sscanf(after + 2, "%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %llu", &utime, &stime) != 2)
        return -1;
    return (long long)(utime + stime);
}

/* More TCP connections than descriptors: the server sheds some and goes
 * on answering, rather than spin on its listening socket (which stays
 * readable while accept fails) printing the failure each time. */
static void test_out_of_descriptors_sheds(void)
{
    if (wrapper() != NULL)
        return; /* valgrind needs descriptors of its own. */
    dns_child s;
    CU_ASSERT_FATAL(child_start_under(&s, "prlimit --nofile=32:32", (char *[]){ NULL }) == 0);
    enum { N = 48 };
    int fds[N];
    for (int i = 0; i < N; i++)
        fds[i] = tcp_socket(s.port);
    usleep(200 * 1000);
    long long before = cpu_ticks(s.c.pid);
    usleep(1000 * 1000);
    long long used = cpu_ticks(s.c.pid) - before;
    CU_ASSERT(before >= 0 && used >= 0);
    if (used > sysconf(_SC_CLK_TCK) / 5)
        fprintf(stderr, "\n  greenbench-dns used %lld ticks of CPU in 1 s\n", used);
    CU_ASSERT(used <= sysconf(_SC_CLK_TCK) / 5);
    uint8_t q[512];
    answer a;
    CU_ASSERT(ask_udp(s.port, q, make_query(q, 31, "www.test", DNS_TYPE_A), &a) && a.id == 31);
    for (int i = 0; i < N; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    CU_ASSERT_EQUAL(child_stop(&s), 0);
}

static void test_exit_on_stdin_eof(void)
{
    dns_child s;
    CU_ASSERT_FATAL(child_start(&s, (char *[]){ NULL }) == 0);
    close(s.c.stdin_fd);
    int status = 0;
    pid_t r = 0;
    for (long long give_up = mono_us() + (5000 + slack_ms() * 5) * 1000; r == 0 && mono_us() < give_up;)
        if ((r = waitpid(s.c.pid, &status, WNOHANG)) == 0)
            usleep(10000);
    CU_ASSERT_EQUAL(r, s.c.pid);
    if (r == 0) {
        kill(s.c.pid, SIGKILL);
        waitpid(s.c.pid, &status, 0);
    }
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_usage_errors(void)
{
    static const char *const bad[][3] = {
        { "--port", "65536", NULL }, { "--delay-ms", "-1", NULL }, { "--delay-ms", "x", NULL },
        { "--zone", "a..b", NULL },  { "--nxdomain", "", NULL },   { "--bogus", NULL, NULL },
        { "--port", NULL, NULL },    { "--silent=1", NULL, NULL }, { "extra", NULL, NULL },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *argv[4] = { dns_path, (char *)bad[i][0], (char *)bad[i][1], NULL };
        char out[4096];
        int rc = run_program(argv, out, sizeof out);
        if (rc != 2 || count_of(out, "\n") != 1 || strncmp(out, "greenbench-dns: ", 16) != 0)
            fprintf(stderr, "\n  %s %s: exit %d, '%s'\n", bad[i][0], bad[i][1] ? bad[i][1] : "", rc, out);
        CU_ASSERT_EQUAL(rc, 2);
        CU_ASSERT_EQUAL(count_of(out, "\n"), 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "(see greenbench-dns --help)"));
    }
    char *help[] = { dns_path, "--help", NULL };
    char out[4096];
    CU_ASSERT_EQUAL(run_program(help, out, sizeof out), 0);
    CU_ASSERT_EQUAL(strncmp(out, "usage: greenbench-dns ", 22), 0);
}

/* ---- suites ---- */

static int server_init(void)
{
    signal(SIGPIPE, SIG_IGN);
    snprintf(dns_path, sizeof dns_path, "%s/greenbench-dns", GREENBENCH_BIN_DIR);
    return child_start(&server, (char *[]){ NULL });
}

static int server_cleanup(void)
{
    /* A clean exit after all of the above is a test too. */
    return child_stop(&server) == 0 ? 0 : -1;
}

static CU_TestInfo wire_tests[] = {
    { "plain_query", test_wire_plain_query },
    { "compression_pointer_refused", test_wire_compression_pointer_refused },
    { "truncated_messages", test_wire_truncated_messages },
    { "label_over_63", test_wire_label_over_63 },
    { "name_over_255", test_wire_name_over_255 },
    { "not_a_query", test_wire_not_a_query },
    { "names", test_wire_names },
    { "addresses", test_wire_addresses },
    { "truncated_answer", test_wire_truncated_answer },
    CU_TEST_INFO_NULL,
};

static CU_TestInfo server_tests[] = {
    { "out_of_descriptors_sheds", test_out_of_descriptors_sheds },
    { "a_and_aaaa", test_a_and_aaaa },
    { "nxdomain", test_nxdomain },
    { "refused_outside_zone", test_refused_outside_zone },
    { "nodata_for_mx", test_nodata_for_mx },
    { "tcp_two_queries_one_connection", test_tcp_two_queries_one_connection },
    { "malformed_dropped", test_malformed_dropped },
    { "truncate", test_truncate },
    { "silent", test_silent },
    { "delay", test_delay },
    { "zone_option", test_zone_option },
    { "exit_on_stdin_eof", test_exit_on_stdin_eof },
    { "usage_errors", test_usage_errors },
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo green_test_suites[] = {
    { .pName = "dns_wire", .pTests = wire_tests },
    { .pName = "dns_server",
      .pInitFunc = server_init,
      .pCleanupFunc = server_cleanup,
      .pTests = server_tests },
    CU_SUITE_INFO_NULL,
};
