// examples/peers/boost-fiber/boost_fiber_cell.cpp: greenbench-peer-boost-fiber,
// a Boost.Fiber peer built outside greenbench's own build (CMakeLists.txt
// beside this file; the `cell` wrapper builds it on first use).
//
// It speaks the cell protocol of docs/cell-protocol.md as
// workloads/common/cell.c does: the same options parsed with getopt_long(3)
// and the same words for their errors, --rounds added up the same way,
// human text on stderr, and one JSON object with cell.c's fields in cell.c's
// order as the last line of stdout. Exit 0 / 1 / 2 (usage).
//
// Workloads (the same work, checks and counters as workloads/<name>/green.c
// and the State Threads peer, workloads/<name>/st.c):
//   switch       main and a partner fiber ping-pong --n round trips through
//                boost::fibers::context::schedule() + suspend(), the
//                primitive Boost.Fiber's own mutexes, condition variables
//                and channels wake and block with: each one-way switch puts
//                the other fiber on the round_robin ready queue and suspends
//                the caller, whose scheduler picks the next ready fiber and
//                jumps to it (Boost.Context's jump_fcontext).
//   yield        two fibers call boost::this_fiber::yield() --n times each.
//   spawn        --n trivial fibers constructed (launch::post), then joined.
//   spawn-alive  --n fibers alive at once, each blocked on one
//                fibers::condition_variable; rss_per_task_bytes.
// joinall, pool and dns are not implemented (exit 2): Boost.Fiber has no
// cooperative socket or resolver layer of its own (README.md).
//
// What a spawn costs here: boost::fibers::fiber(std::allocator_arg,
// fixedsize_stack(S), fn) calls fixedsize_stack::allocate(), which is one
// std::malloc(S) (no guard page, nothing pooled; S = --stack-kib, default
// 64 KiB like libgreen's, where Boost's own default_size() is 128 KiB),
// placement-news the fiber's control block (boost::fibers::context, its
// hooks and the functor) at the top of that block, makes a Boost.Context
// fiber (fcontext) below it, and with launch::post puts it on the
// scheduler's ready queue. When it has ended and nothing refers to it, its
// context is destroyed and the block given back with std::free().
// glibc's malloc serves 64 KiB from its heap (below the 128 KiB mmap
// threshold), so the pages a stack touches stay resident after the free.
#include <boost/fiber/all.hpp>
#include <boost/version.hpp>

#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include <getopt.h>
#include <sched.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

namespace fibers = boost::fibers;

static const char *const PEER = "boost-fiber";
static const char *const SWITCH_WORD = "boost-fiber";   // The JSON line's "switch".

// ---- parameters and result, as cell.h's cell_params and cell_result ----

struct params {
    const char *workload = nullptr, *impl = nullptr, *switch_name = nullptr, *loop_name = nullptr;
    const char *url = nullptr, *cacert = nullptr;
    long long n = -1, concurrency = -1, delay_ms = -1, size = -1, stack_kib = -1, cpus = -1;
    long long rounds = 1, keepalive = -1, tls = -1, ares = -1, hubs = -1;
};

struct result {
    bool ok = true;
    char error[512] = "";
    const char *switch_used = nullptr, *loop_used = nullptr;
    long long ops = -1, wall_ns = -1, cpu_ns = -1;
    long long tasks_completed = -1, bytes_received = -1, errors = -1, max_in_flight = -1;
    long long connections = -1, rss_per_task_bytes = -1;
    const char *note = nullptr;
    bool usage_error = false;
    long long t0_wall = 0, t0_cpu = 0;
};

static long long now_ns()
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long cpu_time_ns()
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((long long)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
           ((long long)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

static void measure_begin(result *r)
{
    r->t0_cpu = cpu_time_ns();
    r->t0_wall = now_ns();
}

static void measure_end(result *r)
{
    r->wall_ns = now_ns() - r->t0_wall;
    r->cpu_ns = cpu_time_ns() - r->t0_cpu;
}

__attribute__((format(printf, 2, 3))) static int fail(result *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof r->error, fmt, ap);
    va_end(ap);
    r->ok = false;
    return -1;
}

__attribute__((format(printf, 2, 3))) static int usage_error(result *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof r->error, fmt, ap);
    va_end(ap);
    r->ok = false;
    r->usage_error = true;
    return -1;
}

// Resident memory now, from /proc/self/statm (as workloads/common/sysinfo.c).
static long long rss_bytes()
{
    FILE *f = fopen("/proc/self/statm", "re");
    if (f == nullptr)
        return -1;
    long long size, resident;
    int got = fscanf(f, "%lld %lld", &size, &resident);
    fclose(f);
    return got == 2 ? resident * sysconf(_SC_PAGESIZE) : -1;
}

// ---- the workloads ----

#define DEFAULT_STACK_KIB 64        // libgreen's default, and the State Threads peer's.
#define MIN_STACK_KIB 8
#define MAX_STACK_KIB (1024 * 1024)

// --stack-kib checked and filled in (0: the default). Returns the size in bytes, or -1.
static long long stack_bytes(params *p, result *r)
{
    if (p->stack_kib <= 0)
        p->stack_kib = DEFAULT_STACK_KIB;
    if (p->stack_kib < MIN_STACK_KIB || p->stack_kib > MAX_STACK_KIB)
        return usage_error(r, "--stack-kib=%lld: the Boost.Fiber peer needs %d KiB to 1 GiB per fiber",
                           p->stack_kib, MIN_STACK_KIB);
    return p->stack_kib * 1024;
}

static int take_n(params *p, result *r, long long dflt, const char *needs)
{
    if (p->n < 0)
        p->n = dflt;
    return p->n == 0 ? usage_error(r, "--n=0: %s", needs) : 0;
}

// -- switch --

#define SWITCH_DEFAULT_N 1000000
#define SWITCH_WARMUP 10000

struct pingpong {
    fibers::context *main_ctx = nullptr, *partner_ctx = nullptr;
    long long value = 0;            // Main sends v, the partner answers v + 1.
    long long partner_seen = 0;     // Turns the partner took: the check.
    bool stop = false;
};

// Hand the thread to `to` through the scheduler: `to` joins the ready queue,
// the caller suspends, and round_robin's pick_next() gives `to` the thread.
static inline void hand_to(fibers::context *to)
{
    fibers::context *self = fibers::context::active();
    self->schedule(to);
    self->suspend();
}

static void partner(pingpong *pp)
{
    pp->partner_ctx = fibers::context::active();
    fibers::context::active()->suspend();       // Parked until main schedules it.
    while (!pp->stop) {
        pp->value++;
        pp->partner_seen++;
        hand_to(pp->main_ctx);
    }
}

static int switch_bf(params *p, result *r)
{
    if (take_n(p, r, SWITCH_DEFAULT_N, "the switch workload needs at least one round trip") != 0)
        return -1;
    long long stack = stack_bytes(p, r);
    if (stack < 0)
        return -1;
    long long n = p->n;
    pingpong pp;
    pp.main_ctx = fibers::context::active();
    fibers::fiber t;
    try {
        t = fibers::fiber(std::allocator_arg, fibers::fixedsize_stack((std::size_t)stack), partner, &pp);
    } catch (const std::exception &e) {
        return fail(r, "cannot make the partner fiber: %s", e.what());
    }
    boost::this_fiber::yield();                 // The partner starts and parks.
    if (pp.partner_ctx == nullptr) {
        t.detach();
        return fail(r, "the partner fiber did not start");
    }

    // Checked pass: the partner answers v with v + 1.
    long long warm = n < SWITCH_WARMUP ? n : SWITCH_WARMUP, checked = 0;
    for (long long i = 1; i <= warm; i++) {
        pp.value = i;
        hand_to(pp.partner_ctx);
        checked += pp.value == i + 1;
    }

    pp.partner_seen = 0;
    measure_begin(r);
    for (long long i = 0; i < n; i++) {
        pp.value = i;
        hand_to(pp.partner_ctx);
    }
    measure_end(r);

    pp.stop = true;
    fibers::context::active()->schedule(pp.partner_ctx);
    t.join();

    r->ops = 2 * n;
    r->tasks_completed = pp.partner_seen;
    r->errors = warm - checked + n - pp.partner_seen;
    r->note = "Boost.Fiber: context::schedule + context::suspend per one-way "
              "switch (the primitive its mutexes, condition variables and channels block and wake with), "
              "through the round_robin scheduler's ready queue and Boost.Context's jump_fcontext; one OS "
              "thread. The figure includes the scheduler's bookkeeping, not a raw context switch.";
    if (checked != warm)
        return fail(r, "%lld of %lld checked round trips returned a wrong value", warm - checked, warm);
    if (pp.partner_seen != n)
        return fail(r, "partner took %lld turns of %lld", pp.partner_seen, n);
    return 0;
}

// -- yield --

#define YIELD_DEFAULT_N 100000
#define YIELD_WARMUP 1000

static struct {
    long long n;            // Yields each, this pass.
    int last;               // Which of the two returned from a yield last.
    long long out_of_turn;  // Returns that found itself last: the other had not run.
    long long yields;       // This pass's.
} y;

static void checked_yielder(int me)
{
    long long n = y.n, out_of_turn = 0, i;
    for (i = 0; i < n; i++) {
        boost::this_fiber::yield();
        out_of_turn += y.last == me;
        y.last = me;
    }
    y.out_of_turn += out_of_turn;
    y.yields += i;
}

static void bare_yielder(int)
{
    long long n = y.n, i;
    for (i = 0; i < n; i++)
        boost::this_fiber::yield();
    y.yields += i;
}

// One pass of n yields each (spawn, run, join: timed as green.c times it).
static int run_pair(long long n, long long stack, result *r, bool timed)
{
    y.n = n;
    y.last = -1;
    y.yields = 0;
    void (*yielder)(int) = timed ? bare_yielder : checked_yielder;
    if (timed)
        measure_begin(r);
    try {
        fibers::fiber a(std::allocator_arg, fibers::fixedsize_stack((std::size_t)stack), yielder, 0);
        fibers::fiber b(std::allocator_arg, fibers::fixedsize_stack((std::size_t)stack), yielder, 1);
        a.join();
        b.join();
    } catch (const std::exception &e) {
        return fail(r, "cannot make or join the yielding fibers: %s", e.what());
    }
    if (timed)
        measure_end(r);
    return 0;
}

static int yield_bf(params *p, result *r)
{
    if (take_n(p, r, YIELD_DEFAULT_N, "yield needs at least one yield per fiber") != 0)
        return -1;
    long long stack = stack_bytes(p, r);
    if (stack < 0)
        return -1;
    long long warm = p->n < YIELD_WARMUP ? p->n : YIELD_WARMUP;
    y.out_of_turn = 0;
    if (run_pair(warm, stack, r, false) != 0)
        return -1;
    long long checked = y.yields;
    if (run_pair(p->n, stack, r, true) != 0)
        return -1;
    r->ops = 2 * p->n;
    r->tasks_completed = y.yields;
    r->errors = y.out_of_turn + (2 * warm - checked) + (2 * p->n - y.yields);
    r->note = "boost::this_fiber::yield(): the caller goes to the back of round_robin's ready queue and the "
              "next ready fiber runs; one OS thread. The timed part spawns and joins the two fibers too, as "
              "ours does.";
    if (y.out_of_turn != 0)
        return fail(r, "%lld of %lld checked yields did not alternate", y.out_of_turn, 2 * warm);
    if (r->errors != 0)
        return fail(r, "%lld yields did not happen", r->errors);
    return 0;
}

// -- spawn --

#define SPAWN_DEFAULT_N 10000
#define SPAWN_ALIVE_DEFAULT_N 1000

static long long ran;

static void trivial()
{
    ran++;
}

// Construct n fibers (each posted to the ready queue), then join them all.
// Returns how many were made; *why says why the rest were not.
static long long spawn_join(std::vector<fibers::fiber> &fs, long long n, long long stack, std::string *why)
{
    long long made;
    try {
        for (made = 0; made < n; made++)
            fs[made] = fibers::fiber(std::allocator_arg, fibers::fixedsize_stack((std::size_t)stack), trivial);
    } catch (const std::exception &e) {
        *why = e.what();
    }
    for (long long i = 0; i < made; i++)
        fs[i].join();
    return made;
}

// --n (default dflt; needs says why at least one), the stack size into
// *stack, and --n fiber handles in fs, made and touched before the timed
// part: 0, or -1 with r failed.
static int fibers_setup(params *p, result *r, long long dflt, const char *needs, long long *stack,
                        std::vector<fibers::fiber> &fs)
{
    if (take_n(p, r, dflt, needs) != 0 || (*stack = stack_bytes(p, r)) < 0)
        return -1;
    try {
        fs.resize((size_t)p->n);
    } catch (const std::exception &) {
        return fail(r, "out of memory for %lld fiber handles", p->n);
    }
    return 0;
}

static int creation_failed(params *p, result *r, long long made, const std::string &why)
{
    return fail(r, "fiber creation failed after %lld fibers (%lld KiB stacks): %s", made, p->stack_kib,
                why.c_str());
}

static int spawn_bf(params *p, result *r)
{
    long long stack;
    std::vector<fibers::fiber> fs;
    if (fibers_setup(p, r, SPAWN_DEFAULT_N, "spawn needs at least one task", &stack, fs) != 0)
        return -1;
    long long n = p->n;
    std::string why;
    // Untimed pass of the same N first, as ours: the timed one then measures
    // the runtime, not the kernel's first-touch page faults.
    ran = 0;
    long long made = spawn_join(fs, n, stack, &why);
    if (made != n)
        return fail(r, "fiber creation failed in the warm-up after %lld fibers: %s", made, why.c_str());
    ran = 0;
    measure_begin(r);
    made = spawn_join(fs, n, stack, &why);
    measure_end(r);
    r->ops = n;
    r->tasks_completed = ran;
    r->errors = n - ran;
    r->note = "boost::fibers::fiber constructed (launch::post) N times, then each joined: a std::malloc'd "
              "fixedsize_stack per fiber (--stack-kib, no guard page) with the fiber's control block at its "
              "top, freed when the fiber has ended; an untimed pass of the same N first; one OS thread.";
    if (made != n)
        return creation_failed(p, r, made, why);
    if (ran != n)
        return fail(r, "%lld of %lld fibers ran", ran, n);
    return 0;
}

// -- spawn-alive --

struct gate {
    fibers::mutex m;
    fibers::condition_variable opened;
    bool open = false;
    long long started = 0, woke = 0;
};

static void wait_at_gate(gate *g)
{
    g->started++;
    std::unique_lock<fibers::mutex> lk(g->m);
    while (!g->open)
        g->opened.wait(lk);
    g->woke++;
}

static int spawn_alive_bf(params *p, result *r)
{
    long long stack;
    std::vector<fibers::fiber> fs;
    if (fibers_setup(p, r, SPAWN_ALIVE_DEFAULT_N, "spawn-alive needs at least one task", &stack, fs) != 0)
        return -1;
    long long n = p->n;
    gate g;
    std::string why;
    long long rss_before = rss_bytes(), rss_alive = -1, made;
    measure_begin(r);
    try {
        for (made = 0; made < n; made++)
            fs[made] = fibers::fiber(std::allocator_arg, fibers::fixedsize_stack((std::size_t)stack),
                                     wait_at_gate, &g);
    } catch (const std::exception &e) {
        why = e.what();
    }
    // Each yield runs every ready fiber once (main goes to the back of the
    // queue): one is enough for all to reach the gate; a few more are cheap.
    for (int i = 0; i < 4 && g.started < made; i++)
        boost::this_fiber::yield();
    long long alive = g.started;
    if (alive == made)
        rss_alive = rss_bytes();
    {
        std::unique_lock<fibers::mutex> lk(g.m);
        g.open = true;
    }
    g.opened.notify_all();
    for (long long i = 0; i < made; i++)
        fs[i].join();
    measure_end(r);

    r->ops = n;
    r->tasks_completed = g.woke;
    r->errors = n - g.woke;
    r->note = "RSS counts the pages of each fiber's std::malloc'd stack that were touched: its control block "
              "and first frames at the top, malloc's chunk header at the bottom; each fiber waits on one "
              "fibers::condition_variable (with a fibers::mutex).";
    if (made != n)
        return creation_failed(p, r, made, why);
    if (alive != n)
        return fail(r, "only %lld of %lld fibers started", alive, n);
    if (g.woke != n)
        return fail(r, "%lld of %lld fibers woke from the gate", g.woke, n);
    if (rss_before >= 0 && rss_alive >= 0)
        r->rss_per_task_bytes = rss_alive > rss_before ? (rss_alive - rss_before) / n : 0;
    return 0;
}

// ---- the table ----

typedef int (*workload_fn)(params *, result *);

static const struct workload {
    const char *name;
    workload_fn run;        // nullptr: a standard workload this peer does not implement.
    const char *summary;
} workloads[] = {
    { "switch", switch_bf, "two fibers ping-pong --n round trips (context::schedule + suspend, round_robin)" },
    { "yield", yield_bf, "two fibers call boost::this_fiber::yield() --n times each" },
    { "spawn", spawn_bf, "--n trivial fibers constructed (malloc'd fixedsize_stack), then joined" },
    { "spawn-alive", spawn_alive_bf, "--n fibers alive and blocked on one condition_variable: memory per fiber" },
    { "joinall", nullptr, "not implemented (Boost.Fiber has no cooperative sockets)" },
    { "pool", nullptr, "not implemented (Boost.Fiber has no cooperative sockets)" },
    { "dns", nullptr, "not implemented (Boost.Fiber has no cooperative resolver)" },
};

// ---- the JSON line ----

static void json_string(std::string &b, const char *s)
{
    if (s == nullptr) {
        b += "null";
        return;
    }
    b += '"';
    for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
        char esc[8];
        switch (*q) {
        case '"': b += "\\\""; break;
        case '\\': b += "\\\\"; break;
        case '\n': b += "\\n"; break;
        case '\r': b += "\\r"; break;
        case '\t': b += "\\t"; break;
        default:
            if (*q < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", *q);
                b += esc;
            } else {
                b += *q < 0x80 ? (char)*q : '?';    // As cell.c: bytes that are not ASCII become '?'.
            }
        }
    }
    b += '"';
}

static void json_count(std::string &b, const char *key, long long v, bool always = true)
{
    if (v < 0 && !always)
        return;
    char buf[64];
    if (v < 0)
        snprintf(buf, sizeof buf, ",\"%s\":null", key);
    else
        snprintf(buf, sizeof buf, ",\"%s\":%lld", key, v);
    b += buf;
}

// ns per op rounded to three decimals and printed as jansson prints a real
// with JSON_REAL_PRECISION(15): %.15g, ".0" added when it looks like an integer.
static void json_per_op(std::string &b, long long ns, long long ops)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.15g", std::round((double)ns / (double)ops * 1e3) / 1e3);
    b += buf;
    if (strpbrk(buf, ".eE") == nullptr)
        b += ".0";
}

static void write_result(const params *p, const result *r)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    std::string b = "{\"workload\":";
    json_string(b, p->workload);
    b += ",\"impl\":";
    json_string(b, p->impl);
    b += ",\"switch\":";
    json_string(b, r->switch_used);
    b += ",\"loop\":";
    json_string(b, r->loop_used);
    json_count(b, "n", p->n);
    json_count(b, "concurrency", p->concurrency);
    json_count(b, "delay_ms", p->delay_ms);
    json_count(b, "size", p->size);
    json_count(b, "stack_kib", p->stack_kib);
    json_count(b, "cpus", p->cpus);
    json_count(b, "rounds", p->rounds);
    json_count(b, "keepalive", p->keepalive);
    json_count(b, "tls", p->tls);
    json_count(b, "ares", p->ares);
    json_count(b, "hubs", p->hubs);
    b += ",\"stacks\":null"; // libgreen's stack modes and live bytes: none here
    json_count(b, "live_bytes", -1);
    b += r->ok ? ",\"ok\":true" : ",\"ok\":false";
    if (!r->ok) {
        b += ",\"error\":";
        json_string(b, r->error[0] ? r->error : "failed without a message");
    }
    json_count(b, "wall_ns", r->wall_ns);
    json_count(b, "ops", r->ops);
    b += ",\"ns_per_op\":";
    if (r->ops > 0 && r->wall_ns >= 0)
        json_per_op(b, r->wall_ns, r->ops);
    else
        b += "null";
    json_count(b, "max_rss_kb", ru.ru_maxrss);
    json_count(b, "cpu_ns", r->cpu_ns);
    json_count(b, "tasks_completed", r->tasks_completed, false);
    json_count(b, "bytes_received", r->bytes_received, false);
    json_count(b, "errors", r->errors, false);
    json_count(b, "max_in_flight", r->max_in_flight, false);
    json_count(b, "connections", r->connections, false);
    json_count(b, "rss_per_task_bytes", r->rss_per_task_bytes, false);
    if (r->note != nullptr) {
        b += ",\"note\":";
        json_string(b, r->note);
    }
    b += "}\n";
    fputs(b.c_str(), stdout);
    fflush(stdout);
}

// ---- options (cell.c's parser and words) ----

static const char *program;

static const char *version_line()
{
    static char line[128];
    snprintf(line, sizeof line, "Boost.Fiber %d.%d.%d, g++ %s", BOOST_VERSION / 100000,
             BOOST_VERSION / 100 % 1000, BOOST_VERSION % 100, __VERSION__);
    return line;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: %s WORKLOAD --impl=%s [--n=N] [--stack-kib=S] [--cpus=C] [--rounds=R]\n"
            "       [--switch=S] [--loop=L] [--concurrency=K] [--delay-ms=D] [--size=BYTES] [--url=URL]\n"
            "       [--keepalive=0|1] [--tls=0|1] [--cacert=FILE] [--ares=0|1] [--hubs=H]\n"
            "       %s --help | --version\n"
            "The Boost.Fiber peer (%s). Runs one measurement and prints one JSON object\n"
            "on the last line of stdout. One OS thread, Boost.Fiber's round_robin scheduler;\n"
            "--stack-kib=S sizes each fiber's fixedsize_stack (default %d KiB, malloc'd).\n"
            "--cpus=C keeps the first C CPUs the process may use (default: all; it runs on one).\n"
            "--rounds=R runs the workload R times in this process (default 1) and adds them up.\n"
            "--switch, --loop and --hubs do not apply (noted and ignored); the others are echoed.\n"
            "Workloads in this program:\n",
            program, PEER, program, version_line(), DEFAULT_STACK_KIB);
    for (const workload &w : workloads)
        if (w.run != nullptr)
            fprintf(f, "  %-12s --impl=%-8s %s\n", w.name, PEER, w.summary);
    fprintf(f, "Not implemented (exit 2): joinall, pool, dns (Boost.Fiber has no cooperative sockets).\n");
}

static int parse_count(const char *name, const char *text, long long *out, result *r)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < 0) {
        *out = -1;
        return fail(r, "--%s=%s: expected a non-negative integer", name, text);
    }
    *out = v;
    return 0;
}

enum { OPT_IMPL = 1000, OPT_SWITCH, OPT_LOOP, OPT_URL, OPT_CACERT, OPT_HELP, OPT_VERSION, OPT_COUNT };

// Returns 0, 1 for --help, 2 for --version, or -1 with the error in r.
static int parse_options(int argc, char **argv, params *p, result *r)
{
    struct {
        const char *name;
        long long *value;
    } counts[] = {
        { "n", &p->n }, { "concurrency", &p->concurrency }, { "delay-ms", &p->delay_ms },
        { "size", &p->size }, { "stack-kib", &p->stack_kib }, { "cpus", &p->cpus },
        { "rounds", &p->rounds }, { "keepalive", &p->keepalive }, { "tls", &p->tls },
        { "ares", &p->ares }, { "hubs", &p->hubs },
    };
    const size_t ncounts = sizeof counts / sizeof counts[0];
    std::vector<struct option> longopts = {
        { "impl", required_argument, nullptr, OPT_IMPL },
        { "switch", required_argument, nullptr, OPT_SWITCH },
        { "loop", required_argument, nullptr, OPT_LOOP },
        { "url", required_argument, nullptr, OPT_URL },
        { "cacert", required_argument, nullptr, OPT_CACERT },
        { "help", no_argument, nullptr, OPT_HELP },
        { "version", no_argument, nullptr, OPT_VERSION },
    };
    for (size_t k = 0; k < ncounts; k++)
        longopts.push_back({ counts[k].name, required_argument, nullptr, OPT_COUNT + (int)k });
    longopts.push_back({ nullptr, 0, nullptr, 0 });
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "-:h", longopts.data(), nullptr)) != -1) {
        switch (c) {
        case 1:
            if (p->workload != nullptr)
                return fail(r, "unexpected argument '%s' (the workload is '%s')", optarg, p->workload);
            p->workload = optarg;
            break;
        case OPT_IMPL: p->impl = optarg; break;
        case OPT_SWITCH: p->switch_name = optarg; break;
        case OPT_LOOP: p->loop_name = optarg; break;
        case OPT_URL: p->url = optarg; break;
        case OPT_CACERT: p->cacert = optarg; break;
        case OPT_HELP:
        case 'h': return 1;
        case OPT_VERSION: return 2;
        case ':': return fail(r, "option %s needs a value", argv[optind - 1]);
        case '?':
            if (optopt != 0)
                return fail(r, "unknown option '-%c'", optopt);
            return fail(r, "unknown option '%s'", argv[optind - 1]);
        default: {
            size_t k = (size_t)(c - OPT_COUNT);
            if (parse_count(counts[k].name, optarg, counts[k].value, r) != 0)
                return -1;
        }
        }
    }
    if (p->workload == nullptr)
        return fail(r, "no workload given");
    if (p->impl == nullptr)
        return fail(r, "--impl is required (--impl=%s)", PEER);
    if (strcmp(p->impl, PEER) != 0)
        return fail(r, "--impl=%s: this program is the %s peer; it runs --impl=%s only", p->impl, PEER, PEER);
    if (p->rounds == 0)
        return fail(r, "--rounds=0: a cell runs at least one round");
    if (p->keepalive > 1)
        return fail(r, "--keepalive=%lld: 0 (a new connection per request) or 1", p->keepalive);
    if (p->tls > 1)
        return fail(r, "--tls=%lld: 0 (plain HTTP) or 1 (HTTPS)", p->tls);
    if (p->ares > 1)
        return fail(r, "--ares=%lld: 0 (getaddrinfo) or 1 (c-ares)", p->ares);
    if (p->cacert != nullptr && p->tls != 1)
        return fail(r, "--cacert needs --tls=1");
    if (p->hubs == 0)
        return fail(r, "--hubs=0: a green cell runs at least one hub");
    return 0;
}

// ---- CPUs and limits (cell.c's) ----

// Keep the first `want` allowed CPUs (want <= 0: all). Returns how many remain.
static int restrict_cpus(long long want)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return -errno;
    int allowed[CPU_SETSIZE], count = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
        if (CPU_ISSET(cpu, &set) && (want <= 0 || count < want))
            allowed[count++] = cpu;
    if (want > 0 && count < want)
        return -ERANGE;
    CPU_ZERO(&set);
    for (int i = 0; i < count; i++)
        CPU_SET(allowed[i], &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        return -errno;
    return count;
}

static void raise_limits()
{
    static const int which[] = { RLIMIT_NOFILE, RLIMIT_NPROC };
    for (int w : which) {
        struct rlimit rl;
        if (getrlimit(w, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            setrlimit(w, &rl);
        }
    }
}

// ---- rounds (cell.c's add_round) ----

static long long add_counts(long long a, long long b)
{
    return b < 0 ? a : a < 0 ? b : a + b;
}

static void add_round(result *total, const result *round, long long k, long long rounds)
{
    if (k == 1) {
        *total = *round;
    } else {
        total->wall_ns = add_counts(total->wall_ns, round->wall_ns);
        total->cpu_ns = add_counts(total->cpu_ns, round->cpu_ns);
        total->ops = add_counts(total->ops, round->ops);
        total->tasks_completed = add_counts(total->tasks_completed, round->tasks_completed);
        total->errors = add_counts(total->errors, round->errors);
        total->ok = round->ok;
        total->usage_error = round->usage_error;
        if (!round->ok)
            memcpy(total->error, round->error, sizeof total->error);
    }
    if (!round->ok && !round->usage_error && rounds > 1) {
        const char *said = round->error[0] ? round->error : "failed without a message";
        char prefix[64];
        size_t plen = (size_t)snprintf(prefix, sizeof prefix, "round %lld of %lld: ", k, rounds);
        size_t slen = strnlen(said, sizeof total->error - 1 - plen);     // Its end cut, if need be.
        memmove(total->error + plen, said, slen);
        memcpy(total->error, prefix, plen);
        total->error[plen + slen] = '\0';
    }
}

int main(int argc, char **argv)
{
    program = argv[0];
    params p;
    result r;
    int parsed = parse_options(argc, argv, &p, &r);
    if (parsed == 1) {
        usage(stdout);
        return 0;
    }
    if (parsed == 2) {
        puts(version_line());
        return 0;
    }
    if (parsed != 0) {
        fprintf(stderr, "%s: %s\n(see %s --help)\n", program, r.error, program);
        write_result(&p, &r);
        return 2;
    }
    const workload *w = nullptr;
    for (const workload &x : workloads)
        if (strcmp(x.name, p.workload) == 0)
            w = &x;
    if (w == nullptr || w->run == nullptr) {
        if (w == nullptr)
            fail(&r, "unknown workload '%s' (see %s --help)", p.workload, program);
        else
            fail(&r, "workload %s is not implemented by peer %s", p.workload, PEER);
        fprintf(stderr, "%s: %s\n", program, r.error);
        write_result(&p, &r);
        return 2;
    }
    if (p.switch_name != nullptr)
        fprintf(stderr, "%s: note: --switch=%s does not apply to --impl=%s; ignored\n", program, p.switch_name, PEER);
    if (p.loop_name != nullptr)
        fprintf(stderr, "%s: note: --loop=%s does not apply to --impl=%s; ignored\n", program, p.loop_name, PEER);
    if (p.hubs >= 0) {
        fprintf(stderr, "%s: note: --hubs=%lld does not apply to --impl=%s (one thread, one scheduler); ignored\n",
                program, p.hubs, PEER);
        p.hubs = -1;
    }
    raise_limits();
    int cpus = restrict_cpus(p.cpus);
    if (cpus < 0) {
        fail(&r, "--cpus=%lld: %s", p.cpus, cpus == -ERANGE ? "more CPUs than this process may use" : strerror(-cpus));
        fprintf(stderr, "%s: %s\n", program, r.error);
        write_result(&p, &r);
        return 2;
    }
    p.cpus = cpus;
    // The default algorithm, said out loud: round_robin, this thread only.
    fibers::use_scheduling_algorithm<fibers::algo::round_robin>();

    const params given = p;
    for (long long k = 1; k <= given.rounds; k++) {
        params round_p = given;
        result round_r;
        round_r.switch_used = SWITCH_WORD;
        if (w->run(&round_p, &round_r) != 0)
            round_r.ok = false;
        if (k == 1)
            p = round_p;
        add_round(&r, &round_r, k, given.rounds);
        if (!r.ok)
            break;
    }
    if (!r.ok)
        fprintf(stderr, "%s %s: %s\n", p.workload, PEER, r.error);
    write_result(&p, &r);
    return r.ok ? 0 : r.usage_error ? 2 : 1;
}
