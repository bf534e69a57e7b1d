/* runtime/addrsort.c: the order of a c-ares answer, by RFC 6724's
 * destination address selection, as the C library and c-ares order theirs.
 * c-ares 1.18 sorts every answer, and finds each address's source with a
 * socket, a connect, a getsockname and a close, one address or many: four
 * of the eleven system calls a lookup made here. The C library sorts only
 * answers of two addresses or more, and so does this (ares.c asks c-ares
 * for its answers unsorted). Rules 3, 4 and 7 need the source address's
 * flags (deprecated, home, temporary), which the kernel does not say here;
 * c-ares leaves out 3 and 4 too. */
#include "internal.h"

#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { SCOPE_LINK_LOCAL = 2, SCOPE_SITE_LOCAL = 5, SCOPE_GLOBAL = 14 };

/* RFC 6724 section 2.1's default policy table; an IPv4 address is looked
 * up as ::ffff:a.b.c.d. */
static const struct policy {
    unsigned char prefix[16];
    int bits, precedence, label;
} policies[] = {
    { { [15] = 1 }, 128, 50, 0 },                       /* ::1 */
    { { [10] = 0xff, [11] = 0xff }, 96, 35, 4 },         /* ::ffff:0:0/96, IPv4 */
    { { 0x20, 0x02 }, 16, 30, 2 },                       /* 2002::/16, 6to4 */
    { { 0x20, 0x01, 0, 0 }, 32, 5, 5 },                  /* 2001::/32, Teredo */
    { { 0xfc }, 7, 3, 13 },                              /* fc00::/7, ULA */
    { { 0 }, 96, 1, 3 },                                 /* ::/96, IPv4-compatible */
    { { 0xfe, 0xc0 }, 10, 1, 11 },                       /* fec0::/10, site-local */
    { { 0x3f, 0xfe }, 16, 1, 12 },                       /* 3ffe::/16, 6bone */
    { { 0 }, 0, 40, 1 },                                 /* ::/0, the rest */
};

/* Leading bits a and b share, of 128. */
static int common_bits(const unsigned char *a, const unsigned char *b)
{
    int bits = 0;
    for (int i = 0; i < 16; i++, bits += 8) {
        unsigned char x = a[i] ^ b[i];
        if (x != 0)
            return bits + __builtin_clz(x) - (int)(8 * (sizeof(unsigned) - 1));
    }
    return 128;
}

/* The policy of the longest matching prefix (the table is in that order
 * where prefixes overlap, ::/0 last). */
static const struct policy *policy_of(const unsigned char *v6)
{
    size_t i = 0;
    while (common_bits(v6, policies[i].prefix) < policies[i].bits)
        i++;
    return &policies[i];
}

/* addr (IPv4 or IPv6) as 16 bytes, IPv4 mapped. 0, or -1 for another family. */
static int as_v6(const struct sockaddr *addr, unsigned char *v6)
{
    memset(v6, 0, 16);
    if (addr->sa_family == AF_INET6) {
        memcpy(v6, &((const struct sockaddr_in6 *)addr)->sin6_addr, 16);
        return 0;
    }
    if (addr->sa_family != AF_INET)
        return -1;
    v6[10] = v6[11] = 0xff;
    memcpy(v6 + 12, &((const struct sockaddr_in *)addr)->sin_addr, 4);
    return 0;
}

static int scope_of(const unsigned char *v6)
{
    static const unsigned char loopback[16] = { [15] = 1 };
    if (v6[0] == 0xff)
        return v6[1] & 0x0f; /* Multicast: its own scope field. */
    if (memcmp(v6, loopback, 16) == 0 || (v6[0] == 0xfe && (v6[1] & 0xc0) == 0x80))
        return SCOPE_LINK_LOCAL;
    if (v6[0] == 0xfe && (v6[1] & 0xc0) == 0xc0)
        return SCOPE_SITE_LOCAL;
    if (v6[10] == 0xff && v6[11] == 0xff && memcmp(v6, (unsigned char[10]){ 0 }, 10) == 0)
        return v6[12] == 127 || (v6[12] == 169 && v6[13] == 254) ? SCOPE_LINK_LOCAL : SCOPE_GLOBAL;
    return SCOPE_GLOBAL;
}

/* One destination with what the rules compare. */
typedef struct ranked {
    struct addrinfo *ai;
    int usable;          /* The kernel has a route and a source address for it. */
    unsigned char dst[16], src[16];
    int index;           /* Its place in the answer: rule 10 keeps that order. */
} ranked;

/* The source address the kernel would use to reach r's destination, by
 * connecting a UDP socket (which sends nothing). */
static void find_source(ranked *r)
{
    struct sockaddr_storage src;
    socklen_t len = sizeof src;
    int fd = socket(r->ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
    r->usable = fd >= 0 && connect(fd, r->ai->ai_addr, r->ai->ai_addrlen) == 0 &&
                getsockname(fd, (struct sockaddr *)&src, &len) == 0 &&
                as_v6((struct sockaddr *)&src, r->src) == 0;
    if (fd >= 0)
        close(fd);
}

/* Negative when a goes before b. */
static int compare(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    if (a->usable != b->usable) /* Rule 1: avoid unusable destinations. */
        return b->usable - a->usable;
    if (a->usable) {
        int a_dst = scope_of(a->dst), b_dst = scope_of(b->dst);
        int a_match = a_dst == scope_of(a->src), b_match = b_dst == scope_of(b->src);
        if (a_match != b_match) /* Rule 2: prefer matching scope. */
            return b_match - a_match;
        a_match = policy_of(a->dst)->label == policy_of(a->src)->label;
        b_match = policy_of(b->dst)->label == policy_of(b->src)->label;
        if (a_match != b_match) /* Rule 5: prefer matching label. */
            return b_match - a_match;
    }
    int a_prec = policy_of(a->dst)->precedence, b_prec = policy_of(b->dst)->precedence;
    if (a_prec != b_prec) /* Rule 6: prefer higher precedence. */
        return b_prec - a_prec;
    int a_scope = scope_of(a->dst), b_scope = scope_of(b->dst);
    if (a_scope != b_scope) /* Rule 8: prefer the smaller scope. */
        return a_scope - b_scope;
    if (a->usable && b->usable && a->ai->ai_family == AF_INET6 && b->ai->ai_family == AF_INET6) {
        int a_bits = common_bits(a->dst, a->src), b_bits = common_bits(b->dst, b->src);
        if (a_bits != b_bits) /* Rule 9: the longest prefix shared with the source. */
            return b_bits - a_bits;
    }
    return a->index - b->index; /* Rule 10: otherwise keep the order. */
}

int green__addrsort(struct addrinfo **list)
{
    size_t n = 0;
    for (struct addrinfo *ai = *list; ai != NULL; ai = ai->ai_next)
        n++;
    if (n < 2)
        return 0;
    ranked *r = calloc(n, sizeof *r);
    if (r == NULL)
        return GREEN_ENOMEM;
    size_t i = 0;
    for (struct addrinfo *ai = *list; ai != NULL; ai = ai->ai_next, i++) {
        r[i] = (ranked){ .ai = ai, .index = (int)i };
        if (as_v6(ai->ai_addr, r[i].dst) == 0)
            find_source(&r[i]);
    }
    qsort(r, n, sizeof *r, compare);
    for (i = 0; i < n; i++)
        r[i].ai->ai_next = i + 1 < n ? r[i + 1].ai : NULL;
    *list = r[0].ai;
    free(r);
    return 0;
}
