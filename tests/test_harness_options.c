/* tests/test_harness_options.c: the command lines of `greenbench run` and
 * `greenbench compare` as getopt_long(3) reads them: an unknown option is
 * "unknown option" wherever it stands (last on the line too, where a hand
 * loop said "needs a value"), never takes the next argument as its value,
 * and a missing value, a flag given one, abbreviations and "--" each get
 * their own answer. */
#include <CUnit/CUnit.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compare.h"
#include "options.h"
#include "util.h"

/* Split a space-separated command line into argv (at most 63 words). */
static int split(char *buf, char **argv)
{
    int argc = 0;
    for (char *t = strtok(buf, " "); t && argc < 63; t = strtok(NULL, " "))
        argv[argc++] = t;
    argv[argc] = NULL;
    return argc;
}

/* `greenbench run` + line, parsed: its return value, the message in err. */
static int parse(const char *line, struct gb_run_opts *o, char *err, size_t errlen)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "run %s", line);
    char *argv[64];
    int argc = split(buf, argv);
    err[0] = '\0';
    return gb_run_opts_parse(argc, argv, o, err, errlen);
}

static void test_run_unknown_option_anywhere(void)
{
    static const char *const lines[] = {
        "--frobnicate",               /* alone */
        "--frobnicate --quick",       /* first */
        "--quick --frobnicate --n=5", /* middle */
        "--quick --frobnicate",       /* last: not "needs a value" */
        "--n=5 --frobnicate",
        "--frobnicate=3",             /* named without its value */
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        struct gb_run_opts o;
        char err[512];
        CU_ASSERT_EQUAL(parse(lines[i], &o, err, sizeof err), GB_EXIT_USAGE);
        CU_ASSERT_STRING_EQUAL(err, "unknown option '--frobnicate' (see greenbench run --help)");
    }
}

/* --foo bar: foo is unknown; bar is not read as its value first. */
static void test_run_unknown_option_takes_no_value(void)
{
    struct gb_run_opts o;
    char err[512];
    CU_ASSERT_EQUAL(parse("--foo bar", &o, err, sizeof err), GB_EXIT_USAGE);
    CU_ASSERT_STRING_EQUAL(err, "unknown option '--foo' (see greenbench run --help)");
    CU_ASSERT_EQUAL(parse("--foo --n=abc", &o, err, sizeof err), GB_EXIT_USAGE);
    CU_ASSERT_STRING_EQUAL(err, "unknown option '--foo' (see greenbench run --help)");
}

static void test_run_values(void)
{
    struct gb_run_opts o;
    char err[512];
    CU_ASSERT_EQUAL(parse("--quick --n", &o, err, sizeof err), GB_EXIT_USAGE);
    CU_ASSERT_STRING_EQUAL(err, "--n needs a value");
    CU_ASSERT_EQUAL(parse("--workload", &o, err, sizeof err), GB_EXIT_USAGE);
    CU_ASSERT_STRING_EQUAL(err, "--workload needs a value");
    /* A value option takes the next argument whatever it looks like. */
    CU_ASSERT_EQUAL(parse("--n --quick", &o, err, sizeof err), GB_EXIT_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--n: '--quick' is not valid"));
    CU_ASSERT_EQUAL(parse("--out --quick", &o, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(o.out, "--quick");
    CU_ASSERT_EQUAL(o.preset, GB_PRESET_DEFAULT);
    CU_ASSERT_EQUAL(parse("--quick=1", &o, err, sizeof err), GB_EXIT_USAGE);
    CU_ASSERT_STRING_EQUAL(err, "--quick takes no value (see greenbench run --help)");
    CU_ASSERT_EQUAL(parse("--n abc", &o, err, sizeof err), GB_EXIT_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--n: 'abc' is not valid"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "(e.g. --n=100,1000 or 10k)"));
    /* Above what every cell takes: refused here, not in every cell. */
    CU_ASSERT_EQUAL(parse("--stack-kib=1048577", &o, err, sizeof err), GB_EXIT_USAGE);
    CU_ASSERT_STRING_EQUAL(err, "--stack-kib: 1048577 is more than any cell takes: at most 1048576");
    CU_ASSERT_EQUAL(parse("--stack-kib=1048576 --live-bytes=32768 --delay-ms=3600000", &o, err, sizeof err),
                    0);
    CU_ASSERT_EQUAL(parse("--live-bytes=0,32769", &o, err, sizeof err), GB_EXIT_USAGE);
    CU_ASSERT_STRING_EQUAL(err, "--live-bytes: 32769 is more than any cell takes: at most 32768");
    CU_ASSERT_EQUAL(parse("--n=3G", &o, err, sizeof err), GB_EXIT_USAGE);
    CU_ASSERT_EQUAL(parse("--n=2147483648", &o, err, sizeof err), GB_EXIT_USAGE);
    CU_ASSERT_STRING_EQUAL(err, "--n: 2147483648 is more than any cell takes: at most 2147483647");
    CU_ASSERT_EQUAL(parse("--tls=2", &o, err, sizeof err), GB_EXIT_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "0 (off) or 1 (on)"));
    /* --budget: "0 or none: no budget", 0 in any unit too. */
    CU_ASSERT_EQUAL(parse("--budget=0s", &o, err, sizeof err), 0);
    CU_ASSERT_EQUAL(o.budget_s, 0);
    CU_ASSERT_EQUAL(parse("--budget=none", &o, err, sizeof err), 0);
    CU_ASSERT_EQUAL(parse("--budget=4m", &o, err, sizeof err), 0);
    CU_ASSERT_EQUAL(o.budget_s, 240);
    CU_ASSERT_EQUAL(parse("--budget=-1s", &o, err, sizeof err), GB_EXIT_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "or 0 or none for no budget"));
    /* A count of CPUs gets an example of its own size. */
    CU_ASSERT_EQUAL(parse("--cpus=abc", &o, err, sizeof err), GB_EXIT_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "(e.g. --cpus=1,2)"));
}

/* --shard takes --peers-dir (docs/peers.md: a shard registers its host's
 * peers files) but not the plan's options, --timeout among them; --resume
 * takes its peers from meta.json. */
static void test_run_shard_options(void)
{
    struct gb_run_opts o;
    char err[512];
    CU_ASSERT_EQUAL(
        parse("--shard C/shards/000.json --peers-dir P --out R --no-plots", &o, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(o.peers_dir, "P");
    CU_ASSERT_EQUAL(parse("--shard C/shards/000.json --timeout 5", &o, err, sizeof err), GB_EXIT_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--shard FILE takes no matrix options"));
    CU_ASSERT_EQUAL(parse("--resume R --peers-dir P", &o, err, sizeof err), GB_EXIT_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--resume DIR takes no matrix options"));
}

/* An axis no chosen workload takes is an error naming those that do; one
 * that some chosen workload takes is not. */
static void test_run_axis_no_workload_takes(void)
{
    struct gb_run_opts o;
    char err[512];
    CU_ASSERT_EQUAL(parse("--workload=switch --stacks=copy:1", &o, err, sizeof err), GB_EXIT_USAGE);
    CU_ASSERT_STRING_EQUAL(err, "--stacks: none of the workloads chosen takes it "
                                "(it applies to yield, spawn, spawn-alive, joinall, pool)");
    CU_ASSERT_EQUAL(parse("--workload=spawn,dns --tls=1", &o, err, sizeof err), GB_EXIT_USAGE);
    CU_ASSERT_STRING_EQUAL(err,
                           "--tls: none of the workloads chosen takes it (it applies to joinall, pool)");
    CU_ASSERT_EQUAL(parse("--workload=spawn,joinall --tls=1 --cpus=1", &o, err, sizeof err), 0);
    CU_ASSERT_EQUAL(parse("--tls=1", &o, err, sizeof err),
                    0); /* Every workload: joinall and pool take it. */
}

/* A green cell's option with no green implementation chosen would change
 * nothing: an error; with green among them, or --impl not given, none. */
static void test_run_green_option_without_green(void)
{
    struct gb_run_opts o;
    char err[512];
    static const char *const lone[] = { "--live-bytes=100", "--stacks=copy:1", "--switch=ucontext",
                                        "--loop=libuv" };
    for (size_t i = 0; i < sizeof lone / sizeof lone[0]; i++) {
        char args[128], want[160];
        snprintf(args, sizeof args, "--workload=yield --impl=threads,go %s", lone[i]);
        CU_ASSERT_EQUAL(parse(args, &o, err, sizeof err), GB_EXIT_USAGE);
        snprintf(want, sizeof want,
                 "%.*s: only green cells take it, and --impl chose none (add green to --impl)",
                 (int)strcspn(lone[i], "="), lone[i]);
        CU_ASSERT_STRING_EQUAL(err, want);
    }
    CU_ASSERT_EQUAL(parse("--workload=yield --impl=threads,green --live-bytes=100", &o, err, sizeof err),
                    0);
    CU_ASSERT_EQUAL(parse("--workload=yield --switch=asm --stacks=copy:1", &o, err, sizeof err), 0);
    CU_ASSERT_EQUAL(parse("--workload=yield --impl=threads --n=10", &o, err, sizeof err), 0);
}

static void test_run_arguments(void)
{
    struct gb_run_opts o;
    char err[512];
    CU_ASSERT_EQUAL(parse("--quick stray", &o, err, sizeof err), GB_EXIT_USAGE);
    CU_ASSERT_STRING_EQUAL(err, "unexpected argument 'stray' (options start with --; see greenbench run --help)");
    CU_ASSERT_EQUAL(parse("-x", &o, err, sizeof err), GB_EXIT_USAGE);
    CU_ASSERT_STRING_EQUAL(err, "unexpected argument '-x' (options start with --; see greenbench run --help)");
    CU_ASSERT_EQUAL(parse("-hx", &o, err, sizeof err), GB_EXIT_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "'-hx'"));
    CU_ASSERT_EQUAL(parse("-h", &o, err, sizeof err), -1);
    CU_ASSERT_EQUAL(parse("--quick --help --frob", &o, err, sizeof err), -1);
    CU_ASSERT_EQUAL(parse("--frob --help", &o, err, sizeof err), GB_EXIT_USAGE);
    /* "--" ends the options; what follows is an argument, and run takes none. */
    CU_ASSERT_EQUAL(parse("--quick --", &o, err, sizeof err), 0);
    CU_ASSERT_EQUAL(o.preset, GB_PRESET_QUICK);
    CU_ASSERT_EQUAL(parse("-- --n=5", &o, err, sizeof err), GB_EXIT_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "unexpected argument '--n=5'"));
}

/* Unambiguous abbreviations name their option; ambiguous ones none. */
static void test_run_abbreviations(void)
{
    struct gb_run_opts o;
    char err[512];
    CU_ASSERT_EQUAL(parse("--con=5,10 --work pool --dry", &o, err, sizeof err), 0);
    CU_ASSERT_EQUAL(o.concurrency.n, 2);
    CU_ASSERT_STRING_EQUAL(o.workloads.v[0], "pool");
    CU_ASSERT_TRUE(o.dry_run);
    CU_ASSERT_EQUAL(parse("--con=0", &o, err, sizeof err), GB_EXIT_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--concurrency: '0' is not valid")); /* the full name */
    CU_ASSERT_EQUAL(parse("--s=1", &o, err, sizeof err), GB_EXIT_USAGE); /* --size, --seed, ... */
    CU_ASSERT_STRING_EQUAL(err, "unknown option '--s' (see greenbench run --help)");
}

/* The command line is read, not reordered: run records it in meta.json. */
static void test_run_argv_untouched(void)
{
    char buf[] = "run stray --quick";
    char *argv[64];
    int argc = split(buf, argv);
    struct gb_run_opts o;
    char err[512];
    CU_ASSERT_EQUAL(gb_run_opts_parse(argc, argv, &o, err, sizeof err), GB_EXIT_USAGE);
    char buf2[] = "run --n 5 --quick --out /tmp/x";
    argc = split(buf2, argv);
    char *copy[64];
    memcpy(copy, argv, sizeof copy);
    CU_ASSERT_EQUAL(gb_run_opts_parse(argc, argv, &o, err, sizeof err), 0);
    for (int i = 0; i < argc; i++)
        CU_ASSERT_PTR_EQUAL(argv[i], copy[i]);
}

/* `greenbench compare` + line in process: its exit status, and what it
 * said on stderr into err. */
static int compare(const char *line, char *err, size_t errlen)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "compare %s", line);
    char *argv[64];
    int argc = split(buf, argv);
    char path[] = "/tmp/gb-test-options-XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    unlink(path);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    int rc = gb_cmd_compare(argc, argv);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    ssize_t n = pread(fd, err, errlen - 1, 0);
    err[n > 0 ? n : 0] = '\0';
    close(fd);
    return rc;
}

static void test_compare_options(void)
{
    char err[1024];
    static const struct {
        const char *line, *said;
    } bad[] = {
        { "a b --frob", "greenbench compare: unknown option '--frob' (see greenbench compare --help)\n" },
        { "--frob a b", "greenbench compare: unknown option '--frob' (see greenbench compare --help)\n" },
        { "--foo bar a b", "greenbench compare: unknown option '--foo' (see greenbench compare --help)\n" },
        { "a b --alpha", "greenbench compare: --alpha needs a value\n" },
        { "a b --csv", "greenbench compare: --csv needs a path\n" },
        { "--csv= a b", "greenbench compare: --csv needs a path\n" },
        { "a b --out", "greenbench compare: --out needs a path\n" },
        { "--alpha=2 a b", "greenbench compare: --alpha: '2' is not valid: give a number between 0 "
                           "and 1 (e.g. 0.05)\n" },
        { "--help=1", "greenbench compare: --help takes no value (see greenbench compare --help)\n" },
        { "a", "greenbench compare: give two run directories: greenbench compare DIR_A DIR_B\n" },
        { "a b c", "greenbench compare: give exactly two run directories\n" },
        { "a -- b c", "greenbench compare: give exactly two run directories\n" },
        { "-x a b", "greenbench compare: unknown option '-x' (see greenbench compare --help)\n" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CU_ASSERT_EQUAL(compare(bad[i].line, err, sizeof err), GB_EXIT_USAGE);
        CU_ASSERT_STRING_EQUAL(err, bad[i].said);
    }
    /* Past the options: the directories are looked at (and are missing). */
    CU_ASSERT_EQUAL(compare("--alp 0.1 /nonexistent-a -- /nonexistent-b", err, sizeof err),
                    GB_EXIT_USAGE);
    CU_ASSERT_STRING_EQUAL(err, "greenbench compare: '/nonexistent-a' is not a directory\n");
}

static CU_TestInfo options_tests[] = {
    { "run_unknown_option_anywhere", test_run_unknown_option_anywhere },
    { "run_unknown_option_takes_no_value", test_run_unknown_option_takes_no_value },
    { "run_values", test_run_values },
    { "run_arguments", test_run_arguments },
    { "run_axis_no_workload_takes", test_run_axis_no_workload_takes },
    { "run_green_option_without_green", test_run_green_option_without_green },
    { "run_abbreviations", test_run_abbreviations },
    { "run_argv_untouched", test_run_argv_untouched },
    { "run_shard_options", test_run_shard_options },
    { "compare_options", test_compare_options },
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo green_test_suites[] = {
    { .pName = "harness_options", .pTests = options_tests },
    CU_SUITE_INFO_NULL,
};
