/* tests/test_server_capacity.c: the harness's measure of greenbench-server's
 * capacity (gb_server_capacity, harness/server.c): wrk against a real
 * server, with keep-alive and with "Connection: close", both answered at
 * some rate with no errors; without wrk, -ENOENT naming the Debian package.
 * Its own ctest entry, server-capacity, run alone (wrk and the server take
 * both CPUs for 6 s), SKIPPED (exit 77) when wrk is not installed. */
#include <CUnit/CUnit.h>

#include "json.h"
#include "programs.h"
#include "server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef GREENBENCH_BIN_DIR
#error "GREENBENCH_BIN_DIR must be defined (tests/CMakeLists.txt)"
#endif

static bool wrk_installed(void)
{
    const char *path = getenv("PATH");
    char *copy = gb_xstrdup(path ? path : "/usr/bin:/bin");
    bool found = false;
    for (char *save = NULL, *dir = strtok_r(copy, ":", &save); dir && !found;
         dir = strtok_r(NULL, ":", &save)) {
        char *p = gb_xasprintf("%s/wrk", dir);
        found = gb_is_executable(p);
        free(p);
    }
    free(copy);
    return found;
}

/* No wrk on PATH: -ENOENT at once, and the message says what to install. */
static void test_capacity_without_wrk(void)
{
    char dir[] = "/tmp/greenbench-test-capacity-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char *path = gb_xstrdup(getenv("PATH") ? getenv("PATH") : "");
    setenv("PATH", dir, 1);
    struct gb_programs p;
    gb_programs_scan(GREENBENCH_BIN_DIR, &p);
    json_t *out = (json_t *)1;
    char err[256] = "";
    CU_ASSERT_EQUAL(gb_server_capacity(&p, dir, NULL, &out, err, sizeof err), -ENOENT);
    CU_ASSERT_PTR_NULL(out);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "Debian package wrk"));
    setenv("PATH", path, 1);
    free(path);
    rmdir(dir);
}

static double run_number(const json_t *o, const char *run, const char *key)
{
    return gb_json_num(json_object_get(o, run), key, -1);
}

static void test_capacity_with_wrk(void)
{
    if (!wrk_installed()) {
        fprintf(stderr, "\n  wrk is not installed (Debian package wrk): skipped\n");
        if (CU_get_number_of_failures() == 0)
            exit(77);
        return;
    }
    char dir[] = "/tmp/greenbench-test-capacity-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    struct gb_programs p;
    gb_programs_scan(GREENBENCH_BIN_DIR, &p);
    CU_ASSERT_TRUE_FATAL(p.server);
    json_t *out = NULL;
    char err[512] = "";
    int64_t t0 = gb_now_ns();
    int rc = gb_server_capacity(&p, dir, NULL, &out, err, sizeof err);
    double took = (double)(gb_now_ns() - t0) / 1e9;
    if (rc != 0)
        fprintf(stderr, "\n  gb_server_capacity: %s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    char *text = json_dumps(out, JSON_COMPACT);
    fprintf(stderr, "\n  %.1f s: %s\n", took, text);
    free(text);
    CU_ASSERT_EQUAL(strncmp(gb_json_str(out, "tool", ""), "wrk ", 4), 0);
    CU_ASSERT_EQUAL(gb_json_num(out, "duration_s", 0), 3);
    CU_ASSERT_EQUAL(gb_json_num(out, "connections", 0), 64);
    CU_ASSERT_TRUE(gb_json_num(out, "server_cpu", -1) >= 0);
    static const char *const runs[] = { "keepalive", "close" };
    for (int i = 0; i < 2; i++) {
        CU_ASSERT_TRUE(run_number(out, runs[i], "req_per_s") > 0);
        CU_ASSERT_EQUAL(run_number(out, runs[i], "errors"), 0);
        CU_ASSERT_TRUE(run_number(out, runs[i], "requests") > 0);
        /* The server answered at least what wrk counted (wrk leaves some
         * answers unread when its time is up). */
        CU_ASSERT_TRUE(run_number(out, runs[i], "server_requests") >= run_number(out, runs[i], "requests"));
        double share = run_number(out, runs[i], "server_cpu_share");
        CU_ASSERT_TRUE(share > 0 && share < 1.5);
    }
    CU_ASSERT_TRUE(took < 20);
    json_decref(out);
    /* wrk's output and the server's stderr, kept beside the results. */
    char *log = gb_xasprintf("%s/capacity.log", dir), *logtext = NULL;
    CU_ASSERT_EQUAL_FATAL(gb_read_file(log, &logtext, NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(logtext, "Requests/sec:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(logtext, "greenbench-server: stopped: "));
    free(logtext);
    unlink(log);
    free(log);
    rmdir(dir);
}

static CU_TestInfo capacity_tests[] = {
    { "capacity_without_wrk", test_capacity_without_wrk },
    { "capacity_with_wrk", test_capacity_with_wrk },
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo green_test_suites[] = {
    { .pName = "capacity", .pTests = capacity_tests },
    CU_SUITE_INFO_NULL,
};
