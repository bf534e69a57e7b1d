/* harness/compare.c: `greenbench compare A B` (compare.h): for each cell in
 * both runs, the ratio of medians B/A with its distribution-free 95%
 * interval (Moses), the Mann-Whitney U p-value, and a verdict; a Markdown
 * table on stdout and a CSV. */
#include "compare.h"

#include <getopt.h>
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "cell.h"
#include "csv.h"
#include "results.h"
#include "stats.h"
#include "util.h"

static const char compare_help[] =
    "usage: greenbench compare [--csv FILE] [--alpha A] DIR_A DIR_B\n"
    "\n"
    "Compares two runs cell by cell (cells present in both): the ratio of the median\n"
    "time per op B/A (below 1: B is faster) with its 95% distribution-free interval,\n"
    "the two-sided Mann-Whitney U p-value of the repetitions, and a verdict: faster or\n"
    "slower when p < alpha (default 0.05) and the interval excludes 1, else 'same\n"
    "within noise'. Prints a Markdown table; writes the same as CSV to FILE (default\n"
    "compare-<A>-vs-<B>.csv in the current directory).\n";

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
                fprintf(stderr, "greenbench compare: --csv needs a file name\n");
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
                fprintf(stderr, "greenbench compare: --csv needs a file name\n");
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
        if (gb_rundata_load(dirs[i], &rd[i], err, sizeof err) != 0) {
            fprintf(stderr, "greenbench compare: %s\n", err);
            if (i)
                gb_rundata_free(&rd[0]);
            return GB_EXIT_FAILED;
        }
    }
    return 0;
}

/* One cell in both runs: its row of the table (md) and of the CSV (cv). */
static void compare_cell(const struct gb_summary *a, const struct gb_summary *b, double alpha,
                         struct gb_buf *md, struct gb_buf *cv)
{
    double est = NAN, lo = NAN, hi = NAN, cov = 0;
    struct gb_mwu u = { .u = NAN, .p = NAN };
    const char *verdict;
    if (a->nvalues < 2 || b->nvalues < 2) {
        verdict = "too few repetitions";
        if (a->nvalues && b->nvalues)
            gb_ratio_ci(a->values, a->nvalues, b->values, b->nvalues, 0.95, &est, &lo, &hi, &cov);
    } else {
        gb_ratio_ci(a->values, a->nvalues, b->values, b->nvalues, 0.95, &est, &lo, &hi, &cov);
        gb_mann_whitney(b->values, b->nvalues, a->values, a->nvalues, &u);
        if (u.p < alpha && hi < 1)
            verdict = "faster";
        else if (u.p < alpha && lo > 1)
            verdict = "slower";
        else
            verdict = "same within noise";
    }
    char t[128];
    gb_buf_puts(md, "|");
    md_cell(md, b->cell.key);
    snprintf(t, sizeof t, a->ns.n ? "%.4g" : "n/a", a->ns.median);
    md_cell(md, t);
    snprintf(t, sizeof t, b->ns.n ? "%.4g" : "n/a", b->ns.median);
    md_cell(md, t);
    snprintf(t, sizeof t, isfinite(est) ? "%.3f" : "n/a", est);
    md_cell(md, t);
    if (isfinite(lo))
        snprintf(t, sizeof t, "%.3f - %.3f", lo, hi);
    else
        snprintf(t, sizeof t, "n/a");
    md_cell(md, t);
    snprintf(t, sizeof t, isfinite(u.p) ? "%.3g" : "n/a", u.p);
    md_cell(md, t);
    md_cell(md, verdict);
    gb_buf_puts(md, "\n");

    gb_csv_cell(cv, &b->cell);
    gb_buf_printf(cv, ",%d,%d", a->reps_ok, b->reps_ok);
    double nums[] = { a->ns.n ? a->ns.median : NAN, b->ns.n ? b->ns.median : NAN, est, lo, hi,
                      isfinite(lo) ? cov : NAN, u.u, u.p };
    for (size_t k = 0; k < 8; k++) {
        gb_csv_sep(cv);
        gb_csv_num(cv, nums[k]);
    }
    gb_csv_sep(cv);
    gb_buf_puts(cv, isfinite(u.p) ? (u.exact ? "true" : "false") : "");
    gb_csv_sep(cv);
    gb_csv_field(cv, verdict);
    gb_csv_eol(cv);
}

/* The table (md) and the CSV (cv) of every cell of B that A has too, in
 * B's order; then how many were in one run only. */
static void compare_runs(const struct gb_rundata rd[2], const char *dirs[2], double alpha,
                         struct gb_buf *md, struct gb_buf *cv)
{
    gb_buf_printf(md, "Comparing B = %s against A = %s: time per op, ratio B/A (below 1: B is "
                      "faster), 95%% interval (Moses), Mann-Whitney U two-sided p, alpha %.3g.\n\n",
                  dirs[1], dirs[0], alpha);
    gb_buf_puts(md, "| cell | A median ns/op | B median ns/op | B/A | 95% interval | p | verdict |\n"
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
    if (both == 0)
        gb_buf_puts(md, "\nNo cell is in both runs.\n");
}

/* The CSV into csv, or compare-<A>-vs-<B>.csv here: 0 or a negative errno,
 * said on stderr either way. */
static int write_csv(const char *csv, const char *dirs[2], const struct gb_buf *cv)
{
    char *path;
    if (csv) {
        path = gb_xstrdup(csv);
    } else {
        char *a = gb_xstrdup(dirs[0]), *b = gb_xstrdup(dirs[1]);
        size_t la = strlen(a), lb = strlen(b);
        while (la > 1 && a[la - 1] == '/')
            a[--la] = '\0';
        while (lb > 1 && b[lb - 1] == '/')
            b[--lb] = '\0';
        path = gb_xasprintf("compare-%s-vs-%s.csv", basename(a), basename(b));
        free(a);
        free(b);
    }
    int rc = gb_write_file(path, cv->data, cv->len);
    if (rc != 0)
        fprintf(stderr, "greenbench compare: cannot write %s: %s\n", path, strerror(-rc));
    else
        fprintf(stderr, "greenbench compare: wrote %s\n", path);
    free(path);
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
    struct gb_rundata rd[2];
    rc = load_runs(dirs, rd);
    if (rc != 0)
        return rc;
    struct gb_buf md, cv;
    gb_buf_init(&md);
    gb_buf_init(&cv);
    compare_runs(rd, dirs, alpha, &md, &cv);
    fputs(gb_buf_str(&md), stdout);
    rc = write_csv(csv, dirs, &cv);
    gb_buf_free(&md);
    gb_buf_free(&cv);
    gb_rundata_free(&rd[0]);
    gb_rundata_free(&rd[1]);
    return rc == 0 ? GB_EXIT_OK : GB_EXIT_FAILED;
}
