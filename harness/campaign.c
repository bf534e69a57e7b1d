/* harness/campaign.c: --emit's campaign (plan.json, shards, launchers) and
 * --shard's plan (campaign.h). */
#include "campaign.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog.h"
#include "host.h"
#include "meta.h"
#include "peers_ext.h"
#include "util.h"

/* How many shards a Slurm array runs at once by default (its %N): enough
 * to fill a small partition, few enough not to take a cluster. sbatch's
 * own --array on its command line overrides it. */
#define GB_SLURM_THROTTLE 8

void gb_group_key(const struct gb_cell *c, char *out, size_t n)
{
    const struct gb_workload *w = gb_workload_find(c->workload);
    unsigned axes = GB_AX_ALL & ~GB_AX_SERIES;
    if (w && w->per_iteration)
        axes &= ~(unsigned)GB_AX_N;
    struct gb_buf b;
    gb_buf_init(&b);
    gb_buf_puts(&b, c->workload);
    gb_cell_params(c, axes, &b);
    snprintf(out, n, "%s", gb_buf_str(&b));
    gb_buf_free(&b);
}

void gb_plan_hash(const struct gb_plan *pl, char out[17])
{
    struct gb_buf b;
    gb_buf_init(&b);
    gb_json_dump_new(&b, gb_plan_to_json(pl, NULL), JSON_COMPACT | JSON_SORT_KEYS);
    snprintf(out, 17, "%016llx", (unsigned long long)gb_fnv1a(b.data, b.len, GB_FNV_START));
    gb_buf_free(&b);
}

/* ---- the shards ---- */

/* The plan's cells split into comparison groups, in plan order. */
struct groups {
    char (*name)[256]; /* each group's key */
    size_t n;
    size_t *of;        /* the group of each cell of the plan */
};

static void groups_make(const struct gb_plan *pl, struct groups *g)
{
    memset(g, 0, sizeof *g);
    g->of = gb_xcalloc(pl->ncells + 1, sizeof *g->of);
    g->name = gb_xcalloc(pl->ncells + 1, sizeof *g->name);
    for (size_t i = 0; i < pl->ncells; i++) {
        char key[256];
        gb_group_key(&pl->cells[i], key, sizeof key);
        size_t k = 0;
        while (k < g->n && strcmp(g->name[k], key) != 0)
            k++;
        if (k == g->n)
            snprintf(g->name[g->n++], sizeof g->name[0], "%s", key);
        g->of[i] = k;
    }
}

static void groups_free(struct groups *g)
{
    free(g->of);
    free(g->name);
}

/* What every shard and plan.json say of the campaign; shard < 0: none. */
static json_t *campaign_json(const char *plan_hash, const char *build_hash, const char *engine,
                             const struct groups *g, long shard)
{
    json_t *c = json_object();
    json_object_set_new(c, "plan_hash", gb_json_text(plan_hash));
    json_object_set_new(c, "build_hash", gb_json_text(build_hash));
    json_object_set_new(c, "engine", gb_json_text(engine));
    json_object_set_new(c, "shards", json_integer((json_int_t)g->n));
    if (shard >= 0) {
        json_object_set_new(c, "shard", json_integer(shard));
        json_object_set_new(c, "group", gb_json_text(g->name[shard]));
    }
    return c;
}

/* A JSON document into path: 0, or a negative errno said on stderr. */
static int write_json(const char *path, json_t *v)
{
    struct gb_buf b;
    gb_buf_init(&b);
    gb_json_dump_new(&b, v, GB_JSON_DOC);
    gb_buf_puts(&b, "\n");
    int rc = gb_write_file_atomic(path, b.data, b.len);
    gb_buf_free(&b);
    if (rc != 0)
        fprintf(stderr, "greenbench run: --emit: cannot write %s: %s\n", path, strerror(-rc));
    return rc;
}

/* The external peers registered here (--peer, peers files), as meta.json
 * has them: a shard registers those its host has not (gb_shard_load), so
 * that a --peer given to --emit runs on every host. */
static void add_external_peers(json_t *doc)
{
    if (gb_npeers > gb_nbuiltin_peers)
        json_object_set_new(doc, "external_peers", gb_peers_ext_to_json());
}

/* shards/NNN.json: the campaign, the plan with group k's cells only and
 * the external peers. */
static int write_shard(const char *dir, const struct gb_plan *pl, const struct groups *g, size_t k,
                       json_t *campaign)
{
    struct gb_plan sub = *pl;
    sub.cells = gb_xcalloc(pl->ncells, sizeof *sub.cells);
    sub.ncells = 0;
    for (size_t i = 0; i < pl->ncells; i++)
        if (g->of[i] == k)
            sub.cells[sub.ncells++] = pl->cells[i];
    json_t *doc = json_object();
    json_object_set_new(doc, "schema_version", json_integer(GB_SCHEMA_VERSION));
    json_object_set_new(doc, "campaign", campaign);
    json_object_set_new(doc, "plan", gb_plan_to_json(&sub, NULL));
    add_external_peers(doc);
    free(sub.cells);
    char *path = gb_xasprintf("%s/shards/%03zu.json", dir, k);
    int rc = write_json(path, doc);
    free(path);
    return rc;
}

/* plan.json: the campaign, its groups (shard, group, cell keys) and the
 * whole plan with the filters that made it. */
static int write_plan(const char *dir, const struct gb_plan *pl, const struct gb_run_opts *o,
                      const struct groups *g, json_t *campaign)
{
    json_t *groups = json_array();
    for (size_t k = 0; k < g->n; k++) {
        json_t *e = json_object(), *keys = json_array();
        for (size_t i = 0; i < pl->ncells; i++)
            if (g->of[i] == k)
                json_array_append_new(keys, gb_json_text(pl->cells[i].key));
        json_object_set_new(e, "shard", json_integer((json_int_t)k));
        json_object_set_new(e, "group", gb_json_text(g->name[k]));
        json_object_set_new(e, "cells", keys);
        json_array_append_new(groups, e);
    }
    json_t *doc = json_object();
    json_object_set_new(doc, "schema_version", json_integer(GB_SCHEMA_VERSION));
    json_object_set_new(doc, "tool", json_string("greenbench"));
    json_object_set_new(doc, "campaign", campaign);
    json_object_set_new(doc, "groups", groups);
    json_object_set_new(doc, "plan", gb_plan_to_json(pl, o));
    add_external_peers(doc);
    char *path = gb_xasprintf("%s/plan.json", dir);
    int rc = write_json(path, doc);
    free(path);
    return rc;
}

/* ---- the launchers ---- */

/* The parallel launcher. A remote host works in its home's
 * greenbench-campaign-<id>/ (%2$s: the plan hash and a number drawn at
 * --emit), never in a folder another campaign left there: parallel's
 * --cleanup is `rm -f`, which cannot remove a run folder, so a fixed path
 * (~/runs/NNN) stayed on every host and the next campaign's shard of that
 * number resumed it and sent the old repetitions back as new ones. Here
 * (`-S :`) parallel runs the job in the same --workdir, relative to this
 * folder: there it holds links to shards/ and to the runs folder, so a
 * local job writes where a remote one's folder comes back to. Parallel
 * joins the command's words unquoted, so the greenbench path is quoted for
 * the remote shell (q). */
static const char parallel_script[] =
    "#!/bin/sh\n"
    "# run-parallel.sh: runs the %1$zu shards of this campaign with GNU parallel, one\n"
    "# shard per host at a time (-j1), each as `greenbench run --shard`; written by\n"
    "# `greenbench run --emit parallel`. Usage, from anywhere (DIR and FILE are\n"
    "# relative to where you type them; by default runs/ and joblog here):\n"
    "#   ./run-parallel.sh [--runs DIR] [--joblog FILE] [PARALLEL'S HOST OPTIONS]\n"
    "# Hosts: ./hosts by default (--sshloginfile: one `1/user@host` a line; `:` is\n"
    "# this machine), or give parallel's own, e.g. -S host1,host2 or -S : alone.\n"
    "# Every host needs greenbench at $GREENBENCH (the same build: merge refuses\n"
    "# mixed builds). A remote host works in this campaign's own folder,\n"
    "#   ~/%2$s/\n"
    "# it gets the shard file there and sends its run folder back (--workdir,\n"
    "# --transferfile, --return); once every shard has come back, that folder\n"
    "# is removed from every host. Run it again to rerun the shards\n"
    "# that failed (--resume-failed): a shard rerun on the host that ran it\n"
    "# resumes its folder.\n"
    "set -eu\n"
    "GREENBENCH=${GREENBENCH:-%3$s}\n"
    "runs='' joblog=''\n"
    "while [ $# -gt 0 ]; do\n"
    "    case $1 in\n"
    "    --runs) runs=$2; shift 2 ;;\n"
    "    --joblog) joblog=$2; shift 2 ;;\n"
    "    *) break ;;\n"
    "    esac\n"
    "done\n"
    "case $runs in '' | /*) ;; *) runs=$(pwd)/$runs ;; esac\n"
    "case $joblog in '' | /*) ;; *) joblog=$(pwd)/$joblog ;; esac\n"
    "cd \"$(dirname \"$0\")\"\n"
    "runs=${runs:-$(pwd)/runs} joblog=${joblog:-joblog}\n"
    "[ $# -gt 0 ] || set -- --sshloginfile hosts\n"
    "# q WORD: WORD as one word of the remote shell.\n"
    "q() { printf \"'%%s'\" \"$(printf '%%s\\n' \"$1\" | sed \"s/'/'\\\\\\\\''/g\")\"; }\n"
    "gb=$(q \"$GREENBENCH\")\n"
    "wd=%2$s\n"
    "mkdir -p \"$runs\" logs \"$wd\"\n"
    "ln -sfn \"$(pwd)/shards\" \"$wd/shards\"\n"
    "ln -sfn \"$runs\" \"$wd/runs\"\n"
    "trap 'rm -f \"$wd/shards\" \"$wd/runs\"; rmdir \"$wd\" 2>/dev/null || :' EXIT\n"
    "# The preflight: greenbench answers on every host, and each host's\n"
    "# fingerprint is kept (a host that fails stops the campaign here).\n"
    "parallel \"$@\" --nonall --tag \"$gb\" host > logs/preflight-hosts.txt\n"
    "# (parallel says 0 for a host whose shell ran nothing: no fingerprint.)\n"
    "[ -s logs/preflight-hosts.txt ] || {\n"
    "    echo \"run-parallel.sh: no host answered \\`greenbench host\\` (logs/preflight-hosts.txt is empty):\" \\\n"
    "        \"try: parallel $* --nonall --tag $gb host\" >&2\n"
    "    exit 1\n"
    "}\n"
    "parallel \"$@\" -j1 --joblog \"$joblog\" --resume-failed --workdir \"$wd\" \\\n"
    "    --transferfile {} --return \"$wd\"/./runs/{/.} --cleanup \\\n"
    "    \"$gb\" run --shard {} --out runs/{/.} ::: shards/*.json\n"
    "# parallel counts a job whose folder never came back as a success (a\n"
    "# return that failed; a host without $SHELL, where its worker runs nothing\n"
    "# and exits 0): such a shard leaves the joblog, so that running this again\n"
    "# reruns it, and every host keeps this campaign's folder.\n"
    "lost=''\n"
    "for s in shards/*.json; do\n"
    "    s=${s##*/} && s=${s%%.json}\n"
    "    [ -e \"$runs/$s/meta.json\" ] && continue\n"
    "    lost=\"$lost $s\"\n"
    "    grep -vF -- \"--shard shards/$s.json \" \"$joblog\" >\"$joblog.tmp\" || :\n"
    "    mv \"$joblog.tmp\" \"$joblog\"\n"
    "done\n"
    "if [ -n \"$lost\" ]; then\n"
    "    echo \"run-parallel.sh: no run folder came back for shard(s)$lost (into $runs):\" \\\n"
    "        \"the messages above say why; run this again to rerun them (the hosts keep ~/$wd)\" >&2\n"
    "    exit 1\n"
    "fi\n"
    "# Every shard came back: this campaign's folder goes from every host (here,\n"
    "# only the links go).\n"
    "parallel \"$@\" --nonall rm -rf \"$wd\"\n";

static const char slurm_script[] =
    "#!/bin/bash\n"
    "# run-slurm.sbatch: a Slurm job array over the %zu shards of this campaign,\n"
    "# one whole node per shard, each as `greenbench run --shard`; written by\n"
    "# `greenbench run --emit slurm`. Submit it from this folder:\n"
    "#   cd CAMPAIGN && sbatch run-slurm.sbatch\n"
    "# (sbatch --array=0-%zu%%M run-slurm.sbatch runs M shards at a time instead).\n"
    "#SBATCH --job-name=greenbench\n"
    "#SBATCH --array=0-%zu%%%d\n"
    "#SBATCH --nodes=1\n"
    "#SBATCH --ntasks=1\n"
    "#SBATCH --exclusive\n"
    "#SBATCH --hint=nomultithread\n"
    "#SBATCH --output=logs/%%A_%%a.out\n"
    "set -euo pipefail\n"
    "GREENBENCH=${GREENBENCH:-%s}\n"
    "shard=$(printf '%%03d' \"$SLURM_ARRAY_TASK_ID\")\n"
    "# Its own folder per node: a shard requeued on another node starts afresh,\n"
    "# one requeued on the same node resumes.\n"
    "exec \"$GREENBENCH\" run --shard \"shards/$shard.json\" --out \"runs/$shard@${SLURMD_NODENAME:-$(hostname)}\"\n";

/* The greenbench this binary is, as one shell word, into b. */
static void self_word(struct gb_buf *b)
{
    char self[PATH_MAX];
    if (gb_self_dir(self, sizeof self) != 0)
        snprintf(self, sizeof self, ".");
    char *gb = gb_xasprintf("%s/greenbench", self);
    gb_buf_shell_word(b, gb);
    free(gb);
}

/* The folder a remote host works in for this campaign, into out (n bytes):
 * greenbench-campaign-<plan hash>-<8 hex digits of the folder, the time and
 * the pid>, so that two campaigns of one plan have two. */
static void remote_dir(const char *dir, const char *plan_hash, char *out, size_t n)
{
    char stamp[64];
    gb_utc_iso(stamp, sizeof stamp);
    uint64_t h = gb_fnv1a(dir, strlen(dir), GB_FNV_START);
    h = gb_fnv1a(stamp, strlen(stamp), h);
    int64_t now = gb_now_ns();
    pid_t pid = getpid();
    h = gb_fnv1a(&now, sizeof now, h);
    h = gb_fnv1a(&pid, sizeof pid, h);
    snprintf(out, n, "greenbench-campaign-%s-%08llx", plan_hash, (unsigned long long)(h & 0xffffffffu));
}

/* The launcher of engine into dir, executable; its name into name. */
static int write_launcher(const char *dir, const char *engine, const char *plan_hash, size_t nshards,
                          char *name, size_t n)
{
    struct gb_buf gb;
    gb_buf_init(&gb);
    self_word(&gb);
    char *text, wd[128];
    bool slurm = strcmp(engine, "slurm") == 0;
    snprintf(name, n, "%s", slurm ? "run-slurm.sbatch" : "run-parallel.sh");
    if (slurm) {
        text = gb_xasprintf(slurm_script, nshards, nshards - 1, nshards - 1, GB_SLURM_THROTTLE,
                            gb_buf_str(&gb));
    } else {
        remote_dir(dir, plan_hash, wd, sizeof wd);
        text = gb_xasprintf(parallel_script, nshards, wd, gb_buf_str(&gb));
    }
    char *path = gb_xasprintf("%s/%s", dir, name);
    int rc = gb_write_file(path, text, strlen(text));
    if (rc == 0 && chmod(path, 0755) != 0)
        rc = -errno;
    if (rc != 0)
        fprintf(stderr, "greenbench run: --emit: cannot write %s: %s\n", path, strerror(-rc));
    free(path);
    free(text);
    gb_buf_free(&gb);
    return rc;
}

/* The lines that say what was written and how to launch it, each command
 * as a shell takes it (dir quoted, this greenbench's path). */
static void print_launch(const char *dir, const char *engine, const char *launcher, size_t ncells,
                         size_t nshards)
{
    struct gb_buf d, l, m, gb;
    gb_buf_init(&d);
    gb_buf_init(&l);
    gb_buf_init(&m);
    gb_buf_init(&gb);
    char *path = gb_xasprintf("%s/%s", dir, launcher), *merged = gb_xasprintf("%s/merged", dir);
    gb_buf_shell_word(&d, dir);
    gb_buf_shell_word(&l, path);
    gb_buf_shell_word(&m, merged);
    self_word(&gb);
    printf("greenbench: campaign of %zu cells in %zu shards (one per comparison group) in %s\n", ncells,
           nshards, dir);
    if (strcmp(engine, "slurm") == 0)
        printf("Launch it:\n  cd %s && sbatch %s\n", gb_buf_str(&d), launcher);
    else
        printf("Launch it (hosts in %s/hosts, one `1/user@host` a line; -S : for this machine):\n"
               "  %s            or   %s -S :\n",
               dir, gb_buf_str(&l), gb_buf_str(&l));
    printf("Then merge what came back:\n  %s merge %s %s\n", gb_buf_str(&gb), gb_buf_str(&m),
           gb_buf_str(&d));
    free(path);
    free(merged);
    gb_buf_free(&d);
    gb_buf_free(&l);
    gb_buf_free(&m);
    gb_buf_free(&gb);
}

int gb_campaign_emit(const struct gb_plan *pl, const struct gb_run_opts *o, const struct gb_programs *p)
{
    char dir[PATH_MAX], err[1024], plan_hash[17], build_hash[17], launcher[64];
    if (gb_run_dir_make(o, dir, sizeof dir, err, sizeof err) != 0) {
        fprintf(stderr, "greenbench run: %s\n", err);
        return GB_EXIT_USAGE;
    }
    char *shards = gb_xasprintf("%s/shards", dir), *logs = gb_xasprintf("%s/logs", dir);
    int rc = gb_mkdir_p(shards) ? -1 : gb_mkdir_p(logs);
    free(shards);
    free(logs);
    struct groups g;
    groups_make(pl, &g);
    gb_plan_hash(pl, plan_hash);
    gb_build_hash(p, build_hash);
    for (size_t k = 0; rc == 0 && k < g.n; k++)
        rc = write_shard(dir, pl, &g, k, campaign_json(plan_hash, build_hash, o->emit, &g, (long)k));
    if (rc == 0)
        rc = write_plan(dir, pl, o, &g, campaign_json(plan_hash, build_hash, o->emit, &g, -1));
    if (rc == 0)
        rc = write_launcher(dir, o->emit, plan_hash, g.n, launcher, sizeof launcher);
    if (rc == 0)
        print_launch(dir, o->emit, launcher, pl->ncells, g.n);
    else
        fprintf(stderr, "greenbench run: --emit: could not write the campaign in %s\n", dir);
    groups_free(&g);
    return rc == 0 ? GB_EXIT_OK : GB_EXIT_USAGE;
}

int gb_shard_load(const char *path, struct gb_plan *pl, json_t **campaign, char *err, size_t errlen)
{
    char *text, perr[256];
    size_t len;
    json_t *doc = NULL;
    int rc = gb_read_file(path, &text, &len);
    if (rc != 0) {
        snprintf(err, errlen, "--shard: cannot read %s: %s", path, strerror(-rc));
        return rc;
    }
    rc = gb_json_parse(text, len, &doc, perr, sizeof perr);
    free(text);
    const json_t *c = rc == 0 ? json_object_get(doc, "campaign") : NULL;
    if (rc == 0 && !json_is_object(c)) {
        snprintf(perr, sizeof perr, "no \"campaign\" object: not a shard of `greenbench run --emit`");
        rc = -EINVAL;
    }
    /* plan.json has a campaign and a plan too, but its plan is every shard's
     * cells: run as a shard, merge would pool it with the real shards' runs
     * of the same cells. */
    if (rc == 0 && !json_is_integer(json_object_get(c, "shard"))) {
        snprintf(perr, sizeof perr,
                 "the campaign's plan, not one of its shards: give CAMPAIGN/shards/NNN.json");
        rc = -EINVAL;
    }
    if (rc == 0)
        gb_peers_ext_from_meta(doc);
    if (rc == 0 && gb_plan_from_meta(doc, pl, perr, sizeof perr) != 0)
        rc = -EINVAL;
    if (rc != 0) {
        snprintf(err, errlen, "--shard: %s: %s", path, perr);
        json_decref(doc);
        return -EINVAL;
    }
    *campaign = json_incref((json_t *)c);
    json_decref(doc);
    return 0;
}
