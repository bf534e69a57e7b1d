/* workloads/server/dns_wire.c: greenbench-dns's queries and answers on
 * bytes alone (dns_wire.h). */
#include "server/dns_wire.h"

#include <errno.h>
#include <string.h>

#define FLAG_QR 0x8000
#define FLAG_AA 0x0400
#define FLAG_TC 0x0200
#define FLAG_RD 0x0100
#define POINTER 0xC000 /* The top two bits of a compressed name's two bytes. */

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint8_t *put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
    return put16(put16(p, v >> 16), v & 0xFFFF);
}

/* ASCII only: DNS names compare that way (RFC 4343), whatever the locale. */
static uint8_t lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + ('a' - 'A')) : c;
}

int dns_name_from_text(const char *text, dns_name *out)
{
    size_t len = strlen(text);
    if (len > 0 && text[len - 1] == '.')
        len--;
    out->len = 0;
    const char *s = text, *end = text + len;
    while (s < end) {
        const char *dot = memchr(s, '.', (size_t)(end - s));
        size_t label = (size_t)((dot != NULL ? dot : end) - s);
        if (label == 0 || label > DNS_LABEL_MAX || out->len + 1 + label + 1 > DNS_NAME_MAX)
            return -EINVAL;
        out->wire[out->len++] = (uint8_t)label;
        memcpy(out->wire + out->len, s, label);
        out->len += label;
        s += label + (dot != NULL);
        if (dot != NULL && s == end) /* "a..": an empty label before the final dot. */
            return -EINVAL;
    }
    if (len == 0 && text[0] != '.') /* "" is no name; "." is the root. */
        return -EINVAL;
    out->wire[out->len++] = 0;
    return 0;
}

bool dns_name_within(const uint8_t *name, size_t len, const dns_name *zone)
{
    if (len < zone->len)
        return false;
    /* Only a whole label boundary counts: walk to the suffix as long as the zone. */
    size_t at = 0;
    while (len - at > zone->len)
        at += 1u + name[at];
    if (len - at != zone->len)
        return false;
    for (size_t i = 0; i < zone->len; i++)
        if (lower(name[at + i]) != lower(zone->wire[i]))
            return false;
    return true;
}

int dns_parse_query(const uint8_t *msg, size_t len, dns_query *q)
{
    if (len < DNS_HEADER_LEN)
        return -EBADMSG;
    unsigned flags = get16(msg + 2);
    /* Never answer an answer: two servers pointed at each other would
     * bounce it for ever. */
    if (flags & FLAG_QR)
        return -EBADMSG;
    *q = (dns_query){ .id = get16(msg), .opcode = (flags >> 11) & 0xF, .rd = (flags & FLAG_RD) != 0 };
    if (q->opcode != 0)
        return 0;
    if (get16(msg + 4) != 1 || get16(msg + 6) != 0 || get16(msg + 8) != 0)
        return -EBADMSG;
    size_t at = DNS_HEADER_LEN;
    for (;;) {
        if (at >= len)
            return -EBADMSG;
        uint8_t label = msg[at];
        /* 0x40 and 0x80 are reserved label types, 0xC0 a compression pointer. */
        if (label > DNS_LABEL_MAX || at + 1 + label - DNS_HEADER_LEN > DNS_NAME_MAX)
            return -EBADMSG;
        at += 1u + label;
        if (label == 0)
            break;
    }
    if (len - at < 4)
        return -EBADMSG;
    q->question = msg + DNS_HEADER_LEN;
    q->name_len = at - DNS_HEADER_LEN;
    q->question_len = q->name_len + 4;
    q->qtype = get16(msg + at);
    q->qclass = get16(msg + at + 2);
    return 0;
}

/* FNV-1a over the lowercased name, then splitmix64's finalizer: FNV alone
 * leaves its low bits poorly mixed for names that differ in one byte. */
static uint64_t mix(uint64_t h)
{
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
}

static uint64_t name_hash(const uint8_t *name, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ lower(name[i])) * 0x100000001b3ULL;
    return mix(h);
}

void dns_address_a(const uint8_t *name, size_t len, uint8_t out[4])
{
    /* 1 .. 2^24 - 2: never the network's address nor its broadcast. */
    uint32_t v = (uint32_t)(name_hash(name, len) % 0xFFFFFE) + 1;
    out[0] = 127;
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
}

void dns_address_aaaa(const uint8_t *name, size_t len, uint8_t out[16])
{
    uint64_t h = name_hash(name, len), more = mix(h ^ 0x9e3779b97f4a7c15ULL);
    out[0] = 0xfd;
    for (int i = 1; i < 8; i++)
        out[i] = (uint8_t)(h >> (8 * (i - 1)));
    for (int i = 8; i < 16; i++)
        out[i] = (uint8_t)(more >> (8 * (i - 8)));
}

static uint8_t *put_header(uint8_t *out, uint16_t id, unsigned flags, unsigned qd, unsigned an, unsigned ns)
{
    out = put16(out, id);
    out = put16(out, flags);
    out = put16(out, qd);
    out = put16(out, an);
    out = put16(out, ns);
    return put16(out, 0);
}

/* A record's owner, type, class, TTL and length; the owner a pointer. */
static uint8_t *put_record_head(uint8_t *out, size_t owner_at, unsigned type, unsigned rdlen)
{
    out = put16(out, POINTER | (unsigned)owner_at);
    out = put16(out, type);
    out = put16(out, DNS_CLASS_IN);
    out = put32(out, DNS_TTL);
    return put16(out, rdlen);
}

/* The zone's SOA, its names pointing at the zone's place in the echoed
 * question. Only the minimum (and the record's TTL) matter to a resolver:
 * they bound how long it caches the negative answer. */
static uint8_t *put_soa(uint8_t *out, size_t zone_at)
{
    static const char ns[] = "\2ns", mbox[] = "\12hostmaster";
    out = put_record_head(out, zone_at, DNS_TYPE_SOA, (sizeof ns - 1 + 2) + (sizeof mbox - 1 + 2) + 20);
    memcpy(out, ns, sizeof ns - 1);
    out = put16(out + sizeof ns - 1, POINTER | (unsigned)zone_at);
    memcpy(out, mbox, sizeof mbox - 1);
    out = put16(out + sizeof mbox - 1, POINTER | (unsigned)zone_at);
    out = put32(out, 1);      /* serial */
    out = put32(out, 3600);   /* refresh */
    out = put32(out, 600);    /* retry */
    out = put32(out, 86400);  /* expire */
    return put32(out, DNS_TTL); /* minimum */
}

static bool under_any(const dns_query *q, const dns_name *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (dns_name_within(q->question, q->name_len, &names[i]))
            return true;
    return false;
}

size_t dns_answer(const dns_query *q, const dns_policy *p, bool truncate, uint8_t *out, int *rcode)
{
    unsigned flags = FLAG_QR | q->opcode << 11 | (q->rd ? FLAG_RD : 0);
    if (q->opcode != 0) {
        *rcode = DNS_NOTIMP;
        return (size_t)(put_header(out, q->id, flags | DNS_NOTIMP, 0, 0, 0) - out);
    }
    bool in_zone = dns_name_within(q->question, q->name_len, p->zone);
    bool nx = under_any(q, p->nx, p->n_nx);
    int rc = q->qclass != DNS_CLASS_IN ? DNS_REFUSED
             : nx                      ? DNS_NXDOMAIN
             : in_zone                 ? DNS_NOERROR
                                       : DNS_REFUSED;
    bool address = rc == DNS_NOERROR && (q->qtype == DNS_TYPE_A || q->qtype == DNS_TYPE_AAAA);
    bool soa = !address && in_zone && (rc == DNS_NOERROR || rc == DNS_NXDOMAIN);
    if (truncate)
        address = soa = false;
    /* Authoritative for what the zone (or an NXDOMAIN name) covers, not for a refusal. */
    flags |= (rc != DNS_REFUSED ? FLAG_AA : 0) | (truncate ? FLAG_TC : 0) | (unsigned)rc;
    uint8_t *at = put_header(out, q->id, flags, 1, address, soa);
    memcpy(at, q->question, q->question_len);
    at += q->question_len;
    if (address) {
        bool v4 = q->qtype == DNS_TYPE_A;
        at = put_record_head(at, DNS_HEADER_LEN, q->qtype, v4 ? 4 : 16);
        if (v4)
            dns_address_a(q->question, q->name_len, at);
        else
            dns_address_aaaa(q->question, q->name_len, at);
        at += v4 ? 4 : 16;
    }
    if (soa)
        at = put_soa(at, DNS_HEADER_LEN + q->name_len - p->zone->len);
    *rcode = rc;
    return (size_t)(at - out);
}
