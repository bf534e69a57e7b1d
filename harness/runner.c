/* harness/runner.c: one repetition of one cell (runner.h): the child in its
 * own process group, with its output captured and a deadline after which
 * the whole group is killed, wait4 giving its peak RSS and CPU time, and
 * its OS threads sampled while it runs (the fork, the wait, the capture and
 * the samples are process.c's); then the outcome,
 * classified from its exit, its signal and its last stdout line. */
#include "runner.h"

#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "process.h"
#include "util.h"

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
    json_decref(r->json);
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

/* A cell's last stdout line, a JSON object v, into r: failed by its exit
 * status or "ok", garbled without "ok", the three numbers or the right
 * workload, else ok. */
static void classify_object(struct gb_exec_result *r, const json_t *v, const char *workload)
{
    const json_t *ok = json_object_get(v, "ok");
    const char *error = gb_json_str(v, "error", NULL);
    if (r->exit_code != 0 || json_is_false(ok)) {
        r->status = GB_ST_FAILED;
        if (error)
            snprintf(r->message, sizeof r->message, "%s%s", error,
                     r->exit_code ? "" : " (but exit status 0)");
        else if (json_is_true(ok))
            snprintf(r->message, sizeof r->message, "exit status %d although the JSON says ok",
                     r->exit_code);
        else
            snprintf(r->message, sizeof r->message, "exit status %d", r->exit_code);
    } else if (!json_is_boolean(ok)) {
        r->status = GB_ST_GARBLED;
        snprintf(r->message, sizeof r->message, "the JSON result has no boolean \"ok\"");
    } else {
        r->status = GB_ST_OK;
        static const char *const need[] = { "wall_ns", "ops", "ns_per_op" };
        for (size_t i = 0; i < 3; i++) {
            if (!json_is_number(json_object_get(v, need[i]))) {
                r->status = GB_ST_GARBLED;
                snprintf(r->message, sizeof r->message, "the JSON result has no number \"%s\"", need[i]);
                break;
            }
        }
        const char *wl = gb_json_str(v, "workload", NULL);
        if (r->status == GB_ST_OK && workload && (wl == NULL || strcmp(wl, workload) != 0)) {
            r->status = GB_ST_GARBLED;
            snprintf(r->message, sizeof r->message, "the JSON result is for workload '%s', not '%s'",
                     wl ? wl : "(none)", workload);
        }
    }
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
    json_t *v = NULL;
    char perr[128];
    int prc = gb_json_parse(line, strlen(line), &v, perr, sizeof perr);
    if (prc != 0 || !json_is_object(v)) {
        if (r->exit_code != 0) {
            r->status = GB_ST_FAILED;
            snprintf(r->message, sizeof r->message, "exit status %d and no JSON result%s",
                     r->exit_code, r->exit_code == 127 ? " (program could not be run?)" : "");
        } else {
            r->status = GB_ST_GARBLED;
            snprintf(r->message, sizeof r->message, "the last stdout line is not a JSON object%s%s",
                     prc != 0 ? ": " : "",
                     *line == '\0' ? "stdout is empty"
                     : prc != 0    ? perr
                                   : "");
        }
        r->stdout_tail = tail_copy(out, 500);
        json_decref(v);
        free(text);
        return;
    }
    r->json = v; /* kept: freed with the result */
    classify_object(r, v, workload);
    free(text);
}

/* The first figure of an ok result that cannot be, said into why. */
static bool figures_possible(const json_t *v, const struct gb_exec_asked *asked, char *why, size_t n)
{
    double wall = gb_json_num(v, "wall_ns", NAN), ops = gb_json_num(v, "ops", NAN);
    double nspo = gb_json_num(v, "ns_per_op", NAN);
    long rounds = asked->rounds;
    double one_round_ops = asked->one_round_ops;
    const json_t *echoed = json_object_get(v, "rounds");
    const json_t *echoed_n = json_object_get(v, "n");
    const char *impl = gb_json_str(v, "impl", NULL);
    double cpu = gb_json_num(v, "cpu_ns", 0), rss = gb_json_num(v, "rss_per_task_bytes", 0);
    double errors = gb_json_num(v, "errors", 0);
    if (!(wall > 0) || !(ops > 0) || !isfinite(wall) || !isfinite(ops))
        snprintf(why, n, "\"wall_ns\" is %g and \"ops\" %g: both must be above 0", wall, ops);
    else if (!(fabs(nspo - wall / ops) <= 0.001 + 1e-6 * fabs(nspo)))
        snprintf(why, n, "\"ns_per_op\" is %g, not wall_ns / ops = %.3f", nspo, wall / ops);
    else if (json_is_number(echoed) && json_number_value(echoed) != (double)rounds)
        snprintf(why, n, "\"rounds\" is %g, not the --rounds=%ld it was given", json_number_value(echoed),
                 rounds);
    else if (isfinite(one_round_ops) && ops != one_round_ops * (double)rounds)
        snprintf(why, n,
                 "\"ops\" is %g with --rounds=%ld, where the warm-up's one round did %g: each round "
                 "must do the whole work",
                 ops, rounds, one_round_ops);
    else if (asked->n >= 0 && json_is_number(echoed_n) && json_number_value(echoed_n) != (double)asked->n)
        snprintf(why, n, "\"n\" is %g, not the --n=%ld it was given", json_number_value(echoed_n),
                 asked->n);
    else if (asked->impl != NULL && impl != NULL && strcmp(impl, asked->impl) != 0)
        snprintf(why, n, "\"impl\" is '%s', not the --impl=%s it was given", impl, asked->impl);
    else if (!(cpu >= 0))
        snprintf(why, n, "\"cpu_ns\" is %g: below 0", cpu);
    else if (!(rss >= 0))
        snprintf(why, n, "\"rss_per_task_bytes\" is %g: below 0", rss);
    else if (errors != 0)
        snprintf(why, n, "\"errors\" is %g although \"ok\" is true", errors);
    else
        return true;
    return false;
}

void gb_exec_check_figures(struct gb_exec_result *r, const struct gb_exec_asked *asked)
{
    char why[400];
    if (r->status != GB_ST_OK || figures_possible(r->json, asked, why, sizeof why))
        return;
    r->status = GB_ST_GARBLED;
    snprintf(r->message, sizeof r->message, "impossible figures: %s (docs/cell-protocol.md)", why);
}

void gb_exec(char *const argv[], double timeout_s, volatile int *stop, const char *workload,
             int namespaces_of, struct gb_exec_result *r)
{
    memset(r, 0, sizeof *r);
    r->exit_code = -1;
    /* Its own process group (so a timeout kills everything it started, and
     * a terminal's ^C reaches only the harness); it dies with the harness. */
    struct gb_proc_opts o = {
        .namespaces_of = namespaces_of,
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
        /* Its OS threads at their peak, seen from outside: the figure that
         * sets green threads apart from OS threads, for every implementation.
         * The pid stays the cell's through its program: the peers' shell
         * wrappers (the .sh.in files of workloads/peers/, the Boost.Fiber
         * example's cell) end in exec; an external --peer's wrapper that
         * forks instead would show its shell's one thread. */
        .sample_threads = true,
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
    r->threads_peak = e.threads_peak;
    r->stderr_tail = tail_copy(&e.err, TAIL_RECORD);
    classify(r, &e.out, workload, e.timed_out, e.stopped, timeout_s);
    gb_proc_end_free(&e);
}
