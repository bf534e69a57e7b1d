/* harness/merge.c: `greenbench merge` (merge.h): the sources read and
 * checked, one run folder per host assembled, then the cross-host view
 * (merge_view.c). */
#include "merge.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "campaign.h"
#include "host.h"
#include "journal.h"
#include "json.h"
#include "util.h"

static const char merge_help[] =
    "usage: greenbench merge [--force] [--no-plots] OUT DIR...\n"
    "\n"
    "Merges the run folders of a campaign's shards (greenbench run --emit, then\n"
    "--shard on many machines) into the new folder OUT. Each DIR is a run folder, or\n"
    "a campaign folder: then its runs*/ folders are the runs, its plan.json says\n"
    "which cells should be there, and its joblog* files which shards failed.\n"
    "Repetitions of different hosts (meta.json's host.id: GREENBENCH_HOST_ID or the\n"
    "host name) are never pooled: OUT/hosts/<id>/ is one run folder per host, with\n"
    "its own summary.csv and report; OUT gets cells.jsonl (every record, with its\n"
    "host), summary.csv (a host column first), ratios.csv (per host, each cell\n"
    "against its thread baseline, grouped by comparison group), cross-host.csv (the\n"
    "median of the per-host ratios and their range), merge.json and report.md,\n"
    "which lists the machines and any missing, failed or duplicated shard.\n"
    "\n"
    "A run of no campaign is compared by its own plan (cells, stop rule, timeout,\n"
    "seed). Refused, with --force too: one run given twice (the same folder, by any\n"
    "path, or a copy of it: same host, start time, seed and preflight), and two\n"
    "folders of one host that planned a cell in common (a shard and a plain run of\n"
    "its cells): their repetitions would be pooled. A cell with no counted\n"
    "repetition, and a line of cells.jsonl that is not a record, are said.\n"
    "\n"
    "  --force     merge folders of different plans or builds (refused otherwise)\n"
    "  --no-plots  skip gnuplot for the hosts' reports\n"
    "\n"
    "A run that did not end (killed, a time limit) is said with the command that\n"
    "finishes it; of a shard run twice on one host, the complete run is kept, else\n"
    "the one with more repetitions.\n"
    "\n"
    "Exit status: 0 merged, 1 merged but a shard or cell is missing, cut short or\n"
    "failed, a folder of a campaign's runs is not a run, or a write failed, 2 bad\n"
    "usage, a run given twice, two runs of one host's cell, or mixed plans or builds\n"
    "(a campaign's runs against its plan.json) without --force.\n";

/* One run folder to merge. */
struct source {
    char dir[4096];
    char *real; /* dir's realpath: two spellings of one folder are one source */
    json_t *meta;
    json_t *keys; /* its plan's cells' keys, in plan order */
    char host[256], plan_hash[32], build_hash[32];
    long shard;     /* -1: not a shard */
    char campaign[4096]; /* the campaign folder it was found in, or "" */
    char runs[4096];     /* the runs folder of that campaign it was found in, or "" */
    bool complete;       /* meta.json's status is "complete" */
    long reps;           /* its counted repetitions (cells.jsonl's ok records) */
    bool duplicate; /* the same shard on the same host as another, kept one */
    json_t *absent; /* the keys of its cells with no counted repetition (write_host) */
    json_t *bad;    /* the numbers of its cells.jsonl's lines that are not records */
};

struct merge {
    struct source *src;
    size_t nsrc;
    json_t *plan_doc;   /* a campaign's plan.json, or NULL */
    char plan_path[4096]; /* its path */
    json_t *failed;     /* array: the joblogs' failed shards */
    json_t *duplicates; /* array of folders skipped */
    json_t *unreadable; /* array: the folders of a campaign's runs that are not runs */
    json_t *launches;   /* array: a campaign's runs folders that hold a folder */
    bool force;
};

/* The JSON object in path into *v: 0, or a negative errno (-ENOENT: no
 * such file) with what is wrong, and where, in err. */
static int read_json(const char *path, json_t **v, char *err, size_t errlen)
{
    char *text, perr[256];
    size_t len;
    *v = NULL;
    int rc = gb_read_file(path, &text, &len);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
        return rc;
    }
    rc = gb_json_parse(text, len, v, perr, sizeof perr);
    free(text);
    if (rc != 0) {
        snprintf(err, errlen, "%s is not valid JSON: %s", path, perr);
        return rc;
    }
    if (!json_is_object(*v)) {
        snprintf(err, errlen, "%s is not a JSON object", path);
        json_decref(*v);
        *v = NULL;
        return -EINVAL;
    }
    return 0;
}

/* The plan hash of a run of no campaign, from its plan as gb_plan_hash
 * makes a campaign's (cells, stop rule, timeout, seed), so that two plain
 * runs of different plans differ, not both "none". */
static void own_plan_hash(const json_t *meta, char *out, size_t n)
{
    struct gb_plan pl;
    char err[256], hash[17];
    if (gb_plan_from_meta(meta, &pl, err, sizeof err) != 0) {
        snprintf(out, n, "none");
        return;
    }
    gb_plan_hash(&pl, hash);
    gb_plan_free(&pl);
    snprintf(out, n, "%s", hash);
}

/* The counted repetitions of dir's cells.jsonl (ok, not a warm-up): what
 * a run cut short has, which meta.json's counts do not say (a run killed
 * hard wrote them at its start). */
static long count_reps(const char *dir)
{
    char *path = gb_xasprintf("%s/cells.jsonl", dir);
    struct gb_jsonl l;
    long n = 0;
    if (gb_jsonl_load(path, &l) == 0) {
        for (size_t r = 0; r < l.n; r++)
            n += gb_json_num(l.recs[r], "rep", 0) >= 1 &&
                 strcmp(gb_json_str(l.recs[r], "status", ""), "ok") == 0;
        gb_jsonl_free(&l);
    }
    free(path);
    return n;
}

/* dir as a source: 0, or a negative errno (-ENOENT: no meta.json) with
 * what is wrong in err. */
static int add_source(struct merge *m, const char *dir, char *err, size_t errlen)
{
    char *path = gb_xasprintf("%s/meta.json", dir);
    json_t *meta;
    int rc = read_json(path, &meta, err, errlen);
    free(path);
    if (rc != 0)
        return rc;
    const char *id = gb_json_str(json_object_get(meta, "host"), "id", "unknown");
    if (!gb_host_id_valid(id)) {
        /* hosts/<id> would be OUT itself (".."), or outside it. */
        snprintf(err, errlen,
                 "%s/meta.json: its host id '%.100s' cannot name a folder (only [A-Za-z0-9._-], not "
                 "'.' or '..' or empty): correct host.id there",
                 dir, id);
        json_decref(meta);
        return -EINVAL;
    }
    m->src = gb_xrealloc(m->src, (m->nsrc + 1) * sizeof *m->src);
    struct source *s = &m->src[m->nsrc++];
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    s->real = realpath(dir, NULL);
    if (s->real == NULL)
        s->real = gb_xasprintf("%s", dir);
    s->meta = meta;
    s->absent = json_array();
    s->bad = json_array();
    s->keys = json_array();
    const json_t *cells = json_object_get(json_object_get(meta, "plan"), "cells");
    for (size_t k = 0; k < json_array_size(cells); k++) {
        struct gb_cell cell;
        if (gb_cell_from_json(json_array_get(cells, k), &cell) == 0)
            json_array_append_new(s->keys, gb_json_text(cell.key));
    }
    const json_t *host = json_object_get(meta, "host"), *c = json_object_get(meta, "campaign");
    snprintf(s->host, sizeof s->host, "%s", gb_json_str(host, "id", "unknown"));

    if (c)
        snprintf(s->plan_hash, sizeof s->plan_hash, "%s", gb_json_str(c, "plan_hash", "none"));
    else
        own_plan_hash(meta, s->plan_hash, sizeof s->plan_hash);
    snprintf(s->build_hash, sizeof s->build_hash, "%s", gb_json_str(host, "build_hash", "none"));
    s->shard = (long)gb_json_num(c, "shard", -1);
    s->complete = strcmp(gb_json_str(meta, "status", "?"), "complete") == 0;
    s->reps = count_reps(dir);
    return 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of dir whose names start with prefix, sorted (caller frees
 * each and the array). */
static char **list_dir(const char *dir, const char *prefix, size_t *n)
{
    DIR *d = opendir(dir);
    char **names = NULL;
    *n = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.' || strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        names = gb_xrealloc(names, (*n + 1) * sizeof *names);
        names[(*n)++] = gb_xasprintf("%s/%s", dir, e->d_name);
    }
    if (d)
        closedir(d);
    if (*n)
        qsort(names, *n, sizeof *names, name_cmp);
    return names;
}

static void free_list(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* A GNU parallel joblog: each job's last line (a rerun after
 * --resume-failed comes later) whose Exitval or Signal is not 0 is a
 * failed shard, into m->failed. */
static void read_joblog(struct merge *m, const char *path)
{
    char *text;
    if (gb_read_file(path, &text, NULL) != 0)
        return;
    json_t *last = json_object(); /* Seq -> its last line */
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *f[9] = { 0 }, *p = line;
        for (int i = 0; i < 9 && p; i++) {
            f[i] = p;
            p = i < 8 ? strchr(p, '\t') : NULL;
            if (p)
                *p++ = '\0';
        }
        if (f[8] == NULL || strcmp(f[0], "Seq") == 0)
            continue;
        json_t *job = json_object();
        json_object_set_new(job, "joblog", gb_json_text(path));
        json_object_set_new(job, "host", gb_json_text(f[1]));
        json_object_set_new(job, "exit", json_integer(atoi(f[6])));
        json_object_set_new(job, "signal", json_integer(atoi(f[7])));
        json_object_set_new(job, "command", gb_json_text(f[8]));
        json_object_set_new(last, f[0], job);
    }
    const char *seq;
    json_t *job;
    json_object_foreach(last, seq, job)
    {
        if (gb_json_num(job, "exit", 0) != 0 || gb_json_num(job, "signal", 0) != 0)
            json_array_append(m->failed, job);
    }
    json_decref(last);
    free(text);
}

/* A campaign folder: plan.json, the runs in runs*, the joblogs. */
static int add_campaign(struct merge *m, const char *dir)
{
    char *path = gb_xasprintf("%s/plan.json", dir), err[1024];
    json_t *doc;
    int rc = read_json(path, &doc, err, sizeof err);
    free(path);
    if (rc != 0) {
        fprintf(stderr, "greenbench merge: %s\n", err);
        return GB_EXIT_USAGE;
    }
    const char *hash = gb_json_str(json_object_get(doc, "campaign"), "plan_hash", "none");
    if (m->plan_doc == NULL) {
        m->plan_doc = doc;
        snprintf(m->plan_path, sizeof m->plan_path, "%s/plan.json", dir);
    } else {
        const char *first = gb_json_str(json_object_get(m->plan_doc, "campaign"), "plan_hash", "none");
        if (strcmp(hash, first) != 0)
            fprintf(stderr,
                    "greenbench merge: %s: %s/plan.json is the plan %s, %s's is %s: its runs are "
                    "checked against the first\n",
                    m->force ? "warning" : "refused", dir, hash, m->plan_path, first);
        if (strcmp(hash, first) != 0 && !m->force) {
            json_decref(doc);
            return GB_EXIT_USAGE;
        }
        json_decref(doc);
    }
    size_t nr, nj;
    char **runs = list_dir(dir, "runs", &nr), **logs = list_dir(dir, "joblog", &nj);
    for (size_t i = 0; i < nr; i++) {
        size_t nf, nrun = 0;
        char **folders = list_dir(runs[i], "", &nf);
        for (size_t k = 0; k < nf; k++) {
            if (!gb_is_dir(folders[k]))
                continue;
            nrun++;
            rc = add_source(m, folders[k], err, sizeof err);
            if (rc == 0) {
                snprintf(m->src[m->nsrc - 1].campaign, sizeof m->src[0].campaign, "%s", dir);
                snprintf(m->src[m->nsrc - 1].runs, sizeof m->src[0].runs, "%s", runs[i]);
                continue;
            }
            /* Not a run: merged without it, but said where the missing shards are. */
            if (rc == -ENOENT)
                snprintf(err, sizeof err, "%s has no meta.json: not a run, or one that never started",
                         folders[k]);
            fprintf(stderr, "greenbench merge: %s (not merged)\n", err);
            json_t *e = json_object();
            json_object_set_new(e, "dir", gb_json_text(folders[k]));
            json_object_set_new(e, "error", gb_json_text(err));
            json_array_append_new(m->unreadable, e);
        }
        if (nrun)
            json_array_append_new(m->launches, gb_json_text(runs[i]));
        free_list(folders, nf);
    }
    for (size_t i = 0; i < nj; i++)
        read_joblog(m, logs[i]);
    free_list(runs, nr);
    free_list(logs, nj);
    return 0;
}

static int add_arg(struct merge *m, const char *dir)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        fprintf(stderr, "greenbench merge: '%s'%s%s\n", dir, errno == ENOENT ? " does not exist" : ": ",
                errno == ENOENT ? "" : strerror(errno));
        return GB_EXIT_USAGE;
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "greenbench merge: '%s' is not a folder\n", dir);
        return GB_EXIT_USAGE;
    }
    char *plan = gb_xasprintf("%s/plan.json", dir), err[1024];
    bool campaign = gb_is_file(plan);
    free(plan);
    if (campaign)
        return add_campaign(m, dir);
    int rc = add_source(m, dir, err, sizeof err);
    if (rc == -ENOENT)
        fprintf(stderr,
                "greenbench merge: '%s' is neither a run folder (meta.json) nor a campaign "
                "(plan.json)\n",
                dir);
    else if (rc != 0)
        fprintf(stderr, "greenbench merge: %s\n", err);
    return rc == 0 ? 0 : GB_EXIT_USAGE;
}

/* ---- checks ---- */

/* Did s plan the cell with this key? */
static bool planned(const struct source *s, const char *key)
{
    for (size_t k = 0; k < json_array_size(s->keys); k++)
        if (strcmp(json_string_value(json_array_get(s->keys, k)), key) == 0)
            return true;
    return false;
}

/* Are a and b one run: what a run records once at its start (its host,
 * start time, seed and preflight readings, measured afresh by every run)
 * is the same? Then one is a copy of the other. */
static bool same_run(const struct source *a, const struct source *b)
{
    const json_t *ta = json_object_get(a->meta, "start_time");
    return json_is_string(ta) && json_equal(ta, json_object_get(b->meta, "start_time")) &&
           strcmp(a->host, b->host) == 0 &&
           json_equal(json_object_get(a->meta, "seed"), json_object_get(b->meta, "seed")) &&
           json_equal(json_object_get(a->meta, "preflight"), json_object_get(b->meta, "preflight"));
}

/* One run given twice (the same folder spelled twice, or a copy of it)
 * would have every repetition counted twice: narrower intervals from no
 * new data. Each such pair said on stderr; false when there is one. */
static bool check_distinct(const struct merge *m)
{
    bool distinct = true;
    for (size_t i = 0; i < m->nsrc; i++)
        for (size_t j = 0; j < i; j++) {
            const struct source *a = &m->src[j], *b = &m->src[i];
            if (strcmp(a->real, b->real) == 0)
                fprintf(stderr,
                        "greenbench merge: refused: '%s' and '%s' are the same folder (%s): its "
                        "repetitions would be counted twice\n",
                        a->dir, b->dir, a->real);
            else if (same_run(a, b))
                fprintf(stderr,
                        "greenbench merge: refused: '%s' and '%s' hold the same run (host %s, started "
                        "%s, seed %s): a copy merged with its original counts every repetition twice; "
                        "give one of them\n",
                        a->dir, b->dir, a->host, gb_json_str(a->meta, "start_time", "?"),
                        gb_json_str(a->meta, "seed", "?"));
            else
                continue;
            distinct = false;
        }
    return distinct;
}

/* A JSON value for a message: its compact text, or "none". */
static void say_value(struct gb_buf *out, const json_t *v)
{
    if (v == NULL)
        gb_buf_puts(out, "none");
    else
        gb_json_dump_new(out, json_incref((json_t *)v), JSON_COMPACT | JSON_ENCODE_ANY);
}

/* What makes b's plan or build another than a's, into out: each entry of
 * the plan (stop rule, timeout, seed, ...) that differs, the cells of two
 * plain runs (a shard's cells are its group's by design), the build. */
static void plan_diff(const struct source *a, const struct source *b, struct gb_buf *out)
{
    const json_t *pa = json_object_get(a->meta, "plan"), *pb = json_object_get(b->meta, "plan");
    json_t *keys = json_object(); /* the entries of both plans, each once */
    const char *k;
    const json_t *v;
    json_object_update(keys, (json_t *)pa);
    json_object_update(keys, (json_t *)pb);
    json_object_foreach(keys, k, v)
    {
        const json_t *va = json_object_get(pa, k), *vb = json_object_get(pb, k);
        if (strcmp(k, "cells") == 0 || strcmp(k, "filters") == 0 || (va && vb && json_equal(va, vb)))
            continue;
        gb_buf_printf(out, "%s%s ", out->len ? ", " : "", k);
        say_value(out, vb);
        gb_buf_puts(out, " (not ");
        say_value(out, va);
        gb_buf_puts(out, ")");
    }
    json_decref(keys);
    const json_t *ca = json_object_get(pa, "cells"), *cb = json_object_get(pb, "cells");
    if (a->shard < 0 && b->shard < 0 && !json_equal(ca, cb))
        gb_buf_printf(out, "%s%zu cells (not %zu%s)", out->len ? ", " : "", json_array_size(cb),
                      json_array_size(ca),
                      json_array_size(ca) == json_array_size(cb) ? ", other ones" : "");
    if (strcmp(a->build_hash, b->build_hash) != 0)
        gb_buf_printf(out, "%sbuild %s (not %s)", out->len ? ", " : "", b->build_hash, a->build_hash);
}

/* Do all sources share one plan and one build? Otherwise each source and
 * what differs from the first is said on stderr; false unless --force. */
static bool check_same(const struct merge *m)
{
    bool same = true;
    for (size_t i = 1; i < m->nsrc; i++)
        same &= strcmp(m->src[i].plan_hash, m->src[0].plan_hash) == 0 &&
                strcmp(m->src[i].build_hash, m->src[0].build_hash) == 0;
    if (same)
        return true;
    fprintf(stderr, "greenbench merge: %s: the folders come from different plans or builds:\n",
            m->force ? "warning" : "refused");
    for (size_t i = 0; i < m->nsrc; i++) {
        const struct source *a = &m->src[0], *b = &m->src[i];
        struct gb_buf diff;
        gb_buf_init(&diff);
        if (strcmp(a->plan_hash, b->plan_hash) != 0 || strcmp(a->build_hash, b->build_hash) != 0)
            plan_diff(a, b, &diff);
        fprintf(stderr, "  %s: plan %s, build %s, host %s%s%s\n", b->dir, b->plan_hash, b->build_hash,
                b->host, diff.len ? "; differs from the first in " : "", gb_buf_str(&diff));
        gb_buf_free(&diff);
    }
    if (!m->force)
        fprintf(stderr, "Their ratios are not comparable; --force merges them anyway.\n");
    return m->force;
}

/* A campaign folder given: is every run one of its plan (plan.json's
 * plan_hash)? A run of another plan found in its runs* folders (an old campaign's
 * folder sent back, a copy) would be merged as one of its shards, whose
 * cells have the same keys. Each such run said on stderr; false unless
 * --force. */
static bool check_campaign(const struct merge *m)
{
    if (m->plan_doc == NULL)
        return true;
    const char *want = gb_json_str(json_object_get(m->plan_doc, "campaign"), "plan_hash", "none");
    bool same = true;
    for (size_t i = 0; i < m->nsrc; i++) {
        const struct source *s = &m->src[i];
        if (strcmp(s->plan_hash, want) == 0)
            continue;
        fprintf(stderr,
                "greenbench merge: %s: '%s' is a run of the plan %s, not of the campaign's plan %s "
                "(%s)%s\n",
                m->force ? "warning" : "refused", s->dir, s->plan_hash, want, m->plan_path,
                m->force ? ""
                         : ": take it out of the campaign's runs folders, or --force merges it anyway");
        same = false;
    }
    return same || m->force;
}

/* Of two runs of one shard on one host, the one a merge keeps: <0 a, >0
 * b; why into why (n bytes). A complete run before one cut short, then the
 * one with more repetitions, then the first found. */
static int prefer(const struct source *a, const struct source *b, char *why, size_t n)
{
    if (a->complete != b->complete) {
        const struct source *cut = a->complete ? b : a;
        snprintf(why, n, "complete; the other is %s with %ld repetitions",
                 gb_json_str(cut->meta, "status", "?"), cut->reps);
        return a->complete ? -1 : 1;
    }
    if (a->reps != b->reps) {
        snprintf(why, n, "more repetitions: %ld, against %ld", a->reps > b->reps ? a->reps : b->reps,
                 a->reps > b->reps ? b->reps : a->reps);
        return a->reps > b->reps ? -1 : 1;
    }
    snprintf(why, n, "found first; both %s with %ld repetitions", gb_json_str(a->meta, "status", "?"),
             a->reps);
    return -1;
}

/* Are a and b runs of one shard on one host? */
static bool same_shard(const struct source *a, const struct source *b)
{
    return a->shard >= 0 && a->shard == b->shard && strcmp(a->host, b->host) == 0 &&
           strcmp(a->plan_hash, b->plan_hash) == 0;
}

/* A shard run more than once on one host: one is kept (prefer), the others
 * skipped, each said with why. */
static void mark_duplicates(struct merge *m)
{
    bool *seen = gb_xcalloc(m->nsrc + 1, sizeof *seen);
    for (size_t i = 0; i < m->nsrc; i++) {
        if (seen[i] || m->src[i].shard < 0)
            continue;
        size_t best = i;
        char why[256];
        for (size_t j = i + 1; j < m->nsrc; j++)
            if (same_shard(&m->src[i], &m->src[j]) &&
                prefer(&m->src[best], &m->src[j], why, sizeof why) > 0)
                best = j;
        for (size_t j = i; j < m->nsrc; j++) {
            if (!same_shard(&m->src[i], &m->src[j]))
                continue;
            seen[j] = true;
            if (j == best)
                continue;
            const struct source *a = &m->src[best];
            struct source *b = &m->src[j];
            b->duplicate = true;
            prefer(a, b, why, sizeof why);
            json_t *d = json_object();
            json_object_set_new(d, "shard", json_integer(b->shard));
            json_object_set_new(d, "host", gb_json_text(b->host));
            json_object_set_new(d, "kept", gb_json_text(a->dir));
            json_object_set_new(d, "skipped", gb_json_text(b->dir));
            json_object_set_new(d, "why", gb_json_text(why));
            json_array_append_new(m->duplicates, d);
            fprintf(stderr, "greenbench merge: shard %ld ran twice on %s: %s kept (%s), %s skipped\n",
                    b->shard, b->host, a->dir, why, b->dir);
        }
    }
    free(seen);
}

/* Two folders of one host that both planned a cell (a plain run and a
 * shard of its plan, two plain runs) would have their repetitions of it
 * pooled in hosts/<id>/, as one run's: each such pair said on stderr;
 * false when there is one, with --force too. A shard run twice is not
 * this: mark_duplicates has skipped the later one. */
static bool check_overlap(const struct merge *m)
{
    bool apart = true;
    for (size_t i = 0; i < m->nsrc; i++)
        for (size_t j = 0; j < i; j++) {
            const struct source *a = &m->src[j], *b = &m->src[i];
            if (a->duplicate || b->duplicate || strcmp(a->host, b->host) != 0)
                continue;
            for (size_t k = 0; k < json_array_size(a->keys); k++) {
                const char *key = json_string_value(json_array_get(a->keys, k));
                if (!planned(b, key))
                    continue;
                fprintf(stderr,
                        "greenbench merge: refused: '%s' and '%s' both ran '%s' on host %s: their "
                        "repetitions would be pooled as one run's; give one of them\n",
                        a->dir, b->dir, key, a->host);
                apart = false;
                break;
            }
        }
    return apart;
}

/* ---- the hosts' folders ---- */

/* The hosts in the order their first folder came. */
static json_t *host_ids(const struct merge *m)
{
    json_t *ids = json_array();
    for (size_t i = 0; i < m->nsrc; i++) {
        bool seen = false;
        for (size_t k = 0; k < json_array_size(ids); k++)
            seen |= strcmp(json_string_value(json_array_get(ids, k)), m->src[i].host) == 0;
        if (!seen)
            json_array_append_new(ids, gb_json_text(m->src[i].host));
    }
    return ids;
}

/* s's cells.jsonl into *l; what a merge would otherwise lose without a
 * word said on stderr and kept in s: the lines that are not records
 * (s->bad, as `greenbench report` says them), the cells planned with no
 * counted repetition (s->absent: no cells.jsonl, a run cut short). */
static void load_records(struct source *s, struct gb_jsonl *l)
{
    char *path = gb_xasprintf("%s/cells.jsonl", s->dir);
    bool there = gb_is_file(path);
    int rc = gb_jsonl_load(path, l);
    if (rc != 0)
        fprintf(stderr, "greenbench merge: cannot read %s: %s\n", path, strerror(-rc));
    if (l->nbad) {
        struct gb_buf b;
        gb_buf_init(&b);
        gb_jsonl_bad_lines(l, &b);
        fprintf(stderr, "greenbench merge: %s: %s (skipped)\n", path, gb_buf_str(&b));
        gb_buf_free(&b);
        for (size_t k = 0; k < l->nbad; k++)
            json_array_append_new(s->bad, json_integer((json_int_t)l->bad[k]));
    }
    for (size_t k = 0; k < json_array_size(s->keys); k++) {
        const json_t *key = json_array_get(s->keys, k);
        bool counted = false;
        for (size_t r = 0; r < l->n && !counted; r++)
            counted = strcmp(gb_json_str(l->recs[r], "cell", ""), json_string_value(key)) == 0 &&
                      gb_json_num(l->recs[r], "rep", 0) >= 1;
        if (!counted)
            json_array_append(s->absent, (json_t *)key);
    }
    size_t n = json_array_size(s->absent);
    if (n && !there)
        fprintf(stderr, "greenbench merge: %s has no cells.jsonl: none of its %zu cells was measured\n",
                s->dir, n);
    else if (n)
        fprintf(stderr, "greenbench merge: %s: %zu of its %zu cells have no counted repetition (%s%s)\n",
                s->dir, n, json_array_size(s->keys), json_string_value(json_array_get(s->absent, 0)),
                n > 1 ? ", ..." : "");
    free(path);
}

/* `greenbench run --shard CAMPAIGN/shards/NNN.json --out OUT` into cmd:
 * runs shard k into out, or resumes it there. */
static void shard_cmd(struct gb_buf *cmd, const char *campaign, long k, const char *out)
{
    char *shard = gb_xasprintf("%s/shards/%03ld.json", campaign, k);
    gb_buf_puts(cmd, "greenbench run --shard ");
    gb_buf_shell_word(cmd, shard);
    gb_buf_puts(cmd, " --out ");
    gb_buf_shell_word(cmd, out);
    free(shard);
}

/* The command that finishes s where it ran, into cmd: shard_cmd for a
 * shard, `run --resume DIR` for a plain run. */
static void finish_cmd(const struct source *s, struct gb_buf *cmd)
{
    if (s->shard >= 0) {
        shard_cmd(cmd, s->campaign[0] ? s->campaign : "CAMPAIGN", s->shard, s->dir);
        return;
    }
    gb_buf_puts(cmd, "greenbench run --resume ");
    gb_buf_shell_word(cmd, s->dir);
}

/* OUT/hosts/<host>/: meta.json (its first folder's, with every cell its
 * folders planned) and cells.jsonl (their records, as they were); each
 * record also into all (OUT/cells.jsonl) with its host. 0 or a negative
 * errno. */
static int write_host(struct merge *m, const char *out, const char *host, struct gb_buf *all)
{
    json_t *meta = NULL, *cells = json_array(), *from = json_array();
    const char *status = "complete";
    struct gb_buf recs;
    gb_buf_init(&recs);
    for (size_t i = 0; i < m->nsrc; i++) {
        struct source *s = &m->src[i];
        if (s->duplicate || strcmp(s->host, host) != 0)
            continue;
        if (meta == NULL)
            meta = json_deep_copy(s->meta);
        json_array_extend(cells, json_object_get(json_object_get(s->meta, "plan"), "cells"));
        json_t *e = json_object();
        json_object_set_new(e, "dir", gb_json_text(s->dir));
        json_object_set_new(e, "shard", s->shard >= 0 ? json_integer(s->shard) : json_null());
        json_object_set_new(e, "status", gb_json_text(gb_json_str(s->meta, "status", "?")));
        if (!s->complete) {
            struct gb_buf cmd;
            gb_buf_init(&cmd);
            finish_cmd(s, &cmd);
            json_object_set_new(e, "finish", gb_json_text(gb_buf_str(&cmd)));
            gb_buf_free(&cmd);
            if (strcmp(status, "complete") == 0)
                status = gb_json_str(s->meta, "status", "?");
        }
        json_array_append_new(from, e);
        struct gb_jsonl l;
        load_records(s, &l);
        for (size_t k = 0; k < l.n; k++) {
            gb_json_dump_new(&recs, json_incref(l.recs[k]), JSON_COMPACT | JSON_PRESERVE_ORDER);
            gb_buf_puts(&recs, "\n");
            json_object_set_new(l.recs[k], "host", gb_json_text(host));
            gb_json_dump_new(all, json_incref(l.recs[k]), JSON_COMPACT | JSON_PRESERVE_ORDER);
            gb_buf_puts(all, "\n");
        }
        gb_jsonl_free(&l);
    }
    json_object_set_new(json_object_get(meta, "plan"), "cells", cells);
    /* A merged host's folder is no run to resume (`run --resume` refuses a
     * folder with "merged"): its runs are these sources. */
    json_object_set_new(meta, "status", gb_json_text(status));
    json_t *merged = json_object();
    json_object_set_new(merged, "sources", from);
    json_object_set_new(meta, "merged", merged);
    char *dir = gb_xasprintf("%s/hosts/%s", out, host);
    int rc = gb_mkdir_p(dir);
    char *path = gb_xasprintf("%s/cells.jsonl", dir);
    if (rc == 0)
        rc = gb_write_file_atomic(path, recs.data ? recs.data : "", recs.len);
    free(path);
    path = gb_xasprintf("%s/meta.json", dir);
    struct gb_buf b;
    gb_buf_init(&b);
    gb_json_dump_new(&b, meta, GB_JSON_DOC);
    gb_buf_puts(&b, "\n");
    if (rc == 0)
        rc = gb_write_file_atomic(path, b.data, b.len);
    gb_buf_free(&b);
    gb_buf_free(&recs);
    free(path);
    free(dir);
    return rc;
}

/* Was the cell with this key planned by a folder merged (not skipped)? */
static bool cell_merged(const struct merge *m, const char *key)
{
    for (size_t i = 0; i < m->nsrc; i++)
        if (!m->src[i].duplicate && planned(&m->src[i], key))
            return true;
    return false;
}

/* Did a folder merged (not skipped) of launch runs (a runs folder) run shard k? */
static bool launch_ran(const struct merge *m, const char *runs, long k)
{
    for (size_t i = 0; i < m->nsrc; i++)
        if (!m->src[i].duplicate && m->src[i].shard == k && strcmp(m->src[i].runs, runs) == 0)
            return true;
    return false;
}

/* One entry of missing_shards, said on stderr: group grp's cells absent,
 * in no folder (runs NULL) or in launch runs. */
static json_t *missing_entry(const json_t *grp, json_t *absent, const char *runs)
{
    json_t *e = json_object();
    long k = (long)gb_json_num(grp, "shard", -1);
    json_object_set_new(e, "shard", json_incref(json_object_get(grp, "shard")));
    json_object_set_new(e, "group", json_incref(json_object_get(grp, "group")));
    json_object_set_new(e, "cells", absent);
    json_object_set_new(e, "runs", runs ? gb_json_text(runs) : json_null());
    if (runs == NULL) {
        fprintf(stderr, "greenbench merge: shard %ld (%s): %zu of its cells ran nowhere\n", k,
                json_string_value(json_object_get(grp, "group")), json_array_size(absent));
        return e;
    }
    struct gb_buf cmd;
    gb_buf_init(&cmd);
    const char *slash = strrchr(runs, '/'); /* runs is CAMPAIGN/runs...: list_dir's */
    char *campaign = slash ? gb_xasprintf("%.*s", (int)(slash - runs), runs) : gb_xstrdup("."),
         *out = gb_xasprintf("%s/%03ld", runs, k);
    shard_cmd(&cmd, campaign, k, out);
    json_object_set_new(e, "finish", gb_json_text(gb_buf_str(&cmd)));
    fprintf(stderr,
            "greenbench merge: shard %ld (%s) is missing from %s, which has the other shards of its "
            "launch: run it on that launch's host (%s), then merge again\n",
            k, json_string_value(json_object_get(grp, "group")), runs, gb_buf_str(&cmd));
    free(campaign);
    free(out);
    gb_buf_free(&cmd);
    return e;
}

/* The campaign's shards that are missing: [{shard, group, cells, runs}],
 * from plan.json's groups: those with cells that no folder ran (runs
 * null), and, for a shard that ran, each of the campaign's runs folders
 * (one launch of it: every shard once, as with --runs runs-<host>) that
 * lacks it (cells: all the group's). */
static json_t *missing_shards(const struct merge *m)
{
    json_t *missing = json_array();
    const json_t *groups = json_object_get(m->plan_doc, "groups");
    for (size_t g = 0; g < json_array_size(groups); g++) {
        const json_t *grp = json_array_get(groups, g), *keys = json_object_get(grp, "cells");
        json_t *absent = json_array();
        for (size_t k = 0; k < json_array_size(keys); k++)
            if (!cell_merged(m, json_string_value(json_array_get(keys, k))))
                json_array_append(absent, json_array_get(keys, k));
        if (json_array_size(absent)) {
            json_array_append_new(missing, missing_entry(grp, absent, NULL));
            continue;
        }
        json_decref(absent);
        for (size_t l = 0; l < json_array_size(m->launches); l++) {
            const char *runs = json_string_value(json_array_get(m->launches, l));
            if (!launch_ran(m, runs, (long)gb_json_num(grp, "shard", -1)))
                json_array_append_new(missing, missing_entry(grp, json_deep_copy(keys), runs));
        }
    }
    return missing;
}

/* The merged folders whose run did not end (status running: killed, a
 * time limit; interrupted: ^C): [{dir, host, shard, status, reps, finish}],
 * each said on stderr with the command that finishes it. */
static json_t *incomplete_runs(const struct merge *m)
{
    json_t *list = json_array();
    for (size_t i = 0; i < m->nsrc; i++) {
        const struct source *s = &m->src[i];
        if (s->duplicate || s->complete)
            continue;
        struct gb_buf cmd;
        gb_buf_init(&cmd);
        finish_cmd(s, &cmd);
        const char *status = gb_json_str(s->meta, "status", "?");
        json_t *e = json_object();
        json_object_set_new(e, "dir", gb_json_text(s->dir));
        json_object_set_new(e, "host", gb_json_text(s->host));
        json_object_set_new(e, "shard", s->shard >= 0 ? json_integer(s->shard) : json_null());
        json_object_set_new(e, "status", gb_json_text(status));
        json_object_set_new(e, "reps", json_integer(s->reps));
        json_object_set_new(e, "finish", gb_json_text(gb_buf_str(&cmd)));
        json_array_append_new(list, e);
        fprintf(stderr,
                "greenbench merge: %s: its run is %s (cut short: killed, a time limit, ^C), %ld "
                "repetitions recorded: finish it on %s with %s (it resumes), then merge again\n",
                s->dir, status, s->reps, s->host, gb_buf_str(&cmd));
        gb_buf_free(&cmd);
    }
    return list;
}

/* One source as merge.json lists it. */
static json_t *source_json(const struct source *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "dir", gb_json_text(s->dir));
    json_object_set_new(o, "host", gb_json_text(s->host));
    json_object_set_new(o, "shard", s->shard >= 0 ? json_integer(s->shard) : json_null());
    json_object_set_new(o, "plan_hash", gb_json_text(s->plan_hash));
    json_object_set_new(o, "build_hash", gb_json_text(s->build_hash));
    json_object_set_new(o, "status", json_incref(json_object_get(s->meta, "status")));
    json_object_set_new(o, "skipped", json_boolean(s->duplicate));
    json_object_set_new(o, "bad_lines", json_incref(s->bad));
    return o;
}

/* The merged folders' cells with no counted repetition: [{dir, host,
 * cells}], from write_host's load_records. */
static json_t *missing_cells(const struct merge *m)
{
    json_t *missing = json_array();
    for (size_t i = 0; i < m->nsrc; i++) {
        if (json_array_size(m->src[i].absent) == 0)
            continue;
        json_t *e = json_object();
        json_object_set_new(e, "dir", gb_json_text(m->src[i].dir));
        json_object_set_new(e, "host", gb_json_text(m->src[i].host));
        json_object_set_new(e, "cells", json_incref(m->src[i].absent));
        json_array_append_new(missing, e);
    }
    return missing;
}

/* merge.json: the sources, the hosts (each one's fingerprint), what is
 * missing, failed or duplicated, the campaign. */
static int write_merge_json(const struct merge *m, const char *out, json_t *ids, json_t *missing,
                            json_t *incomplete)
{
    json_t *doc = json_object(), *srcs = json_array(), *hosts = json_array();
    for (size_t i = 0; i < m->nsrc; i++)
        json_array_append_new(srcs, source_json(&m->src[i]));
    for (size_t k = 0; k < json_array_size(ids); k++) {
        const char *id = json_string_value(json_array_get(ids, k));
        for (size_t i = 0; i < m->nsrc; i++)
            if (strcmp(m->src[i].host, id) == 0) {
                const json_t *h = json_object_get(m->src[i].meta, "host");
                json_t *e = h ? json_deep_copy(h) : json_object(), *shards = json_array();
                json_object_set_new(e, "id", gb_json_text(id));
                for (size_t j = 0; j < m->nsrc; j++)
                    if (!m->src[j].duplicate && m->src[j].shard >= 0 && strcmp(m->src[j].host, id) == 0)
                        json_array_append_new(shards, json_integer(m->src[j].shard));
                json_object_set_new(e, "shards", shards);
                json_array_append_new(hosts, e);
                break;
            }
    }
    json_object_set_new(doc, "schema_version", json_integer(GB_SCHEMA_VERSION));
    json_object_set_new(doc, "tool", json_string("greenbench"));
    const json_t *campaign = json_object_get(m->plan_doc, "campaign");
    json_object_set_new(doc, "campaign", campaign ? json_incref((json_t *)campaign) : json_null());
    json_object_set_new(doc, "forced", json_boolean(m->force));
    json_object_set_new(doc, "hosts", hosts);
    json_object_set_new(doc, "sources", srcs);
    json_object_set_new(doc, "missing_shards", missing);
    json_object_set_new(doc, "missing_cells", missing_cells(m));
    json_object_set_new(doc, "incomplete", incomplete);
    json_object_set_new(doc, "unreadable", json_incref(m->unreadable));
    json_object_set_new(doc, "failed_jobs", json_incref(m->failed));
    json_object_set_new(doc, "duplicates", json_incref(m->duplicates));
    struct gb_buf b;
    gb_buf_init(&b);
    gb_json_dump_new(&b, doc, GB_JSON_DOC);
    gb_buf_puts(&b, "\n");
    char *path = gb_xasprintf("%s/merge.json", out);
    int rc = gb_write_file_atomic(path, b.data, b.len);
    free(path);
    gb_buf_free(&b);
    return rc;
}

/* Everything of OUT that comes from the sources; then the derived files.
 * The exit status. */
static int merge_into(struct merge *m, const char *out, bool plots)
{
    json_t *ids = host_ids(m), *missing = missing_shards(m), *incomplete = incomplete_runs(m);
    struct gb_buf all;
    gb_buf_init(&all);
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < json_array_size(ids); k++)
        rc = write_host(m, out, json_string_value(json_array_get(ids, k)), &all);
    char *path = gb_xasprintf("%s/cells.jsonl", out);
    if (rc == 0)
        rc = gb_write_file_atomic(path, all.data ? all.data : "", all.len);
    free(path);
    gb_buf_free(&all);
    bool gaps = json_array_size(missing) || json_array_size(m->failed) || json_array_size(incomplete) ||
                json_array_size(m->unreadable);
    for (size_t i = 0; i < m->nsrc; i++)
        gaps |= json_array_size(m->src[i].absent) > 0;
    size_t nhosts = json_array_size(ids);
    if (rc == 0)
        rc = write_merge_json(m, out, ids, missing, incomplete);
    else
        json_decref(incomplete), json_decref(missing);
    json_decref(ids);
    if (rc != 0) {
        fprintf(stderr, "greenbench merge: cannot write into %s: %s\n", out, strerror(-rc));
        return GB_EXIT_FAILED;
    }
    rc = gb_merge_rebuild(out, plots);
    for (size_t i = 0; i < json_array_size(m->failed); i++)
        fprintf(stderr, "greenbench merge: job failed (exit %lld) on %s: %s\n",
                (long long)gb_json_num(json_array_get(m->failed, i), "exit", 0),
                gb_json_str(json_array_get(m->failed, i), "host", "?"),
                gb_json_str(json_array_get(m->failed, i), "command", "?"));
    size_t nskipped = json_array_size(m->duplicates);
    fprintf(stderr, "greenbench: merged %zu folder%s of %zu host%s into %s (report.md)", m->nsrc - nskipped,
            m->nsrc - nskipped == 1 ? "" : "s", nhosts, nhosts == 1 ? "" : "s", out);
    if (nskipped)
        fprintf(stderr, "; %zu duplicate%s skipped", nskipped, nskipped == 1 ? "" : "s");
    fputs("\n", stderr);
    return rc != 0 || gaps ? GB_EXIT_FAILED : GB_EXIT_OK;
}

/* ---- the command ---- */

bool gb_merge_is(const char *dir)
{
    char *path = gb_xasprintf("%s/merge.json", dir);
    bool is = gb_is_file(path);
    free(path);
    return is;
}

/* merge's options into *m, *plots, anywhere on the line as run's and
 * compare's; the other arguments into args (argc of room), OUT first, *n
 * of them. 0, -1 after --help, or GB_EXIT_USAGE said on stderr. */
static int parse_merge(int argc, char **argv, struct merge *m, bool *plots, const char **args, int *n)
{
    enum { OPT_FORCE = 256, OPT_NO_PLOTS, OPT_HELP };
    static const struct option lo[] = {
        { "force", no_argument, NULL, OPT_FORCE },
        { "no-plots", no_argument, NULL, OPT_NO_PLOTS },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    opterr = 0;
    optind = 0;
    *n = 0;
    /* "-": OUT and the folders in their order among the options. */
    int c, at = 1;
    while ((c = getopt_long(argc, argv, "-:h", lo, NULL)) != -1) {
        const char *a = argv[at];
        switch (c) {
        case 1: args[(*n)++] = optarg; break;
        case OPT_FORCE: m->force = true; break;
        case OPT_NO_PLOTS: *plots = false; break;
        case 'h':
            if (strcmp(a, "-h") != 0) { /* -hx */
                optopt = (unsigned char)a[2];
                goto unknown;
            }
            /* fall through */
        case OPT_HELP: fputs(merge_help, stdout); return -1;
        default:
        unknown:
            /* A short one in a cluster (-fz) is named alone, not its cluster. */
            if (optopt > 0 && optopt < 256)
                fprintf(stderr, "greenbench merge: unknown option '-%c' (see greenbench merge --help)\n",
                        optopt);
            else
                fprintf(stderr, "greenbench merge: unknown option '%.*s' (see greenbench merge --help)\n",
                        (int)strcspn(a, "="), a);
            return GB_EXIT_USAGE;
        }
        at = optind;
    }
    for (int i = optind; i < argc; i++) /* after "--" */
        args[(*n)++] = argv[i];
    if (*n < 2) {
        fprintf(stderr,
                "greenbench merge: give OUT and at least one folder: greenbench merge OUT DIR...\n");
        return GB_EXIT_USAGE;
    }
    return 0;
}

static void merge_free(struct merge *m)
{
    for (size_t i = 0; i < m->nsrc; i++) {
        json_decref(m->src[i].meta);
        json_decref(m->src[i].absent);
        json_decref(m->src[i].bad);
        json_decref(m->src[i].keys);
        free(m->src[i].real);
    }
    free(m->src);
    json_decref(m->plan_doc);
    json_decref(m->failed);
    json_decref(m->duplicates);
    json_decref(m->unreadable);
    json_decref(m->launches);
}

int gb_cmd_merge(int argc, char **argv)
{
    struct merge m = { .failed = json_array(),
                       .duplicates = json_array(),
                       .unreadable = json_array(),
                       .launches = json_array() };
    bool plots = true;
    const char **args = gb_xcalloc((size_t)argc + 1, sizeof *args);
    int nargs = 0, rc = parse_merge(argc, argv, &m, &plots, args, &nargs);
    for (int i = 1; rc == 0 && i < nargs; i++)
        rc = add_arg(&m, args[i]);
    const char *out = rc == 0 ? args[0] : NULL;
    if (rc == 0 && m.nsrc == 0) {
        fprintf(stderr, "greenbench merge: no run folder found in the folders given\n");
        rc = GB_EXIT_USAGE;
    }
    if (rc == 0 && gb_dir_state(out) >= 2) {
        fprintf(stderr, "greenbench merge: '%s' exists and is not empty: give a new folder\n", out);
        rc = GB_EXIT_USAGE;
    }
    if (rc == 0 && (!check_distinct(&m) || !check_campaign(&m) || !check_same(&m)))
        rc = GB_EXIT_USAGE;
    if (rc == 0)
        mark_duplicates(&m);
    if (rc == 0 && !check_overlap(&m))
        rc = GB_EXIT_USAGE;
    int made = rc == 0 ? gb_mkdir_p(out) : 0;
    if (made != 0) {
        fprintf(stderr, "greenbench merge: cannot create '%s': %s\n", out, strerror(-made));
        rc = GB_EXIT_USAGE;
    }
    if (rc == 0)
        rc = merge_into(&m, out, plots);
    merge_free(&m);
    free(args);
    return rc < 0 ? GB_EXIT_OK : rc;
}
