/* harness/options.c: the options of `greenbench run`, read with
 * getopt_long(3) from a table built of axes.def and the other options. Every
 * bad value gets an error that names the option and what it accepts; nothing
 * runs until all of them parsed. */
#include "options.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/* One whole number with an optional k (x1000) or M (x1000000) suffix. */
static int parse_one_long(const char *s, size_t len, long *out)
{
    if (len == 0 || len > 20)
        return -EINVAL;
    char tmp[24];
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    long mult = 1;
    if (tmp[len - 1] == 'k' || tmp[len - 1] == 'K') {
        mult = 1000;
        tmp[--len] = '\0';
    } else if (tmp[len - 1] == 'M') {
        mult = 1000000;
        tmp[--len] = '\0';
    }
    if (len == 0)
        return -EINVAL;
    for (size_t i = 0; i < len; i++)
        if (!isdigit((unsigned char)tmp[i]) && !(i == 0 && tmp[i] == '-'))
            return -EINVAL;
    if (tmp[0] == '-' && len == 1)
        return -EINVAL;
    errno = 0;
    long v = strtol(tmp, NULL, 10);
    if (errno != 0 || v > LONG_MAX / mult || v < LONG_MIN / mult)
        return -ERANGE;
    *out = v * mult;
    return 0;
}

int gb_parse_longs(const char *opt, const char *s, long min, long max, struct gb_longs *out, char *err,
                   size_t errlen)
{
    out->n = 0;
    const char *p = s;
    for (;;) {
        size_t len = strcspn(p, ",");
        long v;
        int rc = parse_one_long(p, len, &v);
        if (rc != 0 || v < min) {
            /* Counts of CPUs and hubs are small: 10k would be no example. */
            bool small = strcmp(opt, "--cpus") == 0 || strcmp(opt, "--hubs") == 0;
            snprintf(err, errlen,
                     "%s: '%.*s' is not valid: give whole numbers >= %ld, comma-separated "
                     "(e.g. %s=%s)",
                     opt, (int)len, p, min, opt, small ? "1,2" : "100,1000 or 10k");
            return GB_EXIT_USAGE;
        }
        if (v > max) {
            snprintf(err, errlen, "%s: %ld is more than any cell takes: at most %ld", opt, v, max);
            return GB_EXIT_USAGE;
        }
        if (out->n == GB_MAX_LIST) {
            snprintf(err, errlen, "%s: at most %d values", opt, GB_MAX_LIST);
            return GB_EXIT_USAGE;
        }
        bool dup = false;
        for (size_t i = 0; i < out->n; i++)
            dup |= out->v[i] == v;
        if (!dup)
            out->v[out->n++] = v;
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    return 0;
}

int gb_parse_stacks(const char *opt, const char *s, struct gb_longs *out, char *err, size_t errlen)
{
    out->n = 0;
    for (const char *p = s;;) {
        size_t len = strcspn(p, ",");
        long v = -1;
        char word[32];
        snprintf(word, sizeof word, "%.*s", (int)(len < sizeof word ? len : sizeof word - 1), p);
        if (strcmp(word, "private") == 0) {
            v = 0;
        } else if (strcmp(word, "copy") == 0) {
            v = 1;
        } else if (strncmp(word, "copy:", 5) == 0 && word[5] >= '1' && word[5] <= '9') {
            char *end;
            v = strtol(word + 5, &end, 10);
            if (*end != '\0' || v > gb_axes[GB_AXIS_STACKS].max)
                v = -1;
        }
        if (v < 0 || len >= sizeof word) {
            snprintf(err, errlen,
                     "%s: '%.*s' is not valid: private or copy:K (K shared stacks, 1 to %ld), "
                     "comma-separated (e.g. %s=private,copy:1)",
                     opt, (int)len, p, gb_axes[GB_AXIS_STACKS].max, opt);
            return GB_EXIT_USAGE;
        }
        bool dup = false;
        for (size_t i = 0; i < out->n; i++)
            dup |= out->v[i] == v;
        if (!dup && out->n == GB_MAX_LIST) {
            snprintf(err, errlen, "%s: at most %d values", opt, GB_MAX_LIST);
            return GB_EXIT_USAGE;
        }
        if (!dup)
            out->v[out->n++] = v;
        if (p[len] == '\0')
            return 0;
        p += len + 1;
    }
}

int gb_parse_names(const char *opt, const char *s, struct gb_names *out, char *err, size_t errlen)
{
    out->n = 0;
    const char *p = s;
    for (;;) {
        size_t len = strcspn(p, ",");
        const char *q = p;
        while (len > 0 && isspace((unsigned char)*q)) {
            q++;
            len--;
        }
        while (len > 0 && isspace((unsigned char)q[len - 1]))
            len--;
        if (len == 0 || len >= GB_NAME) {
            snprintf(err, errlen, "%s: empty or too long name in '%s'", opt, s);
            return GB_EXIT_USAGE;
        }
        if (out->n == GB_MAX_LIST) {
            snprintf(err, errlen, "%s: at most %d values", opt, GB_MAX_LIST);
            return GB_EXIT_USAGE;
        }
        char name[GB_NAME];
        snprintf(name, sizeof name, "%.*s", (int)len, q);
        if (!gb_name_in(out->v, out->n, name))
            snprintf(out->v[out->n++], GB_NAME, "%s", name);
        p += strcspn(p, ",");
        if (*p == '\0')
            break;
        p++;
    }
    return 0;
}

static int parse_seconds(const char *opt, const char *s, double *out, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    double mult = 1;
    if (end != s && *end == 's' && end[1] == '\0')
        end++;
    else if (end != s && *end == 'm' && end[1] == '\0') {
        mult = 60;
        end++;
    }
    if (end == s || *end != '\0' || errno != 0 || !(v > 0) || v * mult > 86400 * 7) {
        snprintf(err, errlen, "%s: '%s' is not valid: give seconds > 0 (e.g. %s=30, %s=1.5, %s=2m)",
                 opt, s, opt, opt, opt);
        return GB_EXIT_USAGE;
    }
    *out = v * mult;
    return 0;
}

const struct gb_longs *gb_opts_axis(const struct gb_run_opts *o, enum gb_axis_id a)
{
    return (const void *)((const char *)o + gb_axes[a].opts_off);
}

/* getopt_long(3)'s values for run's options: one per axis, then the other
 * options that take a value (in run_value_opts' order), then the flags. Above
 * every char, so that a '?' with optopt >= OPT_AXIS is a flag given a value. */
enum {
    OPT_AXIS = 256,
    OPT_VALUE = OPT_AXIS + GB_NAXES,
    OPT_QUICK = OPT_VALUE + 24,
    OPT_FULL,
    OPT_NO_PLOTS,
    OPT_DRY_RUN,
    OPT_HELP,
};

/* The options that take a value, besides one per axis. */
static const char *const run_value_opts[] = {
    "--workload", "--impl",      "--switch", "--loop",    "--reps",      "--min-reps",
    "--max-reps", "--target-ci", "--budget", "--timeout", "--out",       "--seed",
    "--resume",   "--emit",      "--shard",  "--peer",    "--peers-dir", NULL,
};
#define NVALUE_OPTS (sizeof run_value_opts / sizeof run_value_opts[0] - 1)
_Static_assert(NVALUE_OPTS <= 24, "OPT_QUICK leaves room for 24 value options");

/* The options that take none, in OPT_QUICK's order. */
static const char *const run_flags[] = { "--quick", "--full", "--no-plots", "--dry-run", "--help" };
#define NFLAGS (sizeof run_flags / sizeof run_flags[0])

/* run's options as getopt_long wants them, into lo (one per axis, the
 * value options, the flags, the terminator). */
static void run_longopts(struct option lo[GB_NAXES + NVALUE_OPTS + NFLAGS + 1])
{
    size_t n = 0;
    for (int a = 0; a < GB_NAXES; a++)
        lo[n++] = (struct option){ gb_axes[a].option + 2, required_argument, NULL, OPT_AXIS + a };
    for (size_t k = 0; k < NVALUE_OPTS; k++)
        lo[n++] = (struct option){ run_value_opts[k] + 2, required_argument, NULL, OPT_VALUE + (int)k };
    for (size_t k = 0; k < NFLAGS; k++)
        lo[n++] = (struct option){ run_flags[k] + 2, no_argument, NULL, OPT_QUICK + (int)k };
    lo[n] = (struct option){ NULL, 0, NULL, 0 };
}

/* "--name" of the option getopt_long returned as val. */
static const char *option_name(int val)
{
    if (val >= OPT_QUICK + (int)NFLAGS)
        return "--?"; /* not one of ours */
    if (val >= OPT_QUICK)
        return run_flags[val - OPT_QUICK];
    if (val >= OPT_VALUE)
        return run_value_opts[val - OPT_VALUE];
    return gb_axes[val - OPT_AXIS].option;
}

/* --workload: names, each a row of the catalog. */
static int parse_workloads(const char *name, const char *value, struct gb_run_opts *o, char *err,
                           size_t errlen)
{
    int rc = gb_parse_names(name, value, &o->workloads, err, errlen);
    for (size_t j = 0; rc == 0 && j < o->workloads.n; j++) {
        if (gb_workload_find(o->workloads.v[j]))
            continue;
        struct gb_buf b;
        gb_buf_init(&b);
        for (size_t w = 0; w < gb_nworkloads; w++)
            gb_buf_printf(&b, "%s%s", w ? ", " : "", gb_workloads[w].name);
        snprintf(err, errlen, "--workload: unknown workload '%s' (valid: %s)",
                 o->workloads.v[j], gb_buf_str(&b));
        gb_buf_free(&b);
        rc = GB_EXIT_USAGE;
    }
    return rc;
}

/* --reps, --min-reps, --max-reps (opt): one whole number from 1 to 100000
 * into *out. */
static int parse_reps(const char *opt, const char *value, long *out, char *err, size_t errlen)
{
    int rc = 0;
    long v = 0;
    if (strchr(value, ',')) {
        snprintf(err, errlen, "%s: '%s': give one whole number >= 1, not a list", opt, value);
        rc = GB_EXIT_USAGE;
    } else if (parse_one_long(value, strlen(value), &v) != 0 || v < 1 || v > 100000) {
        snprintf(err, errlen,
                 "%s: '%s' is not valid: give one whole number >= 1 "
                 "and <= 100000 (e.g. %s=10)",
                 opt, value, opt);
        rc = GB_EXIT_USAGE;
    }
    *out = v;
    return rc;
}

/* --target-ci: a relative half-width, 0.05 or 5%, above 0 and below 1. */
static int parse_target(const char *value, struct gb_run_opts *o, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    double v = strtod(value, &end);
    if (end != value && *end == '%' && end[1] == '\0') {
        v /= 100;
        end++;
    }
    if (end == value || *end != '\0' || errno != 0 || !(v > 0 && v < 1)) {
        snprintf(err, errlen,
                 "--target-ci: '%s' is not valid: give the half-width of the median's "
                 "interval relative to the median, above 0 and below 1 "
                 "(e.g. --target-ci=0.05 or --target-ci=5%%)",
                 value);
        return GB_EXIT_USAGE;
    }
    o->target_ci = v;
    return 0;
}

/* --budget (opt): a duration as --timeout takes it, or none, or 0 in any
 * unit (0s, 0m: "90s, 4m; 0 or none", says the help), for none, into *out. */
static int parse_duration_or_none(const char *opt, const char *value, double *out, char *err, size_t errlen)
{
    char *end;
    double v = strtod(value, &end);
    bool zero = end != value && v == 0 && (*end == '\0' || (strchr("sm", *end) && end[1] == '\0'));
    if (strcmp(value, "none") == 0 || zero) {
        *out = 0;
        return 0;
    }
    int rc = parse_seconds(opt, value, out, err, errlen);
    if (rc != 0)
        snprintf(err, errlen,
                 "%s: '%s' is not valid: give seconds > 0 (e.g. %s=90s, %s=4m), or 0 or none for no budget",
                 opt, value, opt, opt);
    return rc;
}

/* --seed: an unsigned 64-bit integer (0x... and 0... too) into o->seed. */
static int parse_seed(const char *value, struct gb_run_opts *o, char *err, size_t errlen)
{
    int rc = 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(value, &end, 0);
    if (*value == '\0' || *value == '-' || *end != '\0' || errno != 0) {
        snprintf(err, errlen, "--seed: '%s' is not valid: give an unsigned 64-bit integer", value);
        rc = GB_EXIT_USAGE;
    }
    o->seed = v;
    o->seed_set = true;
    return rc;
}

/* --out or --resume: a path that fits into out (n bytes). */
static int parse_path(const char *value, char *out, size_t n, const char *what, char *err,
                      size_t errlen)
{
    int rc = 0;
    if (*value == '\0' || strlen(value) >= n) {
        snprintf(err, errlen, "%s", what);
        rc = GB_EXIT_USAGE;
    }
    snprintf(out, n, "%s", value);
    return rc;
}

/* --emit: the engine a campaign is written for, parallel or slurm. */
static int parse_emit(const char *value, struct gb_run_opts *o, char *err, size_t errlen)
{
    if (strcmp(value, "parallel") != 0 && strcmp(value, "slurm") != 0) {
        snprintf(err, errlen,
                 "--emit: '%s' is not valid: give parallel (GNU parallel over ssh) or slurm "
                 "(a Slurm job array)",
                 value);
        return GB_EXIT_USAGE;
    }
    snprintf(o->emit, sizeof o->emit, "%s", value);
    return 0;
}

/* An axis given that none of the chosen workloads takes (--stacks with
 * --workload=switch) would change nothing: 0, or GB_EXIT_USAGE naming the
 * workloads that take it. */
static int check_axes_taken(const struct gb_run_opts *o, char *err, size_t errlen)
{
    for (int a = 0; a < GB_NAXES; a++) {
        if (gb_axes[a].setup || gb_opts_axis(o, a)->n == 0)
            continue;
        bool taken = false;
        struct gb_buf takers;
        gb_buf_init(&takers);
        for (size_t w = 0; w < gb_nworkloads; w++) {
            if (!(gb_workloads[w].axes & 1u << a))
                continue;
            gb_buf_printf(&takers, "%s%s", gb_buf_str(&takers)[0] ? ", " : "", gb_workloads[w].name);
            bool chosen = o->workloads.n == 0;
            for (size_t j = 0; j < o->workloads.n && !chosen; j++)
                chosen = strcmp(o->workloads.v[j], gb_workloads[w].name) == 0;
            taken |= chosen;
        }
        if (!taken)
            snprintf(err, errlen, "%s: none of the workloads chosen takes it (it applies to %s)",
                     gb_axes[a].option, gb_buf_str(&takers));
        gb_buf_free(&takers);
        if (!taken)
            return GB_EXIT_USAGE;
    }
    return 0;
}

/* An option that only green cells take (--switch, --loop, --stacks,
 * --live-bytes) with an --impl list that has no green would change nothing
 * either: 0, or GB_EXIT_USAGE saying so. */
static int check_green_taken(const struct gb_run_opts *o, char *err, size_t errlen)
{
    if (o->impls.n == 0)
        return 0;
    for (size_t i = 0; i < o->impls.n; i++)
        if (strcmp(o->impls.v[i], "green") == 0)
            return 0;
    const char *given = o->switches.n ? "--switch" : o->loops.n ? "--loop" : NULL;
    for (int a = 0; a < GB_NAXES && given == NULL; a++)
        if (gb_axes[a].green && gb_opts_axis(o, a)->n > 0)
            given = gb_axes[a].option;
    if (given == NULL)
        return 0;
    snprintf(err, errlen, "%s: only green cells take it, and --impl chose none (add green to --impl)",
             given);
    return GB_EXIT_USAGE;
}

/* --emit and --shard against the rest: 0, or GB_EXIT_USAGE with a message. */
static int check_campaign(const struct gb_run_opts *o, bool matrix_opts, char *err, size_t errlen)
{
    if (o->emit[0] && (o->resume[0] || o->shard[0] || o->dry_run)) {
        snprintf(err, errlen, "--emit writes a campaign: it excludes --resume, --shard and --dry-run");
        return GB_EXIT_USAGE;
    }
    if (o->emit[0] && !o->out[0]) {
        snprintf(err, errlen,
                 "--emit needs --out CAMPAIGN: the new folder of the plan, shards and launcher");
        return GB_EXIT_USAGE;
    }
    if (o->shard[0] && (matrix_opts || o->resume[0])) {
        snprintf(err, errlen,
                 "--shard FILE takes no matrix options and no --resume: the shard's plan is in "
                 "FILE (its folder, given again as --out, resumes)");
        return GB_EXIT_USAGE;
    }
    return 0;
}

/* The value of option name (a known one; axis: its axis, or -1) into o;
 * *matrix when the option shapes the matrix (which --resume refuses). 0
 * or GB_EXIT_USAGE with a message in err. */
static int parse_value(const char *name, int axis, const char *value, struct gb_run_opts *o,
                       bool *matrix, char *err, size_t errlen)
{
    *matrix = strcmp(name, "--out") != 0 && strcmp(name, "--resume") != 0 && strcmp(name, "--emit") != 0 &&
              strcmp(name, "--shard") != 0 && strcmp(name, "--peers-dir") != 0;
    if (axis >= 0) {
        struct gb_longs *values = (struct gb_longs *)gb_opts_axis(o, axis);
        if (gb_axes[axis].green && gb_axes[axis].series)
            return gb_parse_stacks(name, value, values, err, errlen);
        int rc = gb_parse_longs(name, value, gb_axes[axis].min, gb_axes[axis].max, values, err, errlen);
        if (!gb_axes[axis].flag)
            return rc;
        bool bad = rc != 0; /* Not a number: the numbers' message would suggest 10k. */
        for (size_t i = 0; !bad && i < values->n; i++)
            bad = values->v[i] > 1;
        if (bad) {
            snprintf(err, errlen, "%s: '%s' is not valid: 0 (off) or 1 (on), or both: %s=0,1", name, value,
                     name);
            return GB_EXIT_USAGE;
        }
        return 0;
    }
    if (strcmp(name, "--workload") == 0)
        return parse_workloads(name, value, o, err, errlen);
    if (strcmp(name, "--impl") == 0)
        return gb_parse_names(name, value, &o->impls, err, errlen);
    if (strcmp(name, "--switch") == 0)
        return gb_parse_names(name, value, &o->switches, err, errlen);
    if (strcmp(name, "--loop") == 0)
        return gb_parse_names(name, value, &o->loops, err, errlen);
    if (strcmp(name, "--reps") == 0)
        return parse_reps(name, value, &o->reps, err, errlen);
    if (strcmp(name, "--min-reps") == 0)
        return parse_reps(name, value, &o->min_reps, err, errlen);
    if (strcmp(name, "--max-reps") == 0)
        return parse_reps(name, value, &o->max_reps, err, errlen);
    if (strcmp(name, "--target-ci") == 0)
        return parse_target(value, o, err, errlen);
    if (strcmp(name, "--budget") == 0)
        return parse_duration_or_none(name, value, &o->budget_s, err, errlen);
    if (strcmp(name, "--timeout") == 0)
        return parse_seconds(name, value, &o->timeout_s, err, errlen);
    if (strcmp(name, "--seed") == 0)
        return parse_seed(value, o, err, errlen);
    if (strcmp(name, "--emit") == 0)
        return parse_emit(value, o, err, errlen);
    if (strcmp(name, "--shard") == 0)
        return parse_path(value, o->shard, sizeof o->shard,
                          "--shard: give a shard file (CAMPAIGN/shards/NNN.json)", err, errlen);
    if (strcmp(name, "--peer") == 0) {
        if (o->npeers == GB_MAX_PEERS) {
            snprintf(err, errlen, "--peer: at most %d", GB_MAX_PEERS);
            return GB_EXIT_USAGE;
        }
        o->peers[o->npeers++] = (char *)value; /* checked when registered (peers_ext.c) */
        return 0;
    }
    if (strcmp(name, "--peers-dir") == 0)
        return parse_path(value, o->peers_dir, sizeof o->peers_dir, "--peers-dir: give a directory", err,
                          errlen);
    if (strcmp(name, "--out") == 0)
        return parse_path(value, o->out, sizeof o->out, "--out: give a directory path", err,
                          errlen);
    return parse_path(value, o->resume, sizeof o->resume,
                      "--resume: give the directory of the interrupted run", err, errlen);
}

/* An argument run does not take (it takes none, and its options start
 * with --): the message into err. GB_EXIT_USAGE. */
static int unexpected(const char *arg, char *err, size_t errlen)
{
    snprintf(err, errlen,
             "unexpected argument '%s' (options start with --; see greenbench run --help)", arg);
    return GB_EXIT_USAGE;
}

/* What getopt_long returned as c ('?' or ':') for arg, the argument it
 * was at: the message into err. GB_EXIT_USAGE. */
static int option_error(int c, const char *arg, char *err, size_t errlen)
{
    if (c == ':')
        snprintf(err, errlen, "%s needs a value", option_name(optopt));
    else if (optopt >= OPT_AXIS)
        snprintf(err, errlen, "%s takes no value (see greenbench run --help)", option_name(optopt));
    else if (optopt != 0) /* -x: a short option, and run has none but -h */
        return unexpected(arg, err, errlen);
    else /* unknown, or an abbreviation of more than one */
        snprintf(err, errlen, "unknown option '%.*s' (see greenbench run --help)",
                 (int)strcspn(arg, "="), arg);
    return GB_EXIT_USAGE;
}

int gb_run_opts_parse(int argc, char **argv, struct gb_run_opts *o, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->reps = o->min_reps = o->max_reps = -1;
    o->budget_s = -1;
    bool quick = false, full = false, matrix_opts = false;
    struct option lo[GB_NAXES + NVALUE_OPTS + NFLAGS + 1];
    run_longopts(lo);
    opterr = 0;
    optind = 0; /* glibc: start over (the tests parse many command lines in one process) */
    /* "-": arguments in their order, argv untouched (meta.json records it);
     * ":": a missing value is ':'. */
    int c, at = 1;
    while ((c = getopt_long(argc, argv, "-:h", lo, NULL)) != -1) {
        const char *arg = argv[at];
        bool matrix = false;
        int rc = 0;
        switch (c) {
        case 1: return unexpected(optarg, err, errlen);
        case 'h': /* -h, but not -hx */
            return strcmp(arg, "-h") == 0 ? -1 : unexpected(arg, err, errlen);
        case OPT_HELP: return -1;
        case OPT_QUICK: quick = true; break;
        case OPT_FULL: full = true; break;
        case OPT_NO_PLOTS: o->no_plots = true; break;
        case OPT_DRY_RUN: o->dry_run = true; break;
        case '?':
        case ':': return option_error(c, arg, err, errlen);
        default:
            rc = parse_value(option_name(c), c < OPT_VALUE ? c - OPT_AXIS : -1, optarg, o, &matrix,
                             err, errlen);
            if (rc != 0)
                return rc;
            matrix_opts |= matrix;
        }
        at = optind;
    }
    if (optind < argc) /* after "--" */
        return unexpected(argv[optind], err, errlen);
    if (quick && full) {
        snprintf(err, errlen, "--quick and --full exclude each other");
        return GB_EXIT_USAGE;
    }
    o->preset = quick ? GB_PRESET_QUICK : full ? GB_PRESET_FULL : GB_PRESET_DEFAULT;
    if (o->reps > 0 && (o->min_reps > 0 || o->max_reps > 0)) {
        snprintf(err, errlen,
                 "--reps N repeats every cell exactly N times: it excludes --min-reps "
                 "and --max-reps");
        return GB_EXIT_USAGE;
    }
    if (o->min_reps > 0 && o->max_reps > 0 && o->min_reps > o->max_reps) {
        snprintf(err, errlen, "--min-reps %ld is above --max-reps %ld", o->min_reps, o->max_reps);
        return GB_EXIT_USAGE;
    }
    if (o->resume[0] && (matrix_opts || quick || full || o->out[0] || o->peers_dir[0])) {
        snprintf(err, errlen, "--resume DIR takes no matrix options: the run's plan is in DIR/meta.json");
        return GB_EXIT_USAGE;
    }
    int rc = check_axes_taken(o, err, errlen);
    if (rc == 0)
        rc = check_green_taken(o, err, errlen);
    return rc != 0 ? rc : check_campaign(o, matrix_opts || quick || full, err, errlen);
}
