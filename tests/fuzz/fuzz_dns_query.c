/* tests/fuzz/fuzz_dns_query.c: greenbench-dns's query parser and answers
 * (workloads/server/dns_wire.c) on any bytes, taken as one UDP or TCP
 * message.
 *
 * Besides the sanitizers, it holds them to their promises: a query it takes
 * has its question inside the message, a name of well-formed labels of at
 * most 255 bytes; its answer, truncated or not, fits DNS_ANSWER_MAX and
 * starts with the query's ID, QR set, and the question echoed byte for
 * byte. */
#include "fuzz.h"
#include "server/dns_wire.h"

#include <string.h>

/* The name at the start of the question is labels of at most 63 bytes
 * ending with the root label exactly at name_len. */
static void check_name(const dns_query *q)
{
    size_t at = 0;
    while (q->question[at] != 0) {
        FUZZ_CHECK(q->question[at] <= DNS_LABEL_MAX);
        at += 1u + q->question[at];
        FUZZ_CHECK(at < q->name_len);
    }
    FUZZ_CHECK(at + 1 == q->name_len);
}

static void check_answer(const dns_query *q, const dns_policy *p, bool truncate)
{
    uint8_t out[DNS_ANSWER_MAX];
    int rcode = -1;
    size_t len = dns_answer(q, p, truncate, out, &rcode);
    FUZZ_CHECK(len >= DNS_HEADER_LEN && len <= DNS_ANSWER_MAX);
    FUZZ_CHECK((out[0] << 8 | out[1]) == q->id);
    FUZZ_CHECK(out[2] & 0x80);
    FUZZ_CHECK((out[3] & 0xF) == rcode);
    if (q->opcode != 0) {
        FUZZ_CHECK(rcode == DNS_NOTIMP && len == DNS_HEADER_LEN);
        return;
    }
    FUZZ_CHECK(rcode == DNS_NOERROR || rcode == DNS_NXDOMAIN || rcode == DNS_REFUSED);
    FUZZ_CHECK(len >= DNS_HEADER_LEN + q->question_len);
    FUZZ_CHECK(memcmp(out + DNS_HEADER_LEN, q->question, q->question_len) == 0);
    if (truncate)
        FUZZ_CHECK(len == DNS_HEADER_LEN + q->question_len && (out[2] & 0x02));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dns_query q;
    if (dns_parse_query(data, size, &q) != 0)
        return 0;
    FUZZ_CHECK(size >= DNS_HEADER_LEN);
    if (q.opcode == 0) {
        FUZZ_CHECK(q.question == data + DNS_HEADER_LEN);
        FUZZ_CHECK(q.name_len >= 1 && q.name_len <= DNS_NAME_MAX);
        FUZZ_CHECK(q.question_len == q.name_len + 4 && DNS_HEADER_LEN + q.question_len <= size);
        check_name(&q);
    }
    dns_name zones[3], nx;
    dns_name_from_text("test.", &zones[0]);
    dns_name_from_text(".", &zones[1]);
    dns_name_from_text("a.b.c.example", &zones[2]);
    dns_name_from_text("nx.test.", &nx);
    for (int i = 0; i < 3; i++) {
        dns_policy p = { .zone = &zones[i], .nx = &nx, .n_nx = 1 };
        check_answer(&q, &p, false);
        check_answer(&q, &p, true);
    }
    return 0;
}
