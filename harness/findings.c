/* harness/findings.c: a run's headline comparisons (findings.h). */
#include "findings.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cell.h"
#include "units.h"

static bool usable(const struct gb_summary *s)
{
    const struct gb_stats *st = gb_headline(s);
    return st->n > 0 && isfinite(st->median) && s->nhead > 0;
}

/* Is a the better headline cell than b: larger n, then k (as the overview). */
static bool headline_better(const struct gb_cell *a, const struct gb_cell *b)
{
    if (a->n != b->n)
        return a->n > b->n;
    return a->concurrency > b->concurrency;
}

/* The flag axes (GB_KIND_FLAG: keep-alive, TLS): a finding compares cells
 * in one mode of them, and each mode the run has gets its own. Not the
 * variants (GB_KIND_VARIANT: the resolver): they do the same work, and the
 * best of them is the implementation's. */
#define FLAG_AXES (GB_AX_SERIES & ~GB_AX_SETUP & ~GB_AX_VARIANT)

/* The best of rd's cells of workload wk and implementation impl that
 * measure the same work as like, or (like NULL) that are in the flag
 * modes of mode, at their headline parameters (the largest n, then k): the
 * lowest headline median, at like's n where it has one. NULL when there
 * is none. */
static const struct gb_summary *best_of(const struct gb_rundata *rd, const struct gb_workload *wk,
                                        const char *impl, const struct gb_cell *like,
                                        const struct gb_cell *mode)
{
    const struct gb_cell *head = like;
    if (head == NULL) {
        for (size_t i = 0; i < rd->nsums; i++) {
            const struct gb_summary *s = &rd->sums[i];
            if (strcmp(s->cell.workload, wk->name) == 0 && strcmp(s->cell.impl, impl) == 0 && usable(s) &&
                gb_cell_same(&s->cell, mode, FLAG_AXES) &&
                (head == NULL || headline_better(&s->cell, head)))
                head = &s->cell;
        }
        if (head == NULL)
            return NULL;
    }
    /* At head's n where there is such a cell: a per-iteration workload
     * (same work at any n) may have another n only in its baseline. */
    const struct gb_summary *best = NULL;
    for (size_t i = 0; i < rd->nsums; i++) {
        const struct gb_summary *s = &rd->sums[i];
        if (strcmp(s->cell.workload, wk->name) != 0 || strcmp(s->cell.impl, impl) != 0 || !usable(s) ||
            !gb_cell_same_work(&s->cell, head))
            continue;
        bool at_n = s->cell.n == head->n, best_at_n = best != NULL && best->cell.n == head->n;
        if (best == NULL || (at_n && !best_at_n) ||
            (at_n == best_at_n && gb_headline(s)->median < gb_headline(best)->median))
            best = s;
    }
    return best;
}

static void add(struct gb_finding *out, size_t max, size_t *n, const struct gb_workload *wk,
                const struct gb_summary *green, const struct gb_summary *other)
{
    if (other == NULL || !usable(other) || *n >= max)
        return;
    struct gb_finding *f = &out[*n];
    memset(f, 0, sizeof *f);
    f->wk = wk;
    f->green = green;
    f->other = other;
    if (gb_verdict_of(other->head_values, other->nhead, green->head_values, green->nhead, 0.05, &f->v) == 0)
        (*n)++;
}

/* Green cell s against its own floor, when it measured one and is its
 * series' cell at the largest n. */
static void add_floor(const struct gb_rundata *rd, const struct gb_workload *wk, const struct gb_summary *s,
                      struct gb_finding *out, size_t max, size_t *n)
{
    if (s->of_floor.n == 0 || !usable(s) || *n >= max)
        return;
    char mine[200], theirs[200];
    gb_cell_series(&s->cell, mine, sizeof mine);
    for (size_t i = 0; i < rd->nsums; i++) {
        const struct gb_summary *t = &rd->sums[i];
        if (t == s || t->of_floor.n == 0 || strcmp(t->cell.workload, wk->name) != 0 ||
            !headline_better(&t->cell, &s->cell))
            continue;
        gb_cell_series(&t->cell, theirs, sizeof theirs);
        if (strcmp(theirs, mine) == 0)
            return; /* its series has a larger cell with a floor */
    }
    struct gb_finding *f = &out[(*n)++];
    memset(f, 0, sizeof *f);
    f->wk = wk;
    f->green = f->other = s;
    f->floor = true;
    f->v.ratio = s->of_floor.median;
    f->v.lo = s->of_floor.ci_low;
    f->v.hi = s->of_floor.ci_high;
    f->v.coverage = s->of_floor.ci_level;
    f->v.kind = f->v.lo > 1 ? GB_VERDICT_HIGHER : f->v.hi < 1 ? GB_VERDICT_LOWER : GB_VERDICT_SAME;
}

/* Workload wk's findings about implementation subject in the flag modes of
 * mode into out. */
static void add_mode(const struct gb_rundata *rd, const struct gb_workload *wk, const char *subject,
                     const struct gb_cell *mode, bool threads_only, struct gb_finding *out, size_t max,
                     size_t *n)
{
    const struct gb_summary *green = best_of(rd, wk, subject, NULL, mode);
    if (green == NULL)
        return;
    add(out, max, n, wk, green, gb_baseline(rd, green));
    if (strcmp(subject, "green") != 0)
        return;
    /* The best green done its other way (a variant off: the thread-pool
     * resolver beside c-ares). */
    for (int a = 0; a < GB_NAXES && !threads_only; a++)
        if (gb_axes[a].variant && gb_cell_get(&green->cell, a) == 1)
            add(out, max, n, wk, green, gb_twin(rd, green, a, 0));
    if (wk->epoll && !threads_only)
        add(out, max, n, wk, green, best_of(rd, wk, "epoll", &green->cell, NULL));
    for (size_t k = 0; k < gb_npeers && !threads_only; k++)
        add(out, max, n, wk, green, best_of(rd, wk, gb_peers[k].name, &green->cell, NULL));
}

/* Workload wk's findings about subject: each flag mode of its cells, in
 * the order the plan has them. false when it has no cell of wk. */
static bool add_subject(const struct gb_rundata *rd, const struct gb_workload *wk, const char *subject,
                        bool threads_only, struct gb_finding *out, size_t max, size_t *n)
{
    const struct gb_cell *modes[8];
    size_t nmodes = 0;
    for (size_t i = 0; i < rd->nsums && nmodes < 8; i++) {
        const struct gb_cell *c = &rd->sums[i].cell;
        if (strcmp(c->workload, wk->name) != 0 || strcmp(c->impl, subject) != 0)
            continue;
        bool seen = false;
        for (size_t m = 0; m < nmodes && !seen; m++)
            seen = gb_cell_same(modes[m], c, FLAG_AXES);
        if (!seen)
            modes[nmodes++] = c;
    }
    for (size_t m = 0; m < nmodes; m++)
        add_mode(rd, wk, subject, modes[m], threads_only, out, max, n);
    return nmodes > 0;
}

size_t gb_findings(const struct gb_rundata *rd, bool threads_only, struct gb_finding *out, size_t max)
{
    size_t n = 0;
    for (size_t w = 0; w < gb_nworkloads; w++) {
        const struct gb_workload *wk = &gb_workloads[w];
        /* Without green cells, each peer in green's place: a runtime
         * author's --impl=threads,MINE still gets its headline. */
        if (!add_subject(rd, wk, "green", threads_only, out, max, &n))
            for (size_t k = 0; k < gb_npeers; k++)
                add_subject(rd, wk, gb_peers[k].name, threads_only, out, max, &n);
        for (size_t i = 0; i < rd->nsums && !threads_only; i++)
            if (strcmp(rd->sums[i].cell.workload, wk->name) == 0 &&
                strcmp(rd->sums[i].cell.impl, "green") == 0)
                add_floor(rd, wk, &rd->sums[i], out, max, &n);
    }
    return n;
}

void gb_floor_text(const struct gb_summary *s, char *out, size_t n)
{
    const struct gb_stats *st = &s->of_floor;
    if (st->n == 0) {
        if (n > 0)
            out[0] = '\0';
        return;
    }
    char e[48], l[48], h[48], cov[48] = "";
    gb_fmt_num(e, sizeof e, st->median);
    gb_fmt_num(l, sizeof l, st->ci_low);
    gb_fmt_num(h, sizeof h, st->ci_high);
    if (!gb_ci_nominal(st->ci_level)) {
        char pct[32];
        gb_fmt_pct(pct, sizeof pct, st->ci_level);
        snprintf(cov, sizeof cov, ", %s interval", pct);
    }
    snprintf(out, n, "%s× its floor (%s–%s%s)", e, l, h, cov);
}

bool gb_figure_is_memory(const struct gb_summary *s)
{
    return gb_headline(s) == &s->rss_task;
}

void gb_figure_text(const struct gb_summary *s, char *out, size_t n)
{
    const struct gb_workload *wk = gb_workload_find(s->cell.workload);
    if (gb_figure_is_memory(s)) {
        char b[48];
        gb_fmt_bytes(b, sizeof b, s->rss_task.median);
        snprintf(out, n, "%s per %s", b, wk ? wk->op : "task");
    } else if (wk && wk->metric == GB_METRIC_OPS_PER_S && s->ops_s.n) {
        /* Throughput, and what it cost the client: the figure that still
         * means something when the server is what limits the throughput. */
        char unit[48], rate[64], cpu[48];
        snprintf(unit, sizeof unit, "%s/s", wk->op);
        gb_fmt_rate(rate, sizeof rate, s->ops_s.median, unit);
        gb_fmt_time(cpu, sizeof cpu, s->cpu_ns_op.n ? s->cpu_ns_op.median : NAN);
        snprintf(out, n, "%s, CPU %s each%s", rate, cpu, s->server_bound ? " ‡" : "");
    } else {
        gb_fmt_time(out, n, s->ns.median);
    }
}
