/* runtime/error.c: messages for libgreen's error codes, from the one table
 * in green.h (GREEN_ERRNO_MAP, and GREEN_ETLS_MAP for TLS). */
#include "green.h"

#include <string.h>

const char *green_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define GREEN_ERR_MSG(name, value, msg) \
    case (value):                       \
        return msg;
        GREEN_ERRNO_MAP(GREEN_ERR_MSG)
        GREEN_ETLS_MAP(GREEN_ERR_MSG)
#undef GREEN_ERR_MSG
    default:
        break;
    }
    if (err < 0 && err > -4096) {
        /* An errno the table leaves out: glibc's strerror returns static
         * strings for every errno it knows. */
        const char *msg = strerror(-err);
        if (msg != NULL)
            return msg;
    }
    return "unknown error";
}

const char *green_err_name(int err)
{
    switch (err) {
    case 0:
        return "OK";
#define GREEN_ERR_NAME(name, value, msg) \
    case (value):                        \
        return #name;
        GREEN_ERRNO_MAP(GREEN_ERR_NAME)
        GREEN_ETLS_MAP(GREEN_ERR_NAME)
#undef GREEN_ERR_NAME
    default:
        return "unknown";
    }
}
