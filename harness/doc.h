/* harness/doc.h: part of the report stage: one document written in two
 * syntaxes, Markdown (report.md) or self-contained HTML (report.html), from
 * the same calls: headings, paragraphs, tables, lists, preformatted text
 * and figures. All text given is escaped for the syntax; only the raw
 * gb_buf_* calls on b bypass it. */
#ifndef GREENBENCH_DOC_H
#define GREENBENCH_DOC_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct gb_doc {
    struct gb_buf *b; /* the document so far */
    bool html;        /* HTML, else Markdown */
};

/* Text, escaped: HTML's five characters; in Markdown table cells no pipes,
 * line breaks or raw HTML, and Markdown's own characters backslashed. */
void gb_doc_esc(struct gb_doc *d, const char *s); /* NULL: nothing */
void gb_doc_escf(struct gb_doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void gb_doc_heading(struct gb_doc *d, int level, const char *text); /* level 1..6 */
/* A paragraph; cls is its HTML class ("note" is a Markdown quote too) or NULL. */
void gb_doc_para(struct gb_doc *d, const char *cls);
void gb_doc_para_end(struct gb_doc *d);
/* A table with n columns named cols; rows of cells until gb_doc_table_end. */
void gb_doc_table(struct gb_doc *d, const char *const *cols, size_t n);
void gb_doc_row(struct gb_doc *d, const char *cls); /* cls: HTML class or NULL */
void gb_doc_cell(struct gb_doc *d, const char *text);
void gb_doc_cellf(struct gb_doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void gb_doc_row_end(struct gb_doc *d);
void gb_doc_table_end(struct gb_doc *d);
/* A list of items until gb_doc_list_end; cls: its HTML class or NULL. */
void gb_doc_list(struct gb_doc *d, const char *cls);
void gb_doc_item(struct gb_doc *d, const char *text);
void gb_doc_list_end(struct gb_doc *d);
/* HTML: what follows until gb_doc_details_end is folded under summary
 * (<details>). Markdown has no such thing: nothing is written. */
void gb_doc_details(struct gb_doc *d, const char *summary);
void gb_doc_details_end(struct gb_doc *d);
/* Preformatted text, as it is: a <pre>, or a fence longer than any run of
 * backticks inside. */
void gb_doc_pre(struct gb_doc *d, const char *text);
/* dir/plots/<kind>.svg with its caption: inline (base64) in HTML, a link in
 * Markdown; nothing when the file cannot be read. */
void gb_doc_figure(struct gb_doc *d, const char *dir, const char *kind, const char *caption);

#endif /* GREENBENCH_DOC_H */
