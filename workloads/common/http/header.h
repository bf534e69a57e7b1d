/* workloads/common/http/header.h: reading one header line, for both of the suite's
 * HTTP parsers (the cells' response parser in http.c, the local server's
 * request parser in server/request.c). */
#ifndef GREENBENCH_HTTP_HEADER_H
#define GREENBENCH_HTTP_HEADER_H

#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* Does the header line [line, end) name `name` (case-insensitively)? Then
 * *value points at its value, leading blanks skipped. */
static inline bool http_header_is(const char *line, const char *end, const char *name, const char **value)
{
    size_t n = strlen(name);
    if ((size_t)(end - line) <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return false;
    const char *v = line + n + 1;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    *value = v;
    return true;
}

#endif /* GREENBENCH_HTTP_HEADER_H */
