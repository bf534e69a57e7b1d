/* harness/runner.c: child processes. One repetition of one cell is one child
 * in its own process group, with its output captured and a deadline after
 * which the whole group is killed; wait4 gives its peak RSS and CPU time
 * (the fork, the wait and the capture are process.c's). Also the local HTTP
 * server's lifetime and the `cell` / `server` commands. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define STDOUT_KEEP (1 << 20) /* bytes of stdout kept to find the last line */
#define STDERR_KEEP 8192      /* bytes of stderr kept */
#define TAIL_RECORD 2000      /* bytes of stderr written into cells.jsonl */

static const char *const status_names[] = {
    [GB_ST_OK] = "ok", [GB_ST_FAILED] = "failed", [GB_ST_CRASHED] = "crashed",
    [GB_ST_TIMEOUT] = "timeout", [GB_ST_GARBLED] = "garbled", [GB_ST_INTERRUPTED] = "interrupted",
};

const char *gb_status_name(enum gb_status s)
{
    return (unsigned)s < sizeof status_names / sizeof *status_names ? status_names[s] : "?";
}

int gb_status_parse(const char *s)
{
    for (size_t i = 0; i < sizeof status_names / sizeof *status_names; i++)
        if (s && strcmp(s, status_names[i]) == 0)
            return (int)i;
    return -1;
}

void gb_exec_result_free(struct gb_exec_result *r)
{
    gb_json_free(r->json);
    free(r->stdout_tail);
    free(r->stderr_tail);
    r->json = NULL;
    r->stdout_tail = r->stderr_tail = NULL;
}

static char *tail_copy(const struct gb_buf *b, size_t max)
{
    const char *s = gb_buf_str(b);
    size_t len = b->len;
    if (len > max) {
        s += len - max;
        len = max;
        /* Start at a line or UTF-8 boundary rather than mid-character. */
        while (len > 0 && ((unsigned char)*s & 0xC0) == 0x80) {
            s++;
            len--;
        }
    }
    char *out = gb_xmalloc(len + 1);
    memcpy(out, s, len);
    out[len] = '\0';
    return out;
}

static void classify(struct gb_exec_result *r, struct gb_buf *out, const char *workload,
                     bool timed_out, bool interrupted, double timeout_s)
{
    if (interrupted) {
        r->status = GB_ST_INTERRUPTED;
        snprintf(r->message, sizeof r->message, "interrupted by the user; not counted");
        return;
    }
    if (timed_out) {
        r->status = GB_ST_TIMEOUT;
        snprintf(r->message, sizeof r->message,
                 "no result within the %.3g s timeout; the process group was killed", timeout_s);
        r->stdout_tail = tail_copy(out, 500);
        return;
    }
    if (r->signal) {
        r->status = GB_ST_CRASHED;
        snprintf(r->message, sizeof r->message, "killed by signal %d (%s)", r->signal,
                 strsignal(r->signal));
        r->stdout_tail = tail_copy(out, 500);
        return;
    }
    char *text = gb_xstrdup(gb_buf_str(out));
    char *line = gb_last_line(text, "\n\r ");
    struct gb_json *v = NULL;
    char perr[128];
    int prc = gb_json_parse(line, strlen(line), &v, perr, sizeof perr);
    if (prc != 0 || v->type != GB_JSON_OBJECT) {
        if (r->exit_code != 0) {
            r->status = GB_ST_FAILED;
            snprintf(r->message, sizeof r->message, "exit status %d and no JSON result%s",
                     r->exit_code, r->exit_code == 127 ? " (program could not be run?)" : "");
        } else {
            r->status = GB_ST_GARBLED;
            snprintf(r->message, sizeof r->message, "the last stdout line is not a JSON object%s%s",
                     prc != 0 ? ": " : "", prc != 0 ? perr : "");
        }
        r->stdout_tail = tail_copy(out, 500);
        gb_json_free(v);
        free(text);
        return;
    }
    r->json = v; /* kept: freed with the result */
    const struct gb_json *ok = gb_json_get(v, "ok");
    const char *error = gb_json_str(v, "error", NULL);
    if (r->exit_code != 0 || (ok && ok->type == GB_JSON_BOOL && !ok->boolean)) {
        r->status = GB_ST_FAILED;
        if (error)
            snprintf(r->message, sizeof r->message, "%s%s", error,
                     r->exit_code ? "" : " (but exit status 0)");
        else if (ok && ok->type == GB_JSON_BOOL && ok->boolean)
            snprintf(r->message, sizeof r->message, "exit status %d although the JSON says ok",
                     r->exit_code);
        else
            snprintf(r->message, sizeof r->message, "exit status %d", r->exit_code);
    } else if (ok == NULL || ok->type != GB_JSON_BOOL) {
        r->status = GB_ST_GARBLED;
        snprintf(r->message, sizeof r->message, "the JSON result has no boolean \"ok\"");
    } else {
        r->status = GB_ST_OK;
        static const char *const need[] = { "wall_ns", "ops", "ns_per_op" };
        for (size_t i = 0; i < 3; i++) {
            if (!gb_json_is(v, need[i], GB_JSON_NUMBER)) {
                r->status = GB_ST_GARBLED;
                snprintf(r->message, sizeof r->message, "the JSON result has no number \"%s\"",
                         need[i]);
                break;
            }
        }
        const char *wl = gb_json_str(v, "workload", NULL);
        if (r->status == GB_ST_OK && workload && (wl == NULL || strcmp(wl, workload) != 0)) {
            r->status = GB_ST_GARBLED;
            snprintf(r->message, sizeof r->message,
                     "the JSON result is for workload '%s', not '%s'", wl ? wl : "(none)", workload);
        }
    }
    free(text);
}

void gb_exec(char *const argv[], double timeout_s, volatile int *stop, const char *workload,
             struct gb_exec_result *r)
{
    memset(r, 0, sizeof *r);
    r->exit_code = -1;
    /* Its own process group (so a timeout kills everything it started, and
     * a terminal's ^C reaches only the harness); it dies with the harness. */
    struct gb_proc_opts o = {
        .own_group = true,
        .death_signal = SIGKILL,
        .clear_sigmask = true,
        .default_sigpipe = true,
        .say_exec_error = true,
        .out = GB_PROC_PIPE,
        .err = GB_PROC_PIPE,
    };
    struct gb_proc p;
    if (gb_proc_start(argv, &o, &p, r->message, sizeof r->message) != 0) {
        r->status = GB_ST_FAILED;
        return;
    }
    struct gb_proc_wait_opts w = {
        .timeout_s = timeout_s,
        .stop = stop,
        .out_keep = STDOUT_KEEP,
        .err_keep = STDERR_KEEP,
        .linger_s = 0.5, /* a grandchild outside the group holds the pipes */
    };
    struct gb_proc_end e;
    gb_proc_wait(&p, &w, &e);
    if (WIFEXITED(e.status))
        r->exit_code = WEXITSTATUS(e.status);
    else if (WIFSIGNALED(e.status))
        r->signal = WTERMSIG(e.status);
    if (e.timed_out || e.stopped)
        r->signal = 0;
    r->elapsed_ns = e.elapsed_ns;
    r->maxrss_kb = e.ru.ru_maxrss;
    r->utime_ns = (int64_t)e.ru.ru_utime.tv_sec * 1000000000 + e.ru.ru_utime.tv_usec * 1000;
    r->stime_ns = (int64_t)e.ru.ru_stime.tv_sec * 1000000000 + e.ru.ru_stime.tv_usec * 1000;
    r->stderr_tail = tail_copy(&e.err, TAIL_RECORD);
    classify(r, &e.out, workload, e.timed_out, e.stopped, timeout_s);
    gb_proc_end_free(&e);
}

/* ---- which program runs a cell ---- */

char *gb_cell_program(const struct gb_programs *p, const struct gb_cell *c, char *why,
                      size_t whylen)
{
    if (strcmp(c->impl, "threads") == 0) {
        if (!p->threads) {
            snprintf(why, whylen, "greenbench-cell-threads is not in %s", p->bin_dir);
            return NULL;
        }
        return gb_xasprintf("%s/greenbench-cell-threads", p->bin_dir);
    }
    if (strcmp(c->impl, "green") == 0) {
        const char *sw = c->sw;
        if (!sw[0]) { /* default: asm when built, else the first */
            sw = p->nswitches ? p->switches[0] : "";
            for (size_t i = 0; i < p->nswitches; i++)
                if (strcmp(p->switches[i], "asm") == 0)
                    sw = "asm";
        }
        const char *loop = NULL;
        for (size_t i = 0; i < p->npairs; i++) {
            if (strcmp(p->pairs[i].sw, sw) != 0)
                continue;
            if (c->loop[0] ? strcmp(p->pairs[i].loop, c->loop) == 0
                           : (loop == NULL || strcmp(p->pairs[i].loop, "libev") == 0))
                loop = p->pairs[i].loop;
        }
        if (loop == NULL) {
            char built[256] = "";
            for (size_t i = 0; i < p->npairs; i++) {
                size_t len = strlen(built);
                snprintf(built + len, sizeof built - len, "%s%s/%s", len ? ", " : "",
                         p->pairs[i].sw, p->pairs[i].loop);
            }
            snprintf(why, whylen, "no green cell program for switch '%s'%s%s in %s (built: %s)", sw,
                     c->loop[0] ? " and loop " : "", c->loop, p->bin_dir, built[0] ? built : "none");
            return NULL;
        }
        return gb_xasprintf("%s/greenbench-cell-%s-%s", p->bin_dir, sw, loop);
    }
    for (size_t i = 0; i < gb_npeers; i++) {
        if (strcmp(c->impl, gb_peers[i].name) != 0)
            continue;
        if (!p->peer_found[i]) {
            snprintf(why, whylen, "peer '%s': %s", c->impl, gb_peers[i].note);
            return NULL;
        }
        return gb_xasprintf("%s/%s", p->bin_dir, gb_peers[i].program);
    }
    snprintf(why, whylen, "unknown implementation '%s'", c->impl);
    return NULL;
}

/* ---- the local HTTP server ---- */

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

/* ---- greenbench cell / greenbench server ---- */

static const char cell_help[] =
    "usage: greenbench cell WORKLOAD --impl=green|threads|PEER [--switch=S] [--loop=L]\n"
    "                       [--n=N] [--concurrency=K] [--delay-ms=D] [--size=BYTES]\n"
    "                       [--url=URL] [--stack-kib=S] [--cpus=C]\n"
    "\n"
    "Runs one measurement: execs the cell program for the implementation from the\n"
    "bin directory (greenbench-cell-<switch>-<loop> for green, greenbench-cell-threads\n"
    "for threads), which prints commentary on stderr and one JSON object on its\n"
    "last stdout line. Green defaults: --switch=asm, --loop=libev (for the %s\n"
    "workload any loop's program of that switch backend). The bin directory is\n"
    "GREENBENCH_BIN_DIR or the directory of this binary. See `greenbench list`.\n";

static const char *opt_value(int argc, char **argv, const char *name)
{
    size_t n = strlen(name);
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], name, n) == 0 && argv[i][n] == '=')
            return argv[i] + n + 1;
        if (strcmp(argv[i], name) == 0 && i + 1 < argc)
            return argv[i + 1];
    }
    return NULL;
}

int gb_cmd_cell(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        char *no_loop = gb_workload_names(GB_PICK_NO_LOOP, 0, ", ", " and ");
        fprintf(argc < 2 ? stderr : stdout, cell_help, no_loop);
        free(no_loop);
        return argc < 2 ? GB_EXIT_USAGE : GB_EXIT_OK;
    }
    struct gb_cell c;
    gb_cell_init(&c);
    if (gb_workload_find(argv[1]) == NULL) {
        fprintf(stderr, "greenbench cell: unknown workload '%s' (valid:", argv[1]);
        for (size_t i = 0; i < gb_nworkloads; i++)
            fprintf(stderr, "%s %s", i ? "," : "", gb_workloads[i].name);
        fprintf(stderr, ")\n");
        return GB_EXIT_USAGE;
    }
    snprintf(c.workload, sizeof c.workload, "%s", argv[1]);
    const char *impl = opt_value(argc, argv, "--impl");
    const char *sw = opt_value(argc, argv, "--switch");
    const char *loop = opt_value(argc, argv, "--loop");
    if (impl == NULL) {
        fprintf(stderr, "greenbench cell: --impl is required (green, threads or a peer)\n");
        return GB_EXIT_USAGE;
    }
    snprintf(c.impl, sizeof c.impl, "%s", impl);
    snprintf(c.sw, sizeof c.sw, "%s", sw ? sw : "");
    snprintf(c.loop, sizeof c.loop, "%s", loop ? loop : "");
    char bin[4096];
    gb_bin_dir(bin, sizeof bin);
    struct gb_programs p;
    gb_programs_scan(bin, &p);
    char why[512];
    char *prog = gb_cell_program(&p, &c, why, sizeof why);
    if (prog == NULL) {
        fprintf(stderr, "greenbench cell: %s\n", why);
        return GB_EXIT_USAGE;
    }
    char **args = gb_xcalloc((size_t)argc + 1, sizeof *args);
    args[0] = prog;
    for (int i = 1; i < argc; i++)
        args[i] = argv[i];
    execv(prog, args);
    fprintf(stderr, "greenbench cell: cannot run %s: %s\n", prog, strerror(errno));
    free(args);
    free(prog);
    return GB_EXIT_FAILED;
}

int gb_cmd_server(int argc, char **argv)
{
    char bin[4096];
    gb_bin_dir(bin, sizeof bin);
    char *prog = gb_xasprintf("%s/greenbench-server", bin);
    bool help = argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
    if (!gb_is_executable(prog)) {
        char *served = gb_workload_names(GB_PICK_SERVER, 0, ", ", " and ");
        fprintf(help ? stdout : stderr,
                "usage: greenbench server [--delay-ms D] [--size BYTES]\n\n"
                "Runs the local HTTP server of the %s workloads: it listens on\n"
                "127.0.0.1, on a port the kernel picks, prints the port on its first stdout\n"
                "line, and answers every request after D ms with BYTES bytes.\n"
                "%s is not built yet.\n", served, prog);
        free(served);
        free(prog);
        return help ? GB_EXIT_OK : GB_EXIT_FAILED;
    }
    char **args = gb_xcalloc((size_t)argc + 1, sizeof *args);
    args[0] = prog;
    for (int i = 1; i < argc; i++)
        args[i] = argv[i];
    execv(prog, args);
    fprintf(stderr, "greenbench server: cannot run %s: %s\n", prog, strerror(errno));
    free(args);
    free(prog);
    return GB_EXIT_FAILED;
}
