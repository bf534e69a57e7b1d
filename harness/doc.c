/* harness/doc.c: one document, Markdown or HTML (doc.h). */
#include "doc.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void gb_doc_esc(struct gb_doc *d, const char *s)
{
    if (s == NULL)
        return;
    for (; *s; s++) {
        if (d->html) {
            switch (*s) {
            case '&': gb_buf_puts(d->b, "&amp;"); break;
            case '<': gb_buf_puts(d->b, "&lt;"); break;
            case '>': gb_buf_puts(d->b, "&gt;"); break;
            case '"': gb_buf_puts(d->b, "&quot;"); break;
            case '\'': gb_buf_puts(d->b, "&#39;"); break;
            default: gb_buf_add(d->b, s, 1);
            }
        } else {
            /* Markdown table cells: no pipes, no line breaks, no raw HTML. */
            switch (*s) {
            case '|': gb_buf_puts(d->b, "\\|"); break;
            case '\n': case '\r': gb_buf_puts(d->b, " "); break;
            case '<': gb_buf_puts(d->b, "&lt;"); break;
            case '>': gb_buf_puts(d->b, "&gt;"); break;
            case '*': case '_': case '`': case '[': case ']': case '\\':
                gb_buf_add(d->b, "\\", 1);
                gb_buf_add(d->b, s, 1);
                break;
            default: gb_buf_add(d->b, s, 1);
            }
        }
    }
}

/* put(d, the formatted text): what the *f variants share. */
static void put_formatted(struct gb_doc *d, void (*put)(struct gb_doc *, const char *), const char *fmt,
                          va_list ap)
{
    struct gb_buf t;
    gb_buf_init(&t);
    gb_buf_vprintf(&t, fmt, ap);
    put(d, gb_buf_str(&t));
    gb_buf_free(&t);
}

void gb_doc_escf(struct gb_doc *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    put_formatted(d, gb_doc_esc, fmt, ap);
    va_end(ap);
}

void gb_doc_heading(struct gb_doc *d, int level, const char *text)
{
    if (d->html) {
        gb_buf_printf(d->b, "<h%d>", level);
        gb_doc_esc(d, text);
        gb_buf_printf(d->b, "</h%d>\n", level);
    } else {
        gb_buf_printf(d->b, "\n%.*s ", level, "######");
        gb_doc_esc(d, text);
        gb_buf_puts(d->b, "\n\n");
    }
}

void gb_doc_para(struct gb_doc *d, const char *cls)
{
    if (d->html)
        gb_buf_printf(d->b, "<p%s%s%s>", cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "");
    else if (cls && strcmp(cls, "note") == 0)
        gb_buf_puts(d->b, "> ");
}

void gb_doc_para_end(struct gb_doc *d)
{
    gb_buf_puts(d->b, d->html ? "</p>\n" : "\n\n");
}

void gb_doc_table(struct gb_doc *d, const char *const *cols, size_t n)
{
    if (d->html) {
        gb_buf_puts(d->b, "<table>\n<thead><tr>");
        for (size_t i = 0; i < n; i++) {
            gb_buf_puts(d->b, "<th>");
            gb_doc_esc(d, cols[i]);
            gb_buf_puts(d->b, "</th>");
        }
        gb_buf_puts(d->b, "</tr></thead>\n<tbody>\n");
    } else {
        gb_buf_puts(d->b, "|");
        for (size_t i = 0; i < n; i++) {
            gb_buf_puts(d->b, " ");
            gb_doc_esc(d, cols[i]);
            gb_buf_puts(d->b, " |");
        }
        gb_buf_puts(d->b, "\n|");
        for (size_t i = 0; i < n; i++)
            gb_buf_puts(d->b, " --- |");
        gb_buf_puts(d->b, "\n");
    }
}

void gb_doc_row(struct gb_doc *d, const char *cls)
{
    if (d->html)
        gb_buf_printf(d->b, "<tr%s%s%s>", cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "");
    else
        gb_buf_puts(d->b, "|");
}

void gb_doc_cell(struct gb_doc *d, const char *text)
{
    gb_buf_puts(d->b, d->html ? "<td>" : " ");
    gb_doc_esc(d, text);
    gb_buf_puts(d->b, d->html ? "</td>" : " |");
}

void gb_doc_cellf(struct gb_doc *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    put_formatted(d, gb_doc_cell, fmt, ap);
    va_end(ap);
}

void gb_doc_row_end(struct gb_doc *d)
{
    gb_buf_puts(d->b, d->html ? "</tr>\n" : "\n");
}

void gb_doc_table_end(struct gb_doc *d)
{
    gb_buf_puts(d->b, d->html ? "</tbody>\n</table>\n" : "\n");
}

void gb_doc_list(struct gb_doc *d, const char *cls)
{
    if (d->html)
        gb_buf_printf(d->b, "<ul%s%s%s>\n", cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "");
}

void gb_doc_list_end(struct gb_doc *d)
{
    gb_buf_puts(d->b, d->html ? "</ul>\n" : "\n");
}

void gb_doc_details(struct gb_doc *d, const char *summary)
{
    if (!d->html)
        return;
    gb_buf_puts(d->b, "<details><summary>");
    gb_doc_esc(d, summary);
    gb_buf_puts(d->b, "</summary>\n");
}

void gb_doc_details_end(struct gb_doc *d)
{
    if (d->html)
        gb_buf_puts(d->b, "</details>\n");
}

void gb_doc_item(struct gb_doc *d, const char *text)
{
    if (d->html) {
        gb_buf_puts(d->b, "<li>");
        gb_doc_esc(d, text);
        gb_buf_puts(d->b, "</li>\n");
    } else {
        gb_buf_puts(d->b, "- ");
        gb_doc_esc(d, text);
        gb_buf_puts(d->b, "\n");
    }
}

void gb_doc_pre(struct gb_doc *d, const char *text)
{
    if (d->html) {
        gb_buf_puts(d->b, "<pre>");
        for (const char *s = text; *s; s++) {
            if (*s == '&')
                gb_buf_puts(d->b, "&amp;");
            else if (*s == '<')
                gb_buf_puts(d->b, "&lt;");
            else if (*s == '>')
                gb_buf_puts(d->b, "&gt;");
            else
                gb_buf_add(d->b, s, 1);
        }
        gb_buf_puts(d->b, "</pre>\n");
        return;
    }
    /* A fence longer than any backtick run inside. */
    size_t run = 0, best = 0;
    for (const char *s = text; *s; s++) {
        run = *s == '`' ? run + 1 : 0;
        if (run > best)
            best = run;
    }
    size_t fence = best < 3 ? 3 : best + 1;
    for (size_t i = 0; i < fence; i++)
        gb_buf_puts(d->b, "`");
    gb_buf_puts(d->b, "text\n");
    gb_buf_puts(d->b, text);
    if (text[0] && text[strlen(text) - 1] != '\n')
        gb_buf_puts(d->b, "\n");
    for (size_t i = 0; i < fence; i++)
        gb_buf_puts(d->b, "`");
    gb_buf_puts(d->b, "\n\n");
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64(struct gb_buf *b, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        char q[4] = { b64[v >> 18 & 63], b64[v >> 12 & 63], i + 1 < n ? b64[v >> 6 & 63] : '=',
                      i + 2 < n ? b64[v & 63] : '=' };
        gb_buf_add(b, q, 4);
    }
}

void gb_doc_figure(struct gb_doc *d, const char *dir, const char *kind, const char *caption)
{
    char *svg = gb_xasprintf("%s/plots/%s.svg", dir, kind);
    char *data;
    size_t len;
    if (gb_read_file(svg, &data, &len) != 0) {
        free(svg);
        return;
    }
    if (d->html) {
        gb_buf_puts(d->b, "<figure><img alt=\"");
        gb_doc_esc(d, caption);
        gb_buf_puts(d->b, "\" src=\"data:image/svg+xml;base64,");
        base64(d->b, (const unsigned char *)data, len);
        gb_buf_puts(d->b, "\"><figcaption>");
        gb_doc_esc(d, caption);
        gb_buf_printf(d->b, " (<code>plots/%s.svg</code>, .png, .gp, .dat)</figcaption></figure>\n", kind);
    } else {
        gb_buf_puts(d->b, "![");
        gb_doc_esc(d, caption);
        gb_buf_printf(d->b, "](plots/%s.svg)\n\n", kind);
    }
    free(data);
    free(svg);
}
