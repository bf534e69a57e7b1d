/* harness/csv.c: RFC 4180 CSV writing, and reading for the tests (csv.h). */
#include "csv.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void gb_csv_field(struct gb_buf *b, const char *s)
{
    if (s == NULL)
        s = "";
    if (strpbrk(s, ",\"\r\n") == NULL) {
        gb_buf_puts(b, s);
        return;
    }
    gb_buf_add(b, "\"", 1);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            gb_buf_add(b, "\"", 1);
        gb_buf_add(b, p, 1);
    }
    gb_buf_add(b, "\"", 1);
}

void gb_csv_num(struct gb_buf *b, double v)
{
    if (!isfinite(v))
        return;
    if (v == floor(v) && fabs(v) < 1e15)
        gb_buf_printf(b, "%.0f", v);
    else
        gb_buf_printf(b, "%.6g", v);
}

void gb_csv_sep(struct gb_buf *b)
{
    gb_buf_add(b, ",", 1);
}

void gb_csv_eol(struct gb_buf *b)
{
    gb_buf_add(b, "\r\n", 2);
}

static void push_field(struct gb_csv *c, struct gb_buf *field)
{
    size_t r = c->rows - 1;
    c->cells[r] = gb_xrealloc(c->cells[r], (c->ncols[r] + 1) * sizeof(char *));
    c->cells[r][c->ncols[r]++] = field->data ? field->data : gb_xstrdup("");
    gb_buf_init(field);
}

static void push_row(struct gb_csv *c)
{
    c->rows++;
    c->ncols = gb_xrealloc(c->ncols, c->rows * sizeof *c->ncols);
    c->cells = gb_xrealloc(c->cells, c->rows * sizeof *c->cells);
    c->ncols[c->rows - 1] = 0;
    c->cells[c->rows - 1] = NULL;
}

int gb_csv_parse(const char *text, struct gb_csv *out)
{
    memset(out, 0, sizeof *out);
    struct gb_buf field;
    gb_buf_init(&field);
    const char *p = text;
    if (*p == '\0')
        return 0;
    push_row(out);
    for (;;) {
        if (*p == '"') {
            /* Quoted field: ends at a quote not followed by another. */
            p++;
            for (;;) {
                if (*p == '\0') {
                    gb_buf_free(&field);
                    gb_csv_free(out);
                    return -EINVAL;
                }
                if (*p == '"' && p[1] == '"') {
                    gb_buf_add(&field, "\"", 1);
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    gb_buf_add(&field, p++, 1);
                }
            }
            if (*p != ',' && *p != '\r' && *p != '\n' && *p != '\0') {
                gb_buf_free(&field);
                gb_csv_free(out);
                return -EINVAL;
            }
        } else {
            size_t n = strcspn(p, ",\r\n\"");
            if (p[n] == '"') {
                gb_buf_free(&field);
                gb_csv_free(out);
                return -EINVAL;
            }
            gb_buf_add(&field, p, n);
            p += n;
        }
        push_field(out, &field);
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '\r')
            p++;
        if (*p == '\n')
            p++;
        if (*p == '\0')
            break;
        push_row(out);
    }
    return (int)out->rows;
}

void gb_csv_free(struct gb_csv *c)
{
    for (size_t r = 0; r < c->rows; r++) {
        for (size_t i = 0; i < c->ncols[r]; i++)
            free(c->cells[r][i]);
        free(c->cells[r]);
    }
    free(c->cells);
    free(c->ncols);
    memset(c, 0, sizeof *c);
}
