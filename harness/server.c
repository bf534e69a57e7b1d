/* harness/server.c: the local HTTP server's lifetime (server.h): started
 * through the process helper in a group of its own, its URL read from its
 * first stdout line, its stdout drained into server.log while it runs. */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* The first stdout line of the server, which names its port, within 10 s.
 * 0 with s->url set, or -1 with s->error. */
static int read_port_line(const char *program, struct gb_server *s)
{
    struct gb_buf line;
    gb_buf_init(&line);
    int64_t deadline = gb_now_ns() + 10000000000LL;
    bool eof = false;
    while (strchr(gb_buf_str(&line), '\n') == NULL && !eof) {
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
    if (strchr(gb_buf_str(&line), '\n') == NULL) {
        snprintf(s->error, sizeof s->error, "%s printed no port line within 10 s%s", program,
                 eof ? " (it exited)" : "");
    } else {
        char *first = gb_xstrdup(gb_buf_str(&line));
        first[strcspn(first, "\r\n")] = '\0';
        if (gb_server_parse_line(first, s->url, sizeof s->url) == 0)
            rc = 0;
        else
            snprintf(s->error, sizeof s->error, "%s: cannot read a port from '%.80s'", program,
                     first);
        free(first);
    }
    gb_buf_free(&line);
    return rc;
}

int gb_server_start(const char *program, long delay_ms, long size, int log_fd,
                    struct gb_server *s)
{
    memset(s, 0, sizeof *s);
    s->proc.out_fd = s->proc.err_fd = s->log_fd = -1;
    s->delay_ms = delay_ms;
    s->size = size;
    char dbuf[32], sbuf[32];
    snprintf(dbuf, sizeof dbuf, "%ld", delay_ms < 0 ? 0 : delay_ms);
    snprintf(sbuf, sizeof sbuf, "%ld", size < 0 ? 0 : size);
    /* On the last CPU: green cells keep off it (cell.c). */
    char *argv[] = { (char *)program, "--delay-ms", dbuf, "--size", sbuf, "--cpu", "last", NULL };
    /* Its own group, like a cell's; asked to stop (SIGTERM) when the harness
     * dies; stderr into server.log. */
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
    if (read_port_line(program, s) != 0) {
        gb_server_stop(s);
        return -1;
    }
    fcntl(s->proc.out_fd, F_SETFL, O_NONBLOCK);
    s->log_fd = log_fd;
    return 0;
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
    snprintf(sv->log_path, sizeof sv->log_path, "%s/server.log", dir);
}

struct gb_server *gb_servers_get(struct gb_servers *sv, const struct gb_programs *p, long delay,
                                 long size, char *why, size_t whylen)
{
    if (sv->log_fd < 0)
        sv->log_fd = open(sv->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    struct gb_server *s = NULL;
    for (size_t i = 0; i < sv->n && s == NULL; i++)
        if (sv->s[i].delay_ms == delay && sv->s[i].size == size)
            s = &sv->s[i];
    if (s != NULL) {
        if (gb_server_alive(s))
            return s;
        fprintf(stderr, "greenbench: %s; starting it again\n", s->error);
    } else if (!p->server) {
        snprintf(why, whylen, "greenbench-server is not in %.400s", p->bin_dir);
        return NULL;
    } else if (sv->n == sizeof sv->s / sizeof sv->s[0]) {
        snprintf(why, whylen, "too many distinct (delay, size) servers");
        return NULL;
    } else {
        s = &sv->s[sv->n];      /* Taken only once the server is up. */
    }
    char *prog = gb_xasprintf("%s/greenbench-server", p->bin_dir);
    int rc = gb_server_start(prog, delay, size, sv->log_fd, s);
    free(prog);
    if (rc != 0) {
        snprintf(why, whylen, "local HTTP server: %s", s->error);
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
