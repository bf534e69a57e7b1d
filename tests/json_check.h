/* tests/json_check.h: a small strict JSON reader (RFC 8259) for the tests
 * that check cell lines: one flat object, types kept per field. Kept apart
 * from the harness's reader on purpose, so that the tests of the cell
 * protocol do not check the product with the product's own parser. */
#ifndef GREEN_TEST_JSON_CHECK_H
#define GREEN_TEST_JSON_CHECK_H

#include <stdbool.h>
#include <stddef.h>

enum jtype { J_NULL, J_BOOL, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT };

#define MAX_FIELDS 64

typedef struct jfield {
    char key[64];
    enum jtype type;
    bool is_integer;            /* A number without fraction or exponent. */
    double number;
    bool boolean;
    char string[1024];
} jfield;

typedef struct jobject {
    jfield f[MAX_FIELDS];
    int count;
} jobject;

/* Parse one JSON object, alone on the text (blanks around it allowed);
 * duplicate keys are an error. On failure err says what and where. */
bool json_object_parse(const char *text, jobject *o, char *err, size_t errlen);

/* The field named key, or NULL. */
const jfield *jget(const jobject *o, const char *key);

/* An integer field's value; -1 when absent, null or not an integer (the
 * counts of the protocol are never negative, so -1 fails their checks). */
long long jint(const jobject *o, const char *key);

/* A string field's value; NULL when absent or not a string. */
const char *jstr(const jobject *o, const char *key);

#endif /* GREEN_TEST_JSON_CHECK_H */
