/* tests/fuzz/fuzz_http_response.c: the cells' HTTP response parser
 * (workloads/common/http/http.c) on any bytes, as a whole response.
 *
 * A socket may cut a response anywhere, so the input is fed three ways: in
 * one piece, byte by byte, and in pieces of 0 to 63 bytes chosen from a hash
 * of the input (so each input has its own cuts and keeps them). All three
 * must end alike, the head at the response's first blank line (past any
 * interim 1xx responses), and every
 * byte past the head counted as body; a chunked body decoded as a plain
 * decoder of the whole body here decodes it. */
#include "fuzz.h"
#include "http/http.h"

#include <ctype.h>
#include <string.h>

typedef struct outcome {
    int r;
    http_parser p;
} outcome;

/* Feed [data, data + size) in pieces of the lengths next_len gives, going
 * on past a complete response (more bytes must make it HTTP_ETOOLONG, as
 * they do in one piece) until an error, then end of file. */
static void feed(const uint8_t *data, size_t size, size_t (*next_len)(uint64_t *), uint64_t state, outcome *o)
{
    http_parser_init(&o->p);
    o->r = 0;
    size_t at = 0;
    do {
        size_t n = next_len(&state);
        if (n > size - at)
            n = size - at;
        o->r = http_parser_feed(&o->p, (const char *)data + at, n);
        at += n;
    } while (o->r >= 0 && at < size);
    if (o->r == 0)
        o->r = http_parser_eof(&o->p);
}

static size_t all_of_it(uint64_t *state)
{
    (void)state;
    return SIZE_MAX;
}

static size_t one_byte(uint64_t *state)
{
    (void)state;
    return 1;
}

static size_t hashed(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return (size_t)(*state % 64);
}

/* At s[*i], a line end, LF or CRLF: 1 and *i past it, 0 if cut short, -1
 * if there is none. */
static int line_end(const char *s, size_t len, size_t *i)
{
    if (*i < len && s[*i] == '\r')
        ++*i;
    if (*i == len)
        return 0;
    if (s[*i] != '\n')
        return -1;
    ++*i;
    return 1;
}

/* A chunked body [s, s + len) decoded in one pass over all of it, as
 * plainly as it can be said, to hold the parser's streaming decoder to:
 * lines end in LF or CRLF; a size is hex digits below 2^60, ended by a line
 * end or by ';', ' ' or '\t' and anything up to LF; its data then a line
 * end; after size 0, trailer lines up to a blank one. Returns 1 (complete:
 * *end its length), 0 (cut short) or -1 (broken); *decoded counts the data
 * up to where it stopped. */
static int plain_chunked(const char *s, size_t len, size_t *end, long long *decoded)
{
    size_t i = 0;
    int r;
    *decoded = 0;
    for (;;) {
        unsigned long long size = 0;
        size_t first = i;
        for (; i < len && isxdigit((unsigned char)s[i]); i++) {
            if (size >> 56 != 0)
                return -1;
            int c = tolower((unsigned char)s[i]);
            size = size * 16 + (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10);
        }
        if (i == len)
            return 0;
        if (i == first)
            return -1;
        if (s[i] == ';' || s[i] == ' ' || s[i] == '\t') {
            while (i < len && s[i] != '\n')
                i++;
            if (i == len)
                return 0;
            i++;
        } else if ((r = line_end(s, len, &i)) != 1) {
            return r;
        }
        if (size == 0)
            break;
        if (size > len - i) {
            *decoded += (long long)(len - i);
            return 0;
        }
        *decoded += (long long)size;
        i += size;
        if ((r = line_end(s, len, &i)) != 1)
            return r;
    }
    for (;;) {                  /* The trailer, to its blank line. */
        if (i == len)
            return 0;
        if (s[i] == '\r' || s[i] == '\n') {
            if ((r = line_end(s, len, &i)) == 1)
                *end = i;
            return r;
        }
        while (i < len && s[i] != '\n')
            i++;
        if (i == len)
            return 0;
        i++;
    }
}

static void check_alike(const outcome *a, const outcome *b)
{
    FUZZ_CHECK(a->r == b->r);
    FUZZ_CHECK(a->p.head_done == b->p.head_done);
    FUZZ_CHECK(a->p.head_len == b->p.head_len);
    FUZZ_CHECK(a->p.interim_bytes == b->p.interim_bytes);
    FUZZ_CHECK(a->p.status == b->p.status);
    FUZZ_CHECK(a->p.content_length == b->p.content_length);
    FUZZ_CHECK(a->p.chunked == b->p.chunked);
    /* Fed in pieces, too much body stops at the piece that went past (a
     * chunked body's data stops at its last chunk, however it is fed). */
    if (a->r == HTTP_ETOOLONG && !a->p.chunked)
        FUZZ_CHECK(b->p.body_bytes > b->p.content_length);
    else
        FUZZ_CHECK(a->p.body_bytes == b->p.body_bytes);
    FUZZ_CHECK(a->p.server_closes == b->p.server_closes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t hash = 14695981039346656037ULL;     /* FNV-1a */
    for (size_t i = 0; i < size; i++)
        hash = (hash ^ data[i]) * 1099511628211ULL;
    outcome whole, bytes, pieces;
    feed(data, size, all_of_it, 0, &whole);
    feed(data, size, one_byte, 0, &bytes);
    feed(data, size, hashed, hash | 1, &pieces);
    check_alike(&whole, &bytes);
    check_alike(&whole, &pieces);

    /* Interim heads (status 1xx but 101), each to its first blank line,
     * are skipped: the head is the one after them. */
    const http_parser *p = &whole.p;
    size_t skip = p->interim_bytes, at = 0;
    while (at < skip) {
        size_t interim = fuzz_first_blank_line((const char *)data + at, size - at);
        FUZZ_CHECK(interim >= 13 && memcmp(data + at, "HTTP/1.", 7) == 0 && data[at + 9] == '1' &&
                   memcmp(data + at + 9, "101", 3) != 0);
        at += interim;
    }
    FUZZ_CHECK(at == skip && skip <= size);
    data += skip;
    size -= skip;
    size_t blank = fuzz_first_blank_line((const char *)data, size);
    FUZZ_CHECK(whole.r == 1 || whole.r == HTTP_EBADRESPONSE || whole.r == HTTP_EBADLENGTH ||
               whole.r == HTTP_ETRUNCATED || whole.r == HTTP_EHEADTOOBIG || whole.r == HTTP_EBADCHUNK ||
               whole.r == HTTP_ETOOLONG);
    if (whole.r == HTTP_EHEADTOOBIG) {
        FUZZ_CHECK(!p->head_done && (blank == 0 || blank > HTTP_MAX_HEAD));
    } else if (p->head_done) {
        FUZZ_CHECK(p->head_len == blank && blank <= HTTP_MAX_HEAD);
    } else {
        FUZZ_CHECK(whole.r == HTTP_ETRUNCATED && blank == 0 && size < HTTP_MAX_HEAD);
    }
    if (p->head_done && whole.r != HTTP_EBADRESPONSE && whole.r != HTTP_EBADLENGTH && p->chunked) {
        size_t body_len = size - p->head_len, end = 0;
        long long decoded;
        int plain = plain_chunked((const char *)data + p->head_len, body_len, &end, &decoded);
        FUZZ_CHECK(p->body_bytes == decoded);
        if (plain < 0)
            FUZZ_CHECK(whole.r == HTTP_EBADCHUNK);
        else if (plain == 0)
            FUZZ_CHECK(whole.r == HTTP_ETRUNCATED);
        else
            FUZZ_CHECK(whole.r == (end < body_len ? HTTP_ETOOLONG : 1));
    } else if (whole.r == 1 || whole.r == HTTP_ETRUNCATED || whole.r == HTTP_ETOOLONG) {
        if (p->head_done)
            FUZZ_CHECK(p->body_bytes == (long long)(size - p->head_len));
    }
    if (whole.r == 1 && p->content_length >= 0)
        FUZZ_CHECK(p->body_bytes == p->content_length);
    if (p->head_done && whole.r != HTTP_EBADRESPONSE && whole.r != HTTP_EBADLENGTH)
        FUZZ_CHECK(p->status >= 0 && p->status <= 999);
    return 0;
}
