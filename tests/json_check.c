/* tests/json_check.c: the tests' strict JSON reader (json_check.h). */
#include "json_check.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct jparser {
    const char *s;
    char err[128];
} jparser;

static void jskip_ws(jparser *p)
{
    while (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')
        p->s++;
}

static bool jfail(jparser *p, const char *what)
{
    if (p->err[0] == '\0')
        snprintf(p->err, sizeof p->err, "%s at '%.20s'", what, p->s);
    return false;
}

/* A string; its decoded bytes (escapes of ASCII only) into out (may be NULL). */
static bool jstring(jparser *p, char *out, size_t len)
{
    size_t n = 0;
    if (*p->s != '"')
        return jfail(p, "expected a string");
    p->s++;
    for (;;) {
        unsigned char c = (unsigned char)*p->s;
        if (c == '\0')
            return jfail(p, "unterminated string");
        if (c < 0x20)
            return jfail(p, "control character in a string");
        p->s++;
        if (c == '"')
            break;
        if (c == '\\') {
            char e = *p->s++;
            switch (e) {
            case '"': c = '"'; break;
            case '\\': c = '\\'; break;
            case '/': c = '/'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'u':
                for (int i = 0; i < 4; i++) {
                    if (!isxdigit((unsigned char)p->s[i]))
                        return jfail(p, "bad \\u escape");
                }
                c = (unsigned char)strtol((char[]){ p->s[2], p->s[3], 0 }, NULL, 16);
                p->s += 4;
                break;
            default:
                return jfail(p, "bad escape");
            }
        }
        if (out != NULL && n + 1 < len)
            out[n++] = (char)c;
    }
    if (out != NULL)
        out[n] = '\0';
    return true;
}

static bool jnumber(jparser *p, double *v, bool *integer)
{
    const char *start = p->s;
    *integer = true;
    if (*p->s == '-')
        p->s++;
    if (*p->s == '0') {
        p->s++;
    } else if (*p->s >= '1' && *p->s <= '9') {
        while (isdigit((unsigned char)*p->s))
            p->s++;
    } else {
        return jfail(p, "bad number");
    }
    if (*p->s == '.') {
        *integer = false;
        p->s++;
        if (!isdigit((unsigned char)*p->s))
            return jfail(p, "bad fraction");
        while (isdigit((unsigned char)*p->s))
            p->s++;
    }
    if (*p->s == 'e' || *p->s == 'E') {
        *integer = false;
        p->s++;
        if (*p->s == '+' || *p->s == '-')
            p->s++;
        if (!isdigit((unsigned char)*p->s))
            return jfail(p, "bad exponent");
        while (isdigit((unsigned char)*p->s))
            p->s++;
    }
    *v = strtod(start, NULL);
    return true;
}

static bool jvalue(jparser *p, jfield *f, int depth);

/* An array or object nested in a field: checked, not kept. */
static bool jcontainer(jparser *p, int depth)
{
    char close = *p->s == '{' ? '}' : ']';
    bool object = close == '}';
    jfield scratch;
    if (depth > 16)
        return jfail(p, "nested too deep");
    p->s++;
    jskip_ws(p);
    if (*p->s == close) {
        p->s++;
        return true;
    }
    for (;;) {
        jskip_ws(p);
        if (object) {
            if (!jstring(p, NULL, 0))
                return false;
            jskip_ws(p);
            if (*p->s++ != ':')
                return jfail(p, "expected ':'");
            jskip_ws(p);
        }
        if (!jvalue(p, &scratch, depth + 1))
            return false;
        jskip_ws(p);
        if (*p->s == ',') {
            p->s++;
            continue;
        }
        if (*p->s == close) {
            p->s++;
            return true;
        }
        return jfail(p, "expected ',' or a close");
    }
}

static bool jvalue(jparser *p, jfield *f, int depth)
{
    switch (*p->s) {
    case '"':
        f->type = J_STRING;
        return jstring(p, f->string, sizeof f->string);
    case '{':
    case '[':
        f->type = *p->s == '{' ? J_OBJECT : J_ARRAY;
        return jcontainer(p, depth);
    case 't':
    case 'f':
    case 'n': {
        static const struct { const char *word; enum jtype type; bool value; } words[] = {
            { "true", J_BOOL, true }, { "false", J_BOOL, false }, { "null", J_NULL, false } };
        for (size_t i = 0; i < 3; i++) {
            size_t n = strlen(words[i].word);
            if (strncmp(p->s, words[i].word, n) == 0) {
                p->s += n;
                f->type = words[i].type;
                f->boolean = words[i].value;
                return true;
            }
        }
        return jfail(p, "bad literal");
    }
    default:
        f->type = J_NUMBER;
        return jnumber(p, &f->number, &f->is_integer);
    }
}

/* Parse one JSON object, alone on the text (blanks around it allowed);
 * duplicate keys are an error. */
bool json_object_parse(const char *text, jobject *o, char *err, size_t errlen)
{
    jparser p = { .s = text };
    o->count = 0;
    jskip_ws(&p);
    if (*p.s != '{') {
        jfail(&p, "expected an object");
        goto fail;
    }
    p.s++;
    jskip_ws(&p);
    if (*p.s == '}') {
        p.s++;
    } else {
        for (;;) {
            jskip_ws(&p);
            if (o->count == MAX_FIELDS) {
                jfail(&p, "too many fields");
                goto fail;
            }
            jfield *f = &o->f[o->count];
            memset(f, 0, sizeof *f);
            if (!jstring(&p, f->key, sizeof f->key))
                goto fail;
            for (int i = 0; i < o->count; i++) {
                if (strcmp(o->f[i].key, f->key) == 0) {
                    jfail(&p, "duplicate key");
                    goto fail;
                }
            }
            jskip_ws(&p);
            if (*p.s++ != ':') {
                jfail(&p, "expected ':'");
                goto fail;
            }
            jskip_ws(&p);
            if (!jvalue(&p, f, 1))
                goto fail;
            o->count++;
            jskip_ws(&p);
            if (*p.s == ',') {
                p.s++;
                continue;
            }
            if (*p.s == '}') {
                p.s++;
                break;
            }
            jfail(&p, "expected ',' or '}'");
            goto fail;
        }
    }
    jskip_ws(&p);
    if (*p.s != '\0') {
        jfail(&p, "text after the object");
        goto fail;
    }
    return true;
fail:
    snprintf(err, errlen, "%s", p.err);
    return false;
}

const jfield *jget(const jobject *o, const char *key)
{
    for (int i = 0; i < o->count; i++) {
        if (strcmp(o->f[i].key, key) == 0)
            return &o->f[i];
    }
    return NULL;
}

long long jint(const jobject *o, const char *key)
{
    const jfield *f = jget(o, key);
    return f != NULL && f->type == J_NUMBER && f->is_integer ? (long long)f->number : -1;
}

const char *jstr(const jobject *o, const char *key)
{
    const jfield *f = jget(o, key);
    return f != NULL && f->type == J_STRING ? f->string : NULL;
}
