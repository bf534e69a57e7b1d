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
    struct gb_jw w;
    gb_jw_init(&w, &b, 0);
    gb_jw_obj(&w);
    gb_jw_key(&w, "schema");
    gb_jw_int(&w, GB_SCHEMA_VERSION);
    gb_jw_key(&w, "cell");
    gb_jw_str(&w, c->key);
    gb_jw_key(&w, "rep");
    gb_jw_int(&w, rep);
    gb_jw_key(&w, "reps");
    gb_jw_int(&w, reps);
    gb_jw_key(&w, "warmup");
    gb_jw_bool(&w, rep == 0);
    gb_jw_key(&w, "job");
    gb_jw_int(&w, (long long)job);
    gb_jw_key(&w, "params");
    gb_cell_to_json(&w, c);
    gb_jw_key(&w, "argv");
    if (argv) {
        gb_jw_arr(&w);
        for (char **a = argv; *a; a++)
            gb_jw_str(&w, *a);
        gb_jw_arr_end(&w);
    } else {
        gb_jw_null(&w);
    }
    gb_jw_key(&w, "server_url");
    gb_jw_str(&w, url);
    gb_jw_key(&w, "started");
    gb_jw_str(&w, started);
    gb_jw_key(&w, "status");
    gb_jw_str(&w, gb_status_name(r->status));
    gb_jw_key(&w, "message");
    gb_jw_str(&w, r->message[0] ? r->message : NULL);
    gb_jw_key(&w, "exit_code");
    if (r->exit_code >= 0)
        gb_jw_int(&w, r->exit_code);
    else
        gb_jw_null(&w);
    gb_jw_key(&w, "signal");
    if (r->signal)
        gb_jw_int(&w, r->signal);
    else
        gb_jw_null(&w);
    gb_jw_key(&w, "elapsed_ns");
    gb_jw_int(&w, r->elapsed_ns);
    gb_jw_key(&w, "rusage");
    gb_jw_obj(&w);
    gb_jw_key(&w, "maxrss_kb");
    gb_jw_int(&w, r->maxrss_kb);
    gb_jw_key(&w, "utime_ns");
    gb_jw_int(&w, r->utime_ns);
    gb_jw_key(&w, "stime_ns");
    gb_jw_int(&w, r->stime_ns);
    gb_jw_obj_end(&w);
    gb_jw_key(&w, "stderr_tail");
    gb_jw_str(&w, r->stderr_tail);
    if (r->stdout_tail) {
        gb_jw_key(&w, "stdout_tail");
        gb_jw_str(&w, r->stdout_tail);
    }
    gb_jw_key(&w, "result");
    gb_jw_value(&w, r->json); /* re-written: always valid UTF-8, one line; NULL: null */
    gb_jw_obj_end(&w);
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
        struct gb_json *v;
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
        gb_json_free(v);
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
