/* tests/test_harness_io.c: JSON reading and writing, CSV quoting (RFC 4180),
 * and the process helper every child of the harness goes through
 * (harness/process.h): capture limits, deadlines, groups, the stop flag,
 * the samples of a child's OS threads (against the fake cell program). */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "csv.h"
#include "json.h"
#include "preflight.h"
#include "process.h"
#include "util.h"

#ifndef GB_TEST_FAKE_CELL
#error "GB_TEST_FAKE_CELL: path of a fake cell program"
#endif

static json_t *parse(const char *s)
{
    json_t *v = NULL;
    char err[128];
    if (gb_json_parse(s, strlen(s), &v, err, sizeof err) != 0)
        return NULL;
    return v;
}

static void test_json_parse_values(void)
{
    json_t *v = parse(" {\"a\": 1, \"b\": [true, false, null], \"c\": \"x\\ty\", "
                      "\"d\": -1.5e3, \"e\": {}, \"f\": [], \"g\": 0} ");
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_TRUE(json_is_object(v));
    CU_ASSERT_EQUAL(json_object_size(v), 7);
    CU_ASSERT_DOUBLE_EQUAL(gb_json_num(v, "a", 0), 1, 0);
    CU_ASSERT_DOUBLE_EQUAL(gb_json_num(v, "d", 0), -1500, 0);
    CU_ASSERT_DOUBLE_EQUAL(gb_json_num(v, "g", 7), 0, 0);
    CU_ASSERT_STRING_EQUAL(gb_json_str(v, "c", ""), "x\ty");
    const json_t *b = json_object_get(v, "b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(json_array_size(b), 3);
    CU_ASSERT_TRUE(json_is_true(json_array_get(b, 0)));
    CU_ASSERT_TRUE(json_is_null(json_array_get(b, 2)));
    CU_ASSERT_DOUBLE_EQUAL(gb_json_num(v, "missing", 42), 42, 0);
    CU_ASSERT_STRING_EQUAL(gb_json_str(v, "a", "dflt"), "dflt"); /* wrong type */
    CU_ASSERT_TRUE(json_is_object(json_object_get(v, "e")));
    json_decref(v);
}

static void test_json_unicode(void)
{
    /* \u00e9 = é (2 bytes), \ud83d\ude00 = U+1F600 (4 bytes). */
    json_t *v = parse("\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\/\"");
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_STRING_EQUAL(json_string_value(v), "caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\" /");
    json_decref(v);
    CU_ASSERT_PTR_NULL(parse("\"\\ud83d\"")); /* lone surrogate */
}

static void test_json_rejects(void)
{
    const char *bad[] = {
        "", "{", "{\"a\":}", "{\"a\" 1}", "[1,]", "[1 2]", "01", "1.", "-", "+1", "tru",
        "\"abc", "\"a\nb\"", "{\"a\":1}x", "{a:1}", "'s'", "[\"\\x\"]", "nul", "1e", ".5",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *v = NULL;
        char err[128] = "";
        int rc = gb_json_parse(bad[i], strlen(bad[i]), &v, err, sizeof err);
        CU_ASSERT_EQUAL(rc, -EINVAL);
        CU_ASSERT_PTR_NULL(v);
        CU_ASSERT_TRUE(err[0] != '\0'); /* says where and what */
    }
    /* Nesting is bounded. */
    char deep[300];
    memset(deep, '[', 200);
    deep[200] = '\0';
    CU_ASSERT_PTR_NULL(parse(deep));
}

static void test_json_write_roundtrip(void)
{
    struct gb_buf b;
    gb_buf_init(&b);
    json_t *o = json_object();
    json_object_set_new(o, "s", gb_json_text("a\"b\\c\n\x01 \xc3\xa9"));
    json_object_set_new(o, "bad_utf8", gb_json_text("x\xff\xfey"));
    json_object_set_new(o, "n", gb_json_number(0.1));
    json_object_set_new(o, "big", gb_json_number(123456789012.0));
    json_object_set_new(o, "nan", gb_json_number(NAN));
    json_object_set_new(o, "i", json_integer(-42));
    json_t *arr = json_array();
    json_array_append_new(arr, json_true());
    json_array_append_new(arr, json_null());
    json_array_append_new(arr, gb_json_text(NULL));
    json_object_set_new(o, "arr", arr);
    json_object_set_new(o, "empty", json_object());
    gb_json_dump_new(&b, o, GB_JSON_LINE);
    const char *text = gb_buf_str(&b);
    CU_ASSERT_PTR_NULL(strchr(text, '\n')); /* one line: fit for JSONL */
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\\u0001"));
    json_t *v = parse(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_STRING_EQUAL(gb_json_str(v, "s", ""), "a\"b\\c\n\x01 \xc3\xa9");
    CU_ASSERT_STRING_EQUAL(gb_json_str(v, "bad_utf8", ""), "x\xef\xbf\xbd\xef\xbf\xbdy");
    CU_ASSERT_DOUBLE_EQUAL(gb_json_num(v, "n", 0), 0.1, 0); /* exact round trip */
    CU_ASSERT_DOUBLE_EQUAL(gb_json_num(v, "big", 0), 123456789012.0, 0);
    CU_ASSERT_TRUE(json_is_null(json_object_get(v, "nan")));
    CU_ASSERT_DOUBLE_EQUAL(gb_json_num(v, "i", 0), -42, 0);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(v, "arr")), 3);
    /* Writing the tree again gives the same text. */
    struct gb_buf b2;
    gb_buf_init(&b2);
    gb_json_dump_new(&b2, gb_json_normal(v), GB_JSON_LINE);
    CU_ASSERT_STRING_EQUAL(gb_buf_str(&b2), text);
    /* Pretty printing parses to the same tree too. */
    struct gb_buf b3;
    gb_buf_init(&b3);
    gb_json_dump_new(&b3, gb_json_normal(v), GB_JSON_DOC);
    CU_ASSERT_PTR_NOT_NULL(strchr(gb_buf_str(&b3), '\n'));
    json_t *v3 = parse(gb_buf_str(&b3));
    CU_ASSERT_PTR_NOT_NULL(v3);
    CU_ASSERT_STRING_EQUAL(gb_json_str(v3, "s", ""), "a\"b\\c\n\x01 \xc3\xa9");
    json_decref(v3);
    json_decref(v);
    gb_buf_free(&b);
    gb_buf_free(&b2);
    gb_buf_free(&b3);
}

static void test_csv_quoting(void)
{
    struct gb_buf b;
    gb_buf_init(&b);
    gb_csv_field(&b, "plain");
    gb_csv_sep(&b);
    gb_csv_field(&b, "a,b");
    gb_csv_sep(&b);
    gb_csv_field(&b, "say \"hi\"");
    gb_csv_sep(&b);
    gb_csv_field(&b, "two\nlines");
    gb_csv_sep(&b);
    gb_csv_field(&b, "");
    gb_csv_sep(&b);
    gb_csv_num(&b, 1.5);
    gb_csv_sep(&b);
    gb_csv_num(&b, NAN);
    gb_csv_eol(&b);
    CU_ASSERT_STRING_EQUAL(gb_buf_str(&b),
                           "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",,1.5,\r\n");
    struct gb_csv c;
    CU_ASSERT_EQUAL(gb_csv_parse(gb_buf_str(&b), &c), 1);
    CU_ASSERT_EQUAL_FATAL(c.ncols[0], 7);
    CU_ASSERT_STRING_EQUAL(c.cells[0][1], "a,b");
    CU_ASSERT_STRING_EQUAL(c.cells[0][2], "say \"hi\"");
    CU_ASSERT_STRING_EQUAL(c.cells[0][3], "two\nlines");
    CU_ASSERT_STRING_EQUAL(c.cells[0][4], "");
    CU_ASSERT_STRING_EQUAL(c.cells[0][6], "");
    gb_csv_free(&c);
    gb_buf_free(&b);
}

static void test_csv_parse(void)
{
    struct gb_csv c;
    CU_ASSERT_EQUAL(gb_csv_parse("a,b\r\n1,2\n\"x\r\ny\",3\r\n", &c), 3);
    CU_ASSERT_STRING_EQUAL(c.cells[2][0], "x\r\ny");
    CU_ASSERT_STRING_EQUAL(c.cells[1][1], "2");
    gb_csv_free(&c);
    CU_ASSERT_EQUAL(gb_csv_parse("\"open,1\n", &c), -EINVAL);
    CU_ASSERT_EQUAL(gb_csv_parse("a\"b,1\n", &c), -EINVAL);
    CU_ASSERT_EQUAL(gb_csv_parse("\"a\"b,1\n", &c), -EINVAL);
    CU_ASSERT_EQUAL(gb_csv_parse("", &c), 0);
}

/* ---- the process helper ---- */

/* Run sh -c script with o and w; the end in *e (the caller frees it). */
static int proc_sh(const char *script, struct gb_proc_opts *o, const struct gb_proc_wait_opts *w,
                   struct gb_proc_end *e)
{
    char *argv[] = { "/bin/sh", "-c", (char *)script, NULL };
    struct gb_proc p;
    char err[128];
    int rc = gb_proc_start(argv, o, &p, err, sizeof err);
    if (rc != 0)
        return rc;
    gb_proc_wait(&p, w, e);
    return p.pid == 0 && p.out_fd < 0 && p.err_fd < 0 ? 0 : -1;
}

static void test_proc_captures_within_limits(void)
{
    struct gb_proc_opts o = { .out = GB_PROC_PIPE, .err = GB_PROC_PIPE };
    struct gb_proc_wait_opts w = { .timeout_s = 10, .out_keep = 4, .err_keep = 100 };
    struct gb_proc_end e;
    CU_ASSERT_EQUAL_FATAL(proc_sh("printf 0123456789; printf oops >&2; exit 3", &o, &w, &e), 0);
    CU_ASSERT_TRUE(WIFEXITED(e.status) && WEXITSTATUS(e.status) == 3);
    CU_ASSERT_STRING_EQUAL(gb_buf_str(&e.out), "6789"); /* the last bytes */
    CU_ASSERT_STRING_EQUAL(gb_buf_str(&e.err), "oops");
    CU_ASSERT_FALSE(e.timed_out || e.stopped);
    CU_ASSERT_TRUE(e.elapsed_ns > 0);
    gb_proc_end_free(&e);
    w.keep_head = true;
    o.err = GB_PROC_STDOUT;
    w.out_keep = 6;
    CU_ASSERT_EQUAL_FATAL(proc_sh("printf 012; printf 345 >&2; printf 6789", &o, &w, &e), 0);
    CU_ASSERT_STRING_EQUAL(gb_buf_str(&e.out), "012345"); /* the first bytes, stderr merged */
    gb_proc_end_free(&e);
}

static void test_proc_timeout_kills_the_group(void)
{
    /* A grandchild in the group holds the pipes: killing the group ends it. */
    struct gb_proc_opts o = { .own_group = true, .out = GB_PROC_PIPE, .err = GB_PROC_PIPE };
    struct gb_proc_wait_opts w = { .timeout_s = 0.2, .out_keep = 100, .linger_s = 5 };
    struct gb_proc_end e;
    int64_t t0 = gb_now_ns();
    CU_ASSERT_EQUAL_FATAL(proc_sh("sleep 30 & echo started; sleep 30", &o, &w, &e), 0);
    CU_ASSERT_TRUE(gb_now_ns() - t0 < 3000000000LL);
    CU_ASSERT_TRUE(e.timed_out);
    CU_ASSERT_FALSE(e.stopped);
    CU_ASSERT_TRUE(WIFSIGNALED(e.status) && WTERMSIG(e.status) == SIGKILL);
    CU_ASSERT_STRING_EQUAL(gb_buf_str(&e.out), "started\n");
    gb_proc_end_free(&e);
}

static void test_proc_stop_flag(void)
{
    volatile int stop = 1;
    struct gb_proc_opts o = { .own_group = true };
    struct gb_proc_wait_opts w = { .timeout_s = 30, .stop = &stop };
    struct gb_proc_end e;
    CU_ASSERT_EQUAL_FATAL(proc_sh("sleep 30", &o, &w, &e), 0);
    CU_ASSERT_TRUE(e.stopped);
    CU_ASSERT_FALSE(e.timed_out);
    CU_ASSERT_TRUE(WIFSIGNALED(e.status));
    gb_proc_end_free(&e);
}

static void test_proc_linger(void)
{
    /* It exits at once; a grandchild outside any group of its own keeps
     * stdout open for a second. */
    struct gb_proc_opts o = { .out = GB_PROC_PIPE };
    struct gb_proc_wait_opts w = { .timeout_s = 10, .linger_s = 0.1 };
    struct gb_proc_end e;
    int64_t t0 = gb_now_ns();
    CU_ASSERT_EQUAL_FATAL(proc_sh("(sleep 1) & exit 0", &o, &w, &e), 0);
    CU_ASSERT_TRUE(gb_now_ns() - t0 < 900000000LL);
    CU_ASSERT_TRUE(WIFEXITED(e.status) && WEXITSTATUS(e.status) == 0);
    CU_ASSERT_FALSE(e.timed_out);
    gb_proc_end_free(&e);
    /* Until the output ends, within the deadline: a timeout. */
    w.timeout_s = 0.3;
    w.linger_s = -1;
    CU_ASSERT_EQUAL_FATAL(proc_sh("(sleep 1) & exit 0", &o, &w, &e), 0);
    CU_ASSERT_TRUE(e.timed_out);
    CU_ASSERT_TRUE(WIFEXITED(e.status) && WEXITSTATUS(e.status) == 0);
    gb_proc_end_free(&e);
}

static void test_proc_setup(void)
{
    char *envp[] = { "GB_PROC_TEST=42", "PATH=/usr/bin:/bin", NULL };
    struct gb_proc_opts o = { .out = GB_PROC_PIPE, .dir = "/", .envp = envp, .nofile = 64 };
    struct gb_proc_wait_opts w = { .timeout_s = 10, .out_keep = 200 };
    struct gb_proc_end e;
    CU_ASSERT_EQUAL_FATAL(proc_sh("pwd; echo $GB_PROC_TEST; ulimit -n", &o, &w, &e), 0);
    CU_ASSERT_STRING_EQUAL(gb_buf_str(&e.out), "/\n42\n64\n");
    gb_proc_end_free(&e);
    /* A program that cannot be run: exit status 127, said on its stderr. */
    char *argv[] = { "/nonexistent/greenbench-cell", NULL };
    struct gb_proc_opts o2 = { .err = GB_PROC_PIPE, .say_exec_error = true };
    struct gb_proc p;
    char err[128];
    CU_ASSERT_EQUAL_FATAL(gb_proc_start(argv, &o2, &p, err, sizeof err), 0);
    w.err_keep = 200;
    gb_proc_wait(&p, &w, &e);
    CU_ASSERT_TRUE(WIFEXITED(e.status) && WEXITSTATUS(e.status) == 127);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(gb_buf_str(&e.err), "greenbench: cannot run /nonexistent/greenbench-cell"));
    gb_proc_end_free(&e);
    /* A directory that is not there: exit status 126. */
    o.dir = "/nonexistent";
    CU_ASSERT_EQUAL_FATAL(proc_sh("exit 0", &o, &w, &e), 0);
    CU_ASSERT_TRUE(WIFEXITED(e.status) && WEXITSTATUS(e.status) == 126);
    gb_proc_end_free(&e);
}

static void test_proc_terminate_and_capture(void)
{
    char *argv[] = { "/bin/sh", "-c", "trap 'exit 5' TERM; while :; do sleep 0.05; done", NULL };
    struct gb_proc_opts o = { .own_group = true };
    struct gb_proc p;
    char err[128];
    CU_ASSERT_EQUAL_FATAL(gb_proc_start(argv, &o, &p, err, sizeof err), 0);
    CU_ASSERT_FALSE(gb_proc_reap(&p, NULL));
    usleep(100000);
    gb_proc_terminate(&p, 5);
    CU_ASSERT_EQUAL(p.pid, 0);
    /* The version probes' helpers: PATH searched, the first non-blank line. */
    char *line1[] = { "sh", "-c", "echo; echo '  first line  '; echo second", NULL };
    char *line = gb_command_line1(line1);
    CU_ASSERT_STRING_EQUAL(line ? line : "(null)", "first line");
    free(line);
    char *fails[] = { "sh", "-c", "echo no; exit 1", NULL };
    CU_ASSERT_PTR_NULL(gb_command_line1(fails));
    char *out;
    CU_ASSERT_EQUAL(gb_run_capture(fails, false, 5000, &out), 1);
    CU_ASSERT_STRING_EQUAL(out, "no\n");
    free(out);
}

/* The fake cell, in mode GB_FAKE (a threads cell of yield), sampled; the
 * end in *e (the caller frees it). */
static void proc_fake(const char *mode, struct gb_proc_end *e)
{
    char fake[128], *argv[] = { GB_TEST_FAKE_CELL, "yield", "--impl=threads", "--n=10", NULL };
    snprintf(fake, sizeof fake, "GB_FAKE=%s@/yield/", mode);
    char *envp[] = { fake, "GB_FAKE_THREADS=8", "GB_FAKE_THREADS_MS=200", "GB_FAKE_SLOW_MS=200", NULL };
    struct gb_proc_opts o = { .own_group = true, .out = GB_PROC_PIPE, .envp = envp };
    struct gb_proc_wait_opts w = { .timeout_s = 30, .out_keep = 4096, .sample_threads = true };
    struct gb_proc p;
    char err[128];
    CU_ASSERT_EQUAL_FATAL(gb_proc_start(argv, &o, &p, err, sizeof err), 0);
    gb_proc_wait(&p, &w, e);
    CU_ASSERT_TRUE(WIFEXITED(e->status) && WEXITSTATUS(e->status) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(gb_buf_str(&e->out), "\"ok\":true"));
}

static void test_proc_samples_threads(void)
{
    /* Eight threads alive together for 200 ms beside the main one: some
     * sample, every 10 ms, sees all nine. */
    struct gb_proc_end e;
    proc_fake("threads", &e);
    CU_ASSERT_TRUE(e.threads_peak >= 9);
    if (e.threads_peak < 9)
        fprintf(stderr, "\n  threads_peak %ld, expected 9\n", e.threads_peak);
    gb_proc_end_free(&e);
    /* One thread, alive 200 ms: 1. */
    proc_fake("slow", &e);
    CU_ASSERT_EQUAL(e.threads_peak, 1);
    gb_proc_end_free(&e);
    /* Not asked: never sampled, 0. */
    struct gb_proc_opts o = { 0 };
    struct gb_proc_wait_opts w = { .timeout_s = 10 };
    CU_ASSERT_EQUAL_FATAL(proc_sh("sleep 0.1", &o, &w, &e), 0);
    CU_ASSERT_EQUAL(e.threads_peak, 0);
    gb_proc_end_free(&e);
    /* A child that exits before a sample could be taken, or whose status
     * cannot be read any more, is no error: the wait ends as ever. */
    w.sample_threads = true;
    CU_ASSERT_EQUAL_FATAL(proc_sh("exit 4", &o, &w, &e), 0);
    CU_ASSERT_TRUE(WIFEXITED(e.status) && WEXITSTATUS(e.status) == 4);
    CU_ASSERT_TRUE(e.threads_peak <= 1);
    gb_proc_end_free(&e);
}

/* Shell words: plain ones as they are, the rest quoted so that sh reads
 * back the same bytes (a report's command line is pasted back). */
static void test_shell_word(void)
{
    static const char *const words[] = {
        "--out=results/x", "plot's run", "", "a b", "$HOME", "it's \"x\""
    };
    static const char *const want[] = { "--out=results/x", "'plot'\\''s run'", "''",
                                        "'a b'",           "'$HOME'",          "'it'\\''s \"x\"'" };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        struct gb_buf b;
        gb_buf_init(&b);
        gb_buf_shell_word(&b, words[i]);
        CU_ASSERT_STRING_EQUAL(gb_buf_str(&b), want[i]);
        char *cmd = gb_xasprintf("printf %%s %s", gb_buf_str(&b));
        char *argv[] = { "sh", "-c", cmd, NULL }, *out = NULL;
        CU_ASSERT_EQUAL(gb_run_capture(argv, false, 5000, &out), 0);
        CU_ASSERT_STRING_EQUAL(out ? out : "(null)", words[i]);
        free(out);
        free(cmd);
        gb_buf_free(&b);
    }
}

static const struct gb_reading *reading(const struct gb_preflight *pf, const char *name)
{
    for (size_t i = 0; i < pf->n; i++)
        if (strcmp(pf->r[i].name, name) == 0)
            return &pf->r[i];
    return NULL;
}

/* A child per allowed CPU spins: the preflight warns of the work beside it,
 * and the load average, which lags a minute, is a reading and no warning. */
static void test_preflight_sees_other_work(void)
{
    long ncpu = gb_allowed_cpus();
    pid_t spin[64];
    long n = ncpu < 64 ? ncpu : 64;
    for (long i = 0; i < n; i++) {
        spin[i] = fork();
        CU_ASSERT_FATAL(spin[i] >= 0);
        if (spin[i] == 0)
            for (volatile unsigned long k = 0;; k++)
                ;
    }
    usleep(50000);
    struct gb_preflight pf;
    gb_preflight(0, 0, &pf);
    for (long i = 0; i < n; i++) {
        kill(spin[i], SIGKILL);
        waitpid(spin[i], NULL, 0);
    }
    const struct gb_reading *busy = reading(&pf, "cpu use by other work");
    CU_ASSERT_PTR_NOT_NULL_FATAL(busy);
    CU_ASSERT_EQUAL(busy->level, 2);
    CU_ASSERT_TRUE(strtod(busy->value, NULL) >= 0.5 * (double)n);
    CU_ASSERT_PTR_NOT_NULL(strstr(busy->advice, "noisy"));
    const struct gb_reading *load = reading(&pf, "load average");
    CU_ASSERT_PTR_NOT_NULL_FATAL(load);
    CU_ASSERT_EQUAL(load->level, 0);
}

static CU_TestInfo io_tests[] = {
    { "json_parse_values", test_json_parse_values },
    { "json_unicode", test_json_unicode },
    { "json_rejects", test_json_rejects },
    { "json_write_roundtrip", test_json_write_roundtrip },
    { "csv_quoting", test_csv_quoting },
    { "csv_parse", test_csv_parse },
    { "proc_captures_within_limits", test_proc_captures_within_limits },
    { "proc_timeout_kills_the_group", test_proc_timeout_kills_the_group },
    { "proc_stop_flag", test_proc_stop_flag },
    { "proc_linger", test_proc_linger },
    { "proc_setup", test_proc_setup },
    { "proc_terminate_and_capture", test_proc_terminate_and_capture },
    { "proc_samples_threads", test_proc_samples_threads },
    { "preflight_sees_other_work", test_preflight_sees_other_work },
    { "shell_word", test_shell_word },
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo green_test_suites[] = {
    { .pName = "harness_io", .pTests = io_tests },
    CU_SUITE_INFO_NULL,
};
