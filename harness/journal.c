/* harness/journal.c: cells.jsonl as the run stage writes it and --resume
 * reads it (journal.h). */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    if (needs_newline && write(fd, "\n", 1) != 1)
        fprintf(stderr, "greenbench: cannot repair the last line of %s\n", cells_path);
    free(cells_path);
    return fd;
}

void gb_journal_append(int fd, const struct gb_cell *c, int rep, int reps, size_t job,
                       char **argv, const char *url, const char *started,
                       const struct gb_exec_result *r)
{
    struct gb_buf b;
    gb_buf_init(&b);
    json_t *o = json_object();
    json_object_set_new(o, "schema", json_integer(GB_SCHEMA_VERSION));
    json_object_set_new(o, "cell", gb_json_text(c->key));
    json_object_set_new(o, "rep", json_integer(rep));
    json_object_set_new(o, "reps", json_integer(reps));
    json_object_set_new(o, "warmup", json_boolean(rep == 0));
    json_object_set_new(o, "job", json_integer((json_int_t)job));
    json_object_set_new(o, "params", gb_cell_to_json(c));
    json_t *args = argv ? json_array() : json_null();
    for (char **a = argv; a && *a; a++)
        json_array_append_new(args, gb_json_text(*a));
    json_object_set_new(o, "argv", args);
    json_object_set_new(o, "server_url", gb_json_text(url));
    json_object_set_new(o, "started", gb_json_text(started));
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

/* ---- what a resumed run finds done ---- */

bool gb_done_has(const struct gb_done *d, const char *key, int rep)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->reps[i] == rep && strcmp(d->keys[i], key) == 0)
            return true;
    return false;
}

int gb_done_load(const char *path, struct gb_done *d, bool *needs_newline)
{
    memset(d, 0, sizeof *d);
    *needs_newline = false;
    char *text;
    size_t len;
    int rc = gb_read_file(path, &text, &len);
    if (rc == -ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    *needs_newline = len > 0 && text[len - 1] != '\n';
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_t *v;
        if (gb_json_parse(line, strlen(line), &v, NULL, 0) != 0)
            continue; /* a torn last line: that repetition runs again */
        const char *key = gb_json_str(v, "cell", NULL);
        if (key) {
            d->keys = gb_xrealloc(d->keys, (d->n + 1) * sizeof *d->keys);
            d->reps = gb_xrealloc(d->reps, (d->n + 1) * sizeof *d->reps);
            d->keys[d->n] = gb_xstrdup(key);
            d->reps[d->n] = (int)gb_json_num(v, "rep", -1);
            if (d->reps[d->n] > 0) {
                if (strcmp(gb_json_str(v, "status", ""), "ok") == 0)
                    d->ok++;
                else
                    d->failed++;
            }
            d->n++;
        }
        json_decref(v);
    }
    free(text);
    return 0;
}

void gb_done_free(struct gb_done *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->keys[i]);
    free(d->keys);
    free(d->reps);
}
