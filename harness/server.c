/* harness/server.c: the local servers' lifetime (server.h): started
 * through the process helper in a group of its own, its URL read from its
 * first stdout line, its stdout drained into server.log while it runs.
 * Also its window (a blocking GET over a plain socket, its JSON read with
 * jansson) and its capacity (wrk, run through the process helper). */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json.h"
#include "util.h"

int gb_server_parse_line(const char *line, char *url, size_t n)
{
    const char *scheme = strstr(line, "://");
    if (scheme) {
        const char *start = scheme;
        while (start > line && start[-1] != ' ' && start[-1] != '\t')
            start--;
        size_t len = strcspn(start, " \t\r\n");
        if (len == 0 || len >= n)
            return -EINVAL;
        snprintf(url, n, "%.*s", (int)len, start);
        return 0;
    }
    /* Otherwise the last number on the line is the port. */
    long port = -1;
    for (const char *s = line; *s;) {
        if (*s >= '0' && *s <= '9') {
            char *end;
            long v = strtol(s, &end, 10);
            if (*end == '.') { /* part of an address such as 127.0.0.1 */
                s = end + 1;
                continue;
            }
            port = v;
            s = end;
        } else {
            s++;
        }
    }
    if (port < 1 || port > 65535)
        return -EINVAL;
    snprintf(url, n, "http://127.0.0.1:%ld/", port);
    return 0;
}

/* The server is gone: close our end of its stdout. */
static void server_forget(struct gb_server *s)
{
    gb_proc_close(&s->proc);
    s->proc.pid = 0;
}

/* Whole lines in text: the first, and with tls the second too. */
static bool lines_in(const char *text, bool tls)
{
    const char *nl = strchr(text, '\n');
    return nl != NULL && (!tls || strchr(nl + 1, '\n') != NULL);
}

/* The first stdout line of the server, which names its port, within 10 s
 * (with --tls the second too, "ca: PATH"). 0 with s->url (and s->ca) set,
 * or -1 with s->error. */
static int read_port_line(const char *program, struct gb_server *s)
{
    struct gb_buf line;
    gb_buf_init(&line);
    int64_t deadline = gb_now_ns() + 10000000000LL;
    bool eof = false;
    while (!lines_in(gb_buf_str(&line), s->tls) && !eof) {
        int left = (int)((deadline - gb_now_ns()) / 1000000);
        if (left <= 0)
            break;
        struct pollfd p = { .fd = s->proc.out_fd, .events = POLLIN };
        int pr = poll(&p, 1, left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            break;
        char c[256];
        ssize_t r = read(s->proc.out_fd, c, sizeof c);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            eof = true;
        else
            gb_buf_add(&line, c, (size_t)r);
    }
    int rc = -1;
    if (!lines_in(gb_buf_str(&line), s->tls)) {
        snprintf(s->error, sizeof s->error, "%s printed no port line%s within 10 s%s", program,
                 s->tls ? " and CA line" : "", eof ? " (it exited)" : "");
    } else {
        char *first = gb_xstrdup(gb_buf_str(&line));
        char *second = first + strcspn(first, "\n") + 1;
        first[strcspn(first, "\r\n")] = '\0';
        second[strcspn(second, "\r\n")] = '\0';
        if (gb_server_parse_line(first, s->url, sizeof s->url) != 0)
            snprintf(s->error, sizeof s->error, "%s: cannot read a port from '%.80s'", program,
                     first);
        else if (s->tls && (strncmp(second, "ca: ", 4) != 0 || strlen(second + 4) >= sizeof s->ca))
            snprintf(s->error, sizeof s->error, "%s --tls: '%.80s' after its URL, not 'ca: PATH'", program,
                     second);
        else
            rc = 0;
        if (rc == 0 && s->tls)
            snprintf(s->ca, sizeof s->ca, "%s", second + 4);
        if (rc == 0 && s->tls && strncmp(s->url, "http://", 7) == 0)
            /* gb_server_parse_line reads http: the scheme is https. */
            memmove(s->url + 5, s->url + 4, strlen(s->url + 4) + 1), s->url[4] = 's';
        free(first);
    }
    gb_buf_free(&line);
    return rc;
}

/* Pin process pid to the CPUs of list ("last", or such as "3", "2-3",
 * "1,3"), as greenbench-server's --cpus does for itself. 0 or -errno. */
static int pin_process(int pid, const char *list)
{
    cpu_set_t allowed, set;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
        return -errno;
    CPU_ZERO(&set);
    if (strcmp(list, "last") == 0) {
        for (int c = CPU_SETSIZE - 1; c >= 0 && CPU_COUNT(&set) == 0; c--)
            if (CPU_ISSET(c, &allowed))
                CPU_SET(c, &set);
    } else {
        for (const char *p = list; *p;) {
            char *end;
            long lo = strtol(p, &end, 10), hi = lo;
            if (*end == '-')
                hi = strtol(end + 1, &end, 10);
            if (end == p || lo < 0 || hi < lo || hi >= CPU_SETSIZE || (*end != ',' && *end != '\0'))
                return -EINVAL;
            for (long c = lo; c <= hi; c++)
                CPU_SET((int)c, &set);
            p = *end == ',' ? end + 1 : end;
        }
    }
    return sched_setaffinity(pid, sizeof set, &set) == 0 ? 0 : -errno;
}

/* Start server argv[0] in its own group, like a cell's, asked to stop
 * (SIGTERM) when the harness dies, stderr into log_fd (server.log); pin it
 * to s->cpus from here when pin (a program without a --cpus of its own);
 * then read where it listens. 0, or -1 with s->error (stopped). */
static int spawn(char *const argv[], int log_fd, bool pin, struct gb_server *s)
{
    struct gb_proc_opts o = {
        .own_group = true,
        .death_signal = SIGTERM,
        .clear_sigmask = true,
        .say_exec_error = true,
        .out = GB_PROC_PIPE,
        .err = log_fd >= 0 ? GB_PROC_FD : GB_PROC_NULL,
        .err_fd = log_fd,
    };
    if (gb_proc_start(argv, &o, &s->proc, s->error, sizeof s->error) != 0)
        return -1;
    int err = pin ? pin_process(s->proc.pid, s->cpus) : 0;
    if (err != 0)
        snprintf(s->error, sizeof s->error, "cannot pin %s to CPUs %s: %s", argv[0], s->cpus,
                 strerror(-err));
    if (err != 0 || read_port_line(argv[0], s) != 0) {
        gb_server_stop(s);
        return -1;
    }
    fcntl(s->proc.out_fd, F_SETFL, O_NONBLOCK);
    s->log_fd = log_fd;
    return 0;
}

/* gb_server_start for greenbench-dns: one thread, pinned from here. */
static int dns_server_start(const char *program, const struct gb_server_spec *spec, int log_fd,
                            struct gb_server *s)
{
    s->dns = true;
    s->private_net = spec->private_net;
    char dbuf[32];
    snprintf(dbuf, sizeof dbuf, "%ld", s->delay_ms < 0 ? 0 : s->delay_ms);
    char *argv[6] = { (char *)program, "--delay-ms", dbuf };
    int argc = 3;
    if (s->private_net)
        argv[argc++] = "--private-net";
    argv[argc] = NULL;
    return spawn(argv, log_fd, true, s);
}

long long gb_server_cpu_ns(const struct gb_server *s)
{
    if (s == NULL || s->proc.pid <= 0)
        return -1;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/schedstat", s->proc.pid);
    FILE *f = fopen(path, "re");
    long long ns = -1;
    if (f != NULL) {
        if (fscanf(f, "%lld", &ns) != 1)
            ns = -1;
        fclose(f);
    }
    return ns;
}

int gb_server_namespaces(const struct gb_server *s)
{
    return s != NULL && s->dns && s->private_net && s->proc.pid > 0 ? s->proc.pid : 0;
}

/* cpus as the server keys it: NULL and "" are "last". */
static const char *cpus_key(const char *cpus)
{
    return cpus == NULL || cpus[0] == '\0' ? "last" : cpus;
}

int gb_server_start(const char *program, const struct gb_server_spec *spec, int log_fd, struct gb_server *s)
{
    memset(s, 0, sizeof *s);
    s->proc.out_fd = s->proc.err_fd = s->log_fd = -1;
    s->delay_ms = spec->delay_ms;
    s->size = spec->size;
    s->threads = spec->threads > 1 ? spec->threads : 1;
    s->tls = spec->tls_dir != NULL;
    const char *cpus = cpus_key(spec->cpus);
    if (strlen(cpus) >= sizeof s->cpus) {
        snprintf(s->error, sizeof s->error, "--cpus=%.40s...: longer than %zu bytes", cpus,
                 sizeof s->cpus - 1);
        return -1;
    }
    snprintf(s->cpus, sizeof s->cpus, "%s", cpus);
    if (spec->dns)
        return dns_server_start(program, spec, log_fd, s);
    char dbuf[32], sbuf[32], tbuf[32];
    snprintf(dbuf, sizeof dbuf, "%ld", s->delay_ms < 0 ? 0 : s->delay_ms);
    snprintf(sbuf, sizeof sbuf, "%ld", s->size < 0 ? 0 : s->size);
    snprintf(tbuf, sizeof tbuf, "%d", s->threads);
    /* On the last CPU unless told otherwise: green cells keep off it
     * (cell.c). One loop on the last CPU is the command line every server
     * had before --threads and --cpus, and still gets. */
    char *argv[12] = { (char *)program, "--delay-ms", dbuf, "--size", sbuf };
    int argc = 5;
    if (s->threads > 1) {
        argv[argc++] = "--threads";
        argv[argc++] = tbuf;
    }
    argv[argc++] = strcmp(s->cpus, "last") == 0 ? "--cpu" : "--cpus";
    argv[argc++] = s->cpus;
    if (s->tls) {
        argv[argc++] = "--tls-dir";
        argv[argc++] = (char *)spec->tls_dir;
    }
    argv[argc] = NULL;
    return spawn(argv, log_fd, false, s);
}

bool gb_server_alive(struct gb_server *s)
{
    if (s->proc.pid <= 0)
        return false;
    if (s->proc.out_fd >= 0) { /* keep its stdout from filling up */
        char c[4096];
        ssize_t r;
        while ((r = read(s->proc.out_fd, c, sizeof c)) > 0)
            if (s->log_fd >= 0 && write(s->log_fd, c, (size_t)r) < 0)
                break;
    }
    int pid = s->proc.pid;
    if (gb_proc_reap(&s->proc, NULL)) {
        snprintf(s->error, sizeof s->error, "the server (pid %d) exited", pid);
        server_forget(s);
        return false;
    }
    return true;
}

void gb_server_stop(struct gb_server *s)
{
    if (s->proc.pid <= 0)
        return;
    gb_proc_terminate(&s->proc, 2.0);
    server_forget(s);
}

/* ---- the servers of a run ---- */

void gb_servers_init(struct gb_servers *sv, const char *dir)
{
    memset(sv, 0, sizeof *sv);
    sv->log_fd = -1;
    snprintf(sv->dir, sizeof sv->dir, "%s", dir);
    snprintf(sv->log_path, sizeof sv->log_path, "%s/server.log", dir);
}

struct gb_server *gb_servers_get(struct gb_servers *sv, const struct gb_programs *p,
                                 const struct gb_server_spec *spec, char *why, size_t whylen)
{
    if (sv->log_fd < 0)
        sv->log_fd = open(sv->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int threads = spec->threads > 1 ? spec->threads : 1;
    const char *cpus = cpus_key(spec->cpus);
    struct gb_server *s = NULL;
    for (size_t i = 0; i < sv->n && s == NULL; i++)
        if (sv->s[i].delay_ms == spec->delay_ms && sv->s[i].dns == spec->dns &&
            (spec->dns ||
             (sv->s[i].size == spec->size && sv->s[i].threads == threads && sv->s[i].tls == spec->tls)) &&
            strcmp(sv->s[i].cpus, cpus) == 0)
            s = &sv->s[i];
    const char *name = spec->dns ? "greenbench-dns" : "greenbench-server";
    if (s != NULL) {
        if (gb_server_alive(s))
            return s;
        fprintf(stderr, "greenbench: %s; starting it again\n", s->error);
    } else if (!(spec->dns ? p->dns : p->server)) {
        snprintf(why, whylen, "%s is not in %.400s", name, p->bin_dir);
        return NULL;
    } else if (sv->n == sizeof sv->s / sizeof sv->s[0]) {
        snprintf(why, whylen, "too many distinct (delay, size, threads, CPUs, TLS) servers");
        return NULL;
    } else {
        s = &sv->s[sv->n];      /* Taken only once the server is up. */
    }
    /* A TLS server's throwaway CA goes into the run folder, where the
     * recorded argv's --cacert finds it again. */
    char *tls_dir = spec->tls ? gb_xasprintf("%s/tls-%zu", sv->dir, (size_t)(s - sv->s)) : NULL;
    struct gb_server_spec start = *spec;
    start.tls_dir = tls_dir;
    start.private_net = spec->dns && !sv->shared_net;
    char *prog = gb_xasprintf("%s/%s", p->bin_dir, name);
    int rc = gb_server_start(prog, &start, sv->log_fd, s);
    if (rc != 0 && start.private_net) {
        fprintf(stderr,
                "greenbench: greenbench-dns --private-net: %s (its reason is in %s); the cells that "
                "resolve through /etc/resolv.conf (--ares=0 but Go's) cannot reach it and will fail, "
                "the others run against it on a port of its own\n",
                s->error, sv->log_path);
        sv->shared_net = true;
        start.private_net = false;
        rc = gb_server_start(prog, &start, sv->log_fd, s);
    }
    free(prog);
    free(tls_dir);
    if (rc != 0) {
        snprintf(why, whylen, "local %s server: %s", spec->dns ? "DNS" : "HTTP", s->error);
        return NULL;
    }
    if (s == &sv->s[sv->n])
        sv->n++;
    return s;
}

void gb_servers_stop(struct gb_servers *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        gb_server_stop(&sv->s[i]);
    if (sv->log_fd >= 0)
        close(sv->log_fd);
    sv->log_fd = -1;
}

/* ---- the server's window ---- */

/* Wait until fd is ready for events or the deadline passes: 1, 0 on the
 * deadline, -errno. */
static int wait_fd(int fd, short events, int64_t deadline_ns)
{
    for (;;) {
        int64_t left = (deadline_ns - gb_now_ns()) / 1000000;
        if (left <= 0)
            return 0;
        struct pollfd pf = { .fd = fd, .events = events };
        int r = poll(&pf, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r > 0)
            return 1;
    }
}

/* One connection of http_get: a socket, and its TLS when the server
 * speaks https. */
struct get_conn {
    int fd;
    SSL *ssl;
    SSL_CTX *ctx;
};

/* Wait for what c wants (a TLS call may want to write while reading):
 * 0, or -ETIMEDOUT / -errno. */
static int get_wait(const struct get_conn *c, short want, int64_t deadline)
{
    int w = wait_fd(c->fd, want, deadline);
    return w == 1 ? 0 : w == 0 ? -ETIMEDOUT : w;
}

/* One OpenSSL call's outcome: 0 done, POLLIN / POLLOUT to wait for, or
 * -EPROTO (a TLS failure, said in err) / -errno. */
static int tls_outcome(struct get_conn *c, int ret, char *err, size_t errlen)
{
    int e = SSL_get_error(c->ssl, ret);
    int saved = errno;
    if (e == SSL_ERROR_NONE || e == SSL_ERROR_ZERO_RETURN)
        return 0;
    if (e == SSL_ERROR_WANT_READ)
        return POLLIN;
    if (e == SSL_ERROR_WANT_WRITE)
        return POLLOUT;
    long vr = SSL_get_verify_result(c->ssl);
    unsigned long q = ERR_peek_last_error();
    ERR_clear_error();
    if (e == SSL_ERROR_SYSCALL && q == 0)
        return saved != 0 ? -saved : -ECONNRESET;
    if (vr != X509_V_OK)
        snprintf(err, errlen, "TLS verification: %s", X509_verify_cert_error_string(vr));
    else
        ERR_error_string_n(q, err, errlen);
    return -EPROTO;
}

/* Connect c to addr, with TLS verified against ca when ca is not NULL:
 * 0 or -errno (-EPROTO with what TLS said in tls_err). */
static int get_connect(struct get_conn *c, const struct sockaddr_in *addr, const char *ca, int64_t deadline,
                       char *tls_err, size_t errlen)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -errno;
    if (connect(c->fd, (const struct sockaddr *)addr, sizeof *addr) != 0) {
        if (errno != EINPROGRESS)
            return -errno;
        int rc = get_wait(c, POLLOUT, deadline);
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (rc == 0)
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if (rc != 0 || soerr != 0)
            return rc != 0 ? rc : -soerr;
    }
    if (ca == NULL)
        return 0;
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &addr->sin_addr, ip, sizeof ip);
    ERR_clear_error();
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (c->ctx == NULL || SSL_CTX_load_verify_locations(c->ctx, ca, NULL) != 1) {
        snprintf(tls_err, errlen, "the server's CA %.200s cannot be loaded", ca);
        ERR_clear_error();
        return -EPROTO;
    }
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    c->ssl = SSL_new(c->ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 ||
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), ip) != 1) {
        ERR_clear_error();
        return -ENOMEM;
    }
    for (;;) {
        ERR_clear_error();
        int st = tls_outcome(c, SSL_connect(c->ssl), tls_err, errlen);
        if (st <= 0)
            return st;
        int rc = get_wait(c, (short)st, deadline);
        if (rc != 0)
            return rc;
    }
}

/* Send (sending) or receive once on c: the count (0: end of file), or
 * -EAGAIN with *want set, or -errno (-EPROTO, tls_err said). */
static ssize_t get_io(struct get_conn *c, bool sending, void *buf, size_t len, short *want, char *tls_err,
                      size_t errlen)
{
    if (c->ssl == NULL) {
        ssize_t n = sending ? send(c->fd, buf, len, MSG_NOSIGNAL) : recv(c->fd, buf, len, 0);
        *want = sending ? POLLOUT : POLLIN;
        return n >= 0 ? n : errno == EAGAIN || errno == EINTR ? -EAGAIN : -errno;
    }
    ERR_clear_error();
    int n = sending ? SSL_write(c->ssl, buf, (int)len) : SSL_read(c->ssl, buf, (int)len);
    if (n > 0)
        return n;
    int st = tls_outcome(c, n, tls_err, errlen);
    if (st > 0)
        *want = (short)st;
    return st > 0 ? -EAGAIN : st;
}

static void get_close(struct get_conn *c)
{
    SSL_free(c->ssl);
    SSL_CTX_free(c->ctx);
    if (c->fd >= 0)
        close(c->fd);
}

/* GET path from the server at addr (IPv4), over TLS verified against ca
 * (its address checked against the certificate's) unless ca is NULL, the
 * answer read to its end (the request asks to close) into *resp, within
 * 2 s. 0 or -errno with err. */
static int http_get(const struct sockaddr_in *addr, const char *ca, const char *path, struct gb_buf *resp,
                    char *err, size_t errlen)
{
    int64_t deadline = gb_now_ns() + 2000000000LL;
    struct get_conn c = { .fd = -1 };
    char tls_err[256] = "";
    const char *step = "connect";
    int rc = get_connect(&c, addr, ca, deadline, tls_err, sizeof tls_err);
    char req[256];
    int len = snprintf(req, sizeof req,
                       "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: greenbench\r\n"
                       "Connection: close\r\n\r\n",
                       path);
    bool sending = true;
    for (int sent = 0; rc == 0;) {
        step = sending ? "send" : "read";
        char buf[4096];
        short want = 0;
        ssize_t n = sending
                        ? get_io(&c, true, req + sent, (size_t)(len - sent), &want, tls_err, sizeof tls_err)
                        : get_io(&c, false, buf, sizeof buf, &want, tls_err, sizeof tls_err);
        if (n == -EAGAIN) {
            rc = get_wait(&c, want, deadline);
        } else if (n < 0) {
            rc = (int)n;
        } else if (sending) {
            sent += (int)n;
            sending = sent < len;
        } else if (n == 0) {
            break;
        } else {
            gb_buf_add(resp, buf, (size_t)n);
            if (resp->len > (1 << 20))
                rc = -EFBIG;
        }
    }
    get_close(&c);
    if (rc != 0)
        snprintf(err, errlen, "GET %s://127.0.0.1:%d%s: %s: %s", ca ? "https" : "http",
                 ntohs(addr->sin_port), path, step,
                 rc == -ETIMEDOUT ? "no answer within 2 s"
                 : rc == -EPROTO  ? tls_err
                                  : strerror(-rc));
    return rc;
}

/* "http://A.B.C.D:PORT/..." (or https://) into *addr: 0 or -EINVAL. */
static int url_addr(const char *url, struct sockaddr_in *addr)
{
    const char *host = strncmp(url, "http://", 7) == 0    ? url + 7
                       : strncmp(url, "https://", 8) == 0 ? url + 8
                                                          : NULL;
    const char *colon = host ? strchr(host, ':') : NULL;
    char ip[64], *end;
    if (colon == NULL || (size_t)(colon - host) >= sizeof ip)
        return -EINVAL;
    snprintf(ip, sizeof ip, "%.*s", (int)(colon - host), host);
    long port = strtol(colon + 1, &end, 10);
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_port = htons((uint16_t)port);
    if (end == colon + 1 || (*end != '/' && *end != '\0') || port < 1 || port > 65535 ||
        inet_pton(AF_INET, ip, &addr->sin_addr) != 1)
        return -EINVAL;
    return 0;
}

/* The window's JSON object into *w: 0, or -EPROTO naming the field. */
static int window_from_json(const json_t *o, struct gb_server_window *w, char *err, size_t errlen)
{
    static const char *const ints[] = { "requests",    "delayed", "late_over_1ms",
                                        "connections", "cpu_ns",  "window_ns" };
    long long *const iout[] = { &w->requests,    &w->delayed, &w->late_over_1ms,
                                &w->connections, &w->cpu_ns,  &w->window_ns };
    static const char *const reals[] = { "late_mean_ms", "late_p99_ms", "late_max_ms" };
    double *const rout[] = { &w->late_mean_ms, &w->late_p99_ms, &w->late_max_ms };
    memset(w, 0, sizeof *w);
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        const json_t *v = json_object_get(o, ints[i]);
        if (!json_is_integer(v)) {
            snprintf(err, errlen, "the window has no integer \"%s\"", ints[i]);
            return -EPROTO;
        }
        *iout[i] = json_integer_value(v);
    }
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
        const json_t *v = json_object_get(o, reals[i]);
        if (!json_is_number(v)) {
            snprintf(err, errlen, "the window has no number \"%s\"", reals[i]);
            return -EPROTO;
        }
        *rout[i] = json_number_value(v);
    }
    const json_t *loops = json_object_get(o, "loops");
    if (!json_is_array(loops) || json_array_size(loops) == 0 ||
        json_array_size(loops) > GB_SERVER_MAX_LOOPS) {
        snprintf(err, errlen, "the window has no array \"loops\" of 1 to %d", GB_SERVER_MAX_LOOPS);
        return -EPROTO;
    }
    w->nloops = json_array_size(loops);
    for (size_t i = 0; i < w->nloops; i++) {
        const json_t *l = json_array_get(loops, i);
        const json_t *req = json_object_get(l, "requests"), *over = json_object_get(l, "late_over_1ms");
        if (!json_is_integer(req) || !json_is_integer(over)) {
            snprintf(err, errlen,
                     "the window's loops[%zu] has no integer \"requests\" or \"late_over_1ms\"", i);
            return -EPROTO;
        }
        w->loops[i].requests = json_integer_value(req);
        w->loops[i].late_over_1ms = json_integer_value(over);
        w->loops[i].delayed = (long long)gb_json_num(l, "delayed", 0);
        w->loops[i].connections = (long long)gb_json_num(l, "connections", 0);
        w->loops[i].cpu = (int)gb_json_num(l, "cpu", -1);
    }
    return 0;
}

int gb_server_window_url(const char *url, const char *ca, struct gb_server_window *w, char *err,
                         size_t errlen)
{
    struct sockaddr_in addr;
    if (url_addr(url, &addr) != 0 || (strncmp(url, "https://", 8) == 0) != (ca != NULL)) {
        snprintf(err, errlen, "'%.100s' is not %s://IPv4:PORT/", url, ca ? "https" : "http");
        return -EINVAL;
    }
    struct gb_buf resp;
    gb_buf_init(&resp);
    int rc = http_get(&addr, ca, "/__greenbench/window", &resp, err, errlen);
    const char *text = gb_buf_str(&resp), *body = strstr(text, "\r\n\r\n");
    if (rc == 0 && (strncmp(text, "HTTP/1.1 200 ", 13) != 0 || body == NULL)) {
        snprintf(err, errlen, "%.100s__greenbench/window: not a 200 answer: '%.60s'", url, text);
        rc = -EPROTO;
    }
    json_t *o = NULL;
    if (rc == 0) {
        body += 4;
        char perr[160];
        if (gb_json_parse(body, resp.len - (size_t)(body - text), &o, perr, sizeof perr) != 0 ||
            !json_is_object(o)) {
            snprintf(err, errlen, "%.100s__greenbench/window: not a JSON object: %s", url,
                     o ? "another value" : perr);
            rc = -EPROTO;
        }
    }
    if (rc == 0)
        rc = window_from_json(o, w, err, errlen);
    json_decref(o);
    gb_buf_free(&resp);
    return rc;
}

int gb_server_window(struct gb_server *s, struct gb_server_window *w, char *err, size_t errlen)
{
    return gb_server_window_url(s->url, s->tls ? s->ca : NULL, w, err, errlen);
}

json_t *gb_server_window_json(const struct gb_server_window *w)
{
    json_t *loops = json_array();
    for (size_t i = 0; i < w->nloops; i++)
        json_array_append_new(loops,
                              json_pack("{sIsIsIsIsi}", "requests", (json_int_t)w->loops[i].requests,
                                        "delayed", (json_int_t)w->loops[i].delayed, "late_over_1ms",
                                        (json_int_t)w->loops[i].late_over_1ms, "connections",
                                        (json_int_t)w->loops[i].connections, "cpu", w->loops[i].cpu));
    json_t *o = json_object();
    json_object_set_new(o, "requests", json_integer(w->requests));
    json_object_set_new(o, "delayed", json_integer(w->delayed));
    json_object_set_new(o, "late_mean_ms", gb_json_number(w->late_mean_ms));
    json_object_set_new(o, "late_p99_ms", gb_json_number(w->late_p99_ms));
    json_object_set_new(o, "late_max_ms", gb_json_number(w->late_max_ms));
    json_object_set_new(o, "late_over_1ms", json_integer(w->late_over_1ms));
    json_object_set_new(o, "connections", json_integer(w->connections));
    json_object_set_new(o, "cpu_ns", json_integer(w->cpu_ns));
    json_object_set_new(o, "window_ns", json_integer(w->window_ns));
    json_object_set_new(o, "loops", loops);
    return o;
}

/* ---- the server's capacity, with wrk ---- */

#define WRK_SECONDS 3
#define WRK_CONNECTIONS 64

/* name on PATH into out (n bytes): true when found. */
static bool find_on_path(const char *name, char *out, size_t n)
{
    const char *path = getenv("PATH");
    if (path == NULL)
        path = "/usr/bin:/bin";
    for (const char *p = path; *p;) {
        size_t len = strcspn(p, ":");
        snprintf(out, n, "%.*s/%s", (int)len, p, name);
        if (len > 0 && gb_is_executable(out))
            return true;
        p += len;
        if (*p == ':')
            p++;
    }
    return false;
}

/* The number after label in text (wrk's "Requests/sec:  75085.09"); -1 when absent. */
static double number_after(const char *text, const char *label)
{
    const char *at = strstr(text, label);
    return at ? strtod(at + strlen(label), NULL) : -1;
}

/* Start wrk against url on CPU cpu (-1: wherever), close or keep-alive,
 * its output (stderr too) to a pipe. 0, or a negative errno with err. */
static int wrk_start(const char *wrk, const char *url, int cpu, bool close_each, struct gb_proc *p,
                     char *err, size_t errlen)
{
    char dur[16], conns[16];
    snprintf(dur, sizeof dur, "%ds", WRK_SECONDS);
    snprintf(conns, sizeof conns, "%d", WRK_CONNECTIONS);
    char *argv[12] = { (char *)wrk, "-t1", "-c", conns, "-d", dur, "--timeout", "2s" };
    int argc = 8;
    if (close_each) {
        argv[argc++] = "-H";
        argv[argc++] = "Connection: close";
    }
    argv[argc++] = (char *)url;
    argv[argc] = NULL;
    /* The child inherits the CPU it is started on: this (single-threaded)
     * process moves there for the fork, and back. */
    cpu_set_t mine, one;
    bool moved = false;
    if (cpu >= 0 && sched_getaffinity(0, sizeof mine, &mine) == 0) {
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        moved = sched_setaffinity(0, sizeof one, &one) == 0;
    }
    struct gb_proc_opts o = { .out = GB_PROC_PIPE,
                              .err = GB_PROC_STDOUT,
                              .own_group = true,
                              .death_signal = SIGKILL,
                              .clear_sigmask = true,
                              .say_exec_error = true };
    int rc = gb_proc_start(argv, &o, p, err, errlen);
    if (moved)
        sched_setaffinity(0, sizeof mine, &mine);
    return rc;
}

/* What wrk's report says: req_per_s (rps, read already), requests, and
 * errors (socket errors and non-2xx answers). */
static json_t *wrk_figures(const char *text, double rps)
{
    long long errors = 0, v[4] = { 0, 0, 0, 0 };
    const char *se = strstr(text, "Socket errors:");
    if (se && sscanf(se, "Socket errors: connect %lld, read %lld, write %lld, timeout %lld", &v[0], &v[1],
                     &v[2], &v[3]) == 4)
        errors += v[0] + v[1] + v[2] + v[3];
    double non2xx = number_after(text, "Non-2xx or 3xx responses:");
    if (non2xx > 0)
        errors += (long long)non2xx;
    /* "150372 requests in 2.00s": the number before " requests in ". */
    long long requests = -1;
    const char *in = strstr(text, " requests in ");
    if (in) {
        const char *b = in;
        while (b > text && b[-1] >= '0' && b[-1] <= '9')
            b--;
        requests = b < in ? strtoll(b, NULL, 10) : -1;
    }
    json_t *r = json_object();
    json_object_set_new(r, "req_per_s", gb_json_number(rps));
    json_object_set_new(r, "requests", json_integer(requests));
    json_object_set_new(r, "errors", json_integer(errors));
    return r;
}

/* One wrk run against url, pinned to cpu, close or keep-alive; its output
 * appended to log_fd. The result object, or NULL with err. */
static json_t *wrk_run(const char *wrk, const char *url, int cpu, bool close_each, int log_fd,
                       struct gb_server *s, volatile int *stop, int *rc, char *err, size_t errlen)
{
    struct gb_server_window win;
    if ((*rc = gb_server_window(s, &win, err, errlen)) != 0) /* the run's window starts here */
        return NULL;
    struct gb_proc p;
    if ((*rc = wrk_start(wrk, url, cpu, close_each, &p, err, errlen)) != 0)
        return NULL;
    struct gb_proc_wait_opts wo = {
        .timeout_s = WRK_SECONDS + 10, .stop = stop, .out_keep = 65536, .linger_s = 1
    };
    struct gb_proc_end e;
    gb_proc_wait(&p, &wo, &e);
    const char *text = gb_buf_str(&e.out);
    if (log_fd >= 0) {
        char *head = gb_xasprintf("greenbench: wrk%s against %s, on CPU %d:\n",
                                  close_each ? " -H 'Connection: close'" : "", url, cpu);
        if (gb_write_all(log_fd, head, strlen(head)) != 0 || gb_write_all(log_fd, text, strlen(text)) != 0)
            fprintf(stderr, "greenbench: cannot write capacity.log\n");
        free(head);
    }
    double rps = number_after(text, "Requests/sec:");
    json_t *r = NULL;
    if (e.stopped) {
        snprintf(err, errlen, "stopped by a signal");
        *rc = -EINTR;
    } else if (e.timed_out) {
        snprintf(err, errlen, "wrk did not end within %d s", WRK_SECONDS + 10);
        *rc = -ETIMEDOUT;
    } else if (!WIFEXITED(e.status) || WEXITSTATUS(e.status) != 0 || rps < 0) {
        char *copy = gb_xstrdup(text), *last = gb_last_line(copy, " \t\r\n");
        snprintf(err, errlen, "wrk failed (exit status %d): %.160s",
                 WIFEXITED(e.status) ? WEXITSTATUS(e.status) : -1, *last ? last : "no output");
        free(copy);
        *rc = -EPROTO;
    } else if ((*rc = gb_server_window(s, &win, err, errlen)) == 0) {
        r = wrk_figures(text, rps);
        json_object_set_new(r, "server_requests", json_integer(win.requests));
        json_object_set_new(
            r, "server_cpu_share",
            gb_json_number(win.window_ns > 0 ? (double)win.cpu_ns / (double)win.window_ns : 0));
    }
    gb_proc_end_free(&e);
    return r;
}

int gb_server_capacity(const struct gb_programs *p, const char *dir, volatile int *stop, json_t **out,
                       char *err, size_t errlen)
{
    *out = NULL;
    char wrk[4096];
    if (!find_on_path("wrk", wrk, sizeof wrk)) {
        snprintf(err, errlen,
                 "wrk is not installed (Debian package wrk): the server's capacity was not measured");
        return -ENOENT;
    }
    if (!p->server) {
        snprintf(err, errlen, "greenbench-server is not in %.400s", p->bin_dir);
        return -ENOENT;
    }
    /* "wrk debian/4.1.0-3+b2 [epoll] Copyright ...": its first two words
     * (wrk -v exits 1). */
    char *vtext = NULL, tool[128] = "wrk";
    gb_run_capture((char *[]){ wrk, "-v", NULL }, true, 5000, &vtext);
    if (vtext && strncmp(vtext, "wrk ", 4) == 0)
        snprintf(tool, sizeof tool, "wrk %.*s", (int)strcspn(vtext + 4, " \t\r\n"), vtext + 4);
    free(vtext);
    cpu_set_t set;
    int first = -1;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        for (int c = 0; c < CPU_SETSIZE && first < 0; c++)
            if (CPU_ISSET(c, &set))
                first = c;
    int log_fd = -1;
    if (dir != NULL) {
        char *log = gb_xasprintf("%s/capacity.log", dir);
        log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        free(log);
    }
    struct gb_server s;
    char *prog = gb_xasprintf("%s/greenbench-server", p->bin_dir);
    int rc = gb_server_start(prog, &(struct gb_server_spec){ .size = 1024 }, log_fd, &s);
    free(prog);
    if (rc != 0) {
        snprintf(err, errlen, "local HTTP server: %s", s.error);
        if (log_fd >= 0)
            close(log_fd);
        return -ECHILD;
    }
    struct gb_server_window win;
    rc = gb_server_window(&s, &win, err, errlen);
    json_t *keep = NULL, *close_each = NULL;
    if (rc == 0)
        keep = wrk_run(wrk, s.url, first, false, log_fd, &s, stop, &rc, err, errlen);
    if (rc == 0)
        close_each = wrk_run(wrk, s.url, first, true, log_fd, &s, stop, &rc, err, errlen);
    gb_server_stop(&s);
    if (log_fd >= 0)
        close(log_fd);
    if (rc != 0) {
        json_decref(keep);
        json_decref(close_each);
        return rc;
    }
    json_t *o = json_object();
    json_object_set_new(o, "tool", json_string(tool));
    json_object_set_new(o, "duration_s", json_integer(WRK_SECONDS));
    json_object_set_new(o, "connections", json_integer(WRK_CONNECTIONS));
    json_object_set_new(o, "wrk_cpu", json_integer(first));
    json_object_set_new(o, "server_cpu", json_integer(win.nloops > 0 ? win.loops[0].cpu : -1));
    json_object_set_new(o, "keepalive", keep);
    json_object_set_new(o, "close", close_each);
    *out = o;
    return 0;
}
