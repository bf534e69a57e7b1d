/* harness/csv.h: RFC 4180 CSV, written by the results and compare stages
 * (summary.csv, compare's CSV; docs/results-format.md) and read back by
 * the tests. Fields holding a comma, a double quote, CR or LF are quoted,
 * quotes doubled; records end in CRLF. */
#ifndef GREENBENCH_CSV_H
#define GREENBENCH_CSV_H

#include <stddef.h>

#include "util.h"

/* Append one field, quoted when it needs to be; NULL is an empty field. */
void gb_csv_field(struct gb_buf *b, const char *s);
/* A number: whole ones below 1e15 as integers, others %.6g; empty for NaN
 * and infinities. */
void gb_csv_num(struct gb_buf *b, double v);
void gb_csv_sep(struct gb_buf *b); /* "," */
void gb_csv_eol(struct gb_buf *b); /* CRLF, as RFC 4180 says */

/* A parsed CSV text: rows of fields (NUL-terminated, unquoted). */
struct gb_csv {
    size_t rows;
    size_t *ncols;
    char ***cells;
};
/* Parse a whole text into *out. Returns the number of rows (0 for ""), or
 * -EINVAL on a malformed quote (out is then empty). Free with gb_csv_free. */
int gb_csv_parse(const char *text, struct gb_csv *out);
void gb_csv_free(struct gb_csv *c);

#endif /* GREENBENCH_CSV_H */
