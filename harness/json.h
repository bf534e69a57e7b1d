/* harness/json.h: a small JSON (RFC 8259) reader into a tree and a writer
 * that appends to a gb_buf: what the cell protocol, meta.json and
 * cells.jsonl need (docs/cell-protocol.md, docs/results-format.md). Used by
 * every stage. Strict on input; output is always valid UTF-8. */
#ifndef GREENBENCH_JSON_H
#define GREENBENCH_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

enum gb_json_type { GB_JSON_NULL, GB_JSON_BOOL, GB_JSON_NUMBER, GB_JSON_STRING,
                    GB_JSON_ARRAY, GB_JSON_OBJECT };

/* A parsed value; a tree that gb_json_free frees whole. */
struct gb_json {
    enum gb_json_type type;
    bool boolean;
    double number;
    char *string;           /* UTF-8, NUL-terminated (embedded NULs kept in len) */
    size_t len;
    struct gb_json **items; /* array elements or object values */
    char **keys;            /* object keys, parallel to items */
    size_t count, cap;
};

/* Parse exactly one JSON value of len bytes (surrounding whitespace
 * allowed) into *out, which the caller frees with gb_json_free. Returns 0,
 * or -EINVAL with *out NULL and, when err is not NULL, "offset N: what" in
 * err (errlen bytes). Nesting deeper than 64 levels is refused. */
int gb_json_parse(const char *text, size_t len, struct gb_json **out, char *err, size_t errlen);
void gb_json_free(struct gb_json *v); /* NULL: nothing */
/* The value of key in obj (the last one when a key repeats); NULL when obj
 * is NULL, not an object, or has no such key. Borrowed from obj. */
const struct gb_json *gb_json_get(const struct gb_json *obj, const char *key);
/* Typed lookups: the value of key, or dflt when it is absent or of another
 * type. A string is borrowed from obj. */
double gb_json_num(const struct gb_json *obj, const char *key, double dflt);
const char *gb_json_str(const struct gb_json *obj, const char *key, const char *dflt);
bool gb_json_is(const struct gb_json *obj, const char *key, enum gb_json_type t);

/* Writer: appends to out, puts the commas and, with indent > 0, newlines
 * and indent spaces per level; at most 32 levels deep. */
struct gb_jw {
    struct gb_buf *out;
    int depth, indent;
    bool first[32], after_key;
};
void gb_jw_init(struct gb_jw *w, struct gb_buf *out, int indent);
void gb_jw_obj(struct gb_jw *w);
void gb_jw_obj_end(struct gb_jw *w);
void gb_jw_arr(struct gb_jw *w);
void gb_jw_arr_end(struct gb_jw *w);
void gb_jw_key(struct gb_jw *w, const char *key); /* inside an object, before its value */
void gb_jw_str(struct gb_jw *w, const char *s);   /* NULL writes null */
void gb_jw_strn(struct gb_jw *w, const char *s, size_t n);
/* A whole number below 1e15 as an integer, else the shorter of %.15g and
 * %.17g that reads back exactly; NaN and infinities write null. */
void gb_jw_num(struct gb_jw *w, double v);
void gb_jw_int(struct gb_jw *w, long long v);
void gb_jw_bool(struct gb_jw *w, bool v);
void gb_jw_null(struct gb_jw *w);
/* A parsed value written back as the calls above write it; NULL: null. */
void gb_jw_value(struct gb_jw *w, const struct gb_json *v);
/* Append n bytes of s as a JSON string literal; a byte that is not part of
 * valid UTF-8 becomes U+FFFD, control characters \u escapes. */
void gb_json_quote(struct gb_buf *b, const char *s, size_t n);

#endif /* GREENBENCH_JSON_H */
