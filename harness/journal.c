/* harness/journal.c: cells.jsonl as the run stage writes it and --resume
 * reads it (journal.h). */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "json.h"
#include "util.h"

/* ---- the record of one repetition ---- */

int gb_journal_open(const char *dir, bool needs_newline)
{
    char *cells_path = gb_xasprintf("%s/cells.jsonl", dir);
    int fd = open(cells_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "greenbench run: cannot open %s: %s\n", cells_path, strerror(errno));
        free(cells_path);
        return -1;
    }
    /* Two processes appending to one journal record every repetition
     * twice: a resume started while the run still goes would. */
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            fprintf(stderr,
                    "greenbench run: %s is in use: another greenbench is running or resuming this run "
                    "(it holds the lock of %s); let it end, or stop it (^C), then resume\n",
                    dir, cells_path);
        else
            fprintf(stderr, "greenbench run: cannot lock %s: %s\n", cells_path, strerror(errno));
        close(fd);
        free(cells_path);
        return -1;
    }
    if (needs_newline && write(fd, "\n", 1) != 1)
        fprintf(stderr, "greenbench: cannot repair the last line of %s\n", cells_path);
    free(cells_path);
    return fd;
}

void gb_journal_append(int fd, const struct gb_journal_job *j, const struct gb_exec_result *r)
{
    const struct gb_cell *c = j->cell;
    struct gb_buf b;
    gb_buf_init(&b);
    json_t *o = json_object();
    json_object_set_new(o, "schema", json_integer(GB_SCHEMA_VERSION));
    json_object_set_new(o, "cell", gb_json_text(c->key));
    json_object_set_new(o, "rep", json_integer(j->rep));
    json_object_set_new(o, "reps", json_integer(j->max_reps));
    json_object_set_new(o, "warmup", json_boolean(j->rep == 0));
    json_object_set_new(o, "rounds", json_integer(j->rounds));
    json_object_set_new(o, "job", json_integer((json_int_t)j->job));
    json_object_set_new(o, "params", gb_cell_to_json(c));
    json_t *args = j->argv ? json_array() : json_null();
    for (char **a = j->argv; a && *a; a++)
        json_array_append_new(args, gb_json_text(*a));
    json_object_set_new(o, "argv", args);
    json_object_set_new(o, "server_url", gb_json_text(j->url));
    json_object_set_new(o, "started", gb_json_text(j->started));
    json_object_set_new(o, "status", gb_json_text(gb_status_name(r->status)));
    json_object_set_new(o, "message", gb_json_text(r->message[0] ? r->message : NULL));
    json_object_set_new(o, "exit_code", r->exit_code >= 0 ? json_integer(r->exit_code) : json_null());
    json_object_set_new(o, "signal", r->signal ? json_integer(r->signal) : json_null());
    json_object_set_new(o, "elapsed_ns", json_integer(r->elapsed_ns));
    json_t *ru = json_object();
    json_object_set_new(ru, "maxrss_kb", json_integer(r->maxrss_kb));
    json_object_set_new(ru, "utime_ns", json_integer(r->utime_ns));
    json_object_set_new(ru, "stime_ns", json_integer(r->stime_ns));
    json_object_set_new(o, "rusage", ru);
    /* The harness's own samples of its OS threads; null when none was
     * taken (it exited within the first interval, or never started). */
    json_object_set_new(o, "os_threads_peak",
                        r->threads_peak > 0 ? json_integer(r->threads_peak) : json_null());
    if (j->server)
        json_object_set_new(o, "server", gb_json_normal(j->server));
    if (j->server_cpu_ns >= 0)
        json_object_set_new(o, "server_cpu_ns", json_integer(j->server_cpu_ns));
    json_object_set_new(o, "stderr_tail", gb_json_text(r->stderr_tail));
    if (r->stdout_tail)
        json_object_set_new(o, "stdout_tail", gb_json_text(r->stdout_tail));
    /* Re-written one line, whole reals as integers; NULL: null. */
    json_object_set_new(o, "result", gb_json_normal(r->json));
    gb_json_dump_new(&b, o, GB_JSON_LINE);
    gb_buf_puts(&b, "\n");
    /* One write per line, then to disk: nothing measured is lost. */
    int rc = gb_write_all(fd, b.data, b.len);
    if (rc != 0)
        fprintf(stderr, "greenbench: writing cells.jsonl: %s\n", strerror(-rc));
    fdatasync(fd);
    gb_buf_free(&b);
}

/* ---- reading it back ---- */

static void add_bad(struct gb_jsonl *j, size_t lineno)
{
    j->bad = gb_xrealloc(j->bad, (j->nbad + 1) * sizeof *j->bad);
    j->bad[j->nbad++] = lineno;
}

/* One line (len bytes, no newline) numbered lineno: a record, a bad line,
 * or nothing when blank. */
static void add_line(struct gb_jsonl *j, const char *line, size_t len, size_t lineno)
{
    size_t blank = 0;
    while (blank < len && strchr(" \t\r", line[blank]) && line[blank] != '\0')
        blank++;
    if (blank == len)
        return;
    json_t *v = NULL;
    if (memchr(line, '\0', len) != NULL || gb_json_parse(line, len, &v, NULL, 0) != 0 ||
        !json_is_object(v) || gb_json_str(v, "cell", NULL) == NULL) {
        json_decref(v);
        add_bad(j, lineno);
        return;
    }
    j->recs = gb_xrealloc(j->recs, (j->n + 1) * sizeof *j->recs);
    j->lineno = gb_xrealloc(j->lineno, (j->n + 1) * sizeof *j->lineno);
    j->recs[j->n] = v;
    j->lineno[j->n++] = lineno;
}

int gb_jsonl_load(const char *path, struct gb_jsonl *j)
{
    memset(j, 0, sizeof *j);
    char *text;
    size_t len;
    int rc = gb_read_file(path, &text, &len);
    if (rc == -ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    j->torn = len > 0 && text[len - 1] != '\n';
    /* By length, not by string: a NUL byte must not end the file here. */
    size_t lineno = 0;
    for (const char *p = text, *end = text + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        add_line(j, p, n, ++lineno);
        p += n + 1;
    }
    free(text);
    return 0;
}

void gb_jsonl_free(struct gb_jsonl *j)
{
    for (size_t i = 0; i < j->n; i++)
        json_decref(j->recs[i]);
    free(j->recs);
    free(j->lineno);
    free(j->bad);
    memset(j, 0, sizeof *j);
}

void gb_jsonl_bad_lines(const struct gb_jsonl *j, struct gb_buf *out)
{
    size_t shown = j->nbad < 10 ? j->nbad : 10;
    gb_buf_puts(out, j->nbad == 1 ? "line " : "lines ");
    for (size_t i = 0; i < shown; i++)
        gb_buf_printf(out, "%s%zu", i == 0 ? "" : i + 1 == j->nbad ? " and " : ", ", j->bad[i]);
    if (j->nbad > shown)
        gb_buf_printf(out, " and %zu more", j->nbad - shown);
    gb_buf_puts(out, j->nbad == 1 ? " is not a record" : " are not a record");
}
