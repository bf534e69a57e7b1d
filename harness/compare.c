/* harness/compare.c: `greenbench compare A B` (compare.h): for each cell in
 * both runs, the ratio of medians B/A with its distribution-free interval
 * (Moses), the Mann-Whitney U p-value, and a verdict (gb_verdict_of); a
 * Markdown table on stdout and a CSV. */
#include "compare.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "cell.h"
#include "csv.h"
#include "merge.h"
#include "results.h"
#include "stats.h"
#include "units.h"
#include "util.h"

static const char compare_help[] =
    "usage: greenbench compare [--out PATH] [--alpha A] DIR_A DIR_B\n"
    "\n"
    "Compares two runs cell by cell (cells present in both): the ratio of the median\n"
    "time per op B/A (below 1: B is faster) with its distribution-free interval (at\n"
    "level 1 - alpha; its coverage is in the CSV), the two-sided Mann-Whitney U\n"
    "p-value of the repetitions, and a verdict: faster or slower when p < alpha\n"
    "(default 0.05) and the interval excludes 1; 'too few repetitions to tell' when\n"
    "the two cells have too few repetitions for any p below alpha; else 'same within\n"
    "noise'; a cell without results in either run has no figures ('n/a'; empty in\n"
    "the CSV). Prints a Markdown table and writes the same as CSV: to PATH (a file,\n"
    "or a directory, existing or ending in '/', to write compare-<A>-vs-<B>.csv\n"
    "into; --csv FILE is the same), by default into DIR_A. Missing directories are\n"
    "made, as run --out makes its own; an existing file is replaced (a comparison\n"
    "made before), but never a run's: a file in a run folder (one holding meta.json\n"
    "or cells.jsonl), or below one, is refused.\n"
    "Exit status: 0 compared, 1 no cell in both runs, a run could not be read or a\n"
    "file could not be written, 2 bad usage: DIR_A or DIR_B is not a whole run (no\n"
    "meta.json or no cells.jsonl), or PATH is a file in a run folder.\n";

static void md_cell(struct gb_buf *b, const char *s)
{
    gb_buf_puts(b, " ");
    for (; *s; s++)
        gb_buf_puts(b, *s == '|' ? "\\|" : (char[2]){ *s, 0 });
    gb_buf_puts(b, " |");
}

/* getopt_long's values for compare's options, above every char. */
enum { OPT_CSV = 256, OPT_ALPHA, OPT_HELP };

/* A directory argument: into dirs[*nd]. 0, or GB_EXIT_USAGE said on stderr. */
static int add_dir(const char *a, const char *dirs[2], size_t *nd)
{
    if (*nd == 2) {
        fprintf(stderr, "greenbench compare: give exactly two run directories\n");
        return GB_EXIT_USAGE;
    }
    dirs[(*nd)++] = a;
    return 0;
}

/* --alpha's value into *alpha: 0, or GB_EXIT_USAGE said on stderr. */
static int parse_alpha(const char *v, double *alpha)
{
    char *end;
    *alpha = strtod(v, &end);
    if (*v == '\0' || *end != '\0' || !(*alpha > 0 && *alpha < 1)) {
        fprintf(stderr, "greenbench compare: --alpha: '%s' is not valid: give a number "
                        "between 0 and 1 (e.g. 0.05)\n", v);
        return GB_EXIT_USAGE;
    }
    return 0;
}

/* The command line: dirs[2], --csv (*csv, NULL: the default name) and
 * --alpha. 0, -1 after --help (printed), or GB_EXIT_USAGE said on stderr. */
static int parse_args(int argc, char **argv, const char *dirs[2], const char **csv,
                      double *alpha)
{
    static const struct option lo[] = {
        { "csv", required_argument, NULL, OPT_CSV },
        { "out", required_argument, NULL, OPT_CSV },
        { "alpha", required_argument, NULL, OPT_ALPHA },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    size_t nd = 0;
    opterr = 0;
    optind = 0; /* glibc: start over */
    /* "-": directories in their order among the options; ":": a missing
     * value is ':'. */
    int c, at = 1, rc = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, "-:h", lo, NULL)) != -1) {
        const char *a = argv[at];
        switch (c) {
        case 1: rc = add_dir(optarg, dirs, &nd); break;
        case OPT_CSV:
            *csv = optarg;
            if (**csv == '\0') {
                fprintf(stderr, "greenbench compare: %.*s needs a path\n", (int)strcspn(a, "="), a);
                rc = GB_EXIT_USAGE;
            }
            break;
        case OPT_ALPHA: rc = parse_alpha(optarg, alpha); break;
        case 'h':
            if (strcmp(a, "-h") != 0) /* -hx */
                goto unknown;
            /* fall through */
        case OPT_HELP: fputs(compare_help, stdout); return -1;
        case ':':
            if (optopt == OPT_CSV)
                fprintf(stderr, "greenbench compare: %.*s needs a path\n", (int)strcspn(a, "="), a);
            else
                fprintf(stderr, "greenbench compare: --alpha needs a value\n");
            rc = GB_EXIT_USAGE;
            break;
        case '?':
            if (optopt == OPT_HELP) {
                fprintf(stderr, "greenbench compare: --help takes no value "
                                "(see greenbench compare --help)\n");
                rc = GB_EXIT_USAGE;
                break;
            }
        unknown:
            fprintf(stderr, "greenbench compare: unknown option '%s' (see greenbench compare --help)\n", a);
            rc = GB_EXIT_USAGE;
            break;
        }
        at = optind;
    }
    for (int i = optind; rc == 0 && i < argc; i++) /* after "--" */
        rc = add_dir(argv[i], dirs, &nd);
    if (rc != 0)
        return rc;
    if (nd != 2) {
        fprintf(stderr, "greenbench compare: give two run directories: greenbench compare DIR_A DIR_B\n");
        return GB_EXIT_USAGE;
    }
    return 0;
}

/* A merged folder (greenbench merge) pools nothing, so it is compared
 * through its one host's run: dirs[i] becomes DIR/hosts/<id> (into
 * own[i], which the caller frees). 0, or GB_EXIT_USAGE said on stderr when
 * it merges several hosts. */
static int merged_host(const char **dir, char **own)
{
    char *path = gb_xasprintf("%s/merge.json", *dir), *text;
    json_t *m = NULL;
    if (gb_read_file(path, &text, NULL) == 0) {
        gb_json_parse(text, strlen(text), &m, NULL, 0);
        free(text);
    }
    free(path);
    const json_t *hosts = json_object_get(m, "hosts");
    int rc = 0;
    if (json_array_size(hosts) == 1) {
        *own = gb_xasprintf("%s/hosts/%s", *dir, gb_json_str(json_array_get(hosts, 0), "id", "?"));
        *dir = *own;
    } else {
        fprintf(stderr,
                "greenbench compare: %s merges %zu hosts, whose repetitions are never pooled: "
                "compare one host's run, %s/hosts/<host>\n",
                *dir, json_array_size(hosts), *dir);
        rc = GB_EXIT_USAGE;
    }
    json_decref(m);
    return rc;
}

/* Runs of two machines differ by the machine, not only by the code: say so. */
static void warn_hosts(const struct gb_rundata rd[2], const char *dirs[2])
{
    const char *a = gb_json_str(json_object_get(rd[0].meta, "host"), "id", NULL);
    const char *b = gb_json_str(json_object_get(rd[1].meta, "host"), "id", NULL);
    if (a && b && strcmp(a, b) != 0)
        fprintf(stderr,
                "greenbench compare: warning: A (%s) ran on host %s and B (%s) on host %s: "
                "the ratios include the difference of the machines\n",
                dirs[0], a, dirs[1], b);
}

/* Both runs into rd[2]: 0, or the exit status, said on stderr (nothing is
 * left loaded then). */
static int load_runs(const char *dirs[2], struct gb_rundata rd[2])
{
    char err[1024];
    for (size_t i = 0; i < 2; i++) {
        if (!gb_is_dir(dirs[i])) {
            fprintf(stderr, "greenbench compare: '%s' is not a directory\n", dirs[i]);
            if (i)
                gb_rundata_free(&rd[0]);
            return GB_EXIT_USAGE;
        }
        /* As report: a run without meta.json or cells.jsonl would compare
         * cells of an invented plan, or none. */
        int rc = gb_run_check(dirs[i], err, sizeof err) != 0 ? GB_EXIT_USAGE : 0;
        if (rc == 0 && gb_rundata_load(dirs[i], &rd[i], err, sizeof err) != 0)
            rc = GB_EXIT_FAILED;
        if (rc != 0) {
            fprintf(stderr, "greenbench compare: %s\n", err);
            if (i)
                gb_rundata_free(&rd[0]);
            return rc;
        }
    }
    return 0;
}

static const char *const verdict_words[] = {
    [GB_VERDICT_FEW] = "too few repetitions to tell",
    [GB_VERDICT_SAME] = "same within noise",
    [GB_VERDICT_LOWER] = "faster",
    [GB_VERDICT_HIGHER] = "slower",
};

/* One cell in both runs: its row of the table (md) and of the CSV (cv). */
static void compare_cell(const struct gb_summary *a, const struct gb_summary *b, double alpha,
                         struct gb_buf *md, struct gb_buf *cv)
{
    struct gb_verdict v = { .ratio = NAN, .lo = NAN, .hi = NAN, .u = { .u = NAN, .p = NAN } };
    bool ok = gb_verdict_of(a->values, a->nvalues, b->values, b->nvalues, alpha, &v) == 0;
    const char *verdict = ok ? verdict_words[v.kind] : "no results to compare";
    char t[200];
    gb_buf_puts(md, "|");
    md_cell(md, b->cell.key);
    gb_fmt_time(t, sizeof t, a->ns.n ? a->ns.median : NAN);
    md_cell(md, t);
    gb_fmt_time(t, sizeof t, b->ns.n ? b->ns.median : NAN);
    md_cell(md, t);
    gb_fmt_num(t, sizeof t, v.ratio);
    md_cell(md, t);
    if (isfinite(v.lo)) {
        char lo[48], hi[48], cov[32];
        gb_fmt_num(lo, sizeof lo, v.lo);
        gb_fmt_num(hi, sizeof hi, v.hi);
        gb_fmt_pct(cov, sizeof cov, v.coverage);
        snprintf(t, sizeof t, "%s–%s (%s)", lo, hi, cov);
    } else {
        snprintf(t, sizeof t, "n/a");
    }
    md_cell(md, t);
    snprintf(t, sizeof t, isfinite(v.u.p) ? "%.3g" : "n/a", v.u.p);
    md_cell(md, t);
    md_cell(md, verdict);
    gb_buf_puts(md, "\n");

    gb_csv_cell(cv, &b->cell);
    gb_buf_printf(cv, ",%d,%d", a->reps_ok, b->reps_ok);
    double nums[] = { a->ns.n ? a->ns.median : NAN,
                      b->ns.n ? b->ns.median : NAN,
                      v.ratio,
                      v.lo,
                      v.hi,
                      isfinite(v.lo) ? v.coverage : NAN,
                      v.u.u,
                      v.u.p };
    for (size_t k = 0; k < 8; k++) {
        gb_csv_sep(cv);
        gb_csv_num(cv, nums[k]);
    }
    gb_csv_sep(cv);
    gb_buf_puts(cv, isfinite(v.u.p) ? (v.u.exact ? "true" : "false") : "");
    gb_csv_sep(cv);
    gb_csv_field(cv, verdict);
    gb_csv_eol(cv);
}

/* The table (md) and the CSV (cv) of every cell of B that A has too, in
 * B's order; then how many were in one run only. Returns how many were in
 * both. */
static size_t compare_runs(const struct gb_rundata rd[2], const char *dirs[2], double alpha,
                           struct gb_buf *md, struct gb_buf *cv)
{
    gb_buf_printf(md,
                  "Comparing B = %s against A = %s: time per op, ratio B/A (below 1: B is "
                  "faster), its interval (Moses, with its coverage), Mann-Whitney U two-sided "
                  "p, alpha %.3g. Two runs made at different times differ by the machine's own "
                  "drift as well (on this project's VMs, 2-10%% between back-to-back default "
                  "runs of one build): a verdict speaks of the two samples, not of the code "
                  "alone.\n\n",
                  dirs[1], dirs[0], alpha);
    gb_buf_puts(md, "| cell | A median | B median | B/A | interval | p | verdict |\n"
                    "| --- | --- | --- | --- | --- | --- | --- |\n");
    gb_csv_cell_header(cv);
    gb_buf_puts(cv, ",a_reps_ok,b_reps_ok,a_median_ns_per_op,b_median_ns_per_op,ratio,"
                    "ratio_ci_low,ratio_ci_high,ci_level,u,p_value,exact,verdict");
    gb_csv_eol(cv);
    size_t both = 0, only_a = 0, only_b = 0;
    for (size_t i = 0; i < rd[1].nsums; i++) {
        const struct gb_summary *b = &rd[1].sums[i];
        const struct gb_summary *a = gb_rundata_find(&rd[0], b->cell.key);
        if (a == NULL) {
            only_b++;
            continue;
        }
        both++;
        compare_cell(a, b, alpha, md, cv);
    }
    for (size_t i = 0; i < rd[0].nsums; i++)
        if (gb_rundata_find(&rd[1], rd[0].sums[i].cell.key) == NULL)
            only_a++;
    if (only_a || only_b)
        gb_buf_printf(md, "\n%zu cells only in A, %zu only in B (not compared).\n", only_a, only_b);
    return both;
}

/* The run folder (one holding meta.json or cells.jsonl, as a merged folder
 * does too) that file path would be in, directly or further down: its
 * resolved path (the caller frees), or NULL. Resolved, so that neither a
 * link, nor "..", nor a folder not made yet hides the run. */
static char *run_around(const char *path)
{
    char *p = gb_xstrdup(path), *real;
    /* The nearest of path and the folders above it that exists. */
    while ((real = realpath(p, NULL)) == NULL) {
        char *slash = strrchr(p, '/');
        if (slash)
            slash[slash == p] = '\0'; /* "a/b" to "a", "/b" to "/" */
        else if (strcmp(p, ".") != 0)
            strcpy(p, "."); /* p is not empty: "." fits */
        else
            break;
    }
    free(p);
    for (bool file = real && !gb_is_dir(real); real; file = false) {
        if (!file && gb_holds_run_files(real))
            return real;
        if (strcmp(real, "/") == 0)
            break;
        char *slash = strrchr(real, '/');
        slash[slash == real] = '\0';
    }
    free(real);
    return NULL;
}

/* Where the CSV goes, into *path (the caller frees): compare-<A>-vs-<B>.csv
 * in DIR_A, or in the folder csv names (one that exists, or a path ending
 * in '/'), or the file csv. 0, or GB_EXIT_USAGE said on stderr for a file
 * named into a run folder: it would replace one of the run's own files
 * (cells.jsonl, meta.json) or sit among them as if the run had made it. */
static int csv_path(const char *csv, const char *dirs[2], char **path)
{
    char *a = gb_xstrdup(dirs[0]), *b = gb_xstrdup(dirs[1]);
    size_t la = strlen(a), lb = strlen(b);
    while (la > 1 && a[la - 1] == '/')
        a[--la] = '\0';
    while (lb > 1 && b[lb - 1] == '/')
        b[--lb] = '\0';
    char *name = gb_xasprintf("compare-%s-vs-%s.csv", basename(a), basename(b));
    free(a);
    free(b);
    size_t len = csv ? strlen(csv) : 0;
    char *run = NULL;
    int rc = 0;
    if (csv == NULL) {
        *path = gb_xasprintf("%s/%s", dirs[0], name);
    } else if (gb_is_dir(csv) || csv[len - 1] == '/') {
        while (len > 1 && csv[len - 1] == '/')
            len--;
        *path = gb_xasprintf("%.*s/%s", (int)len, csv, name);
    } else if ((run = run_around(csv)) != NULL) {
        fprintf(stderr,
                "greenbench compare: --out %s is in the run folder %s: a comparison never "
                "writes among a run's files; name a file elsewhere, or --out %s/ for %s/%s\n",
                csv, run, run, run, name);
        free(run);
        rc = GB_EXIT_USAGE;
    } else {
        *path = gb_xstrdup(csv);
    }
    free(name);
    return rc;
}

/* The CSV into path, its folder made first as run --out makes its own: 0
 * or a negative errno, said on stderr either way. */
static int write_csv(const char *path, const struct gb_buf *cv)
{
    char *dir = gb_xstrdup(path);
    int rc = gb_mkdir_p(dirname(dir));
    free(dir);
    if (rc == 0)
        rc = gb_write_file(path, cv->data, cv->len);
    if (rc != 0)
        fprintf(stderr, "greenbench compare: cannot write %s: %s\n", path, strerror(-rc));
    else
        fprintf(stderr, "greenbench compare: wrote %s\n", path);
    return rc;
}

int gb_cmd_compare(int argc, char **argv)
{
    const char *dirs[2] = { NULL, NULL };
    const char *csv = NULL;
    double alpha = 0.05;
    int rc = parse_args(argc, argv, dirs, &csv, &alpha);
    if (rc != 0)
        return rc < 0 ? GB_EXIT_OK : rc;
    /* The CSV is named after the folders given, a merged one's too: named
     * after its host, compare MA MB and compare MA MC wrote one file. */
    char *path = NULL;
    rc = csv_path(csv, dirs, &path);
    char *own[2] = { NULL, NULL };
    for (size_t i = 0; rc == 0 && i < 2; i++)
        if (gb_is_dir(dirs[i]) && gb_merge_is(dirs[i]))
            rc = merged_host(&dirs[i], &own[i]);
    struct gb_rundata rd[2];
    if (rc == 0)
        rc = load_runs(dirs, rd);
    if (rc != 0) {
        free(path);
        free(own[0]);
        free(own[1]);
        return rc;
    }
    warn_hosts(rd, dirs);
    struct gb_buf md, cv;
    gb_buf_init(&md);
    gb_buf_init(&cv);
    if (compare_runs(rd, dirs, alpha, &md, &cv) == 0) {
        fprintf(stderr,
                "greenbench compare: no cell is in both runs (A has %zu, B has %zu): "
                "nothing to compare\n",
                rd[0].nsums, rd[1].nsums);
        rc = -EINVAL;
    } else {
        fputs(gb_buf_str(&md), stdout);
        rc = write_csv(path, &cv);
    }
    free(path);
    gb_buf_free(&md);
    gb_buf_free(&cv);
    gb_rundata_free(&rd[0]);
    gb_rundata_free(&rd[1]);
    free(own[0]);
    free(own[1]);
    return rc == 0 ? GB_EXIT_OK : GB_EXIT_FAILED;
}
