/* workloads/common/option_error.h: what getopt_long(3) stopped at, in the
 * words every program of the suite uses, for parsers that set opterr = 0,
 * start optstring with ':' and give their long options values >= 256. */
#ifndef GREENBENCH_OPTION_ERROR_H
#define GREENBENCH_OPTION_ERROR_H

#include <getopt.h>
#include <stdio.h>
#include <string.h>

/* After getopt_long returned c (':' or '?') for argv[optind - 1]: "--n needs
 * a value", "--help takes no value", "unknown option '-x'" or "unknown
 * option '--foo'" (without its =value), into out. */
static inline void option_error(char *out, size_t n, int c, char *const argv[])
{
    const char *arg = argv[optind - 1];
    int name_len = (int)strcspn(arg, "=");
    if (c == ':')
        snprintf(out, n, "%s needs a value", arg);
    else if (optopt >= 256)
        snprintf(out, n, "%.*s takes no value", name_len, arg);
    else if (optopt > 0)
        snprintf(out, n, "unknown option '-%c'", optopt);
    else
        snprintf(out, n, "unknown option '%.*s'", name_len, arg);
}

#endif /* GREENBENCH_OPTION_ERROR_H */
