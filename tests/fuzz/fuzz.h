/* tests/fuzz/fuzz.h: what the fuzz targets share. A broken promise aborts,
 * so that libFuzzer keeps the input as a crash, as it does for a sanitizer's
 * report. */
#ifndef GREEN_FUZZ_H
#define GREEN_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                                 \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);    \
            abort();                                                                     \
        }                                                                                \
    } while (0)

/* The length of [s, s + len) up to and including its first blank line (an
 * empty line, or one that is a lone '\r'); 0 if it has none. Byte by byte,
 * as plainly as it can be said, to hold the parsers' faster searches to. */
static inline size_t fuzz_first_blank_line(const char *s, size_t len)
{
    size_t line = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '\n')
            continue;
        if (i == line || (i == line + 1 && s[line] == '\r'))
            return i + 1;
        line = i + 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* GREEN_FUZZ_H */
