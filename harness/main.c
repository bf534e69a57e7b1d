/* harness/main.c: the greenbench command: subcommand dispatch, top-level
 * help, and the commands that belong to no stage: `list` (what is built
 * and what each preset runs), `cell` and `server` (exec one cell program or
 * the local server by hand). The stages' commands are run.h's, report.h's
 * and compare.h's. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "cell.h"
#include "check_cell.h"
#include "compare.h"
#include "host.h"
#include "merge.h"
#include "peers_ext.h"
#include "preflight.h"
#include "plan.h"
#include "plot.h"
#include "programs.h"
#include "report.h"
#include "run.h"
#include "util.h"

static const char main_help[] =
    "usage: greenbench COMMAND [OPTIONS]     (greenbench COMMAND --help for each)\n"
    "\n"
    "Benchmarks green threads (coroutines) against OS threads.\n"
    "\n"
    "Commands:\n"
    "  run       run the benchmark matrix into results/<timestamp>/: every cell in its own\n"
    "            process, statistics, gnuplot plots, report.html and report.md\n"
    "  list      the backends compiled in, the peers found (and why one is missing),\n"
    "            the workloads and their parameters\n"
    "  report    rebuild summary.csv, plots and reports of a run from its stored files\n"
    "  compare   compare two runs cell by cell (ratio, interval, U test, verdict)\n"
    "  merge     merge the shards of a campaign run on many machines (run --emit, --shard)\n"
    "  host      print this machine's fingerprint (meta.json's host) as JSON\n"
    "  cell      run one measurement and print its JSON line (what `run` runs)\n"
    "  server    run the local HTTP server of the %s workloads\n"
    "  check-cell\n"
    "            check that a program (an external peer) obeys the cell protocol\n"
    "\n"
    "Exit status: 0 ok, 1 some cells failed (the report is still written), 2 bad usage.\n";

static void print_main_help(FILE *f)
{
    char *served = gb_workload_names(GB_PICK_SERVER, 0, ", ", " and ");
    fprintf(f, main_help, served);
    free(served);
}

static const char list_help[] =
    "usage: greenbench list [--peers-dir DIR] [--peer NAME=FILE.conf ...]\n"
    "\n"
    "Shows the cell programs in the bin directory (GREENBENCH_BIN_DIR, or beside this\n"
    "binary): the context-switch and event-loop backends compiled in, the thread\n"
    "baseline, the local server, the peers found and why one is missing, the external\n"
    "peers registered (peers files in --peers-dir, GREENBENCH_PEERS_DIR or\n"
    "~/.config/greenbench/peers.d; docs/peers.md); then the workloads, their\n"
    "parameters and the values of each preset.\n";

/* "all", or the workloads the peer implements. */
static char *peer_workloads(const struct gb_peer *peer)
{
    struct gb_buf b;
    gb_buf_init(&b);
    size_t n = 0;
    for (size_t w = 0; w < gb_nworkloads; w++)
        if (gb_peer_runs(peer, gb_workloads[w].name))
            gb_buf_printf(&b, "%s%s", n++ ? "," : "", gb_workloads[w].name);
    char *list = gb_xstrdup(n == gb_nworkloads ? "all" : gb_buf_str(&b));
    gb_buf_free(&b);
    return list;
}

/* getopt_long's values for the long options here, above every char. */
enum {
    OPT_HELP = 256,
    OPT_VERSION,
    OPT_IMPL,
    OPT_SWITCH,
    OPT_LOOP,
    OPT_URL,
    OPT_PASSED,
    OPT_PEER,
    OPT_PEERS_DIR
};

/* list's command line: the external peers it names registered; 0, -1
 * after --help (printed), or GB_EXIT_USAGE said on stderr. */
static int parse_list(int argc, char **argv)
{
    static const struct option lo[] = {
        { "help", no_argument, NULL, OPT_HELP },
        { "peer", required_argument, NULL, OPT_PEER },
        { "peers-dir", required_argument, NULL, OPT_PEERS_DIR },
        { NULL, 0, NULL, 0 },
    };
    opterr = 0;
    optind = 0;
    char *specs[GB_MAX_PEERS];
    size_t nspecs = 0;
    const char *dir = NULL;
    int c, at = 1;
    while ((c = getopt_long(argc, argv, "-:h", lo, NULL)) != -1) {
        const char *a = argv[at];
        switch (c) {
        case 'h':
            if (strcmp(a, "-h") != 0)
                goto unknown;
            /* fall through */
        case OPT_HELP: fputs(list_help, stdout); return -1;
        case OPT_PEER:
            if (nspecs < GB_MAX_PEERS)
                specs[nspecs++] = optarg;
            break;
        case OPT_PEERS_DIR: dir = optarg; break;
        case 1:
            fprintf(stderr, "greenbench list: unexpected argument '%s' (see greenbench list --help)\n",
                    optarg);
            return GB_EXIT_USAGE;
        case ':':
            fprintf(stderr, "greenbench list: %s needs a value (see greenbench list --help)\n", a);
            return GB_EXIT_USAGE;
        default:
        unknown:
            fprintf(stderr, "greenbench list: unknown option '%s' (see greenbench list --help)\n", a);
            return GB_EXIT_USAGE;
        }
        at = optind;
    }
    if (optind < argc) { /* after "--" */
        fprintf(stderr, "greenbench list: unexpected argument '%s' (see greenbench list --help)\n",
                argv[optind]);
        return GB_EXIT_USAGE;
    }
    char err[1024];
    if (gb_peers_ext_load(dir, specs, nspecs, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "greenbench list: %s\n", err);
        return GB_EXIT_USAGE;
    }
    return 0;
}

/* list: what was built (backends, cell programs, servers). */
static void list_programs(const struct gb_programs *p)
{
    printf("Context-switch backends compiled in:");
    for (size_t i = 0; i < p->nswitches; i++)
        printf("%s %s", i ? "," : "", p->switches[i]);
    printf("%s\n", p->nswitches ? "" : " none");
    for (const char *const *k = gb_known_switches; *k; k++)
        if (!gb_name_in(p->switches, p->nswitches, *k))
            printf("  %s: not built (see the cmake summary: `greenbench: skipped ...`)\n", *k);
    printf("Event-loop backends compiled in:");
    for (size_t i = 0; i < p->nloops; i++)
        printf("%s %s", i ? "," : "", p->loops[i]);
    printf("%s\n", p->nloops ? "" : " none");
    for (const char *const *k = gb_known_loops; *k; k++)
        if (!gb_name_in(p->loops, p->nloops, *k))
            printf("  %s: not built\n", *k);
    printf("Green cell programs (switch/loop):");
    for (size_t i = 0; i < p->npairs; i++)
        printf("%s %s/%s", i ? "," : "", p->pairs[i].sw, p->pairs[i].loop);
    printf("%s\n", p->npairs ? "" : " none");
    printf("Thread baseline: %s\n",
           p->threads ? "greenbench-cell-threads" : "missing (greenbench-cell-threads not built)");
    char *served = gb_workload_names(GB_PICK_SERVER, 0, ", ", " and ");
    if (p->server)
        printf("Local HTTP server: greenbench-server\n");
    else
        printf("Local HTTP server: missing (greenbench-server not built; %s will fail)\n", served);
    free(served);
    if (p->dns)
        printf("Local DNS server: greenbench-dns (dns runs in its network namespace, --private-net)\n");
    else
        printf("Local DNS server: missing (greenbench-dns not built; dns will fail)\n");
}

/* list: the peers, built-in and external, and the implementations. */
static void list_peers(const struct gb_programs *p)
{
    printf("\nPeers:\n");
    for (size_t i = 0; i < gb_npeers; i++) {
        if (gb_peer_external(&gb_peers[i])) {
            char *wl = peer_workloads(&gb_peers[i]);
            printf("  %-8s external (%s): %s%s; workloads: %s\n", gb_peers[i].name, gb_peers[i].source,
                   p->peer_found[i] ? "" : "missing: ",
                   p->peer_found[i] ? gb_peers[i].program : gb_peers[i].note, wl);
            printf("  %-8s   its figures include: %s\n", "", gb_peers[i].includes);
            free(wl);
        } else if (p->peer_found[i]) {
            char *wl = peer_workloads(&gb_peers[i]);
            printf("  %-8s found: %s; workloads: %s\n", gb_peers[i].name, gb_peers[i].program, wl);
            free(wl);
        } else
            printf("  %-8s missing: %s %s (apt-get install %s, then rebuild)\n", gb_peers[i].name,
                   gb_peers[i].program, gb_peers[i].note, gb_peers[i].package);
    }
    const char *why;
    for (size_t i = 0; gb_peers_ext_broken(i, &why); i++) /* the default folder's, skipped */
        printf("  %-8s broken, not registered: %s\n", gb_peers_ext_broken(i, NULL), why);
    printf("\nImplementations (--impl): green, threads%s", p->epoll ? ", epoll (joinall and pool)" : "");
    for (size_t i = 0; i < gb_npeers; i++)
        if (p->peer_found[i])
            printf(", %s", gb_peers[i].name);
}

/* list: every workload, its parameters and each preset's values. */
static void list_workloads(void)
{
    printf("\n\nWorkloads (--workload), their parameters, and each preset's values:\n");
    for (size_t w = 0; w < gb_nworkloads; w++) {
        const struct gb_workload *wk = &gb_workloads[w];
        printf("  %s: %s\n", wk->name, wk->what);
        char unit[128];
        gb_workload_unit(wk, unit, sizeof unit);
        printf("      green: %s; unit: %s\n",
               wk->loop_only   ? "every loop backend, on one switch (asm where built; --switch for others)"
               : wk->uses_loop ? "every switch x loop backend"
                               : "every switch backend (no loop)",
               unit);
        for (int a = 0; a < GB_NAXES; a++)
            if (gb_axes[a].variant && (wk->axes & 1u << a))
                printf("      %s=1 (a variant, compared with %s=0): %s; the others run %s=0 only\n",
                       gb_axes[a].key, gb_axes[a].key, wk->variant_impls, gb_axes[a].key);
        for (int pr = GB_PRESET_DEFAULT; pr <= GB_PRESET_FULL; pr++) {
            struct gb_buf b;
            gb_buf_init(&b);
            gb_preset_describe((enum gb_preset)pr, wk->name, &b);
            printf("      %-8s %s%s\n", gb_preset_name((enum gb_preset)pr), gb_buf_str(&b),
                   wk->threads_cpus_1_2 ? " (threads: cpus=1,2)" : "");
            gb_buf_free(&b);
        }
    }
}

/* list: the presets' stop rules, and gnuplot. */
static void list_presets(void)
{
    char *no_loop = gb_workload_names(GB_PICK_NO_LOOP, 0, ", ", " and ");
    printf("\nPresets (repetitions per cell after one warm-up; more while the median's interval, or "
           "that of a cell doing the same work, is wider than the target):\n");
    for (int pr = GB_PRESET_DEFAULT; pr <= GB_PRESET_FULL; pr++) {
        struct gb_stop_rule r = gb_preset_stop_rule((enum gb_preset)pr);
        char budget[32] = "none";
        if (r.budget_s > 0)
            gb_format_duration(budget, sizeof budget, r.budget_s);
        printf("  %-8s %d to %d repetitions, target ±%.3g%%, budget %s, timeout %.0f s%s%s\n",
               gb_preset_name((enum gb_preset)pr), r.min_reps, r.max_reps, r.target_ci * 100, budget,
               gb_preset_timeout((enum gb_preset)pr),
               pr == GB_PRESET_QUICK ? "; one green pair except for " : "",
               pr == GB_PRESET_QUICK ? no_loop : "");
    }
    free(no_loop);
    const char *gp = gb_gnuplot();
    printf("gnuplot: %s\n", gp ? gp : "not found (plots are skipped; Debian: apt-get install gnuplot-nox)");
}

static int cmd_list(int argc, char **argv)
{
    int rc = parse_list(argc, argv);
    if (rc != 0)
        return rc < 0 ? GB_EXIT_OK : rc;
    char bin[4096];
    gb_bin_dir(bin, sizeof bin);
    struct gb_programs p;
    gb_programs_scan(bin, &p);
    printf("greenbench %s; cell programs in %s\n\n", GB_VERSION, bin);
    list_programs(&p);
    list_peers(&p);
    list_workloads();
    list_presets();
    return GB_EXIT_OK;
}

/* ---- greenbench host ---- */

static const char host_help[] =
    "usage: greenbench host\n"
    "\n"
    "Prints this machine's fingerprint as JSON, as every run records it in meta.json's\n"
    "host: the id (GREENBENCH_HOST_ID, else the host name), CPU model, cores and SMT,\n"
    "kernel, virtualisation, cpufreq governor, compiler, build commit and hash, the\n"
    "backends built, the measured system-call and page-fault costs, and the Slurm and\n"
    "GNU parallel job ids when set. run-parallel.sh runs it on every host first.\n";

static int cmd_host(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(host_help, stdout);
        return GB_EXIT_OK;
    }
    if (argc > 1) {
        fprintf(stderr, "greenbench host: unexpected argument '%s' (see greenbench host --help)\n",
                argv[1]);
        return GB_EXIT_USAGE;
    }
    char bin[4096];
    gb_bin_dir(bin, sizeof bin);
    struct gb_programs p;
    gb_programs_scan(bin, &p);
    struct gb_preflight pf;
    gb_preflight(0, 0, &pf);
    struct gb_buf b;
    gb_buf_init(&b);
    gb_json_dump_new(&b, gb_host_to_json(&pf, &p), JSON_COMPACT | JSON_PRESERVE_ORDER);
    printf("%s\n", gb_buf_str(&b));
    gb_buf_free(&b);
    return GB_EXIT_OK;
}

/* ---- greenbench cell / greenbench server ---- */

static const char cell_help[] =
    "usage: greenbench cell WORKLOAD --impl=green|threads|epoll|PEER [--switch=S] [--loop=L]\n"
    "                       [--n=N] [--concurrency=K] [--delay-ms=D] [--size=BYTES]\n"
    "                       [--url=URL] [--stack-kib=S] [--cpus=C] [--rounds=R]\n"
    "                       [--keepalive=0|1] [--tls=0|1] [--cacert=FILE] [--ares=0|1]\n"
    "                       [--hubs=H]\n"
    "\n"
    "Runs one measurement: execs the cell program for the implementation from the\n"
    "bin directory (greenbench-cell-<switch>-<loop> for green, greenbench-cell-threads\n"
    "for threads, greenbench-cell-epoll for epoll; the program's --help says what each\n"
    "option does), which prints commentary on stderr and one JSON object on its\n"
    "last stdout line. Green defaults: --switch=asm, --loop=libev (for the %s\n"
    "workload any loop's program of that switch backend). The bin directory is\n"
    "GREENBENCH_BIN_DIR or the directory of this binary. See `greenbench list`.\n";

/* What `cell` needs of its command line to pick the program: the workload
 * (the first argument that is no option), --impl, --switch and --loop.
 * Everything else is the program's, which gets the whole command line
 * and reports what is wrong with it in its JSON line (docs/cell-protocol.md),
 * so an unknown option, a second argument or another option's missing
 * value is skipped here. 0, -1 after --help, or GB_EXIT_USAGE said on stderr. */
static int parse_cell(int argc, char **argv, const char **workload, const char **impl,
                      const char **sw, const char **loop)
{
    struct option lo[] = {
        { "impl", required_argument, NULL, OPT_IMPL },
        { "switch", required_argument, NULL, OPT_SWITCH },
        { "loop", required_argument, NULL, OPT_LOOP },
        { "url", required_argument, NULL, OPT_URL },
        { "cacert", required_argument, NULL, OPT_PASSED },
        { "help", no_argument, NULL, OPT_HELP },
#define GB_AXIS(ID, field, option, ...) { option + 2, required_argument, NULL, OPT_PASSED },
#include "axes.def"
#undef GB_AXIS
        { NULL, 0, NULL, 0 },
    };
    opterr = 0;
    optind = 0;
    /* "-": arguments in their order, argv untouched (it is passed on). */
    int c, at = 1;
    while ((c = getopt_long(argc, argv, "-:h", lo, NULL)) != -1) {
        switch (c) {
        case 1:
            if (*workload == NULL)
                *workload = optarg;
            break;
        case OPT_IMPL: *impl = optarg; break;
        case OPT_SWITCH: *sw = optarg; break;
        case OPT_LOOP: *loop = optarg; break;
        case 'h':
            if (strcmp(argv[at], "-h") != 0) /* -hx: the program's to refuse */
                break;
            /* fall through */
        case OPT_HELP: return -1;
        case ':':
            if (optopt == OPT_IMPL) {
                fprintf(stderr, "greenbench cell: --impl needs a value (green, threads or a peer)\n");
                return GB_EXIT_USAGE;
            }
            break;
        }
        at = optind;
    }
    if (*workload == NULL && optind < argc) /* after "--" */
        *workload = argv[optind];
    return 0;
}

/* Become prog with this command's own arguments (argv[0] is the
 * subcommand). Returns only if the exec failed, saying so; frees prog. */
static int exec_as(char *prog, int argc, char **argv, const char *cmd)
{
    char **args = gb_xcalloc((size_t)argc + 1, sizeof *args);
    args[0] = prog;
    for (int i = 1; i < argc; i++)
        args[i] = argv[i];
    execv(prog, args);
    fprintf(stderr, "greenbench %s: cannot run %s: %s\n", cmd, prog, strerror(errno));
    free(args);
    free(prog);
    return GB_EXIT_FAILED;
}

static int cmd_cell(int argc, char **argv)
{
    const char *workload = NULL, *impl = NULL, *sw = NULL, *loop = NULL;
    int rc = argc < 2 ? -1 : parse_cell(argc, argv, &workload, &impl, &sw, &loop);
    if (rc == -1) {
        char *no_loop = gb_workload_names(GB_PICK_NO_LOOP, 0, ", ", " and ");
        fprintf(argc < 2 ? stderr : stdout, cell_help, no_loop);
        free(no_loop);
        return argc < 2 ? GB_EXIT_USAGE : GB_EXIT_OK;
    }
    if (rc != 0)
        return rc;
    struct gb_cell c;
    gb_cell_init(&c);
    if (workload == NULL || gb_workload_find(workload) == NULL) {
        if (workload)
            fprintf(stderr, "greenbench cell: unknown workload '%s' (valid:", workload);
        else
            fprintf(stderr, "greenbench cell: which workload? (valid:");
        for (size_t i = 0; i < gb_nworkloads; i++)
            fprintf(stderr, "%s %s", i ? "," : "", gb_workloads[i].name);
        fprintf(stderr, ")\n");
        return GB_EXIT_USAGE;
    }
    snprintf(c.workload, sizeof c.workload, "%s", workload);
    if (impl == NULL) {
        fprintf(stderr, "greenbench cell: --impl is required (green, threads, epoll or a peer)\n");
        return GB_EXIT_USAGE;
    }
    snprintf(c.impl, sizeof c.impl, "%s", impl);
    snprintf(c.sw, sizeof c.sw, "%s", sw ? sw : "");
    snprintf(c.loop, sizeof c.loop, "%s", loop ? loop : "");
    char bin[4096];
    gb_bin_dir(bin, sizeof bin);
    struct gb_programs p;
    gb_programs_scan(bin, &p);
    char why[512];
    char *prog = gb_cell_program(&p, &c, why, sizeof why);
    if (prog == NULL) {
        fprintf(stderr, "greenbench cell: %s\n", why);
        return GB_EXIT_USAGE;
    }
    return exec_as(prog, argc, argv, "cell");
}

/* Whether server's command line asks for --help (or -h), read with the
 * server's own options: only for the usage said when the server is not
 * built. A built one gets the command line and judges it itself. */
static bool server_help_asked(int argc, char **argv)
{
    static const struct option lo[] = {
        { "delay-ms", required_argument, NULL, OPT_PASSED },
        { "size", required_argument, NULL, OPT_PASSED },
        { "port", required_argument, NULL, OPT_PASSED },
        { "cpu", required_argument, NULL, OPT_PASSED },
        { "exit-on-stdin-eof", no_argument, NULL, OPT_PASSED },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    opterr = 0;
    optind = 0;
    int c, at = 1;
    while ((c = getopt_long(argc, argv, "-:h", lo, NULL)) != -1) {
        if (c == OPT_HELP || (c == 'h' && strcmp(argv[at], "-h") == 0))
            return true;
        at = optind;
    }
    return false;
}

static int cmd_server(int argc, char **argv)
{
    char bin[4096];
    gb_bin_dir(bin, sizeof bin);
    char *prog = gb_xasprintf("%s/greenbench-server", bin);
    if (!gb_is_executable(prog)) {
        bool help = server_help_asked(argc, argv);
        char *served = gb_workload_names(GB_PICK_SERVER, 0, ", ", " and ");
        fprintf(help ? stdout : stderr,
                "usage: greenbench server [--delay-ms D] [--size BYTES]\n\n"
                "Runs the local HTTP server of the %s workloads: it listens on\n"
                "127.0.0.1, on a port the kernel picks, prints the port on its first stdout\n"
                "line, and answers every request after D ms with BYTES bytes.\n"
                "%s is not built yet.\n", served, prog);
        free(served);
        free(prog);
        return help ? GB_EXIT_OK : GB_EXIT_FAILED;
    }
    return exec_as(prog, argc, argv, "server");
}

int main(int argc, char **argv)
{
    gb_argc = argc;
    gb_argv = argv;
    /* "+": the options before the command are greenbench's; the command's
     * are its own. */
    static const struct option lo[] = {
        { "help", no_argument, NULL, OPT_HELP },
        { "version", no_argument, NULL, OPT_VERSION },
        { NULL, 0, NULL, 0 },
    };
    opterr = 0;
    optind = 0;
    switch (getopt_long(argc, argv, "+:h", lo, NULL)) {
    case -1: break;
    case 'h':
        if (strcmp(argv[1], "-h") != 0) /* -hx */
            goto unknown;
        /* fall through */
    case OPT_HELP: print_main_help(stdout); return GB_EXIT_OK;
    case OPT_VERSION: printf("greenbench %s\n", GB_VERSION); return GB_EXIT_OK;
    case '?':
        if (optopt == OPT_HELP || optopt == OPT_VERSION) {
            fprintf(stderr, "greenbench: %s takes no value (see greenbench --help)\n",
                    optopt == OPT_HELP ? "--help" : "--version");
            return GB_EXIT_USAGE;
        }
        /* fall through */
    default:
    unknown:
        fprintf(stderr, "greenbench: unknown option '%s' (see greenbench --help)\n", argv[1]);
        return GB_EXIT_USAGE;
    }
    if (optind >= argc) {
        print_main_help(stderr);
        return GB_EXIT_USAGE;
    }
    const char *cmd = argv[optind];
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
        { "run", gb_cmd_run },         { "list", cmd_list }, { "report", gb_cmd_report },
        { "compare", gb_cmd_compare }, { "cell", cmd_cell }, { "server", cmd_server },
        { "merge", gb_cmd_merge },     { "host", cmd_host }, { "check-cell", gb_cmd_check_cell },
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(cmd, cmds[i].name) == 0)
            return cmds[i].fn(argc - optind, argv + optind);
    if (strcmp(cmd, "help") == 0) {
        print_main_help(stdout);
        return GB_EXIT_OK;
    }
    fprintf(stderr,
            "greenbench: unknown command '%s' (valid: run, list, report, compare, merge, "
            "host, cell, server, check-cell; greenbench --help)\n",
            cmd);
    return GB_EXIT_USAGE;
}

