/* harness/json.c: a small JSON (RFC 8259) reader into a tree, and a writer
 * that appends to a gb_buf (json.h). */
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- reading ---- */

struct parser {
    const char *s, *end, *start;
    char *err;
    size_t errlen;
    int depth;
};

static int fail(struct parser *p, const char *what)
{
    if (p->err && p->errlen)
        snprintf(p->err, p->errlen, "offset %zu: %s", (size_t)(p->s - p->start), what);
    return -EINVAL;
}

static void skip_ws(struct parser *p)
{
    while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r'))
        p->s++;
}

static struct gb_json *new_value(enum gb_json_type t)
{
    struct gb_json *v = gb_xcalloc(1, sizeof *v);
    v->type = t;
    return v;
}

static void append(struct gb_json *parent, char *key, struct gb_json *v)
{
    if (parent->count == parent->cap) {
        parent->cap = parent->cap ? parent->cap * 2 : 8;
        parent->items = gb_xrealloc(parent->items, parent->cap * sizeof *parent->items);
        if (parent->type == GB_JSON_OBJECT)
            parent->keys = gb_xrealloc(parent->keys, parent->cap * sizeof *parent->keys);
    }
    if (parent->type == GB_JSON_OBJECT)
        parent->keys[parent->count] = key;
    parent->items[parent->count++] = v;
}

static void put_utf8(struct gb_buf *b, unsigned cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12);
        u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18);
        u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    gb_buf_add(b, u, n);
}

static int hex4(struct parser *p, unsigned *out)
{
    if (p->end - p->s < 4)
        return fail(p, "short \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p->s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return fail(p, "bad hex digit in \\u escape");
    }
    p->s += 4;
    *out = v;
    return 0;
}

/* p->s at the opening quote. */
static int parse_string(struct parser *p, char **out, size_t *outlen)
{
    struct gb_buf b;
    gb_buf_init(&b);
    p->s++;
    for (;;) {
        if (p->s >= p->end) {
            gb_buf_free(&b);
            return fail(p, "unterminated string");
        }
        unsigned char c = (unsigned char)*p->s;
        if (c == '"') {
            p->s++;
            break;
        }
        if (c < 0x20) {
            gb_buf_free(&b);
            return fail(p, "control character in string");
        }
        if (c != '\\') {
            const char *run = p->s;
            while (p->s < p->end && *p->s != '"' && *p->s != '\\' && (unsigned char)*p->s >= 0x20)
                p->s++;
            gb_buf_add(&b, run, (size_t)(p->s - run));
            continue;
        }
        p->s++;
        if (p->s >= p->end) {
            gb_buf_free(&b);
            return fail(p, "unterminated escape");
        }
        char e = *p->s++;
        unsigned cp;
        switch (e) {
        case '"': gb_buf_add(&b, "\"", 1); break;
        case '\\': gb_buf_add(&b, "\\", 1); break;
        case '/': gb_buf_add(&b, "/", 1); break;
        case 'b': gb_buf_add(&b, "\b", 1); break;
        case 'f': gb_buf_add(&b, "\f", 1); break;
        case 'n': gb_buf_add(&b, "\n", 1); break;
        case 'r': gb_buf_add(&b, "\r", 1); break;
        case 't': gb_buf_add(&b, "\t", 1); break;
        case 'u':
            if (hex4(p, &cp) != 0) {
                gb_buf_free(&b);
                return -EINVAL;
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (p->end - p->s < 6 || p->s[0] != '\\' || p->s[1] != 'u') {
                    gb_buf_free(&b);
                    return fail(p, "lone high surrogate");
                }
                p->s += 2;
                if (hex4(p, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF) {
                    gb_buf_free(&b);
                    return fail(p, "bad low surrogate");
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                gb_buf_free(&b);
                return fail(p, "lone low surrogate");
            }
            put_utf8(&b, cp);
            break;
        default:
            gb_buf_free(&b);
            return fail(p, "bad escape");
        }
    }
    if (b.data == NULL)
        gb_buf_add(&b, "", 0);
    *out = b.data;
    if (outlen)
        *outlen = b.len;
    return 0;
}

static int parse_number(struct parser *p, double *out)
{
    const char *s = p->s;
    if (s < p->end && *s == '-')
        s++;
    if (s >= p->end)
        return fail(p, "bad number");
    if (*s == '0') {
        s++;
    } else if (*s >= '1' && *s <= '9') {
        while (s < p->end && *s >= '0' && *s <= '9')
            s++;
    } else {
        return fail(p, "bad number");
    }
    if (s < p->end && *s == '.') {
        s++;
        if (s >= p->end || *s < '0' || *s > '9')
            return fail(p, "bad fraction");
        while (s < p->end && *s >= '0' && *s <= '9')
            s++;
    }
    if (s < p->end && (*s == 'e' || *s == 'E')) {
        s++;
        if (s < p->end && (*s == '+' || *s == '-'))
            s++;
        if (s >= p->end || *s < '0' || *s > '9')
            return fail(p, "bad exponent");
        while (s < p->end && *s >= '0' && *s <= '9')
            s++;
    }
    char tmp[64];
    size_t n = (size_t)(s - p->s);
    if (n >= sizeof tmp)
        return fail(p, "number too long");
    memcpy(tmp, p->s, n);
    tmp[n] = '\0';
    *out = strtod(tmp, NULL);
    p->s = s;
    return 0;
}

static int parse_value(struct parser *p, struct gb_json **out);

static int literal(struct parser *p, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(p->end - p->s) < n || memcmp(p->s, word, n) != 0)
        return fail(p, "unexpected character");
    p->s += n;
    return 0;
}

static int parse_container(struct parser *p, struct gb_json *v)
{
    bool obj = v->type == GB_JSON_OBJECT;
    char close = obj ? '}' : ']';
    if (++p->depth > 64)
        return fail(p, "nesting too deep");
    p->s++;
    skip_ws(p);
    if (p->s < p->end && *p->s == close) {
        p->s++;
        p->depth--;
        return 0;
    }
    for (;;) {
        char *key = NULL;
        skip_ws(p);
        if (obj) {
            if (p->s >= p->end || *p->s != '"')
                return fail(p, "expected a key string");
            if (parse_string(p, &key, NULL) != 0)
                return -EINVAL;
            skip_ws(p);
            if (p->s >= p->end || *p->s != ':') {
                free(key);
                return fail(p, "expected ':'");
            }
            p->s++;
        }
        struct gb_json *item;
        if (parse_value(p, &item) != 0) {
            free(key);
            return -EINVAL;
        }
        append(v, key, item);
        skip_ws(p);
        if (p->s < p->end && *p->s == ',') {
            p->s++;
            continue;
        }
        if (p->s < p->end && *p->s == close) {
            p->s++;
            p->depth--;
            return 0;
        }
        return fail(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int parse_value(struct parser *p, struct gb_json **out)
{
    skip_ws(p);
    if (p->s >= p->end)
        return fail(p, "unexpected end of input");
    struct gb_json *v = NULL;
    int rc = 0;
    switch (*p->s) {
    case '{':
    case '[':
        v = new_value(*p->s == '{' ? GB_JSON_OBJECT : GB_JSON_ARRAY);
        rc = parse_container(p, v);
        break;
    case '"':
        v = new_value(GB_JSON_STRING);
        rc = parse_string(p, &v->string, &v->len);
        break;
    case 't':
        v = new_value(GB_JSON_BOOL);
        v->boolean = true;
        rc = literal(p, "true");
        break;
    case 'f':
        v = new_value(GB_JSON_BOOL);
        rc = literal(p, "false");
        break;
    case 'n':
        v = new_value(GB_JSON_NULL);
        rc = literal(p, "null");
        break;
    default:
        v = new_value(GB_JSON_NUMBER);
        rc = parse_number(p, &v->number);
        break;
    }
    if (rc != 0) {
        gb_json_free(v);
        return rc;
    }
    *out = v;
    return 0;
}

int gb_json_parse(const char *text, size_t len, struct gb_json **out, char *err, size_t errlen)
{
    struct parser p = { .s = text, .end = text + len, .start = text, .err = err, .errlen = errlen };
    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    struct gb_json *v;
    if (parse_value(&p, &v) != 0)
        return -EINVAL;
    skip_ws(&p);
    if (p.s != p.end) {
        gb_json_free(v);
        return fail(&p, "trailing characters after the value");
    }
    *out = v;
    return 0;
}

void gb_json_free(struct gb_json *v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < v->count; i++) {
        gb_json_free(v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->string);
    free(v);
}

const struct gb_json *gb_json_get(const struct gb_json *obj, const char *key)
{
    if (obj == NULL || obj->type != GB_JSON_OBJECT)
        return NULL;
    /* Last one wins, as in most readers. */
    for (size_t i = obj->count; i-- > 0;)
        if (strcmp(obj->keys[i], key) == 0)
            return obj->items[i];
    return NULL;
}

double gb_json_num(const struct gb_json *obj, const char *key, double dflt)
{
    const struct gb_json *v = gb_json_get(obj, key);
    return v && v->type == GB_JSON_NUMBER ? v->number : dflt;
}

const char *gb_json_str(const struct gb_json *obj, const char *key, const char *dflt)
{
    const struct gb_json *v = gb_json_get(obj, key);
    return v && v->type == GB_JSON_STRING ? v->string : dflt;
}

bool gb_json_is(const struct gb_json *obj, const char *key, enum gb_json_type t)
{
    const struct gb_json *v = gb_json_get(obj, key);
    return v && v->type == t;
}

/* ---- writing ---- */

/* Length of a valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
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

void gb_json_quote(struct gb_buf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    gb_buf_add(b, "\"", 1);
    size_t i = 0;
    while (i < n) {
        unsigned char c = u[i];
        char esc[8];
        switch (c) {
        case '"': gb_buf_add(b, "\\\"", 2); i++; continue;
        case '\\': gb_buf_add(b, "\\\\", 2); i++; continue;
        case '\n': gb_buf_add(b, "\\n", 2); i++; continue;
        case '\r': gb_buf_add(b, "\\r", 2); i++; continue;
        case '\t': gb_buf_add(b, "\\t", 2); i++; continue;
        default: break;
        }
        if (c < 0x20 || c == 0x7F) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            gb_buf_add(b, esc, 6);
            i++;
            continue;
        }
        size_t len = utf8_len(u + i, n - i);
        if (len == 0) {
            gb_buf_add(b, "\xEF\xBF\xBD", 3); /* U+FFFD for a byte that is not UTF-8 */
            i++;
            continue;
        }
        gb_buf_add(b, s + i, len);
        i += len;
    }
    gb_buf_add(b, "\"", 1);
}

void gb_jw_init(struct gb_jw *w, struct gb_buf *out, int indent)
{
    memset(w, 0, sizeof *w);
    w->out = out;
    w->indent = indent;
    w->first[0] = true;
}

static void newline(struct gb_jw *w)
{
    if (w->indent <= 0)
        return;
    gb_buf_add(w->out, "\n", 1);
    for (int i = 0; i < w->depth * w->indent; i++)
        gb_buf_add(w->out, " ", 1);
}

/* Before any value: a comma and indentation unless it follows a key. */
static void before_value(struct gb_jw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth == 0)
        return;
    if (!w->first[w->depth])
        gb_buf_add(w->out, ",", 1);
    w->first[w->depth] = false;
    newline(w);
}

static void open_container(struct gb_jw *w, char c)
{
    before_value(w);
    gb_buf_add(w->out, &c, 1);
    if (w->depth < 31)
        w->depth++;
    w->first[w->depth] = true;
}

static void close_container(struct gb_jw *w, char c)
{
    bool empty = w->first[w->depth];
    if (w->depth > 0)
        w->depth--;
    if (!empty)
        newline(w);
    gb_buf_add(w->out, &c, 1);
}

void gb_jw_obj(struct gb_jw *w) { open_container(w, '{'); }
void gb_jw_obj_end(struct gb_jw *w) { close_container(w, '}'); }
void gb_jw_arr(struct gb_jw *w) { open_container(w, '['); }
void gb_jw_arr_end(struct gb_jw *w) { close_container(w, ']'); }

void gb_jw_key(struct gb_jw *w, const char *key)
{
    before_value(w);
    gb_json_quote(w->out, key, strlen(key));
    gb_buf_add(w->out, w->indent > 0 ? ": " : ":", w->indent > 0 ? 2 : 1);
    w->after_key = true;
}

void gb_jw_strn(struct gb_jw *w, const char *s, size_t n)
{
    before_value(w);
    gb_json_quote(w->out, s, n);
}

void gb_jw_str(struct gb_jw *w, const char *s)
{
    if (s == NULL) {
        gb_jw_null(w);
        return;
    }
    gb_jw_strn(w, s, strlen(s));
}

void gb_jw_num(struct gb_jw *w, double v)
{
    if (!isfinite(v)) {
        gb_jw_null(w);
        return;
    }
    before_value(w);
    char tmp[40];
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(tmp, sizeof tmp, "%.0f", v);
    } else {
        /* The shortest of %.15g / %.17g that reads back exactly. */
        snprintf(tmp, sizeof tmp, "%.15g", v);
        if (strtod(tmp, NULL) != v)
            snprintf(tmp, sizeof tmp, "%.17g", v);
    }
    gb_buf_puts(w->out, tmp);
}

void gb_jw_int(struct gb_jw *w, long long v)
{
    before_value(w);
    gb_buf_printf(w->out, "%lld", v);
}

void gb_jw_bool(struct gb_jw *w, bool v)
{
    before_value(w);
    gb_buf_puts(w->out, v ? "true" : "false");
}

void gb_jw_null(struct gb_jw *w)
{
    before_value(w);
    gb_buf_puts(w->out, "null");
}

void gb_jw_value(struct gb_jw *w, const struct gb_json *v)
{
    if (v == NULL) {
        gb_jw_null(w);
        return;
    }
    switch (v->type) {
    case GB_JSON_NULL: gb_jw_null(w); break;
    case GB_JSON_BOOL: gb_jw_bool(w, v->boolean); break;
    case GB_JSON_NUMBER: gb_jw_num(w, v->number); break;
    case GB_JSON_STRING: gb_jw_strn(w, v->string, v->len); break;
    case GB_JSON_ARRAY:
        gb_jw_arr(w);
        for (size_t i = 0; i < v->count; i++)
            gb_jw_value(w, v->items[i]);
        gb_jw_arr_end(w);
        break;
    case GB_JSON_OBJECT:
        gb_jw_obj(w);
        for (size_t i = 0; i < v->count; i++) {
            gb_jw_key(w, v->keys[i]);
            gb_jw_value(w, v->items[i]);
        }
        gb_jw_obj_end(w);
        break;
    }
}
