/* workloads/common/fetch.c: setup and checks shared by joinall and pool (fetch.h). */
#include "fetch.h"

#include "http/http_tls.h"
#include "sysinfo.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_N 100
#define DEFAULT_K 10
#define DEFAULT_DELAY_MS 10
#define DEFAULT_SIZE 1024

const fetch_flavour fetch_blocking = {
    .plain = &http_io_blocking,
    .tls = &http_io_blocking_tls,
    .tls_init = http_tls_init,
    .tls_fini = http_tls_fini,
};

/* --tls against the URL's scheme, before anything starts. */
static int check_scheme(const cell_params *p, cell_result *r)
{
    if (p->url == NULL)
        return 0;
    bool https = strncasecmp(p->url, "https://", 8) == 0;
    if (https && !p->tls)
        return cell_usage_error(r, "--url=%s: an https:// URL needs --tls=1", p->url);
    if (!https && p->tls)
        return cell_usage_error(
            r, "--tls=1 needs an https:// --url (or none: the cell starts its own server)");
    return 0;
}

int fetch_setup_init(fetch_setup *s, cell_params *p, cell_result *r, bool pool, const fetch_flavour *f)
{
    memset(s, 0, sizeof *s);
    s->server.pid = -1;
    s->flavour = f;
    if (p->keepalive < 0)
        p->keepalive = 0;
    s->keepalive = p->keepalive == 1;
    if (p->tls < 0)
        p->tls = 0;
    if (check_scheme(p, r) != 0)
        return -1;
    if (p->n < 0)
        p->n = DEFAULT_N;
    if (p->n == 0)
        return cell_usage_error(r, "--n=0: %s needs at least one request", p->workload);
    s->n = p->n;
    if (pool) {
        if (p->concurrency < 0)
            p->concurrency = DEFAULT_K;
        if (p->concurrency == 0)
            return cell_usage_error(r, "--concurrency=0: a pool needs room for at least one task");
        s->k = p->concurrency < p->n ? p->concurrency : p->n;
    } else {
        s->k = p->n;                /* joinall: every task at once. */
    }

    char msg[512];
    if (sys_check_connections(s->k, msg, sizeof msg) != 0)
        return cell_fail(r, "%s", msg);

    const char *url = p->url, *cacert = p->cacert;
    if (url == NULL) {
        char path[4096];
        if (p->delay_ms < 0)
            p->delay_ms = DEFAULT_DELAY_MS;
        if (p->size < 0)
            p->size = DEFAULT_SIZE;
        if (server_child_path(path, sizeof path) != 0)
            return cell_fail(r, "no --url given and no greenbench-server beside this program to start");
        int cpu = cell_server_cpu();
        if (server_child_start(&s->server, path, p->delay_ms, p->size, cpu, p->tls == 1, msg, sizeof msg) !=
            0)
            return cell_fail(r, "no --url given, and starting our own server failed: %s", msg);
        s->own_server = true;
        url = s->server.url;
        if (cacert == NULL && p->tls)
            cacert = s->server.ca;
        fetch_note_add(
            r, "No --url: the cell ran its own greenbench-server%s (%lld ms, %lld bytes) on CPU %d.",
            p->tls ? " --tls" : "", p->delay_ms, p->size, cpu);
    }
    double timeout = FETCH_TIMEOUT_S + (p->delay_ms > 0 ? (double)p->delay_ms / 1000.0 : 0.0);
    if (http_target_init(&s->target, url, p->size, timeout, msg, sizeof msg) != 0) {
        fetch_setup_close(s);
        return cell_usage_error(r, "%s", msg);
    }
    if (p->tls) {
        if (f->tls_init(cacert, msg, sizeof msg) != 0) {
            fetch_setup_close(s);
            return cell_fail(r, "%s", msg);
        }
        s->tls = true;
    }
    s->io = s->tls ? f->tls : f->plain;
    return 0;
}

void fetch_note_add(cell_result *r, const char *fmt, ...)
{
    static char note[512];
    size_t used = r->note == note ? strlen(note) : 0;
    if (used > 0 && used + 1 < sizeof note)
        note[used++] = ' ';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(note + used, sizeof note - used, fmt, ap);
    va_end(ap);
    r->note = note;
}

int fetch_check_in_flight(const fetch_setup *s, cell_result *r, long long peak)
{
    r->max_in_flight = peak;
    if (peak > s->k)
        return cell_fail(r, "%lld requests were in flight at once, more than the %lld allowed", peak, s->k);
    if (peak < s->k)
        fetch_note_add(r, "At most %lld of the %lld allowed requests were in flight at once.", peak, s->k);
    return 0;
}

void fetch_setup_close(fetch_setup *s)
{
    if (s->tls) {
        s->flavour->tls_fini();
        s->tls = false;
    }
    if (s->own_server) {
        server_child_stop(&s->server);
        s->own_server = false;
    }
}

void fetch_tasks_reset(fetch_task *tasks, long long n)
{
    for (long long i = 0; i < n; i++)
        tasks[i] = (fetch_task){ .err = FETCH_ENOTRUN, .conn = HTTP_CONN_NONE };
}

void fetch_tasks_close(const fetch_setup *s, fetch_task *tasks, long long n)
{
    for (long long i = 0; i < n; i++)
        http_conn_close(s->io, &tasks[i].conn);
}

void fetch_note_reconnects(const fetch_task *tasks, long long n, cell_result *r)
{
    long long again = 0;
    for (long long i = 0; i < n; i++)
        again += tasks[i].res.reconnected;
    if (again > 0)
        fetch_note_add(
            r, "%lld requests found their kept connection closed by the server and made a new one.", again);
}

int fetch_tally(const fetch_setup *s, const fetch_task *tasks, long long n, cell_result *r)
{
    long long ok = 0, bytes = 0, failed = 0, connections = 0;
    const fetch_task *first = NULL;
    for (long long i = 0; i < n; i++) {
        bytes += tasks[i].res.body_bytes;
        connections += tasks[i].res.connections;
        if (tasks[i].err == 0) {
            ok++;
        } else {
            failed++;
            if (first == NULL)
                first = &tasks[i];
        }
    }
    r->tasks_completed = ok;
    r->bytes_received = bytes;
    r->errors = failed;
    r->connections = connections;
    if (first == NULL)
        return 0;
    const char *url = s->target.url;
    switch (first->err) {
    case -ECONNREFUSED:
        return cell_fail(r, "%lld of %lld requests failed; first: GET %s: connection refused (is the server running there?)",
                         failed, n, url);
    case HTTP_ESTATUS:
        return cell_fail(r, "%lld of %lld requests failed; first: GET %s: HTTP status %d", failed, n, url,
                         first->res.status);
    case HTTP_ESIZE:
        return cell_fail(r, "%lld of %lld requests failed; first: GET %s: body of %lld bytes, --size=%lld",
                         failed, n, url, first->res.body_bytes, s->target.expect_size);
    case -ETIMEDOUT:
        return cell_fail(r, "%lld of %lld requests failed; first: GET %s: no complete response within %.0f s",
                         failed, n, url, s->target.timeout);
    case FETCH_ENOTRUN:
        return cell_fail(r, "%lld of %lld requests failed; first: a task that never ran (no stack, or killed)",
                         failed, n);
    case -EMFILE:
    case -ENFILE:
        return cell_fail(r, "%lld of %lld requests failed; first: GET %s: %s (RLIMIT_NOFILE / fs.file-max)",
                         failed, n, url, http_strerror(first->err));
    case -EADDRNOTAVAIL:
        return cell_fail(r, "%lld of %lld requests failed; first: GET %s: %s (ephemeral ports used up: "
                         "net.ipv4.ip_local_port_range, or connections in TIME_WAIT)",
                         failed, n, url, http_strerror(first->err));
    default:
        return cell_fail(r, "%lld of %lld requests failed; first: GET %s: %s", failed, n, url,
                         http_strerror(first->err));
    }
}
