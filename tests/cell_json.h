/* tests/cell_json.h: reading a cell's JSON line in the tests, with jansson's
 * strict decoder: one object, nothing after it, duplicate keys refused;
 * integers and reals stay apart (json_is_integer), as the protocol's
 * counts must be integers (docs/cell-protocol.md). */
#ifndef GREEN_TEST_CELL_JSON_H
#define GREEN_TEST_CELL_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* URLs whose port is outside 1-65535, not a number, or empty, and the words
 * every cell program (ours and the peers') refuses each with, as a usage
 * error, before anything connects (docs/cell-protocol.md). */
struct bad_port_url {
    const char *arg, *words;
};
extern const struct bad_port_url bad_port_urls[];
extern const size_t nbad_port_urls;

/* The kinds of value a field of the protocol may have. */
enum jtype { J_NULL, J_BOOL, J_NUMBER, J_STRING };

/* Parse text as one JSON object. Returns it, or NULL with err saying what
 * and where. The object stays valid until cell_json_free_all. */
json_t *cell_json_parse(const char *text, char *err, size_t errlen);

/* Free every object cell_json_parse returned (a suite's cleanup): tests keep
 * a cell's object across several runs of other cells. */
void cell_json_free_all(void);

/* An integer field's value; -1 when absent, null or not an integer (the
 * protocol's counts are never negative, so -1 fails their checks). */
long long jint(const json_t *o, const char *key);

/* Is v (NULL: an absent field, never) of kind t? */
bool jis(const json_t *v, enum jtype t);

/* The key of the i-th field, in the order the line gives them; NULL past
 * the last (jansson keeps an object's keys in their order). */
const char *jkey(const json_t *o, size_t i);

/* A string field's value; NULL when absent or not a string. */
const char *jstr(const json_t *o, const char *key);

#endif /* GREEN_TEST_CELL_JSON_H */
