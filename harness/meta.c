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
#include "host.h"
#include "peers_ext.h"
#include "process.h"
#include "results.h"
#include "util.h"

#ifndef GB_SOURCE_DIR
#define GB_SOURCE_DIR "."
#endif

/* ---- meta.json ---- */

static json_t *argv_json(int argc, char **argv)
{
    json_t *a = json_array();
    for (int i = 0; i < argc; i++)
        json_array_append_new(a, gb_json_text(argv[i]));
    return a;
}

static json_t *git_json(void)
{
    char *rev[] = { "git", "-C", GB_SOURCE_DIR, "rev-parse", "HEAD", NULL };
    char *commit = gb_command_line1(rev);
    char *out = NULL;
    char *st[] = { "git", "-C", GB_SOURCE_DIR, "status", "--porcelain", "--untracked-files=no", NULL };
    int rc = gb_run_capture(st, false, 5000, &out);
    json_t *o = json_object();
    json_object_set_new(o, "commit", gb_json_text(commit));
    json_object_set_new(o, "dirty", rc == 0 ? json_boolean(out[0] != '\0') : json_null());
    json_object_set_new(o, "source_dir", gb_json_text(GB_SOURCE_DIR));
    free(commit);
    free(out);
    return o;
}

static json_t *programs_json(const struct gb_programs *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "bin_dir", gb_json_text(p->bin_dir));
    json_t *green = json_array();
    for (size_t i = 0; i < p->npairs; i++) {
        char s[80];
        snprintf(s, sizeof s, "%s/%s", p->pairs[i].sw, p->pairs[i].loop);
        json_array_append_new(green, gb_json_text(s));
    }
    json_object_set_new(o, "green", green);
    json_object_set_new(o, "threads", json_boolean(p->threads));
    json_object_set_new(o, "epoll", json_boolean(p->epoll));
    json_object_set_new(o, "server", json_boolean(p->server));
    json_t *peers = json_object();
    for (size_t i = 0; i < gb_npeers; i++)
        json_object_set_new(peers, gb_peers[i].name, json_boolean(p->peer_found[i]));
    json_object_set_new(o, "peers", peers);
    return o;
}

static const char *const own_meta_keys[] = {
    "status", "end_time", "resumed", "counts", NULL,
};

/* What a fresh run records once, at its start. */
static json_t *fresh_meta(const struct gb_run_state *rs)
{
    json_t *o = json_object();
    json_object_set_new(o, "schema_version", json_integer(GB_SCHEMA_VERSION));
    json_object_set_new(o, "tool", json_string("greenbench"));
    json_object_set_new(o, "command_line", argv_json(rs->argc, rs->argv));
    char cwd[PATH_MAX];
    json_object_set_new(o, "cwd", gb_json_text(getcwd(cwd, sizeof cwd) ? cwd : NULL));
    json_object_set_new(o, "git", git_json());
    json_object_set_new(o, "versions", gb_versions_to_json(&rs->progs));
    json_object_set_new(o, "machine", gb_machine_to_json());
    json_object_set_new(o, "preflight", gb_preflight_to_json(&rs->pf));
    json_object_set_new(o, "host", gb_host_to_json(&rs->pf, &rs->progs));
    if (rs->campaign)
        json_object_set_new(o, "campaign", json_incref(rs->campaign));
    json_t *nofile = json_object();
    json_object_set_new(nofile, "soft_before", json_integer((json_int_t)rs->nofile_before.rlim_cur));
    json_object_set_new(nofile, "soft_for_cells", json_integer((json_int_t)rs->nofile_after.rlim_cur));
    json_object_set_new(o, "rlimit_nofile", nofile);
    json_object_set_new(o, "programs", programs_json(&rs->progs));
    if (gb_npeers > gb_nbuiltin_peers) /* what `report` and --resume need to know them again */
        json_object_set_new(o, "external_peers", gb_peers_ext_to_json());
    json_object_set_new(o, "start_time", gb_json_text(rs->start_time));
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)rs->plan.seed);
    json_object_set_new(o, "seed", json_string(seed));
    json_object_set_new(o, "plan", gb_plan_to_json(&rs->plan, rs->opts));
    json_t *server = json_object();
    json_object_set_new(server, "threads", json_integer(rs->server_threads));
    json_object_set_new(server, "cpus", gb_json_text(rs->server_cpus));
    json_object_set_new(o, "server", server);
    return o;
}

/* Written at the start and at the end of a run (fresh or resumed): what was
 * recorded first is kept as it is, the run's state is updated. */
int gb_meta_write(struct gb_run_state *rs)
{
    if (rs->old_meta == NULL && (rs->old_meta = fresh_meta(rs)) == NULL)
        return -EINVAL;
    json_t *o = json_object();
    for (void *it = json_object_iter(rs->old_meta); it; it = json_object_iter_next(rs->old_meta, it)) {
        const char *key = json_object_iter_key(it);
        bool own = false;
        for (const char *const *k = own_meta_keys; *k; k++)
            own |= strcmp(*k, key) == 0;
        if (!own)
            json_object_set_new(o, key, gb_json_normal(json_object_iter_value(it)));
    }
    if (rs->resumed) {
        json_t *resumed = json_array();
        const json_t *prev = json_object_get(rs->old_meta, "resumed");
        for (size_t i = 0; i < json_array_size(prev); i++)
            json_array_append_new(resumed, gb_json_normal(json_array_get(prev, i)));
        json_t *now = json_object();
        json_object_set_new(now, "time", gb_json_text(rs->start_time));
        json_object_set_new(now, "command_line", argv_json(rs->argc, rs->argv));
        json_object_set_new(now, "preflight", gb_preflight_to_json(&rs->pf));
        json_array_append_new(resumed, now);
        json_object_set_new(o, "resumed", resumed);
    }
    json_object_set_new(o, "status", gb_json_text(rs->status));
    json_object_set_new(o, "end_time", gb_json_text(rs->end_time[0] ? rs->end_time : NULL));
    json_t *counts = json_object();
    json_object_set_new(counts, "jobs", json_integer((json_int_t)rs->jobs_total));
    json_object_set_new(counts, "done", json_integer((json_int_t)rs->jobs_done));
    json_object_set_new(counts, "ok", json_integer((json_int_t)rs->reps_ok));
    json_object_set_new(counts, "failed", json_integer((json_int_t)rs->reps_failed));
    json_object_set_new(o, "counts", counts);
    struct gb_buf b;
    gb_buf_init(&b);
    gb_json_dump_new(&b, o, GB_JSON_DOC);
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
            if (gb_holds_run_files(o->out))
                snprintf(err, errlen,
                         "--out: '%.400s' holds a run (a run never overwrites another; give a new "
                         "directory, or --resume %.400s to finish it if it was interrupted)",
                         o->out, o->out);
            else
                snprintf(err, errlen,
                         "--out: '%.400s' exists and is not empty (a run goes into a new or empty "
                         "directory)",
                         o->out);
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
        bool from_env = root != NULL && *root != '\0';
        if (!from_env)
            root = "results";
        int rc = gb_mkdir_p(root);
        if (rc != 0) {
            snprintf(
                err, errlen,
                "cannot create the results directory '%.3000s' (%s): %s; --out DIR puts the run elsewhere",
                root, from_env ? "GREENBENCH_RESULTS_DIR" : "the default", strerror(-rc));
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
