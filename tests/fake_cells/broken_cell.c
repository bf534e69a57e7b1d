/* tests/fake_cells/broken_cell.c: a cell that breaks the cell protocol in
 * one way chosen by --fault=F (anywhere on its command line), for the
 * check-cell tests: `greenbench check-cell` must fail on it and name the
 * fault. Without --fault it obeys (switch and spawn, --impl=broken, with
 * made-up but consistent counts, --rounds=R adding up R rounds), so that
 * each fault is the only one:
 *   missing-field  the JSON line has no "ops"
 *   no-stacks      the JSON line has no "stacks" (required of every line)
 *   wrong-type     "n" is a string
 *   ok-exit1       "ok": true, but exit status 1
 *   hang           never exits (sleeps)
 *   garbage        the last stdout line is not JSON
 *   nan            the last stdout line is JSON but for a NaN
 *   raise          a Python-like traceback on stderr, nothing on stdout, exit 1
 *   usage-exit1    usage errors exit 1, not 2
 *   wrong-count    "tasks_completed" is one short of --n
 *   rounds-once    --rounds=R is echoed, but the counts are one round's
 * and one that is no fault: reversed writes the line's keys last first
 * (their order is free: docs/cell-protocol.md). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *fault = "";
static long rounds = 1;

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

/* The fields of the line being written, in the protocol's order. */
static char fieldv[40][160];
static int nfields;

static void field(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void field(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fieldv[nfields++], sizeof fieldv[0], fmt, ap);
    va_end(ap);
}

/* The JSON line, every field in the protocol's order (reversed: last
 * first); n < 0: null. */
static void line(const char *wl, const char *impl, long n, long rounds, bool ok, const char *error,
                 long ops, long tasks)
{
    if (is("garbage")) {
        printf("this is not JSON\n");
        return;
    }
    if (is("raise"))
        return;
    field("\"workload\":\"%s\"", wl ? wl : "");
    field("\"impl\":\"%s\"", impl ? impl : "");
    field("\"switch\":null");
    field("\"loop\":null");
    if (is("wrong-type"))
        field("\"n\":\"%ld\"", n);
    else if (n < 0)
        field("\"n\":null");
    else
        field("\"n\":%ld", n);
    field("\"concurrency\":null");
    field("\"delay_ms\":null");
    field("\"size\":null");
    field("\"stack_kib\":null");
    field("\"cpus\":1");
    field("\"rounds\":%ld", rounds);
    field("\"keepalive\":null");
    field("\"tls\":null");
    field("\"ares\":null");
    field("\"hubs\":null");
    if (!is("no-stacks"))
        field("\"stacks\":null");
    field("\"live_bytes\":null");
    field("\"ok\":%s", ok ? "true" : "false");
    if (!ok)
        field("\"error\":\"%s\"", error);
    if (ok)
        field("\"wall_ns\":%ld", 100 * ops);
    else
        field("\"wall_ns\":null");
    if (is("missing-field"))
        ; /* the fault: no "ops" */
    else if (ok)
        field("\"ops\":%ld", ops);
    else
        field("\"ops\":null");
    if (ok) {
        field("\"ns_per_op\":%s", is("nan") ? "NaN" : "100");
        field("\"max_rss_kb\":1000");
        field("\"cpu_ns\":%ld", 100 * ops);
        field("\"tasks_completed\":%ld", tasks);
        field("\"errors\":0");
    } else {
        field("\"ns_per_op\":null");
        field("\"max_rss_kb\":1000");
        field("\"cpu_ns\":null");
    }
    bool rev = is("reversed");
    for (int i = 0; i < nfields; i++)
        printf("%s%s", i ? "," : "{", fieldv[rev ? nfields - 1 - i : i]);
    printf("}\n");
}

/* A usage error: its line, and exit 2 (1 under usage-exit1). */
static int usage_error(const char *wl, const char *impl, const char *what)
{
    fprintf(stderr, "broken-cell: %s\n", what);
    line(wl, impl, -1, rounds, false, what, 0, 0);
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
        } else if (strncmp(a, "--rounds=", 9) == 0) {
            rounds = strtol(a + 9, NULL, 10);
        } else if (strncmp(a, "--keepalive=", 12) == 0 && strtol(a + 12, NULL, 10) > 1) {
            return usage_error(wl, impl, "--keepalive above 1");
        }
    }
    if ((impl == NULL || strcmp(impl, "broken") != 0) && is("impl-first")) {
        char said[256]; /* The --impl asked, before the one it runs. */
        snprintf(said, sizeof said, "--impl=%s: this program runs --impl=broken", impl ? impl : "");
        return usage_error(wl, impl, said);
    }
    if (impl == NULL || strcmp(impl, "broken") != 0)
        return usage_error(wl, impl, "this program runs --impl=broken only");
    if (wl == NULL)
        return usage_error(wl, impl, "no workload");
    if (strcmp(wl, "switch") != 0 && strcmp(wl, "spawn") != 0)
        return usage_error(wl, impl, "workload not implemented by peer broken");
    if (n == 0 || rounds <= 0)
        return usage_error(wl, impl, n == 0 ? "--n=0" : "--rounds: a count above 0");
    if (n < 0)
        n = 1000;
    if (is("hang"))
        for (;;)
            pause();
    if (is("raise")) {
        fprintf(stderr, "Traceback (most recent call last):\n  File \"mycell.py\", line 12, in <module>\n"
                        "    main()\nZeroDivisionError: division by zero\n");
        return 1;
    }
    bool sw = strcmp(wl, "switch") == 0;
    long r = is("rounds-once") ? 1 : rounds; /* the rounds that ran */
    line(wl, impl, n, rounds, true, NULL, r * (sw ? 2 * n : n), r * (is("wrong-count") ? n - 1 : n));
    return is("ok-exit1") ? 1 : 0;
}
