/* tests/fuzz/fuzz_server_request.c: greenbench-server's request parser
 * (workloads/server/request.c) on any bytes, taken as the server takes a
 * connection's input: head after head, each body skipped, until an error
 * closes the connection or the bytes run out.
 *
 * Besides the sanitizers, it holds the parser to its promises: a head ends
 * at its first blank line (and no prefix shorter than the head has one), an
 * answer is 200, 400 or 405, an error says why and closes, and the numbers
 * of a 200 are in range. */
#include "fuzz.h"
#include "server/request.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data, *end = in + size;
    while (in < end) {
        size_t len = (size_t)(end - in);
        size_t head_len = gb_request_head_end(in, len);
        FUZZ_CHECK(head_len == fuzz_first_blank_line(in, len));
        if (head_len == 0)
            break;
        /* What came so far, as the server sees it while a head arrives. */
        FUZZ_CHECK(gb_request_head_end(in, head_len - 1) == 0);

        gb_request r = { .delay_ms = 7, .size = 11 };
        gb_request_parse(in, head_len, &r);
        FUZZ_CHECK(r.status == 200 || r.status == 400 || r.status == 405);
        if (r.status != 200) {
            FUZZ_CHECK(r.why != NULL && strlen(r.why) < 160 && !r.keep_alive);
            break;
        }
        FUZZ_CHECK(r.why == NULL);
        FUZZ_CHECK(memcmp(in, r.head_only ? "HEAD " : "GET ", r.head_only ? 5 : 4) == 0);
        FUZZ_CHECK(r.delay_ms >= 0 && r.delay_ms <= GB_MAX_DELAY_MS);
        FUZZ_CHECK(r.size >= 0 && r.size <= GB_MAX_SIZE);
        FUZZ_CHECK(r.content_length >= 0 && r.content_length <= GB_MAX_SIZE);
        in += head_len;
        len -= head_len;
        in += r.content_length < (long long)len ? (size_t)r.content_length : len;
        if (!r.keep_alive)
            break;
    }
    return 0;
}
