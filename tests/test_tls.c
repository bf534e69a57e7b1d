/* tests/test_tls.c: green_tls_* against `openssl s_server` run as a child
 * and against servers of the test's own (green_tls_accept in the same hub),
 * with a CA and leaf certificates made at suite start by the openssl tool
 * in a temporary directory. Offline: 127.0.0.1 only. Linked once per
 * (context, loop) pair (ctest: tls-<ctx>-<loop>). */
#include "green.h"
#include "fork_child.h"
#include "green_fixture.h"

#include <CUnit/CUnit.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- fixture: certificates and s_server --------------------------------- */

static char dir[64];              /* The temporary directory. */
static char path_buf[8][128];     /* Files in it, by index below. */
enum { CA, OTHER_CA, LEAF, LEAF_KEY, EXPIRED, NPATHS };
static pid_t s_server_pid = -1;
static int s_server_port;

static const char *path(int i)
{
    return path_buf[i];
}

static int run(const char *cmd)
{
    char full[2048];
    snprintf(full, sizeof full, "cd '%s' && (%s) >/dev/null 2>&1", dir, cmd);
    int st = system(full);
    if (st != 0)
        fprintf(stderr, "test_tls: failed (%d): %s\n", st, cmd);
    return st == 0 ? 0 : -1;
}

#define EC_KEY_ARGS "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"

static int make_certs(void)
{
    return run("openssl req -x509 -new " EC_KEY_ARGS " -keyout ca.key -out ca.pem -days 2"
               " -subj /CN=green-test-ca") ||
           run("openssl req -x509 -new " EC_KEY_ARGS " -keyout other.key -out other.pem -days 2"
               " -subj /CN=green-other-ca") ||
           run("openssl req -new " EC_KEY_ARGS " -keyout leaf.key -out leaf.csr -subj /CN=localhost") ||
           run("printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\n' > ext.cnf") ||
           run("openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem"
               " -days 2 -extfile ext.cnf") ||
           run("openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out expired.pem"
               " -days -1 -extfile ext.cnf");
}

/* Start `openssl s_server` on 127.0.0.1, port 0: with -www when stdin_fd
 * is NULL, else in its echo mode (what is written to *stdin_fd goes to the
 * client). Reads the port it prints ("ACCEPT 127.0.0.1:PORT") from its
 * output, kept in a file (a pipe nobody reads once the port is known would
 * fill up). Returns the port, or -1 with *pid killed. */
static int spawn_s_server(const char *name, pid_t *pid, int *stdin_fd)
{
    char out_path[160];
    snprintf(out_path, sizeof out_path, "%s/%s.out", dir, name);
    int in[2] = { -1, -1 };
    if (stdin_fd != NULL && pipe2(in, O_CLOEXEC) != 0)
        return -1;
    *pid = fork();
    if (*pid < 0)
        return -1;
    if (*pid == 0) {
        FILE *out = freopen(out_path, "w", stdout);
        FILE *err = freopen("/dev/null", "w", stderr); /* The alerts it reports. */
        if (out == NULL || err == NULL)
            _exit(127);
        if (stdin_fd != NULL) {
            dup2(in[0], 0);
            close(in[0]);
            close(in[1]);
            execlp("openssl", "openssl", "s_server", "-accept", "127.0.0.1:0", "-cert", path(LEAF), "-key",
                   path(LEAF_KEY), (char *)NULL);
        } else if (freopen("/dev/null", "r", stdin) != NULL) {
            execlp("openssl", "openssl", "s_server", "-accept", "127.0.0.1:0", "-www", "-cert", path(LEAF),
                   "-key", path(LEAF_KEY), (char *)NULL);
        }
        _exit(127);
    }
    if (stdin_fd != NULL) {
        close(in[0]);
        *stdin_fd = in[1];
    }
    int port = 0;
    for (int tries = 0; tries < 1000 && port == 0; tries++) {
        usleep(10000);
        FILE *f = fopen(out_path, "r");
        char line[256];
        while (f != NULL && fgets(line, sizeof line, f) != NULL) {
            if (sscanf(line, "ACCEPT 127.0.0.1:%d", &port) == 1)
                break;
        }
        if (f != NULL)
            fclose(f);
    }
    if (port > 0)
        return port;
    fprintf(stderr, "test_tls: openssl s_server printed no port\n");
    kill(*pid, SIGKILL);
    waitpid(*pid, NULL, 0);
    *pid = -1;
    if (stdin_fd != NULL)
        close(*stdin_fd);
    return -1;
}

/* ---- OpenSSL's heap, counted ----------------------------------------- */

static long openssl_heap; /* Bytes OpenSSL holds now: its allocations go through the hooks below. */
enum { SIZE_HEADER = 16 }; /* Each block's size, before it; 16 keeps malloc's alignment. */

static void *counted_malloc(size_t n, const char *file, int line)
{
    (void)file, (void)line;
    unsigned char *p = malloc(SIZE_HEADER + n);
    if (p == NULL)
        return NULL;
    memcpy(p, &n, sizeof n);
    __atomic_add_fetch(&openssl_heap, (long)n, __ATOMIC_RELAXED);
    return p + SIZE_HEADER;
}

static void counted_free(void *block, const char *file, int line)
{
    (void)file, (void)line;
    if (block == NULL)
        return;
    unsigned char *p = (unsigned char *)block - SIZE_HEADER;
    size_t n;
    memcpy(&n, p, sizeof n);
    __atomic_sub_fetch(&openssl_heap, (long)n, __ATOMIC_RELAXED);
    free(p);
}

static void *counted_realloc(void *block, size_t n, const char *file, int line)
{
    if (block == NULL)
        return counted_malloc(n, file, line);
    if (n == 0) {
        counted_free(block, file, line);
        return NULL;
    }
    size_t old;
    memcpy(&old, (unsigned char *)block - SIZE_HEADER, sizeof old);
    unsigned char *p = realloc((unsigned char *)block - SIZE_HEADER, SIZE_HEADER + n);
    if (p == NULL)
        return NULL;
    memcpy(p, &n, sizeof n);
    __atomic_add_fetch(&openssl_heap, (long)n - (long)old, __ATOMIC_RELAXED);
    return p + SIZE_HEADER;
}

static int suite_init(void)
{
    /* Before OpenSSL's first allocation, which makes it refuse. */
    if (!CRYPTO_set_mem_functions(counted_malloc, counted_realloc, counted_free)) {
        fprintf(stderr, "test_tls: OpenSSL allocated before the suite could count its heap\n");
        return -1;
    }
    snprintf(dir, sizeof dir, "/tmp/green-tls-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    const char *names[NPATHS] = { "ca.pem", "other.pem", "leaf.pem", "leaf.key", "expired.pem" };
    for (int i = 0; i < NPATHS; i++)
        snprintf(path_buf[i], sizeof path_buf[i], "%s/%s", dir, names[i]);
    if (make_certs() != 0)
        return -1;
    s_server_port = spawn_s_server("s_server", &s_server_pid, NULL);
    if (s_server_port < 0)
        return -1;
    return 0;
}

static int suite_cleanup(void)
{
    if (s_server_pid > 0) {
        kill(s_server_pid, SIGTERM);
        waitpid(s_server_pid, NULL, 0);
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- helpers ------------------------------------------------------------ */

static int tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CU_ASSERT_FATAL(fd >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int err = green_connect(fd, (struct sockaddr *)&a, sizeof a, 5.0);
    if (err != 0) {
        close(fd);
        return err;
    }
    return fd;
}

static int tcp_listen(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CU_ASSERT_FATAL(fd >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    CU_ASSERT_FATAL(listen(fd, 4096) == 0);
    CU_ASSERT_FATAL(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static green_tls_config *client_config(const char *ca)
{
    green_tls_options o = { .ca_file = ca };
    green_tls_config *c = NULL;
    CU_ASSERT_EQUAL_FATAL(green_tls_config_new(&c, &o), 0);
    return c;
}

/* Connect to port and handshake with name; the TLS result, the fd closed
 * on failure. */
static int tls_dial(green_tls_config *c, int port, const char *name, int *fd, green_tls **t, double timeout)
{
    *fd = tcp_connect(port);
    if (*fd < 0)
        return *fd;
    int err = green_tls_connect(t, c, *fd, name, timeout);
    if (err != 0) {
        CU_ASSERT_PTR_NULL(*t);
        close(*fd);
        *fd = -1;
    }
    return err;
}

/* ---- an in-process server: green_accept + green_tls_accept -------------- */

enum { SRV_PONG, SRV_TRUNCATE };

typedef struct server {
    green_tls_config *cfg;
    int lfd, port, mode;
    int live, ok, failed;
    green_thread *acceptor;
} server;

typedef struct conn {
    server *s;
    int fd;
} conn;

/* Read until a '\n' (the request is one line). Returns its length or an error. */
static ssize_t read_line(green_tls *t, char *buf, size_t cap, double timeout)
{
    size_t got = 0;
    while (got == 0 || buf[got - 1] != '\n') {
        if (got == cap)
            return GREEN_EMSGSIZE;
        ssize_t n = green_tls_read(t, buf + got, cap - got, timeout);
        if (n <= 0)
            return n == 0 ? GREEN_ECONNRESET : n;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

static void *serve_one(void *arg)
{
    conn *c = arg;
    server *s = c->s;
    green_tls *t = NULL;
    char buf[64];
    int err = green_tls_accept(&t, s->cfg, c->fd, 20.0);
    if (err == 0 && read_line(t, buf, sizeof buf, 20.0) > 0) {
        if (s->mode == SRV_TRUNCATE) {
            /* Part of a body, then the socket closes without close_notify. */
            static const char part[] = "HTTP/1.0 200 ok\r\n\r\npart";
            green_tls_write_all(t, part, sizeof part - 1, 5.0);
        } else if (green_tls_write_all(t, "pong\n", 5, 20.0) == 5 && green_tls_shutdown(t, 20.0) == 0 &&
                   green_tls_read(t, buf, sizeof buf, 20.0) == 0) {
            s->ok++;
        }
    } else {
        s->failed++;
    }
    green_tls_free(t);
    close(c->fd);
    free(c);
    s->live--;
    return NULL;
}

static void *accept_loop(void *arg)
{
    server *s = arg;
    for (;;) {
        int fd = green_accept(s->lfd, NULL, NULL, GREEN_FOREVER);
        if (fd < 0)
            return NULL;
        conn *c = malloc(sizeof *c);
        CU_ASSERT_FATAL(c != NULL);
        *c = (conn){ .s = s, .fd = fd };
        s->live++;
        if (green_spawn(NULL, serve_one, c) != 0) {
            close(fd);
            free(c);
            s->live--;
        }
    }
}

static void server_start(server *s, const char *cert, int mode)
{
    green_tls_options o = { .server = true, .cert_file = cert, .key_file = path(LEAF_KEY) };
    *s = (server){ .mode = mode };
    CU_ASSERT_EQUAL_FATAL(green_tls_config_new(&s->cfg, &o), 0);
    s->lfd = tcp_listen(&s->port);
    CU_ASSERT_EQUAL_FATAL(green_spawn(&s->acceptor, accept_loop, s), 0);
}

static void server_stop(server *s)
{
    CU_ASSERT_EQUAL(green_kill(s->acceptor), 0);
    CU_ASSERT_EQUAL(green_join(s->acceptor, 5.0, NULL), 0);
    green_release(s->acceptor);
    for (int i = 0; s->live > 0 && i < 5000; i++)
        green_sleep(0.002);
    CU_ASSERT_EQUAL(s->live, 0);
    close(s->lfd);
    green_tls_config_free(s->cfg);
}

/* One client of the in-process server: ping, pong, close_notify both ways. */
typedef struct client_job {
    green_tls_config *cfg;
    int port;
    const char *name;
    int rc;        /* Handshake result. */
    int done;      /* The exchange and the shutdown went through. */
} client_job;

static void *ping_client(void *arg)
{
    client_job *j = arg;
    int fd;
    green_tls *t = NULL;
    char buf[64];
    j->rc = tls_dial(j->cfg, j->port, j->name, &fd, &t, 30.0);
    if (j->rc != 0)
        return NULL;
    j->done = green_tls_write_all(t, "ping\n", 5, 30.0) == 5 && read_line(t, buf, sizeof buf, 30.0) == 5 &&
              memcmp(buf, "pong\n", 5) == 0 && green_tls_read(t, buf, sizeof buf, 30.0) == 0 &&
              green_tls_shutdown(t, 30.0) == 0;
    green_tls_free(t);
    close(fd);
    return NULL;
}

/* ---- tests -------------------------------------------------------------- */

static void test_config_errors(void)
{
    green_tls_config *c = (green_tls_config *)1;
    green_tls_options server_no_cert = { .server = true };
    CU_ASSERT_EQUAL(green_tls_config_new(&c, &server_no_cert), GREEN_EINVAL);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_EQUAL(green_tls_config_new(&c, NULL), GREEN_EINVAL);
    green_tls_options missing = { .ca_file = "/nonexistent/ca.pem" };
    CU_ASSERT_EQUAL(green_tls_config_new(&c, &missing), GREEN_ETLS_CONFIG);
    /* Verification off does not hide a CA file that cannot be read. */
    green_tls_options missing_unverified = { .ca_file = "/nonexistent/ca.pem", .no_verify = true };
    CU_ASSERT_EQUAL(green_tls_config_new(&c, &missing_unverified), GREEN_ETLS_CONFIG);
    CU_ASSERT_PTR_NULL(c);
    green_tls_options wrong_key = { .server = true, .cert_file = path(LEAF), .key_file = path(CA) };
    CU_ASSERT_EQUAL(green_tls_config_new(&c, &wrong_key), GREEN_ETLS_CONFIG);
    /* A configuration of the other side. */
    green_tls_options server_opts = { .server = true, .cert_file = path(LEAF), .key_file = path(LEAF_KEY) };
    green_tls_config *server_cfg, *client_cfg = client_config(path(CA));
    CU_ASSERT_EQUAL_FATAL(green_tls_config_new(&server_cfg, &server_opts), 0);
    green_tls *t = (green_tls *)1;
    CU_ASSERT_EQUAL(green_tls_accept(&t, client_cfg, 0, 1.0), GREEN_EINVAL);
    CU_ASSERT_PTR_NULL(t);
    CU_ASSERT_EQUAL(green_tls_connect(&t, server_cfg, 0, "localhost", 1.0), GREEN_EINVAL);
    green_tls_config_free(server_cfg);
    green_tls_config_free(client_cfg);
    green_tls_config_free(NULL);
    green_tls_free(NULL);
    /* The range and its messages. */
    CU_ASSERT(GREEN_ETLS_TRUNCATED <= GREEN_ETLS_FIRST && GREEN_ETLS_TRUNCATED > GREEN_ETLS_LAST);
    CU_ASSERT(GREEN_EAI_SOCKTYPE > GREEN_ETLS_FIRST);
    CU_ASSERT(strstr(green_strerror(GREEN_ETLS_UNKNOWN_CA), "unknown certificate authority") != NULL);
    CU_ASSERT(strstr(green_strerror(GREEN_ETLS_TRUNCATED), "close_notify") != NULL);
    CU_ASSERT_STRING_EQUAL(green_err_name(GREEN_ETLS_NAME_MISMATCH), "ETLS_NAME_MISMATCH");
}

static char encrypted_key[96];

static void child_config_with_encrypted_key(void)
{
    /* A terminal of its own, on which OpenSSL's passphrase prompt would wait. */
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    CHILD_CHECK(m >= 0 && grantpt(m) == 0 && unlockpt(m) == 0 && setsid() >= 0);
    CHILD_CHECK(open(ptsname(m), O_RDWR) >= 0);
    green_tls_config *c;
    green_tls_options o = { .server = true, .cert_file = path(LEAF), .key_file = encrypted_key };
    CHILD_CHECK(green_tls_config_new(&c, &o) == GREEN_ETLS_CONFIG);
}

/* An encrypted key is an unusable file, not a prompt that blocks the hub. */
static void test_encrypted_key_fails_without_prompting(void)
{
    snprintf(encrypted_key, sizeof encrypted_key, "%s/leaf-enc.key", dir);
    CU_ASSERT_EQUAL_FATAL(run("openssl pkey -in leaf.key -aes256 -passout pass:secret -out leaf-enc.key"),
                          0);
    CU_ASSERT(fork_child_ok(fork_child(child_config_with_encrypted_key, 10.0)));
}

typedef struct idle_peer {
    green_tls_config *cfg;
    int fd;
    green_event *done;
} idle_peer;

/* Accept, then say nothing (no close_notify) until told. */
static void *accept_then_idle(void *arg)
{
    idle_peer *p = arg;
    green_tls *t = NULL;
    if (green_tls_accept(&t, p->cfg, p->fd, 5.0) == 0)
        green_event_wait(p->done, 5.0);
    green_tls_free(t);
    return NULL;
}

/* A second shutdown returns at once: it does not wait for the peer's
 * close_notify, which OpenSSL's SSL_shutdown does once ours is sent. */
static void test_shutdown_twice_returns_at_once(void)
{
    int sv[2];
    CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    green_tls_options so = { .server = true, .cert_file = path(LEAF), .key_file = path(LEAF_KEY) };
    idle_peer p = { .fd = sv[1] };
    CU_ASSERT_EQUAL_FATAL(green_tls_config_new(&p.cfg, &so), 0);
    CU_ASSERT_EQUAL_FATAL(green_event_new(&p.done), 0);
    green_thread *peer;
    CU_ASSERT_EQUAL_FATAL(green_spawn(&peer, accept_then_idle, &p), 0);
    green_tls_config *cc = client_config(path(CA));
    green_tls *t = NULL;
    CU_ASSERT_EQUAL_FATAL(green_tls_connect(&t, cc, sv[0], "localhost", 5.0), 0);
    CU_ASSERT_EQUAL(green_tls_shutdown(t, 2.0), 0);
    double t0 = green_now();
    CU_ASSERT_EQUAL(green_tls_shutdown(t, 2.0), 0);
    CU_ASSERT(green_now() - t0 < 0.5);
    /* Nothing may follow our close_notify; the connection stays readable. */
    CU_ASSERT_EQUAL(green_tls_write_all(t, "x", 1, 1.0), GREEN_EPIPE);
    char buf[8];
    CU_ASSERT_EQUAL(green_tls_read(t, buf, sizeof buf, 0), GREEN_ETIMEDOUT);
    green_event_set(p.done);
    CU_ASSERT_EQUAL(green_join(peer, 5.0, NULL), 0);
    green_release(peer);
    green_tls_free(t);
    green_event_free(p.done);
    green_tls_config_free(cc);
    green_tls_config_free(p.cfg);
    close(sv[0]);
    close(sv[1]);
}

/* GET / from s_server -www, by DNS name and by IP address. */
static void test_https_get_from_s_server(void)
{
    green_tls_config *c = client_config(path(CA));
    const char *names[] = { "localhost", "127.0.0.1" };
    for (int i = 0; i < 2; i++) {
        int fd;
        green_tls *t = NULL;
        CU_ASSERT_EQUAL_FATAL(tls_dial(c, s_server_port, names[i], &fd, &t, 10.0), 0);
        const char req[] = "GET / HTTP/1.0\r\n\r\n";
        CU_ASSERT_EQUAL(green_tls_write_all(t, req, sizeof req - 1, 10.0), (ssize_t)(sizeof req - 1));
        char buf[16384];
        size_t got = 0;
        ssize_t n;
        while ((n = green_tls_read(t, buf + got, sizeof buf - 1 - got, 10.0)) > 0)
            got += (size_t)n;
        buf[got] = '\0';
        CU_ASSERT(strncmp(buf, "HTTP/1.0 200 ok", 15) == 0);
        /* s_server ends the page with close_notify: a clean end of file. */
        CU_ASSERT_EQUAL(n, 0);
        if (n != 0)
            fprintf(stderr, "read: %s\n", green_strerror((int)n));
        CU_ASSERT_EQUAL(green_tls_shutdown(t, 10.0), 0);
        green_tls_free(t);
        close(fd);
    }
    green_tls_config_free(c);
}

static void test_unknown_ca(void)
{
    green_tls_config *c = client_config(path(OTHER_CA));
    int fd;
    green_tls *t = NULL;
    CU_ASSERT_EQUAL(tls_dial(c, s_server_port, "localhost", &fd, &t, 10.0), GREEN_ETLS_UNKNOWN_CA);
    green_tls_config_free(c);
    /* The system's store does not know the test CA either. */
    c = client_config(NULL);
    CU_ASSERT_EQUAL(tls_dial(c, s_server_port, "localhost", &fd, &t, 10.0), GREEN_ETLS_UNKNOWN_CA);
    green_tls_config_free(c);
}

static void test_wrong_name(void)
{
    green_tls_config *c = client_config(path(CA));
    int fd;
    green_tls *t = NULL;
    CU_ASSERT_EQUAL(tls_dial(c, s_server_port, "example.com", &fd, &t, 10.0), GREEN_ETLS_NAME_MISMATCH);
    CU_ASSERT_EQUAL(tls_dial(c, s_server_port, "127.0.0.2", &fd, &t, 10.0), GREEN_ETLS_NAME_MISMATCH);
    CU_ASSERT_EQUAL(green_tls_connect(&t, c, 0, NULL, 1.0), GREEN_EINVAL); /* Verifying needs a name. */
    green_tls_config_free(c);
}

static void test_expired_certificate(void)
{
    server s;
    server_start(&s, path(EXPIRED), SRV_PONG);
    client_job j = { .cfg = client_config(path(CA)), .port = s.port, .name = "localhost" };
    ping_client(&j);
    CU_ASSERT_EQUAL(j.rc, GREEN_ETLS_CERT_EXPIRED);
    server_stop(&s);
    CU_ASSERT_EQUAL(s.failed, 1); /* The server saw the client's alert. */
    green_tls_config_free(j.cfg);
}

/* Handshake, request, response and close_notify both ways, in process. */
static void test_clean_exchange_in_process(void)
{
    server s;
    server_start(&s, path(LEAF), SRV_PONG);
    client_job j = { .cfg = client_config(path(CA)), .port = s.port, .name = "localhost" };
    ping_client(&j);
    CU_ASSERT_EQUAL(j.rc, 0);
    CU_ASSERT(j.done);
    server_stop(&s);
    CU_ASSERT_EQUAL(s.ok, 1);
    green_tls_config_free(j.cfg);
}

static int ticks;
static volatile int stop_ticking;

static void *ticker(void *arg)
{
    (void)arg;
    while (!stop_ticking && green_sleep(0.01) == 0)
        ticks++;
    return NULL;
}

/* A TCP server that never answers the handshake (a listener nobody accepts
 * from): the deadline ends it, and other green threads run meanwhile. */
static void test_silent_server_times_out(void)
{
    int port;
    int lfd = tcp_listen(&port);
    green_tls_config *c = client_config(path(CA));
    green_thread *tk;
    ticks = 0;
    stop_ticking = 0;
    CU_ASSERT_EQUAL_FATAL(green_spawn(&tk, ticker, NULL), 0);
    int fd;
    green_tls *t = NULL;
    double t0 = green_now();
    CU_ASSERT_EQUAL(tls_dial(c, port, "localhost", &fd, &t, 0.2), GREEN_ETIMEDOUT);
    double took = green_now() - t0;
    CU_ASSERT(took >= 0.2 && took < 2.0);
    CU_ASSERT(ticks >= 5);
    /* A timeout of 0 checks once and does not wait. */
    CU_ASSERT_EQUAL(tls_dial(c, port, "localhost", &fd, &t, 0), GREEN_ETIMEDOUT);
    stop_ticking = 1;
    CU_ASSERT_EQUAL(green_join(tk, 1.0, NULL), 0);
    green_release(tk);
    green_tls_config_free(c);
    close(lfd);
}

typedef struct dial_job {
    green_tls_config *cfg;
    int port;
    int rc;
} dial_job;

static void *dial_forever(void *arg)
{
    dial_job *j = arg;
    int fd;
    green_tls *t = NULL;
    j->rc = tls_dial(j->cfg, j->port, "localhost", &fd, &t, GREEN_FOREVER);
    return NULL;
}

static void test_kill_during_handshake(void)
{
    int port;
    int lfd = tcp_listen(&port);
    dial_job j = { .cfg = client_config(path(CA)), .port = port, .rc = 99 };
    green_thread *g;
    CU_ASSERT_EQUAL_FATAL(green_spawn(&g, dial_forever, &j), 0);
    CU_ASSERT_EQUAL(green_sleep(0.05), 0); /* It sent its ClientHello and waits. */
    CU_ASSERT_EQUAL(j.rc, 99);
    CU_ASSERT_EQUAL(green_kill(g), 0);
    CU_ASSERT_EQUAL(green_join(g, 1.0, NULL), 0);
    CU_ASSERT_EQUAL(j.rc, GREEN_ECANCELED);
    green_release(g);
    green_tls_config_free(j.cfg);
    close(lfd);
}

/* Two green threads of one hub handshake at once; one fails verification,
 * the other succeeds: the failure's error queue never reaches the other. */
static void test_error_queue_isolation(void)
{
    server s;
    server_start(&s, path(LEAF), SRV_PONG);
    client_job good = { .cfg = client_config(path(CA)), .port = s.port, .name = "localhost" };
    client_job bad = { .cfg = client_config(path(OTHER_CA)), .port = s.port, .name = "localhost" };
    client_job bad_name = { .cfg = good.cfg, .port = s.port, .name = "example.com" };
    for (int round = 0; round < 4; round++) {
        green_thread *g[3];
        good.rc = bad.rc = bad_name.rc = 99;
        good.done = 0;
        CU_ASSERT_EQUAL_FATAL(green_spawn(&g[0], ping_client, round % 2 ? &good : &bad), 0);
        CU_ASSERT_EQUAL_FATAL(green_spawn(&g[1], ping_client, round % 2 ? &bad : &good), 0);
        CU_ASSERT_EQUAL_FATAL(green_spawn(&g[2], ping_client, &bad_name), 0);
        CU_ASSERT_EQUAL(green_joinall(g, 3, 30.0), 3);
        for (int i = 0; i < 3; i++)
            green_release(g[i]);
        CU_ASSERT_EQUAL(good.rc, 0);
        CU_ASSERT(good.done);
        CU_ASSERT_EQUAL(bad.rc, GREEN_ETLS_UNKNOWN_CA);
        CU_ASSERT_EQUAL(bad_name.rc, GREEN_ETLS_NAME_MISMATCH);
    }
    server_stop(&s);
    CU_ASSERT_EQUAL(s.ok, 4);
    green_tls_config_free(good.cfg);
    green_tls_config_free(bad.cfg);
}

/* A peer that closes the socket mid-body without close_notify: the read
 * says GREEN_ETLS_TRUNCATED, never 0, and keeps saying it. */
static void test_truncation(void)
{
    server s;
    server_start(&s, path(LEAF), SRV_TRUNCATE);
    green_tls_config *c = client_config(path(CA));
    int fd;
    green_tls *t = NULL;
    CU_ASSERT_EQUAL_FATAL(tls_dial(c, s.port, "localhost", &fd, &t, 10.0), 0);
    CU_ASSERT_EQUAL(green_tls_write_all(t, "GET\n", 4, 10.0), 4);
    char buf[256];
    size_t got = 0;
    ssize_t n;
    while ((n = green_tls_read(t, buf + got, sizeof buf - got, 10.0)) > 0)
        got += (size_t)n;
    CU_ASSERT_EQUAL(got, strlen("HTTP/1.0 200 ok\r\n\r\npart"));
    CU_ASSERT_EQUAL(n, GREEN_ETLS_TRUNCATED);
    CU_ASSERT_EQUAL(green_tls_read(t, buf, sizeof buf, 10.0), GREEN_ETLS_TRUNCATED);
    CU_ASSERT_EQUAL(green_tls_shutdown(t, 1.0), GREEN_ETLS_TRUNCATED);
    green_tls_free(t);
    close(fd);
    server_stop(&s);
    green_tls_config_free(c);
}

/* `openssl s_server` killed (SIGKILL) in the middle of a body it was
 * sending: the process's socket closes without close_notify. */
static void test_truncation_s_server_killed(void)
{
    pid_t pid;
    int feed;
    int port = spawn_s_server("s_server_echo", &pid, &feed);
    CU_ASSERT_FATAL(port > 0);
    green_tls_config *c = client_config(path(CA));
    int fd;
    green_tls *t = NULL;
    CU_ASSERT_EQUAL(tls_dial(c, port, "localhost", &fd, &t, 10.0), 0);
    static const char part[] = "HTTP/1.0 200 ok\r\n\r\nthe first half of the bo";
    CU_ASSERT_EQUAL(write(feed, part, sizeof part - 1), (ssize_t)(sizeof part - 1));
    char buf[256];
    size_t got = 0;
    ssize_t n = 1;
    while (t != NULL && got < sizeof part - 1 &&
           (n = green_tls_read(t, buf + got, sizeof buf - got, 10.0)) > 0)
        got += (size_t)n;
    CU_ASSERT_EQUAL(got, sizeof part - 1);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(feed);
    if (t != NULL) {
        n = green_tls_read(t, buf, sizeof buf, 10.0);
        CU_ASSERT_EQUAL(n, GREEN_ETLS_TRUNCATED);
        if (n != GREEN_ETLS_TRUNCATED)
            fprintf(stderr, "read: %zd %s\n", n, green_strerror((int)n));
        green_tls_free(t);
        close(fd);
    }
    green_tls_config_free(c);
}

/* n clients of one in-process server at once, on one hub: every
 * handshake, exchange and close_notify goes through, on both sides. */
static void exchange_many(int n)
{
    server s;
    server_start(&s, path(LEAF), SRV_PONG);
    green_tls_config *c = client_config(path(CA));
    client_job *jobs = calloc((size_t)n, sizeof *jobs);
    green_thread **g = calloc((size_t)n, sizeof *g);
    CU_ASSERT_FATAL(jobs != NULL && g != NULL);
    for (int i = 0; i < n; i++) {
        jobs[i] = (client_job){ .cfg = c, .port = s.port, .name = "localhost", .rc = 99 };
        CU_ASSERT_EQUAL_FATAL(green_spawn(&g[i], ping_client, &jobs[i]), 0);
    }
    CU_ASSERT_EQUAL(green_joinall(g, (size_t)n, 120.0), n);
    int ok = 0;
    for (int i = 0; i < n; i++) {
        ok += jobs[i].rc == 0 && jobs[i].done;
        green_release(g[i]);
    }
    CU_ASSERT_EQUAL(ok, n);
    server_stop(&s);
    CU_ASSERT_EQUAL(s.ok, n);
    free(jobs);
    free(g);
    green_tls_config_free(c);
}

static void test_many_concurrent_handshakes(void)
{
    exchange_many(RUNNING_ON_VALGRIND ? 50 : 1000);
}

/* OpenSSL runs on the hub's call stack, not the green thread's: clients
 * and servers handshake and exchange on the smallest stacks green_init
 * allows, which a handshake on the thread's own stack overflows (it needs
 * about 8 KiB). The stack mode stays GREEN_STACKS's. */
static void test_handshakes_on_smallest_stacks(void)
{
    CU_ASSERT_EQUAL_FATAL(green_fini(), 0);
    green_options o = { .stack_size = 4096 };
    CU_ASSERT_EQUAL_FATAL(green_init(&o), 0);
    green_stats st;
    CU_ASSERT_EQUAL_FATAL(green_stats_get(&st), 0);
    CU_ASSERT_EQUAL(st.stack_size, 4096);
    exchange_many(RUNNING_ON_VALGRIND ? 10 : 100);
}

/* Idle connections hold no record buffers: a client and a server
 * connection waiting for their peer keep their session state (about 47 KB
 * the pair, with OpenSSL 3.0), not a read and a write buffer of about 17 KB
 * each as well (96 KB the pair before, 80 KB with SSL_MODE_RELEASE_BUFFERS
 * alone). Counted in OpenSSL's own heap. */
static void test_idle_connections_release_buffers(void)
{
    enum { N = 20 };
    server s;
    server_start(&s, path(LEAF), SRV_PONG);
    green_tls_config *c = client_config(path(CA));
    client_job warm = { .cfg = c, .port = s.port, .name = "localhost" };
    ping_client(&warm); /* OpenSSL's lazily made tables do not count. */
    CU_ASSERT_FATAL(warm.done);
    long before = openssl_heap;
    int fd[N];
    green_tls *t[N];
    char buf[64];
    for (int i = 0; i < N; i++) {
        t[i] = NULL;
        CU_ASSERT_EQUAL_FATAL(tls_dial(c, s.port, "localhost", &fd[i], &t[i], 30.0), 0);
        CU_ASSERT_EQUAL(green_tls_write_all(t[i], "ping\n", 5, 30.0), 5);
        CU_ASSERT_EQUAL(read_line(t[i], buf, sizeof buf, 30.0), 5);
    }
    green_sleep(0.05); /* Every server connection waits for its client's close_notify. */
    long per_pair = (openssl_heap - before) / N;
    if (per_pair >= 64 * 1024)
        fprintf(stderr, "test_tls: %ld bytes of OpenSSL's heap per idle pair of connections\n", per_pair);
    CU_ASSERT(per_pair > 0 && per_pair < 64 * 1024);
    for (int i = 0; i < N; i++) {
        CU_ASSERT_EQUAL(green_tls_read(t[i], buf, sizeof buf, 30.0), 0);
        CU_ASSERT_EQUAL(green_tls_shutdown(t[i], 30.0), 0);
        green_tls_free(t[i]);
        close(fd[i]);
    }
    server_stop(&s);
    CU_ASSERT_EQUAL(s.ok, N + 1);
    green_tls_config_free(c);
}

static CU_TestInfo tls_tests[] = {
    { "config_errors", test_config_errors },
    { "encrypted_key_fails_without_prompting", test_encrypted_key_fails_without_prompting },
    { "shutdown_twice_returns_at_once", test_shutdown_twice_returns_at_once },
    { "https_get_from_s_server", test_https_get_from_s_server },
    { "unknown_ca", test_unknown_ca },
    { "wrong_name", test_wrong_name },
    { "expired_certificate", test_expired_certificate },
    { "clean_exchange_in_process", test_clean_exchange_in_process },
    { "silent_server_times_out", test_silent_server_times_out },
    { "kill_during_handshake", test_kill_during_handshake },
    { "error_queue_isolation", test_error_queue_isolation },
    { "truncation", test_truncation },
    { "truncation_s_server_killed", test_truncation_s_server_killed },
    { "many_concurrent_handshakes", test_many_concurrent_handshakes },
    { "handshakes_on_smallest_stacks", test_handshakes_on_smallest_stacks },
    { "idle_connections_release_buffers", test_idle_connections_release_buffers },
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo green_test_suites[] = {
    { .pName = "tls",
      .pTests = tls_tests,
      .pInitFunc = suite_init,
      .pCleanupFunc = suite_cleanup,
      .pSetUpFunc = green_fixture_setup,
      .pTearDownFunc = green_fixture_teardown },
    CU_SUITE_INFO_NULL,
};
