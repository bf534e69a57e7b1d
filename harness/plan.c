/* harness/plan.c: the plan stage (plan.h): the cells a run's options
 * expand into, the presets' repetitions and timeouts, the seeded order of
 * the repetitions, and the plan as meta.json stores it. */
#include "plan.h"
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "peers_ext.h"

/* ---- presets: their values per workload are in its catalog row ---- */

struct gb_stop_rule gb_preset_stop_rule(enum gb_preset p)
{
    /* Sized on the 2-core VM: the default run within about 5 minutes, the
     * quick one within about 1 (results/README.md). Six repetitions is the
     * fewest whose interval of the median covers 95%; four the fewest with
     * which the U test can tell two cells apart at alpha 0.05. */
    static const struct gb_stop_rule rules[GB_NPRESETS] = {
        [GB_PRESET_DEFAULT] = { .min_reps = 6, .max_reps = 30, .target_ci = 0.05, .budget_s = 270 },
        [GB_PRESET_QUICK] = { .min_reps = 4, .max_reps = 8, .target_ci = 0.10, .budget_s = 40 },
        [GB_PRESET_FULL] = { .min_reps = 10, .max_reps = 100, .target_ci = 0.02, .budget_s = 0 },
    };
    return rules[p];
}

const char *gb_stop_name(enum gb_stop s)
{
    static const char *const names[] = {
        [GB_STOP_NONE] = "unfinished",   [GB_STOP_CONVERGED] = "converged", [GB_STOP_FIXED] = "fixed",
        [GB_STOP_MAX_REPS] = "max-reps", [GB_STOP_BUDGET] = "budget",       [GB_STOP_FAILURES] = "failures",
    };
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

enum gb_stop gb_stop_check(const struct gb_stop_rule *rule, size_t ncells, int reps_ok, int reps_failed,
                           double rel_hw, double ci_level, double cell_s, double run_s)
{
    int done = reps_ok + reps_failed;
    if (done < rule->min_reps)
        return GB_STOP_NONE;
    if (reps_failed > 0)
        return GB_STOP_FAILURES;
    if (rule->min_reps >= rule->max_reps)
        return GB_STOP_FIXED;
    if (rel_hw <= rule->target_ci && gb_ci_nominal(ci_level))
        return GB_STOP_CONVERGED;
    if (done >= rule->max_reps)
        return GB_STOP_MAX_REPS;
    double share = GB_BUDGET_SHARES * rule->budget_s / (double)(ncells ? ncells : 1);
    if (rule->budget_s > 0 && (cell_s >= share || run_s >= rule->budget_s))
        return GB_STOP_BUDGET;
    return GB_STOP_NONE;
}

long gb_plan_rounds(const struct gb_plan *pl, const char *workload, double warmup_wall_ns)
{
    const struct gb_workload *w = gb_workload_find(workload);
    double want_ns = pl->min_rep_ms * 1e6;
    if (w == NULL || w->metric == GB_METRIC_RSS_PER_TASK || !(warmup_wall_ns > 0) ||
        warmup_wall_ns >= want_ns)
        return 1;
    double r = ceil(want_ns / warmup_wall_ns);
    return r > GB_MAX_ROUNDS ? GB_MAX_ROUNDS : (long)r;
}

double gb_preset_timeout(enum gb_preset p)
{
    return p == GB_PRESET_QUICK ? 20 : p == GB_PRESET_FULL ? 600 : 30;
}

const char *gb_preset_name(enum gb_preset p)
{
    return p == GB_PRESET_QUICK ? "quick" : p == GB_PRESET_FULL ? "full" : "default";
}

void gb_preset_describe(enum gb_preset p, const char *workload, struct gb_buf *out)
{
    const struct gb_workload *w = gb_workload_find(workload);
    if (w == NULL)
        return;
    const struct gb_preset_values *pv = &w->preset[p];
    bool first = true;
    for (int a = 0; a < GB_NAXES; a++) {
        if (gb_axes[a].setup || !(w->axes & 1u << a))
            continue;
        const long *v = gb_preset_axis(pv, a);
        gb_buf_printf(out, "%s%s=", first ? "" : " ", gb_axes[a].label);
        first = false;
        for (size_t i = 0; i < gb_preset_count(v); i++) {
            const char *sep = i ? "," : "";
            bool stacks = gb_axes[a].green && gb_axes[a].series;
            if (stacks && v[i] == 0)
                gb_buf_printf(out, "%sprivate", sep);
            else if (stacks)
                gb_buf_printf(out, "%s%s%ld", sep, gb_axes[a].key, v[i]);
            else
                gb_buf_printf(out, "%s%ld", sep, v[i]);
        }
        if (a == GB_AXIS_N && gb_preset_count(pv->n_threads) > 0)
            gb_buf_printf(out, " (threads and peers: %ld)", pv->n_threads[0]);
    }
}

/* ---- expansion ---- */

static bool names_has(const struct gb_names *l, const char *s)
{
    return gb_name_in(l->v, l->n, s);
}

static void join_names(char *out, size_t n, char list[][GB_NAME], size_t count)
{
    struct gb_buf b;
    gb_buf_init(&b);
    for (size_t i = 0; i < count; i++)
        gb_buf_printf(&b, "%s%s", i ? ", " : "", list[i]);
    snprintf(out, n, "%s", count ? gb_buf_str(&b) : "none");
    gb_buf_free(&b);
}

static bool in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

/* A bin directory with no program at all is the wrong directory, not a
 * build without the backends asked for. */
static int check_programs(const struct gb_programs *p, char *err, size_t errlen)
{
    bool any = p->npairs > 0 || p->threads || p->epoll;
    for (size_t i = 0; i < GB_MAX_PEERS && !any; i++)
        any = p->peer_found[i];
    if (any)
        return 0;
    const char *env = getenv("GREENBENCH_BIN_DIR");
    snprintf(err, errlen, "no cell program (greenbench-cell-*) in '%.3000s'%s", p->bin_dir,
             env && *env ? ", GREENBENCH_BIN_DIR: unset it to use the build's, or name a build's bin/"
                         : ": build them first (./greenbench setup)");
    return GB_EXIT_USAGE;
}

/* Check --switch / --loop names: known-but-not-built and unknown differ. */
static int check_backends(const char *opt, const struct gb_names *given, char built[][GB_NAME],
                          size_t nbuilt, const char *const *known, char *err, size_t errlen)
{
    char builtlist[512];
    join_names(builtlist, sizeof builtlist, built, nbuilt);
    for (size_t i = 0; i < given->n; i++) {
        if (gb_name_in(built, nbuilt, given->v[i]))
            continue;
        if (in_list(known, given->v[i])) {
            snprintf(err, errlen, "%s: backend '%s' is not compiled in (built: %s)", opt,
                     given->v[i], builtlist);
        } else {
            struct gb_buf b;
            gb_buf_init(&b);
            for (const char *const *k = known; *k; k++)
                gb_buf_printf(&b, "%s%s", k == known ? "" : ", ", *k);
            for (size_t j = 0; j < nbuilt; j++)
                if (!in_list(known, built[j]))
                    gb_buf_printf(&b, ", %s", built[j]);
            snprintf(err, errlen, "%s: unknown backend '%s' (valid: %s)", opt, given->v[i],
                     gb_buf_str(&b));
            gb_buf_free(&b);
        }
        return GB_EXIT_USAGE;
    }
    return 0;
}

struct cell_list {
    struct gb_cell *v;
    size_t n, cap;
};

static void add_cell(struct cell_list *l, const struct gb_cell *c)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = gb_xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n] = *c;
    gb_cell_make_key(&l->v[l->n]);
    l->n++;
}

/* What an implementation changes in a cell's values. */
enum impl_kind { IMPL_GREEN, IMPL_THREADS, IMPL_EPOLL, IMPL_PEER, IMPL_MULTICORE_PEER };

struct expansion {
    const struct gb_run_opts *o;
    long ncpu;
    struct cell_list list;
};

/* The values of axis a for one workload and implementation: the user's list,
 * else the preset's, else the implementation's own; [-1] where the workload
 * does not take the axis or nothing gives it a value. */
static void axis_values(const struct expansion *x, const struct gb_workload *w, const struct gb_cell *base,
                        enum impl_kind impl, int a, struct gb_longs *out)
{
    const struct gb_longs *user = gb_opts_axis(x->o, a);
    const struct gb_preset_values *pv = &w->preset[x->o->preset];
    const long *preset = gb_preset_axis(pv, a);
    out->n = 0;
    if (gb_axes[a].green && impl != IMPL_GREEN) {
        out->v[out->n++] = -1;  /* Only libgreen has stack modes and live bytes. */
        return;
    }
    if (gb_axes[a].setup || (w->axes & 1u << a)) {
        if (user->n) {
            *out = *user;
            return;
        }
        if (a == GB_AXIS_N && impl != IMPL_GREEN && gb_preset_count(pv->n_threads))
            preset = pv->n_threads;
        for (size_t i = 0; i < gb_preset_count(preset); i++)
            out->v[out->n++] = preset[i];
    }
    /* Peers start a runtime of their own per process (a Python, a Go
     * scheduler): outside --full they run only the largest n. */
    bool peer = impl == IMPL_PEER || impl == IMPL_MULTICORE_PEER;
    if (a == GB_AXIS_N && peer && x->o->preset != GB_PRESET_FULL && out->n > 1) {
        out->v[0] = out->v[out->n - 1];
        out->n = 1;
    }
    /* A thread handoff on one core and across two cost differently; a peer
     * with its own multi-core scheduler (Go) runs on one CPU (GOMAXPROCS=1)
     * and on all of them. */
    bool sweep_2 = impl == IMPL_THREADS && w->threads_cpus_1_2;
    bool sweep_all = impl == IMPL_MULTICORE_PEER && w->peers_cpus_1_all;
    /* One hub per core: on a machine with more than 2 CPUs the workloads
     * with .hubs run green (one hub per CPU), threads and multicore peers on
     * 1, 2, 4, ... of the CPUs the local server leaves (gb_client_cpus). */
    bool sweep_hubs = w->hubs && x->ncpu > 2 &&
                      (impl == IMPL_GREEN || impl == IMPL_THREADS || impl == IMPL_MULTICORE_PEER);
    if (a == GB_AXIS_CPUS && out->n == 0 && sweep_hubs) {
        long most = gb_client_cpus(x->ncpu);
        for (long c = 1; c < most && out->n < GB_MAX_LIST; c *= 2)
            out->v[out->n++] = c;
        out->v[out->n++] = most;
    } else if (a == GB_AXIS_CPUS && out->n == 0 && (sweep_2 || sweep_all)) {
        out->v[out->n++] = 1;
        if (x->ncpu >= 2)
            out->v[out->n++] = sweep_2 ? 2 : x->ncpu;
    }
    /* An implementation without the variant does the work its one way. */
    if (gb_axes[a].variant && out->n > 0 && !gb_takes_variants(w, base->impl)) {
        out->v[0] = 0;
        out->n = 1;
    }
    if (out->n == 0)
        out->v[out->n++] = -1;
}

/* Expand one (workload, implementation variant) over every axis, the last
 * axis varying fastest. */
static void expand_params(struct expansion *x, const struct gb_workload *w,
                          const struct gb_cell *base, enum impl_kind impl)
{
    struct gb_longs values[GB_NAXES];
    size_t at[GB_NAXES] = { 0 };
    for (int a = 0; a < GB_NAXES; a++)
        axis_values(x, w, base, impl, a, &values[a]);
    for (;;) {
        struct gb_cell cell = *base;
        for (int a = 0; a < GB_NAXES; a++)
            gb_cell_set(&cell, a, values[a].v[at[a]]);
        add_cell(&x->list, &cell);
        int a = GB_NAXES - 1;
        while (a >= 0 && ++at[a] == values[a].n)
            at[a--] = 0;
        if (a < 0)
            break;
    }
}

/* Every --impl name is green, threads or a peer found: 0, or GB_EXIT_USAGE
 * telling a missing peer from an unknown name. */
static int check_impls(const struct gb_run_opts *o, const struct gb_programs *p, char *err,
                       size_t errlen)
{
    /* Implementations: green, threads and the peers found. */
    char impls[GB_MAX_LIST][GB_NAME];
    size_t nimpls = 0;
    gb_name_add(impls, &nimpls, "green");
    gb_name_add(impls, &nimpls, "threads");
    if (p->epoll)
        gb_name_add(impls, &nimpls, "epoll");
    for (size_t i = 0; i < gb_npeers; i++)
        if (p->peer_found[i])
            gb_name_add(impls, &nimpls, gb_peers[i].name);
    for (size_t i = 0; i < o->impls.n; i++) {
        const struct gb_peer *ext = gb_peer_find(o->impls.v[i]);
        /* A peer found is valid though impls (GB_MAX_LIST names) may not hold it. */
        if (gb_name_in(impls, nimpls, o->impls.v[i]) || (ext && p->peer_found[ext - gb_peers]))
            continue;
        if (ext && gb_peer_external(ext))
            continue; /* its setup failed: skipped, the report says why */
        for (size_t j = 0; j < gb_npeers; j++) {
            if (strcmp(gb_peers[j].name, o->impls.v[i]) == 0) {
                snprintf(err, errlen, "--impl: peer '%s' is not available: %s is %s in %s "
                                      "(apt-get install %s, then rebuild)",
                         o->impls.v[i], gb_peers[j].program, gb_peers[j].note, p->bin_dir,
                         gb_peers[j].package);
                return GB_EXIT_USAGE;
            }
        }
        const char *broken = gb_peers_ext_broken_why(o->impls.v[i]);
        if (broken) { /* a peers file of the default folder, skipped */
            snprintf(err, errlen, "--impl: peer '%s' is not registered: %s", o->impls.v[i], broken);
            return GB_EXIT_USAGE;
        }
        char valid[512];
        join_names(valid, sizeof valid, impls, nimpls);
        snprintf(err, errlen, "--impl: unknown implementation '%s' (valid: %s)", o->impls.v[i],
                 valid);
        return GB_EXIT_USAGE;
    }
    return 0;
}

/* --cpus: no value above the CPUs this process may use (ncpu). */
static int check_cpus(const struct gb_run_opts *o, long ncpu, char *err, size_t errlen)
{
    const struct gb_longs *cpus = gb_opts_axis(o, GB_AXIS_CPUS);
    for (size_t i = 0; i < cpus->n; i++) {
        if (cpus->v[i] > ncpu) {
            snprintf(err, errlen, "--cpus: %ld is more than the %ld CPU%s this process may use", cpus->v[i],
                     ncpu, ncpu == 1 ? "" : "s");
            return GB_EXIT_USAGE;
        }
    }
    return 0;
}

/* --impl=epoll with --workload naming none of the workloads it runs. */
static int check_epoll_workloads(const struct gb_run_opts *o, char *err, size_t errlen)
{
    if (o->workloads.n == 0 || !names_has(&o->impls, "epoll"))
        return 0;
    for (size_t j = 0; j < o->workloads.n; j++) {
        const struct gb_workload *w = gb_workload_find(o->workloads.v[j]);
        if (w && w->epoll)
            return 0;
    }
    char *runs = gb_workload_names(GB_PICK_EPOLL, 0, ", ", " and ");
    snprintf(err, errlen, "--impl=epoll: the event-driven ceiling implements %s only", runs);
    free(runs);
    return GB_EXIT_USAGE;
}

/* Every peer --impl names implements one of the workloads --workload
 * names, else it would get no cell: say which it runs. */
static int check_peer_workloads(const struct gb_run_opts *o, char *err, size_t errlen)
{
    if (o->workloads.n == 0)
        return 0;
    for (size_t i = 0; i < gb_npeers; i++) {
        const struct gb_peer *peer = &gb_peers[i];
        if (!names_has(&o->impls, peer->name))
            continue;
        bool any = false;
        for (size_t j = 0; j < o->workloads.n && !any; j++)
            any = gb_peer_runs(peer, o->workloads.v[j]);
        if (any)
            continue;
        struct gb_buf asked, runs;
        gb_buf_init(&asked);
        gb_buf_init(&runs);
        for (size_t j = 0; j < o->workloads.n; j++)
            gb_buf_printf(&asked, "%s%s", j ? ", " : "", o->workloads.v[j]);
        size_t n = 0;
        for (size_t w = 0; w < gb_nworkloads; w++)
            if (gb_peer_runs(peer, gb_workloads[w].name))
                gb_buf_printf(&runs, "%s%s", n++ ? ", " : "", gb_workloads[w].name);
        snprintf(err, errlen, "--impl=%s: peer %s does not implement %s (it runs %s)", peer->name,
                 peer->name, gb_buf_str(&asked), n ? gb_buf_str(&runs) : "none");
        gb_buf_free(&asked);
        gb_buf_free(&runs);
        return GB_EXIT_USAGE;
    }
    return 0;
}

/* What the filters select among the programs found. */
struct selection {
    bool green, threads, epoll;
    size_t pairs[GB_MAX_LIST], npairs; /* green cell programs (indexes into p->pairs) */
    char sws[GB_MAX_LIST][GB_NAME];    /* switch backends, for the workloads without a loop */
    size_t nsws;
};

/* Green, threads and epoll: asked for (or not filtered out) and built. 0,
 * or GB_EXIT_USAGE when --impl asks for one that is not built. */
static int select_impls(const struct gb_run_opts *o, const struct gb_programs *p,
                        struct selection *sel, char *err, size_t errlen)
{
    bool want_green = o->impls.n == 0 || names_has(&o->impls, "green");
    bool want_threads = o->impls.n == 0 || names_has(&o->impls, "threads");
    if (want_green && p->npairs == 0 && o->impls.n) {
        snprintf(err, errlen, "--impl: no green cell program (greenbench-cell-<switch>-<loop>) in %s",
                 p->bin_dir);
        return GB_EXIT_USAGE;
    }
    if (want_threads && !p->threads && o->impls.n) {
        snprintf(err, errlen, "--impl: no greenbench-cell-threads in %s", p->bin_dir);
        return GB_EXIT_USAGE;
    }
    bool want_epoll = o->impls.n == 0 || names_has(&o->impls, "epoll");
    if (want_epoll && !p->epoll && o->impls.n) {
        snprintf(err, errlen, "--impl: no greenbench-cell-epoll in %s", p->bin_dir);
        return GB_EXIT_USAGE;
    }
    sel->green = want_green && p->npairs > 0;
    sel->threads = want_threads && p->threads;
    sel->epoll = want_epoll && p->epoll;
    return 0;
}

/* Green pairs: the product of --switch x --loop that exists; --quick
 * without either keeps one pair (asm/libev when built). The raw switch
 * needs one program per switch backend (any loop). 0, or GB_EXIT_USAGE
 * when the filters leave no green program. */
static int select_pairs(const struct gb_run_opts *o, const struct gb_programs *p,
                        struct selection *sel, char *err, size_t errlen)
{
    sel->npairs = 0;
    for (size_t i = 0; i < p->npairs; i++) {
        if (o->switches.n && !names_has(&o->switches, p->pairs[i].sw))
            continue;
        if (o->loops.n && !names_has(&o->loops, p->pairs[i].loop))
            continue;
        sel->pairs[sel->npairs++] = i;
    }
    if (sel->green && sel->npairs == 0 && (o->switches.n || o->loops.n)) {
        snprintf(err, errlen, "--switch/--loop: no green cell program for that combination in %s",
                 p->bin_dir);
        return GB_EXIT_USAGE;
    }
    if (o->preset == GB_PRESET_QUICK && !o->switches.n && !o->loops.n && sel->npairs > 1) {
        size_t pick = sel->pairs[0];
        for (size_t i = 0; i < sel->npairs; i++)
            if (strcmp(p->pairs[sel->pairs[i]].sw, "asm") == 0 &&
                strcmp(p->pairs[sel->pairs[i]].loop, "libev") == 0)
                pick = sel->pairs[i];
        sel->pairs[0] = pick;
        sel->npairs = 1;
    }
    sel->nsws = 0;
    for (size_t i = 0; i < p->npairs; i++)
        if (!o->switches.n || names_has(&o->switches, p->pairs[i].sw))
            if (!o->loops.n || names_has(&o->loops, p->pairs[i].loop))
                gb_name_add(sel->sws, &sel->nsws, p->pairs[i].sw);
    return 0;
}

/* Workload w's cells: green (one per switch backend, or per pair when it
 * uses the loop), threads, then each peer that implements it. */
static void expand_workload(struct expansion *x, const struct gb_workload *w,
                            const struct gb_programs *p, const struct selection *sel)
{
    const struct gb_run_opts *o = x->o;
    struct gb_cell base;
    if (sel->green) {
        gb_cell_init(&base);
        snprintf(base.workload, GB_NAME, "%s", w->name);
        snprintf(base.impl, GB_NAME, "green");
        if (!w->uses_loop) {
            for (size_t i = 0; i < sel->nsws; i++) {
                snprintf(base.sw, GB_NAME, "%s", sel->sws[i]);
                expand_params(x, w, &base, IMPL_GREEN);
            }
        } else {
            char loops[GB_MAX_LIST][GB_NAME];
            size_t nloops = 0;
            for (size_t i = 0; i < sel->npairs; i++) {
                /* The first pair of each loop: asm's where built (the
                 * pairs are sorted by name). */
                const char *loop = p->pairs[sel->pairs[i]].loop;
                if (w->loop_only && !o->switches.n && gb_name_in(loops, nloops, loop))
                    continue;
                gb_name_add(loops, &nloops, loop);
                snprintf(base.sw, GB_NAME, "%s", p->pairs[sel->pairs[i]].sw);
                snprintf(base.loop, GB_NAME, "%s", p->pairs[sel->pairs[i]].loop);
                expand_params(x, w, &base, IMPL_GREEN);
            }
        }
    }
    if (sel->threads) {
        gb_cell_init(&base);
        snprintf(base.workload, GB_NAME, "%s", w->name);
        snprintf(base.impl, GB_NAME, "threads");
        expand_params(x, w, &base, IMPL_THREADS);
    }
    if (sel->epoll && w->epoll) {
        gb_cell_init(&base);
        snprintf(base.workload, GB_NAME, "%s", w->name);
        snprintf(base.impl, GB_NAME, "epoll");
        expand_params(x, w, &base, IMPL_EPOLL);
    }
    for (size_t i = 0; i < gb_npeers; i++) {
        if (!p->peer_found[i] || (o->impls.n && !names_has(&o->impls, gb_peers[i].name)) ||
            !gb_peer_runs(&gb_peers[i], w->name))
            continue;
        gb_cell_init(&base);
        snprintf(base.workload, GB_NAME, "%s", w->name);
        snprintf(base.impl, GB_NAME, "%s", gb_peers[i].name);
        expand_params(x, w, &base, gb_peers[i].multicore ? IMPL_MULTICORE_PEER : IMPL_PEER);
    }
}

int gb_matrix_expand(const struct gb_run_opts *o, const struct gb_programs *p,
                     struct gb_cell **cells, size_t *ncells, char *err, size_t errlen)
{
    *cells = NULL;
    *ncells = 0;
    long ncpu = gb_allowed_cpus();
    int rc = check_programs(p, err, errlen);
    if (rc == 0)
        rc = check_impls(o, p, err, errlen);
    if (rc == 0)
        rc = check_peer_workloads(o, err, errlen);
    if (rc == 0)
        rc = check_epoll_workloads(o, err, errlen);
    if (rc == 0)
        rc = check_cpus(o, ncpu, err, errlen);
    if (rc == 0)
        rc = check_backends("--switch", &o->switches, (char(*)[GB_NAME])p->switches,
                            p->nswitches, gb_known_switches, err, errlen);
    if (rc == 0)
        rc = check_backends("--loop", &o->loops, (char(*)[GB_NAME])p->loops, p->nloops,
                            gb_known_loops, err, errlen);
    struct selection sel;
    if (rc == 0)
        rc = select_impls(o, p, &sel, err, errlen);
    if (rc == 0)
        rc = select_pairs(o, p, &sel, err, errlen);
    if (rc != 0)
        return rc;
    struct expansion x = { .o = o, .ncpu = ncpu };
    for (size_t wi = 0; wi < gb_nworkloads; wi++)
        if (!o->workloads.n || names_has(&o->workloads, gb_workloads[wi].name))
            expand_workload(&x, &gb_workloads[wi], p, &sel);
    if (x.list.n == 0) {
        snprintf(err, errlen, "the filters select no cell (no cell programs in %s?)", p->bin_dir);
        free(x.list.v);
        return GB_EXIT_USAGE;
    }
    *cells = x.list.v;
    *ncells = x.list.n;
    return 0;
}

/* ---- the CPUs: the server's and the cells' ---- */

long gb_server_cpus(long ncpu)
{
    /* A quarter of a many-core machine (its answers cost about half what
     * the client's requests do), and always one. */
    return ncpu < 8 ? 1 : ncpu / 4;
}

long gb_client_cpus(long ncpu)
{
    /* On 2 CPUs the cells may use both: a thread cell on all, as before,
     * while a green cell keeps to the first. */
    return ncpu <= 2 ? ncpu : ncpu - gb_server_cpus(ncpu);
}

/* ---- order ---- */

uint64_t gb_rand_next(uint64_t *state)
{
    /* xorshift64* (Vigna), state never 0. */
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

void gb_round_order(size_t *cells, size_t n, uint64_t seed, int round)
{
    uint64_t state = (seed ^ 0x9E3779B97F4A7C15ULL) + (uint64_t)round * 0xD1B54A32D192ED03ULL;
    if (state == 0)
        state = 1;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(gb_rand_next(&state) % i);
        size_t t = cells[i - 1];
        cells[i - 1] = cells[j];
        cells[j] = t;
    }
}

/* ---- the plan of a run ---- */

static uint64_t random_seed(void)
{
    uint64_t s = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, &s, sizeof s) != (ssize_t)sizeof s)
            s = 0;
        close(fd);
    }
    if (s == 0)
        s = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)gb_now_ns();
    return s & ((1ULL << 53) - 1); /* exact in any JSON reader */
}

json_t *gb_plan_to_json(const struct gb_plan *pl, const struct gb_run_opts *o)
{
    json_t *p = json_object();
    json_object_set_new(p, "preset", gb_json_text(gb_preset_name(pl->preset)));
    json_object_set_new(p, "min_reps", json_integer(pl->stop.min_reps));
    json_object_set_new(p, "max_reps", json_integer(pl->stop.max_reps));
    json_object_set_new(p, "target_ci", gb_json_number(pl->stop.target_ci));
    json_object_set_new(p, "budget_s", gb_json_number(pl->stop.budget_s));
    json_object_set_new(p, "min_rep_ms", gb_json_number(pl->min_rep_ms));
    json_object_set_new(p, "warmup_reps", json_integer(1));
    json_object_set_new(p, "timeout_s", gb_json_number(pl->timeout_s));
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)pl->seed);
    json_object_set_new(p, "seed", json_string(seed));
    json_object_set_new(
        p, "order",
        json_string("round 0 = one warm-up per cell, then one round per repetition of every cell "
                    "still repeating; each round a fresh shuffle (xorshift64*, seed above)"));
    if (o) {
        json_t *filters = json_object();
        const struct gb_names *names[] = { &o->workloads, &o->impls, &o->switches, &o->loops };
        const char *nn[] = { "workload", "impl", GB_KEY_SWITCH, "loop" };
        for (size_t i = 0; i < 4; i++) {
            if (!names[i]->n)
                continue;
            json_t *v = json_array();
            for (size_t j = 0; j < names[i]->n; j++)
                json_array_append_new(v, gb_json_text(names[i]->v[j]));
            json_object_set_new(filters, nn[i], v);
        }
        for (int a = 0; a < GB_NAXES; a++) {
            const struct gb_longs *values = gb_opts_axis(o, a);
            if (!values->n)
                continue;
            json_t *v = json_array();
            for (size_t j = 0; j < values->n; j++)
                json_array_append_new(v, json_integer(values->v[j]));
            json_object_set_new(filters, gb_axes[a].name, v);
        }
        json_object_set_new(p, "filters", filters);
    }
    json_t *cells = json_array();
    for (size_t i = 0; i < pl->ncells; i++)
        json_array_append_new(cells, gb_cell_to_json(&pl->cells[i]));
    json_object_set_new(p, "cells", cells);
    return p;
}

int gb_plan_from_meta(const json_t *meta, struct gb_plan *pl, char *err, size_t errlen)
{
    const json_t *p = json_object_get(meta, "plan");
    const json_t *cells = json_object_get(p, "cells");
    if (p == NULL || !json_is_array(cells) || json_array_size(cells) == 0) {
        snprintf(err, errlen, "meta.json has no plan with cells");
        return -EINVAL;
    }
    memset(pl, 0, sizeof *pl);
    /* Schema 1 had a fixed count, "reps", and no rounds. */
    int reps = (int)gb_json_num(p, "reps", 0);
    pl->stop.min_reps = (int)gb_json_num(p, "min_reps", reps);
    pl->stop.max_reps = (int)gb_json_num(p, "max_reps", reps);
    pl->stop.target_ci = gb_json_num(p, "target_ci", 0);
    pl->stop.budget_s = gb_json_num(p, "budget_s", 0);
    pl->min_rep_ms = gb_json_num(p, "min_rep_ms", 0);
    pl->timeout_s = gb_json_num(p, "timeout_s", 0);
    pl->seed = strtoull(gb_json_str(p, "seed", "0"), NULL, 10);
    const char *preset = gb_json_str(p, "preset", "default");
    pl->preset = strcmp(preset, "quick") == 0 ? GB_PRESET_QUICK
                 : strcmp(preset, "full") == 0 ? GB_PRESET_FULL : GB_PRESET_DEFAULT;
    if (pl->stop.min_reps < 1 || pl->stop.max_reps < pl->stop.min_reps || pl->timeout_s <= 0) {
        snprintf(err, errlen, "meta.json: plan has no valid min_reps, max_reps or timeout_s");
        return -EINVAL;
    }
    pl->cells = gb_xcalloc(json_array_size(cells), sizeof *pl->cells);
    for (size_t i = 0; i < json_array_size(cells); i++) {
        if (gb_cell_from_json(json_array_get(cells, i), &pl->cells[i]) != 0) {
            snprintf(err, errlen, "meta.json: plan cell %zu is malformed", i);
            free(pl->cells);
            pl->cells = NULL;
            return -EINVAL;
        }
    }
    pl->ncells = json_array_size(cells);
    return 0;
}

int gb_plan_make(const struct gb_run_opts *o, const struct gb_programs *p, struct gb_plan *pl,
                 char *err, size_t errlen)
{
    memset(pl, 0, sizeof *pl);
    int rc = gb_matrix_expand(o, p, &pl->cells, &pl->ncells, err, errlen);
    if (rc != 0)
        return rc;
    pl->preset = o->preset;
    pl->stop = gb_preset_stop_rule(o->preset);
    if (o->reps > 0)
        pl->stop.min_reps = pl->stop.max_reps = (int)o->reps;
    if (o->min_reps > 0)
        pl->stop.min_reps = (int)o->min_reps;
    if (o->max_reps > 0)
        pl->stop.max_reps = (int)o->max_reps;
    /* One bound given alone moves the preset's other one when they cross
     * (both given and crossed is a usage error). */
    if (pl->stop.max_reps < pl->stop.min_reps) {
        if (o->max_reps > 0)
            pl->stop.min_reps = pl->stop.max_reps;
        else
            pl->stop.max_reps = pl->stop.min_reps;
    }
    if (o->target_ci > 0)
        pl->stop.target_ci = o->target_ci;
    if (o->budget_s >= 0)
        pl->stop.budget_s = o->budget_s;
    pl->min_rep_ms = GB_MIN_REP_MS;
    pl->timeout_s = o->timeout_s > 0 ? o->timeout_s : gb_preset_timeout(o->preset);
    pl->seed = o->seed_set ? o->seed : random_seed();
    return 0;
}

void gb_plan_free(struct gb_plan *pl)
{
    free(pl->cells);
    pl->cells = NULL;
    pl->ncells = 0;
}
