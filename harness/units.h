/* harness/units.h: how the harness writes a figure for people (the
 * reports, the terminal, compare's table): three significant digits, no
 * exponent, thousands grouped with a narrow no-break space, one unit style
 * for times, rates, bytes and ratios (docs/results-format.md, "Numbers").
 * summary.csv and every other machine-read file keep the raw numbers. Each
 * writes into out (n bytes) and gives "n/a" for NaN or infinity. */
#ifndef GREENBENCH_UNITS_H
#define GREENBENCH_UNITS_H

#include <stddef.h>

/* 5.30, 0.0123, 830, 1 810, 12 300 */
void gb_fmt_num(char *out, size_t n, double v);
/* An exact count, whole, grouped: 1, 812, 10 002 (not rounded to three
 * digits: one thread more is a fact, not noise) */
void gb_fmt_count(char *out, size_t n, double v);
/* 5.30 ns, 2.91 µs, 12.3 ms, 1.20 s */
void gb_fmt_time(char *out, size_t n, double ns);
/* 10.2k req/s, 1.71M switch/s: per second, SI prefixes; unit may be "" */
void gb_fmt_rate(char *out, size_t n, double per_s, const char *unit);
/* 512 B, 4.08 KiB, 8.29 MiB */
void gb_fmt_bytes(char *out, size_t n, double bytes);
/* An interval in the unit its upper end takes: "5.21–5.40 ns",
 * "2.85–3.05 µs", "4.02–4.11 KiB", "9.8–10.4k req/s". */
void gb_fmt_time_range(char *out, size_t n, double lo_ns, double hi_ns);
void gb_fmt_bytes_range(char *out, size_t n, double lo, double hi);
void gb_fmt_rate_range(char *out, size_t n, double lo, double hi, const char *unit);
/* 3.12×, 830×, 1 810× */
void gb_fmt_ratio(char *out, size_t n, double r);
/* 96.9%, 75%, 12%: a share in [0, 1] as a percentage */
void gb_fmt_pct(char *out, size_t n, double share);

#endif /* GREENBENCH_UNITS_H */
