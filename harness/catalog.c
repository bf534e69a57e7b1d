/* harness/catalog.c: the workload catalog, the axes, the peers and the
 * backend names as the harness reads them (catalog.h). The rows themselves
 * are workloads/catalog.def and axes.def. */
#include "catalog.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cell.h"
#include "options.h"
#include "util.h"

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
    case GB_PICK_SERVER: return w->server == GB_SERVER_HTTP;
    case GB_PICK_NO_LOOP: return !w->uses_loop;
    case GB_PICK_EPOLL: return w->epoll;
    case GB_PICK_HUBS: return w->hubs;
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

/* ---- peers: other systems' programs that obey the cell protocol with
 * --impl=<name> (docs/cell-protocol.md, "How a peer obeys it"), built into
 * the bin directory by workloads/peers/ when their dependency is
 * installed ---- */

struct gb_peer gb_peers[GB_MAX_PEERS] = {
    { .name = "gevent",
      .program = "greenbench-peer-gevent",
      .package = "python3-gevent",
      .version_cmd =
          "/usr/bin/python3 -E -s -c 'import gevent, greenlet, sys; print(\"gevent\", gevent.__version__, \"greenlet\", greenlet.__version__, \"Python\", sys.version.split()[0])'",
      .includes = "the CPython interpreter; a 16 KiB frame stack mmap'd and unmapped per greenlet; "
                  "getaddrinfo in gevent's thread pool on every request (urllib), where ours "
                  "resolves the local server once",
      .note = "not built: gevent for the system's Python was not found at configure time" },
    { .name = "go",
      .program = "greenbench-peer-go",
      .package = "golang-go",
      .version_cmd = "go version",
      .multicore = true,
      .includes = "the Go runtime: scheduler, garbage collector and sysmon threads (their CPU "
                  "time is in cpu_ns), net/http's own goroutines per connection; GOMAXPROCS "
                  "equals the CPUs the cell may use",
      .note = "not built: no Go toolchain was found at configure time" },
    { .name = "st",
      .program = "greenbench-peer-st",
      .package = "libst-dev",
      .version_cmd = "dpkg-query -W -f='${Version}' libst-dev libst1 2>/dev/null | head -c 40",
      .includes = "State Threads' own scheduler only (a classic C coroutine library); its yield "
                  "goes through its sleep queue",
      .note = "not built: State Threads (libst) was not found at configure time" },
    { .name = "threads-preload",
      .program = "greenbench-peer-threads-preload",
      .package = "libc6-dev",
      .version_cmd = "printf 'greenbench-cell-threads under libgreen-preload.so, GREEN_PRELOAD=threads'",
      .includes = "the thread baseline's own program, unmodified: its pthreads are green threads of "
                  "one hub (libgreen, asm/libev) and its blocking calls, interposed, wait in the hub's "
                  "loop; the interposition's own cost (a check per call, its fd table) is in the figure; "
                  "pthread stack sizes are ignored: every green thread has the hub's stack (64 KiB, "
                  "GREEN_PRELOAD_STACK_KIB), though the line says the size the program asked for",
      .note = "not built: libgreen-preload.so was not built (a sanitizer build skips it)" },
};
/* The built-in rows are those written above, before any external one is
 * added. */
#define GB_BUILTIN_PEERS 4
const size_t gb_nbuiltin_peers = GB_BUILTIN_PEERS;
size_t gb_npeers = GB_BUILTIN_PEERS;

/* Is name one of list's comma-separated names. */
static bool listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list ? list : ""; *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        p += len;
        if (*p == ',')
            p++;
    }
    return false;
}

bool gb_peer_runs(const struct gb_peer *peer, const char *workload)
{
    const struct gb_workload *w = gb_workload_find(workload);
    if (w == NULL)
        return false;
    return peer->workloads ? listed(peer->workloads, workload) : listed(w->peers, peer->name);
}

const struct gb_peer *gb_peer_find(const char *name)
{
    for (size_t i = 0; i < gb_npeers; i++)
        if (strcmp(gb_peers[i].name, name) == 0)
            return &gb_peers[i];
    return NULL;
}

/* The implementations that are no peer: a peer must not take their names. */
static const char *const own_impls[] = { "green", "threads", "epoll", NULL };

int gb_peer_add(const struct gb_peer *p, char *err, size_t errlen)
{
    bool own = false;
    for (const char *const *k = own_impls; *k; k++)
        own |= strcmp(*k, p->name) == 0;
    const struct gb_peer *old = gb_peer_find(p->name);
    if (own || old) {
        snprintf(err, errlen, "peer '%s' clashes with the %s implementation of that name%s%s", p->name,
                 own || (size_t)(old - gb_peers) < gb_nbuiltin_peers ? "built-in" : "external",
                 old && old->source ? " registered by " : "", old && old->source ? old->source : "");
        return -EEXIST;
    }
    if (gb_npeers == GB_MAX_PEERS) {
        snprintf(err, errlen, "peer '%s': at most %d peers, the %zu built-in ones included (GB_MAX_PEERS)",
                 p->name, GB_MAX_PEERS, gb_nbuiltin_peers);
        return -ENOSPC;
    }
    gb_peers[gb_npeers++] = *p;
    return 0;
}

void gb_workload_unit(const struct gb_workload *w, char *out, size_t n)
{
    if (w->metric == GB_METRIC_RSS_PER_TASK)
        snprintf(out, n, "bytes of memory (RSS) per %s", w->op);
    else if (w->metric == GB_METRIC_OPS_PER_S)
        snprintf(out, n, "%s/s, and ns per %s", w->op, w->op);
    else
        snprintf(out, n, "ns per %s", w->op);
}

bool gb_takes_variants(const struct gb_workload *w, const char *impl)
{
    return listed(w->variant_impls, impl);
}

const char *const gb_known_switches[] = { "asm", "asm-nofpu", "ucontext", "boost", NULL };
const char *const gb_known_loops[] = { "libev", "libuv", NULL };

/* ---- names ---- */

bool gb_name_in(const char list[][GB_NAME], size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

void gb_name_add(char list[][GB_NAME], size_t *n, const char *name)
{
    if (gb_name_in(list, *n, name))
        return;
    if (*n < GB_MAX_LIST)
        snprintf(list[(*n)++], GB_NAME, "%s", name);
}

/* ---- axes ---- */

const struct gb_axis gb_axes[GB_NAXES] = {
#define GB_AXIS(ID, field, option_, key_, unit_, label_, min_, max_, kind_, metavar_, pick_, help_) \
    [GB_AXIS_##ID] = { .name = #field,                                                              \
                       .option = option_,                                                           \
                       .key = key_,                                                                 \
                       .unit = unit_,                                                               \
                       .label = label_,                                                             \
                       .min = min_,                                                                 \
                       .max = max_,                                                                 \
                       .setup = (kind_) == GB_KIND_SETUP,                                           \
                       .series = (kind_) != GB_KIND_WORK && (kind_) != GB_KIND_GREEN_WORK,          \
                       .flag = (kind_) == GB_KIND_FLAG || (kind_) == GB_KIND_VARIANT,               \
                       .variant = (kind_) == GB_KIND_VARIANT,                                       \
                       .green = (kind_) == GB_KIND_GREEN || (kind_) == GB_KIND_GREEN_WORK,          \
                       .metavar = metavar_,                                                         \
                       .pick = pick_,                                                               \
                       .help = help_,                                                               \
                       .cell_off = offsetof(struct gb_cell, field),                                 \
                       .opts_off = offsetof(struct gb_run_opts, field),                             \
                       .preset_off = offsetof(struct gb_preset_values, field) },
#include "axes.def"
#undef GB_AXIS
};

const long *gb_preset_axis(const struct gb_preset_values *p, enum gb_axis_id a)
{
    return (const void *)((const char *)p + gb_axes[a].preset_off);
}

size_t gb_preset_count(const long *v)
{
    for (size_t i = 0; i < GB_PRESET_VALUES; i++)
        if (v[i] == GB_END)
            return i;
    return 0;
}
