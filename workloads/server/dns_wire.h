/* workloads/server/dns_wire.h: greenbench-dns's wire format, apart from its
 * sockets so that tests (and a fuzz target) can call it on bytes alone:
 * parse one query, decide and build its answer.
 *
 * Names travel in wire form (length-prefixed labels ending with the empty
 * root label), compared without regard to ASCII case. Nothing here
 * allocates; a parsed query points into the message it came from. */
#ifndef GREEN_SERVER_DNS_WIRE_H
#define GREEN_SERVER_DNS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_NAME_MAX 255   /* A name's wire length at most, the root label included (RFC 1035 2.3.4). */
#define DNS_LABEL_MAX 63
#define DNS_HEADER_LEN 12
#define DNS_ANSWER_MAX 512 /* Every answer fits a UDP message without EDNS. */
#define DNS_TTL 60

enum dns_rcode { DNS_NOERROR = 0, DNS_FORMERR = 1, DNS_NXDOMAIN = 3, DNS_NOTIMP = 4, DNS_REFUSED = 5 };
enum dns_type { DNS_TYPE_A = 1, DNS_TYPE_SOA = 6, DNS_TYPE_MX = 15, DNS_TYPE_AAAA = 28 };
#define DNS_CLASS_IN 1

typedef struct dns_name {
    uint8_t wire[DNS_NAME_MAX];
    size_t len;
} dns_name;

/* One query, as dns_parse_query found it in its message. */
typedef struct dns_query {
    uint16_t id;
    unsigned opcode;            /* 0: QUERY; anything else is answered NOTIMP. */
    bool rd;                    /* Recursion desired: copied into the answer. */
    const uint8_t *question;    /* The question (name, type, class) in the message; NULL unless QUERY. */
    size_t question_len;
    size_t name_len;            /* The name's wire length, at the start of question. */
    uint16_t qtype, qclass;
} dns_query;

/* What greenbench-dns answers for: names at or under zone; NXDOMAIN for
 * the names at or under any of nx (checked first, so one may lie outside
 * zone). */
typedef struct dns_policy {
    const dns_name *zone;
    const dns_name *nx;
    size_t n_nx;
} dns_policy;

/* text ("test", "test." or "." for the root) in wire form into *out:
 * labels of 1 to 63 bytes, no escapes, DNS_NAME_MAX bytes in all. Returns 0,
 * or -EINVAL. */
int dns_name_from_text(const char *text, dns_name *out);

/* Whether the wire name [name, name + len) is zone or a name under it,
 * label by label and without regard to ASCII case ("xtest." is not under
 * "test."). name must be well formed (dns_parse_query's or dns_name's). */
bool dns_name_within(const uint8_t *name, size_t len, const dns_name *zone);

/* Parse the query in [msg, msg + len) into *q. A QUERY must have QR=0, one
 * question, no answer or authority records, and a name of uncompressed
 * labels (a compression pointer has nothing to point back to in a query's
 * first name, so it is refused, never followed); any additional records
 * (EDNS's OPT) and bytes after the question are ignored. Another opcode
 * needs only the header. Returns 0, or -EBADMSG: drop it unanswered. */
int dns_parse_query(const uint8_t *msg, size_t len, dns_query *q);

/* The answer to q under p into out (DNS_ANSWER_MAX bytes): the question
 * echoed and, for A or AAAA of a name in the zone, one record (TTL 60) of
 * dns_address_a's or dns_address_aaaa's address; NXDOMAIN and NODATA carry
 * the zone's SOA for negative caching (RFC 2308). With truncate, TC=1 and
 * no records after the question, for a client to ask again over TCP.
 * Returns its length; *rcode is its RCODE. */
size_t dns_answer(const dns_query *q, const dns_policy *p, bool truncate, uint8_t *out, int *rcode);

/* The address of a name (wire form, any case): 127.x.y.z other than
 * 127.0.0.0 and 127.255.255.255, or fd00::/8, from a hash of its
 * lowercased bytes, so that it is the same on every run and distinct names
 * mostly get distinct addresses. */
void dns_address_a(const uint8_t *name, size_t len, uint8_t out[4]);
void dns_address_aaaa(const uint8_t *name, size_t len, uint8_t out[16]);

#endif /* GREEN_SERVER_DNS_WIRE_H */
