/* harness/units.c: figures as people read them (units.h). */
#include "units.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* U+202F NARROW NO-BREAK SPACE: groups thousands and never breaks a figure
 * across lines, in a terminal, in Markdown and in HTML alike. */
#define THIN "\xe2\x80\xaf"

/* Digits (no sign) grouped by three: "1 810". */
static void group_digits(char *out, size_t n, bool negative, const char *digits)
{
    size_t len = strlen(digits), at = 0;
    if (negative && at + 1 < n)
        out[at++] = '-';
    for (size_t i = 0; i < len && at + 1 < n; i++) {
        if (i > 0 && (len - i) % 3 == 0) {
            if (at + sizeof THIN >= n)
                break;
            memcpy(out + at, THIN, sizeof THIN - 1);
            at += sizeof THIN - 1;
        }
        out[at++] = digits[i];
    }
    out[at] = '\0';
}

/* An integer's digits grouped by three. */
static void grouped(char *out, size_t n, double v)
{
    char digits[320]; /* DBL_MAX has 309 */
    snprintf(digits, sizeof digits, "%.0f", fabs(v));
    group_digits(out, n, v < 0, digits);
}

/* |v| >= 999.5 to three significant digits, the rest zeros: 1 810, 12 300.
 * Taken from %e's digits: v rounded in binary (round(v / 1e38) * 1e38)
 * would print as 14 999 999 ... for 1.5e40. */
static void three_digits_grouped(char *out, size_t n, double v)
{
    char sig[32], digits[320];
    snprintf(sig, sizeof sig, "%.2e", fabs(v)); /* "1.50e+40" */
    int exponent = atoi(strchr(sig, 'e') + 1);
    snprintf(digits, sizeof digits, "%c%c%c%0*d", sig[0], sig[2], sig[3], exponent - 2, 0);
    if (exponent == 2)
        digits[3] = '\0';
    group_digits(out, n, v < 0, digits);
}

void gb_fmt_num(char *out, size_t n, double v)
{
    double a = fabs(v);
    if (!isfinite(v)) {
        snprintf(out, n, "n/a");
    } else if (a >= 999.5) {
        three_digits_grouped(out, n, v);
    } else if (a >= 99.95 || a == 0) {
        snprintf(out, n, "%.0f", v);
    } else if (a >= 9.995) {
        snprintf(out, n, "%.1f", v);
    } else if (a >= 0.9995) {
        snprintf(out, n, "%.2f", v);
    } else if (a >= 0.0009995) {
        snprintf(out, n, "%#.3g", v); /* 0.940, not 0.94: three digits, as above */
    } else {
        /* Below 0.001 %g writes an exponent (1.23e-05): the digits of a
         * fixed point instead, three of them, down to 9 decimals. */
        int decimals = 2 - (int)floor(log10(a));
        snprintf(out, n, "%.*f", decimals < 9 ? decimals : 9, v);
    }
}

void gb_fmt_count(char *out, size_t n, double v)
{
    if (!isfinite(v))
        snprintf(out, n, "n/a");
    else
        grouped(out, n, round(v));
}

/* The largest of count scales that leaves v at least 1 (the first when
 * none does). */
static size_t scale_of(double v, const double *scale, size_t count)
{
    size_t i = 0;
    while (i + 1 < count && fabs(v) >= scale[i + 1] * 0.9995)
        i++;
    return i;
}

/* lo and hi (lo NaN: hi alone) in the unit scale_of(hi) picks: num + sep +
 * unit, or num–num + sep + unit. */
static void scaled_range(char *out, size_t n, double lo, double hi, const double *scale,
                         const char *const *units, size_t count, const char *sep)
{
    if (!isfinite(hi) || (lo == lo && !isfinite(lo))) {
        snprintf(out, n, "n/a");
        return;
    }
    size_t i = scale_of(hi, scale, count);
    char a[48] = "", b[48];
    if (lo == lo)
        gb_fmt_num(a, sizeof a, lo / scale[i]);
    gb_fmt_num(b, sizeof b, hi / scale[i]);
    snprintf(out, n, "%s%s%s%s%s", a, lo == lo ? "–" : "", b, sep, units[i]);
}

static void scaled(char *out, size_t n, double v, const double *scale, const char *const *units,
                   size_t count, const char *sep)
{
    scaled_range(out, n, NAN, v, scale, units, count, sep);
}

static const double thousands[] = { 1, 1e3, 1e6, 1e9 };
static const char *const time_units[] = { "ns", "µs", "ms", "s" };
static const char *const si_prefixes[] = { "", "k", "M", "G" };
static const double binary[] = { 1, 1024, 1048576, 1073741824 };
static const char *const byte_units[] = { "B", "KiB", "MiB", "GiB" };

void gb_fmt_time_range(char *out, size_t n, double lo_ns, double hi_ns)
{
    scaled_range(out, n, lo_ns, hi_ns, thousands, time_units, 4, " ");
}

void gb_fmt_bytes_range(char *out, size_t n, double lo, double hi)
{
    scaled_range(out, n, lo, hi, binary, byte_units, 4, " ");
}

void gb_fmt_rate_range(char *out, size_t n, double lo, double hi, const char *unit)
{
    char num[80];
    scaled_range(num, sizeof num, lo, hi, thousands, si_prefixes, 4, "");
    snprintf(out, n, "%s%s%s", num, *unit ? " " : "", unit);
}

void gb_fmt_time(char *out, size_t n, double ns)
{
    scaled(out, n, ns, thousands, time_units, 4, " ");
}

void gb_fmt_rate(char *out, size_t n, double per_s, const char *unit)
{
    gb_fmt_rate_range(out, n, NAN, per_s, unit);
}

void gb_fmt_bytes(char *out, size_t n, double bytes)
{
    if (isfinite(bytes) && fabs(bytes) < 1024)
        snprintf(out, n, "%.0f B", bytes);
    else
        scaled(out, n, bytes, binary, byte_units, 4, " ");
}

void gb_fmt_ratio(char *out, size_t n, double r)
{
    char num[48];
    gb_fmt_num(num, sizeof num, r);
    snprintf(out, n, isfinite(r) ? "%s×" : "%s", num);
}

void gb_fmt_pct(char *out, size_t n, double share)
{
    char num[48];
    if (!isfinite(share)) {
        snprintf(out, n, "n/a");
    } else if (fabs(share * 100) >= 999.5 || (share != 0 && fabs(share * 100) < 0.0009995)) {
        /* %.3g would say 1.1e+03 or 1.2e-05 */
        gb_fmt_num(num, sizeof num, share * 100);
        snprintf(out, n, "%s%%", num);
    } else {
        snprintf(out, n, "%.3g%%", share * 100);
    }
}
