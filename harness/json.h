/* harness/json.h: the harness's JSON is jansson's json_t (docs/cell-protocol.md,
 * docs/results-format.md); these are the few typed lookups and constructors
 * every stage shares. Strict on input; output is always valid UTF-8. */
#ifndef GREENBENCH_JSON_H
#define GREENBENCH_JSON_H

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* How the harness dumps: one line (cells.jsonl, the journal) or indented by
 * two (meta.json); reals in at most 15 significant digits, as the cells send
 * them. */
#define GB_JSON_LINE (JSON_COMPACT | JSON_REAL_PRECISION(15) | JSON_PRESERVE_ORDER)
#define GB_JSON_DOC (JSON_INDENT(2) | JSON_REAL_PRECISION(15) | JSON_PRESERVE_ORDER)

static inline int gb_json_depth(const json_t *v)
{
    int d = 0;
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            int c = gb_json_depth(json_array_get(v, i));
            d = c > d ? c : d;
        }
        return d + 1;
    }
    if (json_is_object(v)) {
        for (void *it = json_object_iter((json_t *)v); it; it = json_object_iter_next((json_t *)v, it)) {
            int cd = gb_json_depth(json_object_iter_value(it));
            d = cd > d ? cd : d;
        }
        return d + 1;
    }
    return 0;
}

/* Parse exactly one JSON value of len bytes (surrounding whitespace allowed)
 * into *out, which the caller json_decref's. Returns 0, or -EINVAL with *out
 * NULL and, when err is not NULL, "offset N: what" in err (errlen bytes). A
 * repeated key keeps its last value; nesting deeper than 64 is refused. */
static inline int gb_json_parse(const char *text, size_t len, json_t **out, char *err, size_t errlen)
{
    json_error_t e;
    *out = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (*out && gb_json_depth(*out) > 64) {
        json_decref(*out);
        *out = NULL;
        snprintf(e.text, sizeof e.text, "nested too deeply");
        e.position = 0;
    }
    if (*out)
        return 0;
    if (err && errlen) {
        int n = snprintf(err, errlen, "offset %d: ", e.position);
        if (n >= 0 && (size_t)n < errlen) {
            size_t room = errlen - (size_t)n - 1, tl = strlen(e.text);
            memcpy(err + n, e.text, tl < room ? tl : room);
            err[n + (tl < room ? tl : room)] = '\0';
        }
    }
    return -EINVAL;
}

/* Typed lookups: the value of key in obj, or dflt when obj is not an object,
 * the key is absent or its value of another type. A string is borrowed. */
static inline double gb_json_num(const json_t *obj, const char *key, double dflt)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

static inline const char *gb_json_str(const json_t *obj, const char *key, const char *dflt)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : dflt;
}

/* Length of a valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static inline size_t gb_utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0], min;
    size_t len;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    unsigned cp = c & (0x3F >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* n bytes of s as a JSON string, a byte that is not part of valid UTF-8
 * becoming U+FFFD; gb_json_text(NULL) is null. */
static inline json_t *gb_json_textn(const char *s, size_t n)
{
    struct gb_buf b;
    gb_buf_init(&b);
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t len = gb_utf8_len(u + i, n - i);
        if (len == 0) {
            gb_buf_add(&b, "\xEF\xBF\xBD", 3);
            i++;
        } else {
            gb_buf_add(&b, s + i, len);
            i += len;
        }
    }
    json_t *v = json_stringn(b.len ? b.data : "", b.len);
    gb_buf_free(&b);
    return v;
}

static inline json_t *gb_json_text(const char *s)
{
    return s ? gb_json_textn(s, strlen(s)) : json_null();
}

/* A whole number below 1e15 as an integer, other finite values as reals,
 * NaN and infinities as null. */
static inline json_t *gb_json_number(double v)
{
    if (!isfinite(v))
        return json_null();
    if (v == floor(v) && fabs(v) < 1e15)
        return json_integer((json_int_t)v);
    return json_real(v);
}

/* A deep copy of v (NULL: null) with its whole reals below 1e15 made
 * integers: a cell's 3.0 is stored as 3. */
static inline json_t *gb_json_normal(const json_t *v)
{
    if (v == NULL)
        return json_null();
    if (json_is_real(v))
        return gb_json_number(json_real_value(v));
    if (json_is_array(v)) {
        json_t *a = json_array();
        for (size_t i = 0; i < json_array_size(v); i++)
            json_array_append_new(a, gb_json_normal(json_array_get(v, i)));
        return a;
    }
    if (json_is_object(v)) {
        json_t *o = json_object();
        for (void *it = json_object_iter((json_t *)v); it; it = json_object_iter_next((json_t *)v, it))
            json_object_set_new(o, json_object_iter_key(it), gb_json_normal(json_object_iter_value(it)));
        return o;
    }
    return json_deep_copy(v);
}

/* Append v dumped with flags to b; json_decref's v. */
static inline void gb_json_dump_new(struct gb_buf *b, json_t *v, size_t flags)
{
    char *s = json_dumps(v, flags | JSON_ENCODE_ANY);
    if (s)
        gb_buf_puts(b, s);
    free(s);
    json_decref(v);
}

#endif /* GREENBENCH_JSON_H */
