/* tests/cell_json.c: see cell_json.h. */
#include "cell_json.h"

#include <stdio.h>
#include <stdlib.h>

static json_t **parsed;
static size_t nparsed, cap;

json_t *cell_json_parse(const char *text, char *err, size_t errlen)
{
    json_error_t e;
    json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, &e);
    if (o == NULL) {
        snprintf(err, errlen, "offset %d: %s", e.position, e.text);
        return NULL;
    }
    if (!json_is_object(o)) {
        snprintf(err, errlen, "not an object");
        json_decref(o);
        return NULL;
    }
    if (nparsed == cap) {
        cap = cap ? cap * 2 : 64;
        json_t **grown = realloc(parsed, cap * sizeof *grown);
        if (grown == NULL) {
            snprintf(err, errlen, "out of memory");
            json_decref(o);
            return NULL;
        }
        parsed = grown;
    }
    parsed[nparsed++] = o;
    return o;
}

void cell_json_free_all(void)
{
    for (size_t i = 0; i < nparsed; i++)
        json_decref(parsed[i]);
    free(parsed);
    parsed = NULL;
    nparsed = cap = 0;
}

long long jint(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

bool jis(const json_t *v, enum jtype t)
{
    switch (t) {
    case J_NULL: return json_is_null(v);
    case J_BOOL: return json_is_boolean(v);
    case J_NUMBER: return json_is_number(v);
    case J_STRING: return json_is_string(v);
    }
    return false;
}

const char *jkey(const json_t *o, size_t i)
{
    void *it = json_object_iter((json_t *)o);
    for (; it != NULL && i > 0; i--)
        it = json_object_iter_next((json_t *)o, it);
    return it != NULL ? json_object_iter_key(it) : NULL;
}

const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

const struct bad_port_url bad_port_urls[] = {
    { "--url=http://127.0.0.1:99999/",
      "--url=http://127.0.0.1:99999/: port 99999 is out of range (1-65535)" },
    { "--url=http://127.0.0.1:0/", "port 0 is out of range (1-65535)" },
    { "--url=http://127.0.0.1:65536/", "port 65536 is out of range (1-65535)" },
    { "--url=http://127.0.0.1:http/", "port 'http' is not a number (1-65535)" },
    { "--url=http://127.0.0.1:/", "empty port after ':' (1-65535)" },
    { "--url=http://[::1]:70000/", "port 70000 is out of range (1-65535)" },
};
const size_t nbad_port_urls = sizeof bad_port_urls / sizeof bad_port_urls[0];
