/* harness/matrix.c: what can be run (workloads, the cell programs found in
 * the bin directory, peers) and how a run's options expand into cells: the
 * product of the filters, less what makes no sense (no loop for a raw switch,
 * no switch backend for threads or peers), in a seeded interleaved order. */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- workloads: the catalog ---- */

const struct gb_workload gb_workloads[] = {
#define WORKLOAD(id, wl_name, green, threads, ...) { .name = wl_name, __VA_ARGS__ },
#include "../workloads/catalog.def"
#undef WORKLOAD
};
const size_t gb_nworkloads = sizeof gb_workloads / sizeof gb_workloads[0];

const struct gb_workload *gb_workload_find(const char *name)
{
    for (size_t i = 0; i < gb_nworkloads; i++)
        if (strcmp(gb_workloads[i].name, name) == 0)
            return &gb_workloads[i];
    return NULL;
}

static bool picked(const struct gb_workload *w, enum gb_pick pick, unsigned axis)
{
    switch (pick) {
    case GB_PICK_NONE: return false;
    case GB_PICK_ALL: return true;
    case GB_PICK_SERVER: return w->needs_server;
    case GB_PICK_NO_LOOP: return !w->uses_loop;
    case GB_PICK_PER_ITERATION: return w->per_iteration;
    case GB_PICK_THREADS_CPUS: return w->threads_cpus_1_2;
    case GB_PICK_AXIS: return (w->axes & axis) != 0;
    }
    return false;
}

char *gb_workload_names(enum gb_pick pick, unsigned axis, const char *sep, const char *last)
{
    size_t n = 0, total = 0;
    for (size_t i = 0; i < gb_nworkloads; i++)
        total += picked(&gb_workloads[i], pick, axis);
    struct gb_buf b;
    gb_buf_init(&b);
    for (size_t i = 0; i < gb_nworkloads; i++) {
        if (!picked(&gb_workloads[i], pick, axis))
            continue;
        if (n++)
            gb_buf_puts(&b, n == total ? last : sep);
        gb_buf_puts(&b, gb_workloads[i].name);
    }
    char *names = gb_xstrdup(gb_buf_str(&b));
    gb_buf_free(&b);
    return names;
}

/* ---- peers (DESIGN.md §5): other systems' programs that obey the cell
 * protocol with --impl=<name>, built into the bin directory by
 * workloads/peers/ when their dependency is installed. ---- */

const struct gb_peer gb_peers[] = {
    { .name = "gevent", .program = "greenbench-peer-gevent", .package = "python3-gevent",
      .version_cmd = "/usr/bin/python3 -E -s -c 'import gevent, greenlet, sys; print(\"gevent\", gevent.__version__, \"greenlet\", greenlet.__version__, \"Python\", sys.version.split()[0])'",
      .includes = "the CPython interpreter; a 16 KiB frame stack mmap'd and unmapped per greenlet; "
                  "getaddrinfo in gevent's thread pool on every request (urllib), where ours "
                  "resolves the local server once",
      .note = "not built: gevent for the system's Python was not found at configure time" },
    { .name = "go", .program = "greenbench-peer-go", .package = "golang-go",
      .version_cmd = "go version", .multicore = true,
      .includes = "the Go runtime: scheduler, garbage collector and sysmon threads (their CPU "
                  "time is in cpu_ns), net/http's own goroutines per connection; GOMAXPROCS "
                  "equals the CPUs the cell may use",
      .note = "not built: no Go toolchain was found at configure time" },
    { .name = "st", .program = "greenbench-peer-st", .package = "libst-dev",
      .version_cmd = "dpkg-query -W -f='${Version}' libst-dev libst1 2>/dev/null | head -c 40",
      .includes = "State Threads' own scheduler only (a classic C coroutine library); its yield "
                  "goes through its sleep queue",
      .note = "not built: State Threads (libst) was not found at configure time" },
};
const size_t gb_npeers = sizeof gb_peers / sizeof gb_peers[0];
/* Every loop over gb_peers also indexes gb_programs.peer_found. */
_Static_assert(sizeof gb_peers / sizeof gb_peers[0] <= GB_MAX_PEERS,
               "gb_programs.peer_found has a slot per peer");

bool gb_peer_runs(const struct gb_peer *peer, const char *workload)
{
    const struct gb_workload *w = gb_workload_find(workload);
    size_t n = strlen(peer->name);
    for (const char *p = w && w->peers ? w->peers : ""; *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, peer->name, n) == 0)
            return true;
        p += len;
        if (*p == ',')
            p++;
    }
    return false;
}

const char *const gb_known_switches[] = { "asm", "asm-nofpu", "ucontext", "boost", NULL };
const char *const gb_known_loops[] = { "libev", "libuv", NULL };

/* ---- programs in the bin directory ---- */

void gb_bin_dir(char *out, size_t n)
{
    const char *env = getenv("GREENBENCH_BIN_DIR");
    if (env && *env) {
        snprintf(out, n, "%s", env);
        return;
    }
    if (gb_self_dir(out, n) != 0)
        snprintf(out, n, ".");
}

bool gb_name_in(const char list[][GB_NAME], size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

static void add_distinct(char list[][GB_NAME], size_t *n, const char *name)
{
    if (gb_name_in(list, *n, name))
        return;
    if (*n < GB_MAX_LIST)
        snprintf(list[(*n)++], GB_NAME, "%s", name);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(a, b);
}

static int cmp_pair(const void *a, const void *b)
{
    const char *x = a, *y = b; /* sw then loop, both GB_NAME wide */
    int c = strcmp(x, y);
    return c ? c : strcmp(x + GB_NAME, y + GB_NAME);
}

void gb_programs_scan(const char *bin_dir, struct gb_programs *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->bin_dir, sizeof p->bin_dir, "%s", bin_dir);
    DIR *d = opendir(bin_dir);
    if (d == NULL)
        return;
    static const char prefix[] = "greenbench-cell-";
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", bin_dir, e->d_name);
        if (strcmp(e->d_name, "greenbench-server") == 0) {
            p->server = gb_is_executable(path);
            continue;
        }
        bool peer = false;
        for (size_t i = 0; i < gb_npeers; i++) {
            if (strcmp(e->d_name, gb_peers[i].program) == 0 && gb_is_executable(path)) {
                p->peer_found[i] = true;
                peer = true;
            }
        }
        if (peer || strncmp(e->d_name, prefix, sizeof prefix - 1) != 0 || !gb_is_executable(path))
            continue;
        const char *rest = e->d_name + sizeof prefix - 1;
        if (strcmp(rest, "threads") == 0) {
            p->threads = true;
            continue;
        }
        /* greenbench-cell-<switch>-<loop>; loop names have no dash, switch
         * names may (asm-nofpu). */
        const char *dash = strrchr(rest, '-');
        if (dash == NULL || dash == rest || dash[1] == '\0')
            continue;
        if ((size_t)(dash - rest) >= GB_NAME || strlen(dash + 1) >= GB_NAME ||
            p->npairs >= GB_MAX_LIST)
            continue;
        snprintf(p->pairs[p->npairs].sw, GB_NAME, "%.*s", (int)(dash - rest), rest);
        snprintf(p->pairs[p->npairs].loop, GB_NAME, "%s", dash + 1);
        p->npairs++;
    }
    closedir(d);
    qsort(p->pairs, p->npairs, sizeof p->pairs[0], cmp_pair);
    for (size_t i = 0; i < p->npairs; i++) {
        add_distinct(p->switches, &p->nswitches, p->pairs[i].sw);
        add_distinct(p->loops, &p->nloops, p->pairs[i].loop);
    }
    qsort(p->switches, p->nswitches, GB_NAME, cmp_name);
    qsort(p->loops, p->nloops, GB_NAME, cmp_name);
}

/* ---- axes ---- */

const struct gb_axis gb_axes[GB_NAXES] = {
#define GB_AXIS(ID, field, option_, key_, unit_, label_, min_, setup_, metavar_, pick_, help_) \
    [GB_AXIS_##ID] = { .name = #field, .option = option_, .key = key_, .unit = unit_,       \
                       .label = label_, .min = min_, .setup = setup_, .metavar = metavar_, \
                       .pick = pick_, .help = help_,                                        \
                       .cell_off = offsetof(struct gb_cell, field),                         \
                       .opts_off = offsetof(struct gb_run_opts, field),                     \
                       .preset_off = offsetof(struct gb_preset_values, field) },
#include "axes.def"
#undef GB_AXIS
};

const struct gb_longs *gb_opts_axis(const struct gb_run_opts *o, enum gb_axis_id a)
{
    return (const void *)((const char *)o + gb_axes[a].opts_off);
}

const long *gb_preset_axis(const struct gb_preset_values *p, enum gb_axis_id a)
{
    return (const void *)((const char *)p + gb_axes[a].preset_off);
}

/* ---- cells ---- */

long gb_cell_get(const struct gb_cell *c, enum gb_axis_id a)
{
    return *(const long *)((const char *)c + gb_axes[a].cell_off);
}

void gb_cell_set(struct gb_cell *c, enum gb_axis_id a, long v)
{
    *(long *)((char *)c + gb_axes[a].cell_off) = v;
}

long gb_cell_axis(const struct gb_cell *c, unsigned bit)
{
    for (int a = 0; a < GB_NAXES; a++)
        if (bit == 1u << a)
            return gb_cell_get(c, a);
    return -1;
}

bool gb_cell_same(const struct gb_cell *a, const struct gb_cell *b, unsigned axes)
{
    for (int x = 0; x < GB_NAXES; x++)
        if ((axes & 1u << x) && gb_cell_get(a, x) != gb_cell_get(b, x))
            return false;
    return true;
}

void gb_cell_init(struct gb_cell *c)
{
    memset(c, 0, sizeof *c);
    for (int a = 0; a < GB_NAXES; a++)
        gb_cell_set(c, a, -1);
}

/* " d=10ms": one value as keys and labels spell it. */
static void axis_value(struct gb_buf *b, const struct gb_axis *ax, long v)
{
    gb_buf_printf(b, " %s%ld%s", ax->key, v, ax->unit);
}

void gb_cell_series(const struct gb_cell *c, char *out, size_t n)
{
    struct gb_buf b;
    gb_buf_init(&b);
    gb_buf_puts(&b, c->impl);
    if (c->sw[0] && c->loop[0])
        gb_buf_printf(&b, " %s/%s", c->sw, c->loop);
    else if (c->sw[0])
        gb_buf_printf(&b, " %s", c->sw);
    for (int a = 0; a < GB_NAXES; a++)
        if (gb_axes[a].setup && gb_cell_get(c, a) >= 0)
            axis_value(&b, &gb_axes[a], gb_cell_get(c, a));
    snprintf(out, n, "%s", gb_buf_str(&b));
    gb_buf_free(&b);
}

void gb_cell_params(const struct gb_cell *c, unsigned axes, struct gb_buf *out)
{
    for (int a = 0; a < GB_NAXES; a++)
        if (!gb_axes[a].setup && (axes & 1u << a) && gb_cell_get(c, a) >= 0)
            axis_value(out, &gb_axes[a], gb_cell_get(c, a));
}

void gb_cell_make_key(struct gb_cell *c)
{
    char series[160];
    gb_cell_series(c, series, sizeof series);
    struct gb_buf b;
    gb_buf_init(&b);
    gb_buf_printf(&b, "%s %s", c->workload, series);
    gb_cell_params(c, GB_AX_ALL, &b);
    snprintf(c->key, sizeof c->key, "%s", gb_buf_str(&b));
    gb_buf_free(&b);
}

static void jw_opt_str(struct gb_jw *w, const char *key, const char *v)
{
    gb_jw_key(w, key);
    gb_jw_str(w, v[0] ? v : NULL);
}

void gb_cell_to_json(struct gb_jw *w, const struct gb_cell *c)
{
    gb_jw_obj(w);
    gb_jw_key(w, "workload");
    gb_jw_str(w, c->workload);
    gb_jw_key(w, "impl");
    gb_jw_str(w, c->impl);
    jw_opt_str(w, GB_KEY_SWITCH, c->sw);
    jw_opt_str(w, "loop", c->loop);
    for (int a = 0; a < GB_NAXES; a++) {
        gb_jw_key(w, gb_axes[a].name);
        if (gb_cell_get(c, a) >= 0)
            gb_jw_int(w, gb_cell_get(c, a));
        else
            gb_jw_null(w);
    }
    gb_jw_obj_end(w);
}

int gb_cell_from_json(const struct gb_json *v, struct gb_cell *c)
{
    gb_cell_init(c);
    const char *wl = gb_json_str(v, "workload", NULL), *impl = gb_json_str(v, "impl", NULL);
    if (wl == NULL || impl == NULL)
        return -EINVAL;
    snprintf(c->workload, sizeof c->workload, "%s", wl);
    snprintf(c->impl, sizeof c->impl, "%s", impl);
    snprintf(c->sw, sizeof c->sw, "%s", gb_json_str(v, GB_KEY_SWITCH, ""));
    snprintf(c->loop, sizeof c->loop, "%s", gb_json_str(v, "loop", ""));
    for (int a = 0; a < GB_NAXES; a++)
        gb_cell_set(c, a, (long)gb_json_num(v, gb_axes[a].name, -1));
    gb_cell_make_key(c);
    return 0;
}

static void push_arg(char ***argv, size_t *n, char *arg)
{
    *argv = gb_xrealloc(*argv, (*n + 2) * sizeof **argv);
    (*argv)[(*n)++] = arg;
    (*argv)[*n] = NULL;
}

static void push_axis(char ***argv, size_t *n, const struct gb_cell *c, int a)
{
    if (gb_cell_get(c, a) >= 0)
        push_arg(argv, n, gb_xasprintf("%s=%ld", gb_axes[a].option, gb_cell_get(c, a)));
}

char **gb_cell_argv(const struct gb_cell *c, const char *program, const char *url)
{
    char **argv = NULL;
    size_t n = 0;
    push_arg(&argv, &n, gb_xstrdup(program));
    push_arg(&argv, &n, gb_xstrdup(c->workload));
    push_arg(&argv, &n, gb_xasprintf("--impl=%s", c->impl));
    if (c->sw[0])
        push_arg(&argv, &n, gb_xasprintf("--switch=%s", c->sw));
    if (c->loop[0])
        push_arg(&argv, &n, gb_xasprintf("--loop=%s", c->loop));
    for (int a = 0; a < GB_NAXES; a++)
        if (!gb_axes[a].setup)
            push_axis(&argv, &n, c, a);
    if (url)
        push_arg(&argv, &n, gb_xasprintf("--url=%s", url));
    /* The setup axes last, the last first: the order every recorded argv
     * in cells.jsonl has (--stack-kib before --cpus). */
    for (int a = GB_NAXES - 1; a >= 0; a--)
        if (gb_axes[a].setup)
            push_axis(&argv, &n, c, a);
    return argv;
}

void gb_argv_free(char **argv)
{
    if (argv == NULL)
        return;
    for (char **a = argv; *a; a++)
        free(*a);
    free(argv);
}

/* ---- presets: their values per workload are in its catalog row ---- */

long gb_preset_reps(enum gb_preset p)
{
    return p == GB_PRESET_QUICK ? 3 : p == GB_PRESET_FULL ? 10 : 5;
}

double gb_preset_timeout(enum gb_preset p)
{
    return p == GB_PRESET_QUICK ? 20 : p == GB_PRESET_FULL ? 600 : 30;
}

const char *gb_preset_name(enum gb_preset p)
{
    return p == GB_PRESET_QUICK ? "quick" : p == GB_PRESET_FULL ? "full" : "default";
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
enum impl_kind { IMPL_GREEN, IMPL_THREADS, IMPL_PEER, IMPL_MULTICORE_PEER };

struct expansion {
    const struct gb_run_opts *o;
    long ncpu;
    struct cell_list list;
};

/* The values of axis a for one workload and implementation: the user's list,
 * else the preset's, else the implementation's own; [-1] where the workload
 * does not take the axis or nothing gives it a value. */
static void axis_values(const struct expansion *x, const struct gb_workload *w,
                        enum impl_kind impl, int a, struct gb_longs *out)
{
    const struct gb_longs *user = gb_opts_axis(x->o, a);
    const struct gb_preset_values *pv = &w->preset[x->o->preset];
    const long *preset = gb_preset_axis(pv, a);
    out->n = 0;
    if (gb_axes[a].setup || (w->axes & 1u << a)) {
        if (user->n) {
            *out = *user;
            return;
        }
        if (a == GB_AXIS_N && impl != IMPL_GREEN && pv->n_threads[0])
            preset = pv->n_threads;
        for (size_t i = 0; i < GB_PRESET_VALUES && preset[i] != 0; i++)
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
    if (a == GB_AXIS_CPUS && out->n == 0 && (sweep_2 || sweep_all)) {
        out->v[out->n++] = 1;
        if (x->ncpu >= 2)
            out->v[out->n++] = sweep_2 ? 2 : x->ncpu;
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
        axis_values(x, w, impl, a, &values[a]);
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

int gb_matrix_expand(const struct gb_run_opts *o, const struct gb_programs *p,
                     struct gb_cell **cells, size_t *ncells, char *err, size_t errlen)
{
    *cells = NULL;
    *ncells = 0;
    /* Implementations: green, threads and the peers found. */
    char impls[GB_MAX_LIST][GB_NAME];
    size_t nimpls = 0;
    add_distinct(impls, &nimpls, "green");
    add_distinct(impls, &nimpls, "threads");
    for (size_t i = 0; i < gb_npeers; i++)
        if (p->peer_found[i])
            add_distinct(impls, &nimpls, gb_peers[i].name);
    for (size_t i = 0; i < o->impls.n; i++) {
        if (gb_name_in(impls, nimpls, o->impls.v[i]))
            continue;
        for (size_t j = 0; j < gb_npeers; j++) {
            if (strcmp(gb_peers[j].name, o->impls.v[i]) == 0) {
                snprintf(err, errlen, "--impl: peer '%s' is not available: %s is %s in %s "
                                      "(apt-get install %s, then rebuild)",
                         o->impls.v[i], gb_peers[j].program, gb_peers[j].note, p->bin_dir,
                         gb_peers[j].package);
                return GB_EXIT_USAGE;
            }
        }
        char valid[512];
        join_names(valid, sizeof valid, impls, nimpls);
        snprintf(err, errlen, "--impl: unknown implementation '%s' (valid: %s)", o->impls.v[i],
                 valid);
        return GB_EXIT_USAGE;
    }
    int rc = check_backends("--switch", &o->switches, (char(*)[GB_NAME])p->switches,
                            p->nswitches, gb_known_switches, err, errlen);
    if (rc == 0)
        rc = check_backends("--loop", &o->loops, (char(*)[GB_NAME])p->loops, p->nloops,
                            gb_known_loops, err, errlen);
    if (rc != 0)
        return rc;

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
    want_green &= p->npairs > 0;
    want_threads &= p->threads;

    /* Green pairs: the product of --switch x --loop that exists; --quick
     * without either keeps one pair (asm/libev when built). */
    size_t pairs[GB_MAX_LIST], npairs = 0;
    for (size_t i = 0; i < p->npairs; i++) {
        if (o->switches.n && !names_has(&o->switches, p->pairs[i].sw))
            continue;
        if (o->loops.n && !names_has(&o->loops, p->pairs[i].loop))
            continue;
        pairs[npairs++] = i;
    }
    if (want_green && npairs == 0 && (o->switches.n || o->loops.n)) {
        snprintf(err, errlen, "--switch/--loop: no green cell program for that combination in %s",
                 p->bin_dir);
        return GB_EXIT_USAGE;
    }
    if (o->preset == GB_PRESET_QUICK && !o->switches.n && !o->loops.n && npairs > 1) {
        size_t pick = pairs[0];
        for (size_t i = 0; i < npairs; i++)
            if (strcmp(p->pairs[pairs[i]].sw, "asm") == 0 &&
                strcmp(p->pairs[pairs[i]].loop, "libev") == 0)
                pick = pairs[i];
        pairs[0] = pick;
        npairs = 1;
    }
    /* The raw switch needs one program per switch backend (any loop). */
    char sws[GB_MAX_LIST][GB_NAME];
    size_t nsws = 0;
    for (size_t i = 0; i < p->npairs; i++)
        if (!o->switches.n || names_has(&o->switches, p->pairs[i].sw))
            if (!o->loops.n || names_has(&o->loops, p->pairs[i].loop))
                add_distinct(sws, &nsws, p->pairs[i].sw);

    struct expansion x = { .o = o, .ncpu = gb_allowed_cpus() };
    for (size_t wi = 0; wi < gb_nworkloads; wi++) {
        const struct gb_workload *w = &gb_workloads[wi];
        if (o->workloads.n && !names_has(&o->workloads, w->name))
            continue;
        struct gb_cell base;
        if (want_green) {
            gb_cell_init(&base);
            snprintf(base.workload, GB_NAME, "%s", w->name);
            snprintf(base.impl, GB_NAME, "green");
            if (!w->uses_loop) {
                for (size_t i = 0; i < nsws; i++) {
                    snprintf(base.sw, GB_NAME, "%s", sws[i]);
                    expand_params(&x, w, &base, IMPL_GREEN);
                }
            } else {
                for (size_t i = 0; i < npairs; i++) {
                    snprintf(base.sw, GB_NAME, "%s", p->pairs[pairs[i]].sw);
                    snprintf(base.loop, GB_NAME, "%s", p->pairs[pairs[i]].loop);
                    expand_params(&x, w, &base, IMPL_GREEN);
                }
            }
        }
        if (want_threads) {
            gb_cell_init(&base);
            snprintf(base.workload, GB_NAME, "%s", w->name);
            snprintf(base.impl, GB_NAME, "threads");
            expand_params(&x, w, &base, IMPL_THREADS);
        }
        for (size_t i = 0; i < gb_npeers; i++) {
            if (!p->peer_found[i] || (o->impls.n && !names_has(&o->impls, gb_peers[i].name)) ||
                !gb_peer_runs(&gb_peers[i], w->name))
                continue;
            gb_cell_init(&base);
            snprintf(base.workload, GB_NAME, "%s", w->name);
            snprintf(base.impl, GB_NAME, "%s", gb_peers[i].name);
            expand_params(&x, w, &base, gb_peers[i].multicore ? IMPL_MULTICORE_PEER : IMPL_PEER);
        }
    }
    if (x.list.n == 0) {
        snprintf(err, errlen, "the filters select no cell (no cell programs in %s?)", p->bin_dir);
        free(x.list.v);
        return GB_EXIT_USAGE;
    }
    *cells = x.list.v;
    *ncells = x.list.n;
    return 0;
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

struct gb_job *gb_schedule(size_t ncells, int reps, uint64_t seed, size_t *njobs)
{
    uint64_t state = seed ^ 0x9E3779B97F4A7C15ULL;
    if (state == 0)
        state = 1;
    size_t total = ncells * (size_t)(reps + 1);
    struct gb_job *jobs = gb_xmalloc((total ? total : 1) * sizeof *jobs);
    size_t *perm = gb_xmalloc((ncells ? ncells : 1) * sizeof *perm);
    size_t k = 0;
    for (int round = 0; round <= reps; round++) {
        for (size_t i = 0; i < ncells; i++)
            perm[i] = i;
        for (size_t i = ncells; i > 1; i--) {
            size_t j = (size_t)(gb_rand_next(&state) % i);
            size_t t = perm[i - 1];
            perm[i - 1] = perm[j];
            perm[j] = t;
        }
        for (size_t i = 0; i < ncells; i++)
            jobs[k++] = (struct gb_job){ .cell = perm[i], .rep = round };
    }
    free(perm);
    *njobs = total;
    return jobs;
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
        for (size_t i = 0; i < GB_PRESET_VALUES && v[i] > 0; i++)
            gb_buf_printf(out, "%s%ld", i ? "," : "", v[i]);
        if (a == GB_AXIS_N && pv->n_threads[0] > 0)
            gb_buf_printf(out, " (threads and peers: %ld)", pv->n_threads[0]);
    }
}
