/* harness/meta.c: meta.json and the run directory (meta.h). */
#include "meta.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "cell.h"
#include "process.h"
#include "util.h"

#ifndef GB_SOURCE_DIR
#define GB_SOURCE_DIR "."
#endif

/* ---- meta.json ---- */

static void jw_argv(struct gb_jw *w, int argc, char **argv)
{
    gb_jw_arr(w);
    for (int i = 0; i < argc; i++)
        gb_jw_str(w, argv[i]);
    gb_jw_arr_end(w);
}

static void jw_git(struct gb_jw *w)
{
    char *rev[] = { "git", "-C", GB_SOURCE_DIR, "rev-parse", "HEAD", NULL };
    char *commit = gb_command_line1(rev);
    char *out = NULL;
    char *st[] = { "git", "-C", GB_SOURCE_DIR, "status", "--porcelain", "--untracked-files=no", NULL };
    int rc = gb_run_capture(st, false, 5000, &out);
    gb_jw_obj(w);
    gb_jw_key(w, "commit");
    gb_jw_str(w, commit);
    gb_jw_key(w, "dirty");
    if (rc == 0)
        gb_jw_bool(w, out[0] != '\0');
    else
        gb_jw_null(w);
    gb_jw_key(w, "source_dir");
    gb_jw_str(w, GB_SOURCE_DIR);
    gb_jw_obj_end(w);
    free(commit);
    free(out);
}

static void jw_programs(struct gb_jw *w, const struct gb_programs *p)
{
    gb_jw_obj(w);
    gb_jw_key(w, "bin_dir");
    gb_jw_str(w, p->bin_dir);
    gb_jw_key(w, "green");
    gb_jw_arr(w);
    for (size_t i = 0; i < p->npairs; i++) {
        char s[80];
        snprintf(s, sizeof s, "%s/%s", p->pairs[i].sw, p->pairs[i].loop);
        gb_jw_str(w, s);
    }
    gb_jw_arr_end(w);
    gb_jw_key(w, "threads");
    gb_jw_bool(w, p->threads);
    gb_jw_key(w, "server");
    gb_jw_bool(w, p->server);
    gb_jw_key(w, "peers");
    gb_jw_obj(w);
    for (size_t i = 0; i < gb_npeers; i++) {
        gb_jw_key(w, gb_peers[i].name);
        gb_jw_bool(w, p->peer_found[i]);
    }
    gb_jw_obj_end(w);
    gb_jw_obj_end(w);
}

static const char *const own_meta_keys[] = {
    "status", "end_time", "resumed", "counts", NULL,
};

/* What a fresh run records once, at its start, as a tree. gb_jw_value writes
 * it back as gb_jw_* wrote it (integers below 1e15, doubles in their shortest
 * exact form), so meta.json reads as before. NULL only if our own writer's
 * output would not parse. */
static struct gb_json *fresh_meta(const struct gb_run_state *rs)
{
    struct gb_buf b;
    gb_buf_init(&b);
    struct gb_jw w;
    gb_jw_init(&w, &b, 0);
    gb_jw_obj(&w);
    gb_jw_key(&w, "schema_version");
    gb_jw_int(&w, GB_SCHEMA_VERSION);
    gb_jw_key(&w, "tool");
    gb_jw_str(&w, "greenbench");
    gb_jw_key(&w, "command_line");
    jw_argv(&w, rs->argc, rs->argv);
    char cwd[PATH_MAX];
    gb_jw_key(&w, "cwd");
    gb_jw_str(&w, getcwd(cwd, sizeof cwd) ? cwd : NULL);
    gb_jw_key(&w, "git");
    jw_git(&w);
    gb_jw_key(&w, "versions");
    gb_versions_to_json(&w, &rs->progs);
    gb_jw_key(&w, "machine");
    gb_machine_to_json(&w);
    gb_jw_key(&w, "preflight");
    gb_preflight_to_json(&w, &rs->pf);
    gb_jw_key(&w, "rlimit_nofile");
    gb_jw_obj(&w);
    gb_jw_key(&w, "soft_before");
    gb_jw_int(&w, (long long)rs->nofile_before.rlim_cur);
    gb_jw_key(&w, "soft_for_cells");
    gb_jw_int(&w, (long long)rs->nofile_after.rlim_cur);
    gb_jw_obj_end(&w);
    gb_jw_key(&w, "programs");
    jw_programs(&w, &rs->progs);
    gb_jw_key(&w, "start_time");
    gb_jw_str(&w, rs->start_time);
    gb_jw_key(&w, "seed");
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)rs->plan.seed);
    gb_jw_str(&w, seed);
    gb_jw_key(&w, "plan");
    gb_plan_to_json(&w, &rs->plan, rs->opts);
    gb_jw_obj_end(&w);
    struct gb_json *v = NULL;
    if (gb_json_parse(b.data, b.len, &v, NULL, 0) != 0)
        v = NULL;
    gb_buf_free(&b);
    return v;
}

/* Written at the start and at the end of a run (fresh or resumed): what was
 * recorded first is kept as it is, the run's state is updated. */
int gb_meta_write(struct gb_run_state *rs)
{
    if (rs->old_meta == NULL && (rs->old_meta = fresh_meta(rs)) == NULL)
        return -EINVAL;
    struct gb_buf b;
    gb_buf_init(&b);
    struct gb_jw w;
    gb_jw_init(&w, &b, 2);
    gb_jw_obj(&w);
    for (size_t i = 0; i < rs->old_meta->count; i++) {
        bool own = false;
        for (const char *const *k = own_meta_keys; *k; k++)
            own |= strcmp(*k, rs->old_meta->keys[i]) == 0;
        if (own)
            continue;
        gb_jw_key(&w, rs->old_meta->keys[i]);
        gb_jw_value(&w, rs->old_meta->items[i]);
    }
    if (rs->resumed) {
        gb_jw_key(&w, "resumed");
        gb_jw_arr(&w);
        const struct gb_json *prev = gb_json_get(rs->old_meta, "resumed");
        for (size_t i = 0; prev && prev->type == GB_JSON_ARRAY && i < prev->count; i++)
            gb_jw_value(&w, prev->items[i]);
        gb_jw_obj(&w);
        gb_jw_key(&w, "time");
        gb_jw_str(&w, rs->start_time);
        gb_jw_key(&w, "command_line");
        jw_argv(&w, rs->argc, rs->argv);
        gb_jw_key(&w, "preflight");
        gb_preflight_to_json(&w, &rs->pf);
        gb_jw_obj_end(&w);
        gb_jw_arr_end(&w);
    }
    gb_jw_key(&w, "status");
    gb_jw_str(&w, rs->status);
    gb_jw_key(&w, "end_time");
    gb_jw_str(&w, rs->end_time[0] ? rs->end_time : NULL);
    gb_jw_key(&w, "counts");
    gb_jw_obj(&w);
    gb_jw_key(&w, "jobs");
    gb_jw_int(&w, (long long)rs->jobs_total);
    gb_jw_key(&w, "done");
    gb_jw_int(&w, (long long)rs->jobs_done);
    gb_jw_key(&w, "ok");
    gb_jw_int(&w, (long long)rs->reps_ok);
    gb_jw_key(&w, "failed");
    gb_jw_int(&w, (long long)rs->reps_failed);
    gb_jw_obj_end(&w);
    gb_jw_obj_end(&w);
    gb_buf_puts(&b, "\n");
    char *path = gb_xasprintf("%s/meta.json", rs->dir);
    int rc = gb_write_file_atomic(path, b.data, b.len);
    free(path);
    gb_buf_free(&b);
    return rc;
}

/* ---- output directory ---- */

int gb_run_dir_make(const struct gb_run_opts *o, char *dir, size_t n, char *err, size_t errlen)
{
    if (o->out[0]) {
        int st = gb_dir_state(o->out);
        if (st == 2) {
            snprintf(err, errlen,
                     "--out: '%.400s' exists and is not empty (a run never overwrites another; "
                     "give a new directory, or --resume %.400s to finish an interrupted run)",
                     o->out, o->out);
            return GB_EXIT_USAGE;
        }
        if (st == 3) {
            snprintf(err, errlen, "--out: '%.400s' exists and is not a directory", o->out);
            return GB_EXIT_USAGE;
        }
        int rc = gb_mkdir_p(o->out);
        if (rc != 0) {
            snprintf(err, errlen, "--out: cannot create '%.400s': %s", o->out, strerror(-rc));
            return GB_EXIT_USAGE;
        }
        snprintf(dir, n, "%s", o->out);
    } else {
        const char *root = getenv("GREENBENCH_RESULTS_DIR");
        if (root == NULL || *root == '\0')
            root = "results";
        int rc = gb_mkdir_p(root);
        if (rc != 0) {
            snprintf(err, errlen, "--out: cannot create the results directory '%s': %s", root,
                     strerror(-rc));
            return GB_EXIT_USAGE;
        }
        char stamp[32];
        time_t t = time(NULL);
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
        for (int i = 1;; i++) {
            if (i == 1)
                snprintf(dir, n, "%s/%s", root, stamp);
            else
                snprintf(dir, n, "%s/%s-%d", root, stamp, i);
            if (mkdir(dir, 0755) == 0)
                break;
            if (errno != EEXIST || i > 1000) {
                snprintf(err, errlen, "--out: cannot create '%.400s': %s", dir, strerror(errno));
                return GB_EXIT_USAGE;
            }
        }
    }
    /* Writable? Find out before anything runs. */
    char *probe = gb_xasprintf("%s/.greenbench-write-test", dir);
    int rc = gb_write_file(probe, "", 0);
    unlink(probe);
    free(probe);
    if (rc != 0) {
        snprintf(err, errlen, "--out: cannot write in '%.400s': %s", dir, strerror(-rc));
        return GB_EXIT_USAGE;
    }
    return 0;
}

/* ---- preflight ---- */

void gb_run_preflight(struct gb_run_state *rs)
{
    const struct gb_plan *pl = &rs->plan;
    long max_sockets = 0, max_tasks = 0;
    for (size_t i = 0; i < pl->ncells; i++) {
        const struct gb_cell *c = &pl->cells[i];
        const struct gb_workload *w = gb_workload_find(c->workload);
        if (w == NULL)
            continue;
        if (gb_cell_axis(c, w->sockets) > max_sockets)
            max_sockets = gb_cell_axis(c, w->sockets);
        if (gb_cell_axis(c, w->tasks) > max_tasks)
            max_tasks = gb_cell_axis(c, w->tasks);
    }
    getrlimit(RLIMIT_NOFILE, &rs->nofile_before);
    gb_preflight(max_sockets, max_tasks, &rs->pf);
    rs->nofile_after = rs->nofile_before;
    if (rs->nofile_after.rlim_cur < rs->nofile_after.rlim_max) {
        rs->nofile_after.rlim_cur = rs->nofile_after.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rs->nofile_after) != 0)
            rs->nofile_after = rs->nofile_before;
    }
    for (size_t i = 0; i < rs->pf.n; i++)
        if (rs->pf.r[i].level == 2)
            fprintf(stderr, "greenbench: warning: %s = %s: %s\n", rs->pf.r[i].name,
                    rs->pf.r[i].value, rs->pf.r[i].advice);
}
