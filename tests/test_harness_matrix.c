/* tests/test_harness_matrix.c: `greenbench run` option parsing with every bad
 * input it must refuse, program discovery, matrix expansion and its
 * exclusions, the interleaved order, cell command lines. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog.h"
#include "cell.h"
#include "json.h"
#include "options.h"
#include "plan.h"
#include "plot.h"
#include "programs.h"
#include "runner.h"
#include "server.h"
#include "util.h"

static char bindir[256];

static void touch(const char *name, int mode)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", bindir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs("#!/bin/sh\nexit 0\n", f);
        fclose(f);
    }
    chmod(path, mode);
}

static int setup(void)
{
    snprintf(bindir, sizeof bindir, "/tmp/gb-test-matrix-XXXXXX");
    if (mkdtemp(bindir) == NULL)
        return -1;
    touch("greenbench-cell-asm-libev", 0755);
    touch("greenbench-cell-asm-libuv", 0755);
    touch("greenbench-cell-asm-nofpu-libev", 0755);
    touch("greenbench-cell-ucontext-libev", 0755);
    touch("greenbench-cell-threads", 0755);
    touch("greenbench-server", 0755);
    touch("greenbench-cell-boost-libev", 0644); /* not executable: not built */
    touch("README", 0755);
    return 0;
}

static int teardown(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", bindir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Parse a space-separated command line. */
static int parse(const char *line, struct gb_run_opts *o, char *err, size_t errlen)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "run %s", line);
    char *argv[64];
    int argc = 0;
    for (char *t = strtok(buf, " "); t && argc < 63; t = strtok(NULL, " "))
        argv[argc++] = t;
    argv[argc] = NULL;
    err[0] = '\0';
    return gb_run_opts_parse(argc, argv, o, err, errlen);
}

static void test_options_ok(void)
{
    struct gb_run_opts o;
    char err[512];
    CU_ASSERT_EQUAL(parse("", &o, err, sizeof err), 0);
    CU_ASSERT_EQUAL(o.preset, GB_PRESET_DEFAULT);
    CU_ASSERT_EQUAL(o.reps, -1);
    CU_ASSERT_EQUAL(parse("--quick --reps=7 --timeout 2.5 --seed=0x10 --out /tmp/x", &o, err, sizeof err), 0);
    CU_ASSERT_EQUAL(o.preset, GB_PRESET_QUICK);
    CU_ASSERT_EQUAL(o.reps, 7);
    CU_ASSERT_DOUBLE_EQUAL(o.timeout_s, 2.5, 0);
    CU_ASSERT_TRUE(o.seed_set);
    CU_ASSERT_EQUAL(o.seed, 16);
    CU_ASSERT_STRING_EQUAL(o.out, "/tmp/x");
    CU_ASSERT_EQUAL(parse("--full --timeout=2m", &o, err, sizeof err), 0);
    CU_ASSERT_EQUAL(o.preset, GB_PRESET_FULL);
    CU_ASSERT_DOUBLE_EQUAL(o.timeout_s, 120, 0);
    CU_ASSERT_EQUAL(parse("--workload=spawn,pool,spawn --impl green --switch=asm,ucontext "
                          "--loop=libev --n=10k,1M,100 --concurrency=5 --delay-ms=0 --size=0 "
                          "--cpus=1 --stack-kib=64 --no-plots",
                          &o, err, sizeof err), 0);
    CU_ASSERT_EQUAL(o.workloads.n, 2); /* duplicates dropped */
    CU_ASSERT_STRING_EQUAL(o.workloads.v[1], "pool");
    CU_ASSERT_EQUAL(o.switches.n, 2);
    CU_ASSERT_EQUAL(o.n.n, 3);
    CU_ASSERT_EQUAL(o.n.v[0], 10000);
    CU_ASSERT_EQUAL(o.n.v[1], 1000000);
    CU_ASSERT_EQUAL(o.delay_ms.v[0], 0);
    CU_ASSERT_EQUAL(o.stack_kib.v[0], 64);
    CU_ASSERT_TRUE(o.no_plots);
    CU_ASSERT_EQUAL(o.min_reps, -1);
    CU_ASSERT_EQUAL(o.max_reps, -1);
    CU_ASSERT_EQUAL(parse("--min-reps=4 --max-reps 12 --target-ci=2.5% --budget=90s", &o, err, sizeof err),
                    0);
    CU_ASSERT_EQUAL(o.min_reps, 4);
    CU_ASSERT_EQUAL(o.max_reps, 12);
    CU_ASSERT_DOUBLE_EQUAL(o.target_ci, 0.025, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(o.budget_s, 90, 0);
    CU_ASSERT_EQUAL(parse("--target-ci=0.1 --budget=none", &o, err, sizeof err), 0);
    CU_ASSERT_DOUBLE_EQUAL(o.target_ci, 0.1, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(o.budget_s, 0, 0);
    CU_ASSERT_EQUAL(parse("--resume /tmp/some-run", &o, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(o.resume, "/tmp/some-run");
    CU_ASSERT_EQUAL(parse("--help", &o, err, sizeof err), -1);
}

/* Each bad input: exit 2 and an error naming the option (and, where it has
 * them, the valid values). */
static void test_options_bad(void)
{
    static const struct {
        const char *line, *must1, *must2;
    } bad[] = {
        { "--n=abc", "--n", "'abc'" },
        { "--n=-5", "--n", ">= 1" },
        { "--n=", "--n", "whole numbers" },
        { "--n=1,,2", "--n", "whole numbers" },
        { "--n=99999999999999999999999", "--n", "" },
        { "--concurrency=0", "--concurrency", ">= 1" },
        { "--delay-ms=-1", "--delay-ms", ">= 0" },
        { "--reps=0", "--reps", ">= 1" },
        { "--reps=abc", "--reps", "'abc'" },
        { "--reps=3,4", "--reps", "one whole number" },
        { "--timeout=0", "--timeout", "seconds" },
        { "--timeout=soon", "--timeout", "seconds" },
        { "--seed=-3", "--seed", "unsigned" },
        { "--workload=foo", "--workload", "valid: switch, yield, spawn, spawn-alive, joinall, pool" },
        { "--workload=spawn,", "--workload", "empty" },
        { "--frobnicate", "unknown option", "--frobnicate" },
        { "stray", "unexpected argument", "stray" },
        { "--n", "--n", "needs a value" },
        { "--quick --full", "--quick", "--full" },
        { "--resume /tmp/r --n=5", "--resume", "" },
        { "--resume /tmp/r --out /tmp/o", "--resume", "" },
        { "--resume /tmp/r --max-reps=9", "--resume", "" },
        { "--min-reps=0", "--min-reps", ">= 1" },
        { "--max-reps=many", "--max-reps", "'many'" },
        { "--min-reps=8 --max-reps=4", "--min-reps 8", "above --max-reps 4" },
        { "--reps=5 --min-reps=3", "--reps", "excludes --min-reps" },
        { "--target-ci=0", "--target-ci", "above 0 and below 1" },
        { "--target-ci=1.5", "--target-ci", "above 0 and below 1" },
        { "--target-ci=5%x", "--target-ci", "'5%x'" },
        { "--budget=-1", "--budget", "seconds" },
        { "--budget=soon", "--budget", "seconds" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct gb_run_opts o;
        char err[512];
        int rc = parse(bad[i].line, &o, err, sizeof err);
        CU_ASSERT_EQUAL(rc, GB_EXIT_USAGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].must1));
        CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].must2));
        if (rc != GB_EXIT_USAGE || !strstr(err, bad[i].must1) || !strstr(err, bad[i].must2))
            fprintf(stderr, "\n  '%s' -> %d: %s\n", bad[i].line, rc, err);
    }
}

static void test_discovery(void)
{
    struct gb_programs p;
    gb_programs_scan(bindir, &p);
    CU_ASSERT_EQUAL_FATAL(p.npairs, 4);
    CU_ASSERT_STRING_EQUAL(p.pairs[0].sw, "asm");
    CU_ASSERT_STRING_EQUAL(p.pairs[0].loop, "libev");
    CU_ASSERT_STRING_EQUAL(p.pairs[2].sw, "asm-nofpu"); /* dash in a switch name */
    CU_ASSERT_STRING_EQUAL(p.pairs[2].loop, "libev");
    CU_ASSERT_EQUAL(p.nswitches, 3);
    CU_ASSERT_EQUAL(p.nloops, 2);
    CU_ASSERT_TRUE(p.threads);
    CU_ASSERT_TRUE(p.server);
    for (size_t i = 0; i < gb_npeers; i++)
        CU_ASSERT_FALSE(p.peer_found[i]);
    gb_programs_scan("/nonexistent-dir", &p);
    CU_ASSERT_EQUAL(p.npairs, 0);
    CU_ASSERT_FALSE(p.threads);
}

static long ncpus(void)
{
    cpu_set_t s;
    return sched_getaffinity(0, sizeof s, &s) == 0 ? CPU_COUNT(&s) : 1;
}

static size_t count(const struct gb_cell *c, size_t n, const char *workload, const char *impl)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(c[i].workload, workload) == 0 && (!impl || strcmp(c[i].impl, impl) == 0))
            k++;
    return k;
}

static int expand(const char *line, struct gb_cell **cells, size_t *n, char *err, size_t errlen)
{
    struct gb_run_opts o;
    int rc = parse(line, &o, err, errlen);
    if (rc != 0)
        return rc;
    struct gb_programs p;
    gb_programs_scan(bindir, &p);
    return gb_matrix_expand(&o, &p, cells, n, err, errlen);
}

static void test_expand_default(void)
{
    struct gb_cell *c;
    size_t n;
    char err[512];
    CU_ASSERT_EQUAL_FATAL(expand("", &c, &n, err, sizeof err), 0);
    long threads_switch = ncpus() >= 2 ? 2 : 1;
    /* switch: one cell per switch backend (no loop), threads at cpus 1 and 2. */
    CU_ASSERT_EQUAL(count(c, n, "switch", "green"), 3);
    CU_ASSERT_EQUAL(count(c, n, "switch", "threads"), (size_t)threads_switch);
    /* Loop workloads: every pair (4) + threads, times the preset sizes. */
    CU_ASSERT_EQUAL(count(c, n, "yield", NULL), 5);
    CU_ASSERT_EQUAL(count(c, n, "spawn", NULL), 15);
    /* spawn-alive: green with private and copy stacks (copy:1). */
    CU_ASSERT_EQUAL(count(c, n, "spawn-alive", NULL), 27);
    CU_ASSERT_EQUAL(count(c, n, "joinall", NULL), 15);
    CU_ASSERT_EQUAL(count(c, n, "pool", NULL), 40); /* keep-alive off and on */
    /* dns: one switch per loop (2), times n (2) and both resolvers; threads
     * have getaddrinfo only: n (2). */
    CU_ASSERT_EQUAL(count(c, n, "dns", "green"), 8);
    CU_ASSERT_EQUAL(count(c, n, "dns", "threads"), 2);
    /* What each cell has follows its catalog row, so that a new row needs
     * no line here (docs/extending.md, "A workload"). */
    for (size_t i = 0; i < n; i++) {
        const struct gb_cell *x = &c[i];
        const struct gb_workload *w = gb_workload_find(x->workload);
        CU_ASSERT_PTR_NOT_NULL_FATAL(w);
        bool threads = strcmp(x->impl, "threads") == 0, green = strcmp(x->impl, "green") == 0;
        if (!w->uses_loop)
            CU_ASSERT_STRING_EQUAL(x->loop, ""); /* no loop for a raw switch */
        if (threads) {
            CU_ASSERT_STRING_EQUAL(x->sw, ""); /* no switch backend for threads */
            CU_ASSERT_STRING_EQUAL(x->loop, "");
        }
        if (green && w->uses_loop)
            CU_ASSERT_NOT_EQUAL(x->loop[0], '\0');
        if (green && w->loop_only)
            CU_ASSERT_STRING_EQUAL(x->sw, "asm"); /* the loop matters, not the switch */
        /* A work, flag or variant axis: a value exactly where the row takes it. */
        for (int a = 0; a < GB_NAXES; a++) {
            if (gb_axes[a].setup || gb_axes[a].green)
                continue;
            bool takes = (w->axes & (1u << a)) != 0;
            CU_ASSERT_EQUAL(gb_cell_get(x, (enum gb_axis_id)a) >= 0, takes);
            if ((gb_cell_get(x, (enum gb_axis_id)a) >= 0) != takes)
                fprintf(stderr, "\n  %s: %s=%ld, but its row %s it\n", x->key, gb_axes[a].name,
                        gb_cell_get(x, (enum gb_axis_id)a), takes ? "takes" : "does not take");
        }
        if (strcmp(x->workload, "dns") == 0 && threads)
            CU_ASSERT_EQUAL(x->ares, 0); /* no c-ares variant */
        /* --cpus comes from the row: its thread cells on 1 and 2 CPUs
         * (.threads_cpus_1_2), and on a machine with more than 2 CPUs the
         * hub sweep of a row with .hubs (plan.c, axis_values). */
        bool swept = (threads && w->threads_cpus_1_2) || (w->hubs && ncpus() > 2 && (threads || green));
        CU_ASSERT_EQUAL(x->cpus >= 0, swept);
        if ((x->cpus >= 0) != swept)
            fprintf(stderr, "\n  %s: cpus=%ld, but its row %s\n", x->key, x->cpus,
                    swept ? "sweeps --cpus" : "does not sweep --cpus");
        CU_ASSERT_TRUE(x->n > 0);
        for (size_t j = 0; j < i; j++) /* keys are unique */
            CU_ASSERT_STRING_NOT_EQUAL(c[j].key, x->key);
    }
    free(c);
}

static void test_expand_quick_and_filters(void)
{
    struct gb_cell *c;
    size_t n;
    char err[512];
    CU_ASSERT_EQUAL_FATAL(expand("--quick", &c, &n, err, sizeof err), 0);
    CU_ASSERT_EQUAL(count(c, n, "switch", "green"), 3); /* every switch backend */
    CU_ASSERT_EQUAL(count(c, n, "yield", "green"), 1);  /* one pair: asm/libev */
    for (size_t i = 0; i < n; i++) {
        if (strcmp(c[i].impl, "green") == 0 && c[i].loop[0]) {
            CU_ASSERT_STRING_EQUAL(c[i].sw, "asm");
            CU_ASSERT_STRING_EQUAL(c[i].loop, "libev");
        }
    }
    free(c);

    CU_ASSERT_EQUAL_FATAL(expand("--workload=pool --impl=green --switch=asm --loop=libuv "
                                 "--concurrency=5,10 --n=100",
                                 &c, &n, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(n, 4);
    /* Keep-alive belongs to the series, spelled only when on. */
    CU_ASSERT_STRING_EQUAL(c[0].key, "pool green asm/libuv n=100 k=5 d=5ms size=1024");
    CU_ASSERT_STRING_EQUAL(c[1].key, "pool green asm/libuv keep-alive n=100 k=5 d=5ms size=1024");
    CU_ASSERT_EQUAL(c[2].concurrency, 10);
    free(c);

    CU_ASSERT_EQUAL_FATAL(expand("--workload=switch --impl=threads --cpus=1", &c, &n, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_STRING_EQUAL(c[0].key, "switch threads cpus=1 n=10000");
    free(c);

    CU_ASSERT_EQUAL_FATAL(expand("--workload=spawn --switch=asm", &c, &n, err, sizeof err), 0);
    CU_ASSERT_EQUAL(count(c, n, "spawn", "green"), 6); /* asm/libev, asm/libuv x 3 n */
    CU_ASSERT_EQUAL(count(c, n, "spawn", "threads"), 3);
    free(c);
}

static void test_expand_bad(void)
{
    static const struct {
        const char *line, *must;
    } bad[] = {
        { "--switch=boost", "not compiled in" },
        { "--switch=zzz", "unknown backend 'zzz' (valid: asm, asm-nofpu, ucontext, boost" },
        { "--loop=libevent", "--loop: unknown backend 'libevent' (valid: libev, libuv" },
        { "--impl=zzz", "--impl: unknown implementation 'zzz' (valid: green, threads)" },
        { "--impl=gevent", "--impl: peer 'gevent' is not available" },
        { "--impl=green --switch=ucontext --loop=libuv", "no green cell program" },
        { "--cpus=999", "--cpus: 999 is more than the" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct gb_cell *c = NULL;
        size_t n;
        char err[512] = "";
        CU_ASSERT_EQUAL(expand(bad[i].line, &c, &n, err, sizeof err), GB_EXIT_USAGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].must));
        if (!strstr(err, bad[i].must))
            fprintf(stderr, "\n  '%s': %s\n", bad[i].line, err);
        CU_ASSERT_PTR_NULL(c);
    }
    /* No programs at all. */
    struct gb_run_opts o;
    char err[512];
    parse("", &o, err, sizeof err);
    struct gb_programs p;
    gb_programs_scan("/nonexistent-dir", &p);
    struct gb_cell *c;
    size_t n;
    CU_ASSERT_EQUAL(gb_matrix_expand(&o, &p, &c, &n, err, sizeof err), GB_EXIT_USAGE);
}

static void test_peers(void)
{
    /* A peer is found by its program; st implements four workloads only. */
    touch("greenbench-peer-st", 0755);
    struct gb_programs p;
    gb_programs_scan(bindir, &p);
    size_t st = gb_npeers;
    for (size_t i = 0; i < gb_npeers; i++)
        if (strcmp(gb_peers[i].name, "st") == 0)
            st = i;
    CU_ASSERT_FATAL(st < gb_npeers);
    CU_ASSERT_TRUE(p.peer_found[st]);
    /* GB_BUILTIN_PEERS counts the rows written in catalog.c: no more, no
     * fewer (external peers come after them, at run time). */
    CU_ASSERT_EQUAL(gb_npeers, gb_nbuiltin_peers);
    CU_ASSERT_PTR_NOT_NULL(gb_peers[gb_nbuiltin_peers - 1].name);
    CU_ASSERT_PTR_NULL(gb_peers[gb_nbuiltin_peers].name);
    CU_ASSERT_EQUAL(p.npairs, 4); /* not mistaken for a green pair */
    struct gb_cell *c;
    size_t n;
    char err[512];
    CU_ASSERT_EQUAL_FATAL(expand("", &c, &n, err, sizeof err), 0);
    CU_ASSERT_EQUAL(count(c, n, "spawn", "st"), 1); /* largest n only */
    CU_ASSERT_EQUAL(count(c, n, "switch", "st"), 1);
    CU_ASSERT_EQUAL(count(c, n, "joinall", "st"), 0);
    CU_ASSERT_EQUAL(count(c, n, "pool", "st"), 0);
    for (size_t i = 0; i < n; i++)
        if (strcmp(c[i].impl, "st") == 0) {
            CU_ASSERT_STRING_EQUAL(c[i].sw, "");
            CU_ASSERT_STRING_EQUAL(c[i].loop, "");
        }
    free(c);
    CU_ASSERT_EQUAL_FATAL(expand("--impl=st --workload=spawn --full", &c, &n, err, sizeof err), 0);
    CU_ASSERT_EQUAL(n, 4); /* every n of --full */
    free(c);
    /* Asked for a workload it does not run: said so, not a missing build. */
    c = NULL;
    CU_ASSERT_EQUAL(expand("--impl=st --workload=joinall", &c, &n, err, sizeof err), GB_EXIT_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--impl=st: peer st does not implement joinall (it runs switch, "
                                       "yield, spawn, spawn-alive)"));
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_EQUAL_FATAL(expand("--impl=st,threads --workload=joinall,spawn", &c, &n, err, sizeof err), 0);
    CU_ASSERT_EQUAL(count(c, n, "spawn", "st"), 1);
    free(c);
    char path[512];
    snprintf(path, sizeof path, "%s/greenbench-peer-st", bindir);
    unlink(path);
}

static void test_epoll_and_hubs(void)
{
    /* The epoll ceiling, when its program is there, for joinall and pool. */
    touch("greenbench-cell-epoll", 0755);
    struct gb_cell *c;
    size_t n;
    char err[512];
    CU_ASSERT_EQUAL_FATAL(expand("", &c, &n, err, sizeof err), 0);
    CU_ASSERT_EQUAL(count(c, n, "joinall", "epoll"), 3);
    CU_ASSERT_EQUAL(count(c, n, "pool", "epoll"), 8); /* 4 k x keep-alive off and on */
    CU_ASSERT_EQUAL(count(c, n, "spawn", "epoll"), 0);
    free(c);
    c = NULL;
    CU_ASSERT_EQUAL(expand("--impl=epoll --workload=spawn", &c, &n, err, sizeof err), GB_EXIT_USAGE);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(err, "--impl=epoll: the event-driven ceiling implements joinall and pool only"));
    CU_ASSERT_PTR_NULL(c);
    char path[512];
    snprintf(path, sizeof path, "%s/greenbench-cell-epoll", bindir);
    unlink(path);
    CU_ASSERT_EQUAL(expand("--impl=epoll", &c, &n, err, sizeof err), GB_EXIT_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--impl: unknown implementation 'epoll'"));

    /* One hub per CPU: a green cell of joinall, pool or spawn given C CPUs
     * runs C hubs; threads and the workloads without hubs do not. */
    struct gb_cell g;
    gb_cell_init(&g);
    snprintf(g.workload, sizeof g.workload, "joinall");
    snprintf(g.impl, sizeof g.impl, "green");
    g.cpus = 4;
    char **argv = gb_cell_argv(&g, "/p", NULL, NULL, 1);
    bool hubs = false;
    for (char **a = argv; *a; a++)
        hubs |= strcmp(*a, "--hubs=4") == 0;
    CU_ASSERT_TRUE(hubs);
    gb_argv_free(argv);
    snprintf(g.impl, sizeof g.impl, "threads");
    argv = gb_cell_argv(&g, "/p", NULL, NULL, 1);
    for (char **a = argv; *a; a++)
        CU_ASSERT_NOT_EQUAL(strncmp(*a, "--hubs", 6), 0);
    gb_argv_free(argv);
    snprintf(g.impl, sizeof g.impl, "green");
    snprintf(g.workload, sizeof g.workload, "switch");
    argv = gb_cell_argv(&g, "/p", NULL, NULL, 1);
    for (char **a = argv; *a; a++)
        CU_ASSERT_NOT_EQUAL(strncmp(*a, "--hubs", 6), 0);
    gb_argv_free(argv);

    /* The server's CPUs and the cells': one and both on 2 CPUs; a quarter
     * and the rest above. */
    CU_ASSERT_EQUAL(gb_server_cpus(2), 1);
    CU_ASSERT_EQUAL(gb_client_cpus(2), 2);
    CU_ASSERT_EQUAL(gb_server_cpus(3), 1); /* never none */
    CU_ASSERT_EQUAL(gb_client_cpus(3), 2);
    CU_ASSERT_EQUAL(gb_server_cpus(4), 1);
    CU_ASSERT_EQUAL(gb_client_cpus(4), 3);
    CU_ASSERT_EQUAL(gb_server_cpus(16), 4);
    CU_ASSERT_EQUAL(gb_client_cpus(16), 12);
}

static void test_round_order(void)
{
    size_t a[20], same[20], other[20], next[20];
    for (size_t i = 0; i < 20; i++)
        a[i] = same[i] = other[i] = next[i] = i;
    gb_round_order(a, 20, 42, 1);
    gb_round_order(same, 20, 42, 1);
    gb_round_order(other, 20, 43, 1);
    gb_round_order(next, 20, 42, 2);
    int seen[20] = { 0 };
    bool equal = true, differ_seed = false, differ_round = false, identity = true;
    for (size_t i = 0; i < 20; i++) {
        seen[a[i]]++;
        equal &= a[i] == same[i]; /* reproducible from the seed and the round */
        differ_seed |= a[i] != other[i];
        differ_round |= a[i] != next[i]; /* each round a fresh shuffle */
        identity &= a[i] == i;            /* shuffled, not in plan order */
    }
    for (size_t i = 0; i < 20; i++)
        CU_ASSERT_EQUAL(seen[i], 1); /* each cell once */
    CU_ASSERT_TRUE(equal);
    CU_ASSERT_TRUE(differ_seed);
    CU_ASSERT_TRUE(differ_round);
    CU_ASSERT_FALSE(identity);
}

static void test_stop_rule(void)
{
    struct gb_stop_rule r = { .min_reps = 6, .max_reps = 30, .target_ci = 0.05, .budget_s = 100 };
    /* Below the minimum nothing stops, however narrow. */
    CU_ASSERT_EQUAL(gb_stop_check(&r, 10, 5, 0, 0.0, 0.97, 0, 0), GB_STOP_NONE);
    CU_ASSERT_EQUAL(gb_stop_check(&r, 10, 6, 0, 0.04, 0.97, 0, 0), GB_STOP_CONVERGED);
    CU_ASSERT_EQUAL(gb_stop_check(&r, 10, 6, 0, 0.06, 0.97, 0, 0), GB_STOP_NONE);
    CU_ASSERT_EQUAL(gb_stop_check(&r, 10, 6, 0, NAN, 0.97, 0, 0), GB_STOP_NONE);
    CU_ASSERT_EQUAL(gb_stop_check(&r, 10, 5, 1, 0.01, 0.97, 0, 0), GB_STOP_FAILURES);
    CU_ASSERT_EQUAL(gb_stop_check(&r, 10, 30, 0, 0.2, 0.97, 0, 0), GB_STOP_MAX_REPS);
    /* Its own share: 3 x 100 s / 10 cells; the run's: 100 s. */
    CU_ASSERT_EQUAL(gb_stop_check(&r, 10, 8, 0, 0.2, 0.97, 29.9, 50), GB_STOP_NONE);
    CU_ASSERT_EQUAL(gb_stop_check(&r, 10, 8, 0, 0.2, 0.97, 30, 50), GB_STOP_BUDGET);
    CU_ASSERT_EQUAL(gb_stop_check(&r, 10, 8, 0, 0.2, 0.97, 1, 100), GB_STOP_BUDGET);
    r.budget_s = 0; /* none */
    CU_ASSERT_EQUAL(gb_stop_check(&r, 10, 8, 0, 0.2, 0.97, 1e9, 1e9), GB_STOP_NONE);
    r.max_reps = 6; /* --reps 6 */
    CU_ASSERT_EQUAL(gb_stop_check(&r, 10, 6, 0, 0.2, 0.97, 0, 0), GB_STOP_FIXED);
    /* An interval short of 95% never converges, however narrow: one value
     * is a point that covers 0%, five cover 93.75%. */
    struct gb_stop_rule one = { .min_reps = 1, .max_reps = 8, .target_ci = 0.05 };
    CU_ASSERT_EQUAL(gb_stop_check(&one, 10, 1, 0, 0.0, 0.0, 0, 0), GB_STOP_NONE);
    CU_ASSERT_EQUAL(gb_stop_check(&one, 10, 5, 0, 0.01, 0.9375, 0, 0), GB_STOP_NONE);
    CU_ASSERT_EQUAL(gb_stop_check(&one, 10, 6, 0, 0.01, 0.96875, 0, 0), GB_STOP_CONVERGED);
    one.max_reps = 4;
    CU_ASSERT_EQUAL(gb_stop_check(&one, 10, 4, 0, 0.0, 0.875, 0, 0), GB_STOP_MAX_REPS);
    CU_ASSERT_STRING_EQUAL(gb_stop_name(GB_STOP_CONVERGED), "converged");
    CU_ASSERT_STRING_EQUAL(gb_stop_name(GB_STOP_MAX_REPS), "max-reps");
}

static void test_rounds(void)
{
    struct gb_plan pl = { .min_rep_ms = 5 };
    CU_ASSERT_EQUAL(gb_plan_rounds(&pl, "spawn", 10000), 500);   /* 10 us: 500 rounds make 5 ms */
    CU_ASSERT_EQUAL(gb_plan_rounds(&pl, "spawn", 3e6), 2);       /* 3 ms */
    CU_ASSERT_EQUAL(gb_plan_rounds(&pl, "switch", 5e6), 1);      /* long enough */
    CU_ASSERT_EQUAL(gb_plan_rounds(&pl, "spawn", NAN), 1);       /* unknown */
    CU_ASSERT_EQUAL(gb_plan_rounds(&pl, "spawn", 1), GB_MAX_ROUNDS);
    CU_ASSERT_EQUAL(gb_plan_rounds(&pl, "spawn-alive", 10000), 1); /* a memory snapshot */
    pl.min_rep_ms = 0;
    CU_ASSERT_EQUAL(gb_plan_rounds(&pl, "spawn", 10000), 1);
}

static void test_cell_argv_and_json(void)
{
    struct gb_cell c;
    gb_cell_init(&c);
    snprintf(c.workload, sizeof c.workload, "joinall");
    snprintf(c.impl, sizeof c.impl, "green");
    snprintf(c.sw, sizeof c.sw, "asm");
    snprintf(c.loop, sizeof c.loop, "libev");
    c.n = 1000;
    c.delay_ms = 10;
    c.size = 1024;
    gb_cell_make_key(&c);
    CU_ASSERT_STRING_EQUAL(c.key, "joinall green asm/libev n=1000 d=10ms size=1024");
    char **argv = gb_cell_argv(&c, "/bin/prog", "http://127.0.0.1:5/", NULL, 1);
    const char *want[] = { "/bin/prog", "joinall", "--impl=green", "--switch=asm", "--loop=libev",
                           "--n=1000", "--delay-ms=10", "--size=1024", "--url=http://127.0.0.1:5/", NULL };
    for (size_t i = 0; want[i] || argv[i]; i++) {
        CU_ASSERT_PTR_NOT_NULL_FATAL(argv[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(want[i]);
        CU_ASSERT_STRING_EQUAL(argv[i], want[i]);
    }
    gb_argv_free(argv);
    struct gb_buf b;
    gb_buf_init(&b);
    gb_json_dump_new(&b, gb_cell_to_json(&c), GB_JSON_LINE);
    json_t *v;
    CU_ASSERT_EQUAL_FATAL(gb_json_parse(b.data, b.len, &v, NULL, 0), 0);
    CU_ASSERT_TRUE(json_is_null(json_object_get(v, "concurrency")));
    struct gb_cell back;
    CU_ASSERT_EQUAL(gb_cell_from_json(v, &back), 0);
    CU_ASSERT_STRING_EQUAL(back.key, c.key);
    CU_ASSERT_EQUAL(back.concurrency, -1);
    json_decref(v);
    gb_buf_free(&b);
}

static void test_cell_program(void)
{
    struct gb_programs p;
    gb_programs_scan(bindir, &p);
    struct gb_cell c;
    gb_cell_init(&c);
    snprintf(c.workload, sizeof c.workload, "switch");
    snprintf(c.impl, sizeof c.impl, "green");
    snprintf(c.sw, sizeof c.sw, "ucontext");
    char why[256], want[512];
    char *prog = gb_cell_program(&p, &c, why, sizeof why); /* no loop: any program of it */
    snprintf(want, sizeof want, "%s/greenbench-cell-ucontext-libev", bindir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(prog);
    CU_ASSERT_STRING_EQUAL(prog, want);
    free(prog);
    snprintf(c.sw, sizeof c.sw, "asm");
    snprintf(c.loop, sizeof c.loop, "libuv");
    prog = gb_cell_program(&p, &c, why, sizeof why);
    snprintf(want, sizeof want, "%s/greenbench-cell-asm-libuv", bindir);
    CU_ASSERT_STRING_EQUAL(prog, want);
    free(prog);
    snprintf(c.sw, sizeof c.sw, "boost");
    CU_ASSERT_PTR_NULL(gb_cell_program(&p, &c, why, sizeof why));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "boost"));
    snprintf(c.impl, sizeof c.impl, "threads");
    prog = gb_cell_program(&p, &c, why, sizeof why);
    snprintf(want, sizeof want, "%s/greenbench-cell-threads", bindir);
    CU_ASSERT_STRING_EQUAL(prog, want);
    free(prog);
}

static void test_server_line(void)
{
    char url[128];
    CU_ASSERT_EQUAL(gb_server_parse_line("43210", url, sizeof url), 0);
    CU_ASSERT_STRING_EQUAL(url, "http://127.0.0.1:43210/");
    CU_ASSERT_EQUAL(gb_server_parse_line("listening on 127.0.0.1:5555", url, sizeof url), 0);
    CU_ASSERT_STRING_EQUAL(url, "http://127.0.0.1:5555/");
    CU_ASSERT_EQUAL(gb_server_parse_line("url http://127.0.0.1:8080/x", url, sizeof url), 0);
    CU_ASSERT_STRING_EQUAL(url, "http://127.0.0.1:8080/x");
    CU_ASSERT_EQUAL(gb_server_parse_line("ready", url, sizeof url), -EINVAL);
    CU_ASSERT_EQUAL(gb_server_parse_line("port 70000", url, sizeof url), -EINVAL);
}

static void test_status_names(void)
{
    for (int s = GB_ST_OK; s <= GB_ST_INTERRUPTED; s++)
        CU_ASSERT_EQUAL(gb_status_parse(gb_status_name((enum gb_status)s)), s);
    CU_ASSERT_EQUAL(gb_status_parse("exploded"), -1);
}

/* Every catalog row is one the harness can plan and draw: a unique name,
 * known peers, a chart with a template and an x axis the workload takes,
 * preflight counts and preset values only on its axes. */
static void test_catalog(void)
{
    CU_ASSERT_TRUE(gb_nworkloads > 0);
    for (size_t i = 0; i < gb_nworkloads; i++) {
        const struct gb_workload *w = &gb_workloads[i];
        CU_ASSERT_PTR_EQUAL(gb_workload_find(w->name), w);
        CU_ASSERT_PTR_NOT_NULL(w->what);
        CU_ASSERT_PTR_NOT_NULL(w->op);
        CU_ASSERT_TRUE((w->axes & GB_AX_N) != 0);
        CU_ASSERT_EQUAL(w->sockets & ~w->axes, 0);
        CU_ASSERT_EQUAL(w->tasks & ~w->axes, 0);
        size_t peers = 0, listed = w->peers && *w->peers; /* each one listed is known */
        for (size_t k = 0; k < gb_npeers; k++)
            peers += gb_peer_runs(&gb_peers[k], w->name);
        for (const char *p = w->peers ? w->peers : ""; *p; p++)
            listed += *p == ',';
        CU_ASSERT_EQUAL(peers, listed);
        if (w->plot.chart != GB_CHART_NONE) {
            char name[64];
            snprintf(name, sizeof name, "%s.gp", w->plot.kind);
            char *tmpl = gb_template_load(name);
            CU_ASSERT_PTR_NOT_NULL(tmpl);
            free(tmpl);
            CU_ASSERT_PTR_NOT_NULL(w->plot.title);
        }
        if (w->plot.chart == GB_CHART_LINES)
            CU_ASSERT_TRUE(w->plot.x != 0 && (w->plot.x & ~w->axes) == 0);
        for (int p = 0; p < GB_NPRESETS; p++) {
            const struct gb_preset_values *v = &w->preset[p];
            CU_ASSERT_TRUE(gb_preset_count(v->n) > 0 && v->n[0] > 0);
            /* Values for exactly the work axes the workload takes. */
            for (int a = 0; a < GB_NAXES; a++)
                if (!gb_axes[a].setup)
                    CU_ASSERT_EQUAL(gb_preset_count(gb_preset_axis(v, a)) > 0, (w->axes & 1u << a) != 0);
        }
    }
    char *names = gb_workload_names(GB_PICK_SERVER, 0, ", ", " and ");
    CU_ASSERT_STRING_EQUAL(names, "joinall and pool");
    free(names);
    names = gb_workload_names(GB_PICK_ALL, 0, ", ", " or ");
    CU_ASSERT_STRING_EQUAL(names, "switch, yield, spawn, spawn-alive, joinall, pool or dns");
    free(names);
    names = gb_workload_names(GB_PICK_AXIS, GB_AX_CONCURRENCY, ", ", " and ");
    CU_ASSERT_STRING_EQUAL(names, "pool and dns");
    free(names);
}

/* Each axis is one row of axes.def: its option parses into its own field
 * with its own minimum (a flag's values are 0 and 1), and keys, CSV and
 * JSON spell it as the row says. */
static void test_axes(void)
{
    for (int a = 0; a < GB_NAXES; a++) {
        struct gb_run_opts o;
        char line[128], err[512];
        long top = gb_axes[a].flag ? 1 : gb_axes[a].min + 7;
        if (gb_axes[a].green && gb_axes[a].series) /* The stack mode: words, private and copy:K. */
            snprintf(line, sizeof line, "%s=private,copy:%ld", gb_axes[a].option, top);
        else
            snprintf(line, sizeof line, "%s=%ld,%ld", gb_axes[a].option, gb_axes[a].min, top);
        CU_ASSERT_EQUAL(parse(line, &o, err, sizeof err), 0);
        const struct gb_longs *v = gb_opts_axis(&o, a);
        CU_ASSERT_EQUAL(v->n, 2);
        CU_ASSERT_EQUAL(v->v[1], top);
        if (gb_axes[a].flag) {
            snprintf(line, sizeof line, "%s=0,2", gb_axes[a].option);
            CU_ASSERT_EQUAL(parse(line, &o, err, sizeof err), GB_EXIT_USAGE);
            CU_ASSERT_PTR_NOT_NULL(strstr(err, "0 (off) or 1 (on)"));
            snprintf(line, sizeof line, "%s=yes", gb_axes[a].option);
            CU_ASSERT_EQUAL(parse(line, &o, err, sizeof err), GB_EXIT_USAGE);
            CU_ASSERT_PTR_NOT_NULL(strstr(err, "0 (off) or 1 (on)"));
        }
        if (gb_axes[a].green && gb_axes[a].series)
            snprintf(line, sizeof line, "%s=copy:0", gb_axes[a].option);
        else
            snprintf(line, sizeof line, "%s=%ld", gb_axes[a].option, gb_axes[a].min - 1);
        CU_ASSERT_EQUAL(parse(line, &o, err, sizeof err), GB_EXIT_USAGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, gb_axes[a].option));
    }
    struct gb_buf b;
    gb_buf_init(&b);
    gb_csv_cell_header(&b);
    CU_ASSERT_STRING_EQUAL(
        gb_buf_str(&b),
        "cell,workload,impl,switch,loop,n,concurrency,delay_ms,size,keepalive,tls,ares,stacks,live_bytes,cpus,"
        "stack_kib");
    gb_buf_free(&b);
    struct gb_cell c;
    gb_cell_init(&c);
    snprintf(c.workload, sizeof c.workload, "w");
    snprintf(c.impl, sizeof c.impl, "threads");
    for (int a = 0; a < GB_NAXES; a++)
        CU_ASSERT_EQUAL(gb_cell_get(&c, a), -1);
    c.n = 1;
    c.concurrency = 2;
    c.delay_ms = 3;
    c.size = 4;
    c.cpus = 5;
    c.stack_kib = 64;
    gb_cell_make_key(&c);
    CU_ASSERT_STRING_EQUAL(c.key, "w threads cpus=5 stack=64KiB n=1 k=2 d=3ms size=4");
    CU_ASSERT_EQUAL(gb_cell_axis(&c, GB_AX_DELAY), 3);
    CU_ASSERT_EQUAL(gb_cell_axis(&c, 0), -1);
    char **argv = gb_cell_argv(&c, "/p", NULL, NULL, 1);
    const char *want[] = { "/p", "w", "--impl=threads", "--n=1", "--concurrency=2",
                           "--delay-ms=3", "--size=4", "--stack-kib=64", "--cpus=5", NULL };
    for (size_t i = 0; want[i] || argv[i]; i++) {
        CU_ASSERT_PTR_NOT_NULL_FATAL(argv[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(want[i]);
        CU_ASSERT_STRING_EQUAL(argv[i], want[i]);
    }
    gb_argv_free(argv);
    /* The stack mode: a word of the series above 0, as the cells spell it. */
    snprintf(c.impl, sizeof c.impl, "green");
    for (long k = 0; k <= 2; k += 2) {
        c.stacks = k;
        gb_cell_make_key(&c);
        CU_ASSERT_STRING_EQUAL(c.key, k ? "w green copy:2 cpus=5 stack=64KiB n=1 k=2 d=3ms size=4"
                                        : "w green cpus=5 stack=64KiB n=1 k=2 d=3ms size=4");
        argv = gb_cell_argv(&c, "/p", NULL, NULL, 1);
        CU_ASSERT_STRING_EQUAL(argv[7], k ? "--stacks=copy:2" : "--stacks=private");
        gb_argv_free(argv);
    }
}

static CU_TestInfo matrix_tests[] = {
    { "catalog", test_catalog },
    { "axes", test_axes },
    { "options_ok", test_options_ok },
    { "options_bad", test_options_bad },
    { "discovery", test_discovery },
    { "expand_default", test_expand_default },
    { "expand_quick_and_filters", test_expand_quick_and_filters },
    { "expand_bad", test_expand_bad },
    { "peers", test_peers },
    { "epoll_and_hubs", test_epoll_and_hubs },
    { "round_order", test_round_order },
    { "stop_rule", test_stop_rule },
    { "rounds", test_rounds },
    { "cell_argv_and_json", test_cell_argv_and_json },
    { "cell_program", test_cell_program },
    { "server_line", test_server_line },
    { "status_names", test_status_names },
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo green_test_suites[] = {
    { .pName = "harness_matrix", .pInitFunc = setup, .pCleanupFunc = teardown, .pTests = matrix_tests },
    CU_SUITE_INFO_NULL,
};
