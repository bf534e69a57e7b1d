/* harness/options.c: the options of `greenbench run`. Every bad value gets an
 * error that names the option and what it accepts; nothing runs until all of
 * them parsed. */
#include "options.h"

#include <ctype.h>
#include <errno.h>
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

int gb_parse_longs(const char *opt, const char *s, long min, struct gb_longs *out, char *err,
                   size_t errlen)
{
    out->n = 0;
    const char *p = s;
    for (;;) {
        size_t len = strcspn(p, ",");
        long v;
        int rc = parse_one_long(p, len, &v);
        if (rc != 0 || v < min) {
            snprintf(err, errlen,
                     "%s: '%.*s' is not valid: give whole numbers >= %ld, comma-separated "
                     "(e.g. %s=100,1000 or %s=10k)",
                     opt, (int)len, p, min, opt, opt);
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

/* The options that take a value, besides one per axis. */
static const char *const run_value_opts[] = {
    "--workload", "--impl", "--switch", "--loop", "--reps", "--timeout", "--out", "--seed",
    "--resume", NULL,
};

static int axis_of_option(const char *name)
{
    for (int a = 0; a < GB_NAXES; a++)
        if (strcmp(gb_axes[a].option, name) == 0)
            return a;
    return -1;
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

/* --reps: one whole number from 1 to 100000 into o->reps. */
static int parse_reps(const char *value, struct gb_run_opts *o, char *err, size_t errlen)
{
    int rc = 0;
    long v = 0;
    if (strchr(value, ',')) {
        snprintf(err, errlen, "--reps: '%s': give one whole number >= 1, not a list", value);
        rc = GB_EXIT_USAGE;
    } else if (parse_one_long(value, strlen(value), &v) != 0 || v < 1 || v > 100000) {
        snprintf(err, errlen, "--reps: '%s' is not valid: give one whole number >= 1 "
                              "and <= 100000 (e.g. --reps=10)", value);
        rc = GB_EXIT_USAGE;
    }
    o->reps = v;
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

/* The value of option name (a known one; axis: its axis, or -1) into o;
 * *matrix when the option shapes the matrix (which --resume refuses). 0
 * or GB_EXIT_USAGE with a message in err. */
static int parse_value(const char *name, int axis, const char *value, struct gb_run_opts *o,
                       bool *matrix, char *err, size_t errlen)
{
    *matrix = strcmp(name, "--out") != 0 && strcmp(name, "--resume") != 0;
    if (axis >= 0) {
        struct gb_longs *values = (struct gb_longs *)gb_opts_axis(o, axis);
        return gb_parse_longs(name, value, gb_axes[axis].min, values, err, errlen);
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
        return parse_reps(value, o, err, errlen);
    if (strcmp(name, "--timeout") == 0)
        return parse_seconds(name, value, &o->timeout_s, err, errlen);
    if (strcmp(name, "--seed") == 0)
        return parse_seed(value, o, err, errlen);
    if (strcmp(name, "--out") == 0)
        return parse_path(value, o->out, sizeof o->out, "--out: give a directory path", err,
                          errlen);
    return parse_path(value, o->resume, sizeof o->resume,
                      "--resume: give the directory of the interrupted run", err, errlen);
}

/* The options that take no value: true (and *quick, *full or o set) when
 * a is one of them. */
static bool parse_flag(const char *a, struct gb_run_opts *o, bool *quick, bool *full)
{
    if (strcmp(a, "--quick") == 0)
        *quick = true;
    else if (strcmp(a, "--full") == 0)
        *full = true;
    else if (strcmp(a, "--no-plots") == 0)
        o->no_plots = true;
    else if (strcmp(a, "--dry-run") == 0)
        o->dry_run = true;
    else
        return false;
    return true;
}

/* argv[*i], an option that takes a value, --opt=value or --opt value
 * (*i moves past it): into o. */
static int parse_option(int argc, char **argv, int *i, struct gb_run_opts *o, bool *matrix,
                        char *err, size_t errlen)
{
    const char *a = argv[*i];
    char name[64];
    const char *value = NULL;
    const char *eq = strchr(a, '=');
    if (eq) {
        snprintf(name, sizeof name, "%.*s", (int)(eq - a), a);
        value = eq + 1;
    } else {
        snprintf(name, sizeof name, "%s", a);
    }
    int axis = axis_of_option(name);
    bool known = axis >= 0;
    for (const char *const *k = run_value_opts; *k; k++)
        known |= strcmp(*k, name) == 0;
    if (!known) {
        snprintf(err, errlen, "unknown option '%s' (see greenbench run --help)", name);
        return GB_EXIT_USAGE;
    }
    if (value == NULL) {
        if (*i + 1 >= argc) {
            snprintf(err, errlen, "%s needs a value", name);
            return GB_EXIT_USAGE;
        }
        value = argv[++*i];
    }
    return parse_value(name, axis, value, o, matrix, err, errlen);
}

int gb_run_opts_parse(int argc, char **argv, struct gb_run_opts *o, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->reps = -1;
    bool quick = false, full = false, matrix_opts = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return -1;
        if (parse_flag(a, o, &quick, &full))
            continue;
        if (strncmp(a, "--", 2) != 0) {
            snprintf(err, errlen, "unexpected argument '%s' (options start with --; see greenbench run --help)", a);
            return GB_EXIT_USAGE;
        }
        bool matrix = false;
        int rc = parse_option(argc, argv, &i, o, &matrix, err, errlen);
        if (rc != 0)
            return rc;
        matrix_opts |= matrix;
    }
    if (quick && full) {
        snprintf(err, errlen, "--quick and --full exclude each other");
        return GB_EXIT_USAGE;
    }
    o->preset = quick ? GB_PRESET_QUICK : full ? GB_PRESET_FULL : GB_PRESET_DEFAULT;
    if (o->resume[0] && (matrix_opts || quick || full || o->out[0])) {
        snprintf(err, errlen, "--resume DIR takes no matrix options: the run's plan is in DIR/meta.json");
        return GB_EXIT_USAGE;
    }
    return 0;
}
