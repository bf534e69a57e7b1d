/* tests/fake_cells/broken_cell.c: a cell that breaks the cell protocol in
 * one way chosen by --fault=F (anywhere on its command line), for the
 * check-cell tests: `greenbench check-cell` must fail on it and name the
 * fault. Without --fault it obeys (switch and spawn, --impl=broken, with
 * made-up but consistent counts), so that each fault is the only one:
 *   missing-field  the JSON line has no "ops"
 *   wrong-type     "n" is a string
 *   ok-exit1       "ok": true, but exit status 1
 *   hang           never exits (sleeps)
 *   garbage        the last stdout line is not JSON
 *   usage-exit1    usage errors exit 1, not 2
 *   wrong-count    "tasks_completed" is one short of --n */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *fault = "";

static bool is(const char *f)
{
    return strcmp(fault, f) == 0;
}

/* The protocol's options that take a value (all accepted here). */
static const char *const known[] = {
    "--impl=",      "--switch=", "--loop=",   "--n=",         "--concurrency=", "--delay-ms=",
    "--size=",      "--url=",    "--cacert=", "--stack-kib=", "--cpus=",        "--rounds=",
    "--keepalive=", "--tls=",    "--ares=",   "--hubs=",      "--fault=",       NULL
};

static bool known_option(const char *a)
{
    for (const char *const *k = known; *k; k++)
        if (strncmp(a, *k, strlen(*k)) == 0)
            return true;
    return false;
}

/* The JSON line, every field in the protocol's order; n < 0: null. */
static void line(const char *wl, const char *impl, long n, bool ok, const char *error, long ops, long tasks)
{
    if (is("garbage")) {
        printf("this is not JSON\n");
        return;
    }
    printf("{\"workload\":\"%s\",\"impl\":\"%s\",\"switch\":null,\"loop\":null,", wl ? wl : "",
           impl ? impl : "");
    if (is("wrong-type"))
        printf("\"n\":\"%ld\",", n);
    else if (n < 0)
        printf("\"n\":null,");
    else
        printf("\"n\":%ld,", n);
    printf("\"concurrency\":null,\"delay_ms\":null,\"size\":null,\"stack_kib\":null,\"cpus\":1,"
           "\"rounds\":1,\"keepalive\":null,\"tls\":null,\"ares\":null,\"hubs\":null,\"ok\":%s,",
           ok ? "true" : "false");
    if (!ok)
        printf("\"error\":\"%s\",", error);
    if (ok)
        printf("\"wall_ns\":%ld,", 100 * ops);
    else
        printf("\"wall_ns\":null,");
    if (is("missing-field"))
        ; /* the fault: no "ops" */
    else if (ok)
        printf("\"ops\":%ld,", ops);
    else
        printf("\"ops\":null,");
    if (ok)
        printf(
            "\"ns_per_op\":100,\"max_rss_kb\":1000,\"cpu_ns\":%ld,\"tasks_completed\":%ld,\"errors\":0}\n",
            100 * ops, tasks);
    else
        printf("\"ns_per_op\":null,\"max_rss_kb\":1000,\"cpu_ns\":null}\n");
}

/* A usage error: its line, and exit 2 (1 under usage-exit1). */
static int usage_error(const char *wl, const char *impl, const char *what)
{
    fprintf(stderr, "broken-cell: %s\n", what);
    line(wl, impl, -1, false, what, 0, 0);
    return is("usage-exit1") ? 1 : 2;
}

int main(int argc, char **argv)
{
    const char *wl = NULL, *impl = NULL;
    long n = -1;
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "--fault=", 8) == 0)
            fault = argv[i] + 8;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0) {
            printf("usage: broken-cell WORKLOAD --impl=broken [--n=N] --fault=F\n");
            return 0;
        }
        if (a[0] != '-') {
            if (wl)
                return usage_error(wl, impl, "a second workload");
            wl = a;
        } else if (!known_option(a)) {
            return usage_error(wl, impl, "unknown option");
        } else if (strncmp(a, "--impl=", 7) == 0) {
            impl = a + 7;
        } else if (strncmp(a, "--n=", 4) == 0) {
            n = strtol(a + 4, NULL, 10);
        } else if (strncmp(a, "--keepalive=", 12) == 0 && strtol(a + 12, NULL, 10) > 1) {
            return usage_error(wl, impl, "--keepalive above 1");
        }
    }
    if (wl == NULL || impl == NULL || strcmp(impl, "broken") != 0)
        return usage_error(wl, impl, "no workload, or an --impl other than broken");
    if (strcmp(wl, "switch") != 0 && strcmp(wl, "spawn") != 0)
        return usage_error(wl, impl, "workload not implemented by peer broken");
    if (n == 0)
        return usage_error(wl, impl, "--n=0");
    if (n < 0)
        n = 1000;
    if (is("hang"))
        for (;;)
            pause();
    bool sw = strcmp(wl, "switch") == 0;
    line(wl, impl, n, true, NULL, sw ? 2 * n : n, is("wrong-count") ? n - 1 : n);
    return is("ok-exit1") ? 1 : 0;
}
