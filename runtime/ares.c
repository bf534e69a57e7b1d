/* runtime/ares.c: green_getaddrinfo through c-ares, in the hub's own loop
 * (gevent's ares resolver). No thread: each hub has a channel of its own,
 * made at its first lookup, and the loop watches the channel's sockets and
 * its next timeout.
 *
 * c-ares says which sockets it wants watched through its socket-state
 * callback and keeps wanting them; the loop's waits are one-shot. So every
 * socket has a watch record, and after each call into c-ares (a new query,
 * a ready socket, the timer) every wanted socket whose wait has fired is
 * armed again. The timer is set from ares_timeout, which walks every query
 * in flight (c-ares 1.18): asked after each of a thousand answers, it was a
 * third of a lookup's instructions. So an armed timer is kept while no
 * query can be due before it: answers only remove queries, and a query
 * sent now (a new one, a retry) is due no sooner than the channel's base
 * timeout from now. A timer that fires early finds nothing due and is set
 * anew; it stops once no query is in flight.
 *
 * c-ares 1.18 reads /etc/hosts anew for every lookup, and opens a socket
 * per address to sort even a one-address answer. Where the system asks the
 * hosts file first (lookups "fb", as nsswitch.conf's "files dns"), the DNS
 * channel is made without the file step, and a channel of the file step
 * alone answers the names the file may hold (hosts.c keeps their set);
 * answers come unsorted and addrsort.c sorts those of two addresses or
 * more, as the C library does.
 *
 * A query lives in a heap record that outlives its caller: a killed green
 * thread leaves it (q->g = NULL) and the answer, when it comes, frees it.
 * The channel is destroyed by green_fini, on the main green thread, never
 * inside a c-ares callback. */
#include "internal.h"

#include <ares.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* One socket c-ares wants watched. */
typedef struct sock_watch {
    struct sock_watch *next;
    int fd;
    int events;         /* GREEN_LOOP_READ | GREEN_LOOP_WRITE it wants; 0: none. */
    int armed;          /* Its one-shot wait is started. */
    green_loop_io io;
    green__ares *owner;
} sock_watch;

struct green__ares {
    ares_channel channel; /* The DNS, and the hosts file when files is NULL. */
    ares_channel files;   /* The hosts file alone, asked first for the names in hosts. */
    green__hosts *hosts;
    green__hub *hub;
    sock_watch *watches;
    green_loop_timer timer;
    int timer_armed;
    double timer_due;    /* green_now() when it fires, while armed. */
    double base_timeout; /* Seconds a query sent now waits at least (the channel's timeout). */
    long in_flight;      /* Queries sent and not yet answered. */
};

/* One lookup; freed by its caller once answered, or by the answer once the
 * caller gave up. */
typedef struct lookup {
    green__hub *hub;
    green_thread *g;    /* The waiter; NULL once it gave up. */
    int answered;
    int status;         /* ARES_SUCCESS or an ARES_E* code. */
    int canonname;      /* AI_CANONNAME was asked for. */
    int sent;           /* Not answered at once: counted in in_flight until it is. */
    struct ares_addrinfo *result;
} lookup;

/* Bytes of a channel's socket receive buffer (the kernel caps it at
 * net.core.rmem_max). */
#define ARES_RECEIVE_BUFFER (4 << 20)

static pthread_once_t library_once = PTHREAD_ONCE_INIT;
static int library_status = ARES_ENOTINITIALIZED;

static void library_init(void)
{
    library_status = ares_library_init(ARES_LIB_INIT_ALL);
}

/* ---- the channel's sockets and timer in the loop ---- */

static void rearm(green__ares *a);

static void on_ready(green_loop_io *io, int revents)
{
    sock_watch *w = (sock_watch *)((char *)io - offsetof(sock_watch, io));
    green__ares *a = w->owner;
    int fd = w->fd;
    w->armed = 0;
    /* c-ares may close the socket and drop w (state callback) inside. */
    ares_process_fd(a->channel, revents & GREEN_LOOP_READ ? fd : ARES_SOCKET_BAD,
                    revents & GREEN_LOOP_WRITE ? fd : ARES_SOCKET_BAD);
    rearm(a);
}

static void on_timeout(green_loop_timer *t)
{
    green__ares *a = (green__ares *)((char *)t - offsetof(green__ares, timer));
    a->timer_armed = 0;
    ares_process_fd(a->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    rearm(a);
}

/* c-ares's socket-state callback: fd is wanted for reading and/or writing,
 * or (both 0) no longer, and about to be closed: its wait stops now. */
static void on_socket_state(void *data, ares_socket_t fd, int readable, int writable)
{
    green__ares *a = data;
    sock_watch **link = &a->watches;
    while (*link != NULL && (*link)->fd != fd)
        link = &(*link)->next;
    sock_watch *w = *link;
    int events = (readable ? GREEN_LOOP_READ : 0) | (writable ? GREEN_LOOP_WRITE : 0);
    if (events == 0) {
        if (w != NULL) {
            if (w->armed)
                green_loop_io_stop(a->hub->loop, &w->io);
            *link = w->next;
            free(w);
        }
        return;
    }
    if (w == NULL) {
        w = calloc(1, sizeof *w);
        if (w == NULL)
            return; /* Its queries end at their timeout, as if the server were silent. */
        w->fd = fd;
        w->owner = a;
        w->next = a->watches;
        a->watches = w;
    }
    if (w->armed && w->events != events) {
        green_loop_io_stop(a->hub->loop, &w->io);
        w->armed = 0;
    }
    w->events = events;
}

/* Start the wait of every wanted socket that has none, and set the timer to
 * c-ares's next timeout unless the one armed is no later (above). */
static void rearm(green__ares *a)
{
    for (sock_watch *w = a->watches; w != NULL; w = w->next)
        if (!w->armed && green_loop_io_start(a->hub->loop, &w->io, w->fd, w->events, on_ready) == 0)
            w->armed = 1;
    double now = green_now();
    if (a->timer_armed && a->in_flight > 0 && a->timer_due <= now + a->base_timeout)
        return;
    if (a->timer_armed) {
        green_loop_timer_stop(a->hub->loop, &a->timer);
        a->timer_armed = 0;
    }
    struct timeval tv;
    if (a->in_flight == 0 || ares_timeout(a->channel, NULL, &tv) == NULL)
        return;
    /* c-ares counts whole milliseconds: a timeout it says is due in less
     * than one is not due yet by its own clock, and waking sooner would
     * only spin. */
    double after = (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
    if (after < 1e-3)
        after = 1e-3;
    if (green_loop_timer_start(a->hub->loop, &a->timer, after, on_timeout) == 0) {
        a->timer_armed = 1;
        a->timer_due = now + after;
    }
}

/* The channel's timeout for a query's first try, in seconds; 0 (the timer
 * then set anew after every call) when c-ares does not say. */
static double channel_base_timeout(ares_channel channel)
{
    struct ares_options o;
    int mask = 0;
    if (ares_save_options(channel, &o, &mask) != ARES_SUCCESS)
        return 0;
    double t = (mask & ARES_OPT_TIMEOUTMS) && o.timeout > 0 ? o.timeout / 1e3 : 0;
    ares_destroy_options(&o);
    return t;
}

/* ---- the channel ---- */

/* A channel with c-ares's options o (mask) and, when lookups is not NULL,
 * that order of lookup steps ("b": DNS, "f": hosts file). An ARES_* code. */
static int channel_init(ares_channel *c, struct ares_options *o, int mask, char *lookups)
{
    o->lookups = lookups;
    return ares_init_options(c, o, mask | (lookups != NULL ? ARES_OPT_LOOKUPS : 0));
}

/* The lookup steps the system asks for (resolv.conf, nsswitch.conf), as
 * c-ares read them into c: into order (at least 4 bytes); "" if unknown. */
static void lookup_order(ares_channel c, char *order)
{
    struct ares_options o;
    int mask = 0;
    order[0] = '\0';
    if (ares_save_options(c, &o, &mask) != ARES_SUCCESS)
        return;
    if ((mask & ARES_OPT_LOOKUPS) && o.lookups != NULL && strlen(o.lookups) < 4)
        strcpy(order, o.lookups);
    ares_destroy_options(&o);
}

/* Split a's channel, made with the system's lookup order, into a DNS
 * channel and a hosts-file one when that order is "fb" (above). An ARES_*
 * code; a's channel is unchanged on failure. */
static int split_hosts_file(green__ares *a, struct ares_options *o, int mask)
{
    char order[4];
    lookup_order(a->channel, order);
    if (strcmp(order, "fb") != 0)
        return ARES_SUCCESS;
    ares_channel dns, files;
    int st = channel_init(&files, o, mask, "f");
    if (st != ARES_SUCCESS)
        return st;
    if ((st = channel_init(&dns, o, mask, "b")) != ARES_SUCCESS ||
        (a->hosts = green__hosts_new("/etc/hosts")) == NULL) { /* c-ares 1.18's PATH_HOSTS */
        if (st == ARES_SUCCESS)
            ares_destroy(dns);
        ares_destroy(files);
        return st == ARES_SUCCESS ? ARES_ENOMEM : st;
    }
    ares_destroy(a->channel);
    a->channel = dns;
    a->files = files;
    return ARES_SUCCESS;
}

static void channel_free(green__ares *a)
{
    if (a->channel != NULL)
        ares_destroy(a->channel);
    if (a->files != NULL)
        ares_destroy(a->files);
    green__hosts_free(a->hosts);
    free(a);
}

static int channel_new(green__hub *h, green__ares **out)
{
    pthread_once(&library_once, library_init);
    if (library_status != ARES_SUCCESS)
        return GREEN_ENOMEM;
    green__ares *a = calloc(1, sizeof *a);
    if (a == NULL)
        return GREEN_ENOMEM;
    a->hub = h;
    /* A hub may have thousands of lookups in flight on one UDP socket, and
     * their answers can come all at once: with the default receive buffer
     * (208 KiB here) a thousand were dropped and waited for their retry. */
    struct ares_options o = {
        .sock_state_cb = on_socket_state,
        .sock_state_cb_data = a,
        .socket_receive_buffer_size = ARES_RECEIVE_BUFFER,
    };
    int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_SOCK_RCVBUF;
    int st = channel_init(&a->channel, &o, mask, NULL);
    if (st != ARES_SUCCESS)
        a->channel = NULL;
    if (st == ARES_SUCCESS)
        st = split_hosts_file(a, &o, mask);
    if (st == ARES_SUCCESS && h->dns_servers != NULL)
        st = ares_set_servers_ports_csv(a->channel, h->dns_servers);
    if (st != ARES_SUCCESS) {
        channel_free(a);
        return st == ARES_ENOMEM ? GREEN_ENOMEM : GREEN_EAI_FAIL;
    }
    a->base_timeout = channel_base_timeout(a->channel);
    *out = a;
    return 0;
}

/* Is s[0..len) one server as green.h spells it: IPv4[:PORT], IPv6 or
 * [IPv6][:PORT], PORT 1 to 65535? c-ares's own parser takes "1.2.3.4.5" as
 * 1.2.3.4, a port of 99999 modulo 65536, and 0 as 53. */
static bool server_ok(const char *s, size_t len)
{
    const char *end = s + len, *addr = s, *addr_end = end, *port = NULL;
    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (close == NULL)
            return false;
        addr = s + 1;
        addr_end = close;
        if (close + 1 < end)
            port = close + 1;
    } else {
        const char *colon = memchr(s, ':', len);
        if (colon != NULL && memchr(colon + 1, ':', (size_t)(end - colon - 1)) == NULL) {
            addr_end = colon; /* One colon: IPv4:PORT; more: a bare IPv6. */
            port = colon;
        }
    }
    char text[INET6_ADDRSTRLEN];
    size_t alen = (size_t)(addr_end - addr);
    unsigned char bin[16];
    if (alen == 0 || alen >= sizeof text)
        return false;
    memcpy(text, addr, alen);
    text[alen] = '\0';
    if (inet_pton(AF_INET, text, bin) != 1 && inet_pton(AF_INET6, text, bin) != 1)
        return false;
    if (port == NULL)
        return true;
    long number = 0;
    if (*port != ':' || end - port < 2 || end - port > 6)
        return false;
    for (const char *d = port + 1; d < end; d++) {
        if (*d < '0' || *d > '9')
            return false;
        number = number * 10 + (*d - '0');
    }
    return number >= 1 && number <= 65535;
}

int green__ares_check_servers(const char *servers)
{
    for (const char *p = servers;;) {
        size_t len = strcspn(p, ",");
        if (!server_ok(p, len))
            return GREEN_EINVAL;
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    pthread_once(&library_once, library_init);
    if (library_status != ARES_SUCCESS)
        return GREEN_ENOMEM;
    ares_channel c;
    struct ares_options o = { .flags = ARES_FLAG_NOCHECKRESP };
    if (ares_init_options(&c, &o, ARES_OPT_FLAGS) != ARES_SUCCESS)
        return GREEN_ENOMEM;
    int st = ares_set_servers_ports_csv(c, servers);
    ares_destroy(c);
    return st == ARES_SUCCESS ? 0 : st == ARES_ENOMEM ? GREEN_ENOMEM : GREEN_EINVAL;
}

void green__ares_hub_fini(green__hub *h)
{
    green__ares *a = h->ares;
    if (a == NULL)
        return;
    /* Every caller has gone (green_fini ended them): the answers still to
     * come are dropped by the callbacks ares_destroy makes. */
    ares_destroy(a->channel);
    a->channel = NULL;
    while (a->watches != NULL) {
        sock_watch *w = a->watches;
        a->watches = w->next;
        if (w->armed)
            green_loop_io_stop(h->loop, &w->io);
        free(w);
    }
    if (a->timer_armed)
        green_loop_timer_stop(h->loop, &a->timer);
    channel_free(a);
    h->ares = NULL;
}

/* ---- answers ---- */

static int map_status(int status)
{
    switch (status) {
    case ARES_SUCCESS: return 0;
    case ARES_ENOTFOUND:
    case ARES_EBADNAME: return GREEN_EAI_NONAME; /* The C library's word for a malformed name. */
    case ARES_ENODATA: return GREEN_EAI_NODATA;
    case ARES_ETIMEOUT:
    case ARES_ECONNREFUSED:
    case ARES_ESERVFAIL:
    case ARES_EREFUSED: return GREEN_EAI_AGAIN;
    case ARES_ENOMEM: return GREEN_EAI_MEMORY;
    case ARES_EBADFAMILY: return GREEN_EAI_FAMILY;
    case ARES_EBADFLAGS: return GREEN_EAI_BADFLAGS;
    case ARES_ESERVICE: return GREEN_EAI_SERVICE;
    case ARES_ECANCELLED:
    case ARES_EDESTRUCTION: return GREEN_EAI_CANCELED;
    default: return GREEN_EAI_FAIL;
    }
}

/* c-ares's answer as the C library's: a chain that freeaddrinfo(3) frees,
 * each entry one block with its address after it, ai_canonname its own.
 * Returns 0 or GREEN_ENOMEM (nothing left allocated). */
static int to_addrinfo(const struct ares_addrinfo *in, int canonname, struct addrinfo **out)
{
    struct addrinfo *head = NULL, **tail = &head;
    for (const struct ares_addrinfo_node *n = in->nodes; n != NULL; n = n->ai_next) {
        struct addrinfo *ai = calloc(1, sizeof *ai + n->ai_addrlen);
        if (ai == NULL) {
            freeaddrinfo(head);
            return GREEN_ENOMEM;
        }
        ai->ai_family = n->ai_family;
        ai->ai_socktype = n->ai_socktype;
        ai->ai_protocol = n->ai_protocol;
        ai->ai_addrlen = n->ai_addrlen;
        ai->ai_addr = (struct sockaddr *)(ai + 1);
        memcpy(ai->ai_addr, n->ai_addr, n->ai_addrlen);
        *tail = ai;
        tail = &ai->ai_next;
    }
    if (head == NULL) {
        *out = NULL;
        return GREEN_EAI_NODATA;
    }
    if (canonname) {
        const char *name = in->cnames != NULL ? in->cnames->name : in->name;
        if (name != NULL && (head->ai_canonname = strdup(name)) == NULL) {
            freeaddrinfo(head);
            return GREEN_ENOMEM;
        }
    }
    *out = head;
    return 0;
}

/* The C library's entries for service and hints: its own answer for
 * 127.0.0.1, whose entries carry the socket types, protocols and port each
 * address gets, in its order (one per type when hints name none), and
 * whose error, for a service or type it refuses, is the one any name gets.
 * c-ares 1.18 gives one entry per address with hints' type and protocol,
 * 0 and 0 when they name none, which socket(2) refuses. 0 or a
 * GREEN_EAI_* code. */
static int socket_types(const char *service, const struct addrinfo *hints, struct addrinfo **types)
{
    struct addrinfo h = { .ai_family = AF_INET };
    if (hints != NULL) {
        h.ai_flags = hints->ai_flags & AI_NUMERICSERV;
        h.ai_socktype = hints->ai_socktype;
        h.ai_protocol = hints->ai_protocol;
    }
    return green__getaddrinfo_numeric("127.0.0.1", service, &h, types);
}

/* ai with t's socket type, protocol and port. */
static void take_type(struct addrinfo *ai, const struct addrinfo *t)
{
    in_port_t port = ((const struct sockaddr_in *)(const void *)t->ai_addr)->sin_port;
    if (ai->ai_family == AF_INET6)
        ((struct sockaddr_in6 *)(void *)ai->ai_addr)->sin6_port = port;
    else
        ((struct sockaddr_in *)(void *)ai->ai_addr)->sin_port = port;
    ai->ai_socktype = t->ai_socktype;
    ai->ai_protocol = t->ai_protocol;
}

/* Each address of list (sorted, one entry each) once per entry of types,
 * in types' order, as the C library's answer has it. 0, or GREEN_ENOMEM
 * with list still a chain for freeaddrinfo. */
static int per_socket_type(struct addrinfo *list, const struct addrinfo *types)
{
    for (struct addrinfo *ai = list, *next; ai != NULL; ai = next) {
        next = ai->ai_next;
        struct addrinfo *last = ai;
        for (const struct addrinfo *t = types->ai_next; t != NULL; t = t->ai_next) {
            struct addrinfo *copy = malloc(sizeof *copy + ai->ai_addrlen);
            if (copy == NULL)
                return GREEN_ENOMEM;
            *copy = *ai;
            copy->ai_canonname = NULL; /* The first entry's only. */
            copy->ai_addr = (struct sockaddr *)(copy + 1);
            memcpy(copy->ai_addr, ai->ai_addr, ai->ai_addrlen);
            take_type(copy, t);
            copy->ai_next = next;
            last->ai_next = copy;
            last = copy;
        }
        take_type(ai, types);
    }
    return 0;
}

static void free_query(lookup *q)
{
    if (q->result != NULL)
        ares_freeaddrinfo(q->result);
    free(q);
}

static void on_answer(void *arg, int status, int timeouts, struct ares_addrinfo *result)
{
    (void)timeouts;
    lookup *q = arg;
    if (q->sent)
        q->hub->ares->in_flight--;
    q->status = status;
    q->result = result;
    q->answered = 1;
    if (q->g == NULL)
        free_query(q); /* Its green thread gave up. */
    else
        green__wake(q->hub, q->g, 0);
}

/* The C library's AI_* flags as c-ares's ARES_AI_* (other bits), answers
 * unsorted (addrsort.c sorts those that need it). */
static int ares_flags(int flags)
{
    static const struct {
        int libc, ares;
    } same[] = {
        { AI_PASSIVE, ARES_AI_PASSIVE },         { AI_CANONNAME, ARES_AI_CANONNAME },
        { AI_NUMERICHOST, ARES_AI_NUMERICHOST }, { AI_NUMERICSERV, ARES_AI_NUMERICSERV },
        { AI_V4MAPPED, ARES_AI_V4MAPPED },       { AI_ALL, ARES_AI_ALL },
        { AI_ADDRCONFIG, ARES_AI_ADDRCONFIG },
    };
    int out = ARES_AI_NOSORT;
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
        if (flags & same[i].libc)
            out |= same[i].ares;
    return out;
}

/* c-ares's file step for q, through the channel that has no other: it
 * answers before it returns. A name the file does not give is left
 * unanswered, for the DNS, as c-ares's "fb" order does. */
static void ask_hosts_file(green__ares *a, lookup *q, const char *node,
                           const struct ares_addrinfo_hints *hints)
{
    ares_getaddrinfo(a->files, node, NULL, hints, on_answer, q);
    if (!q->answered)
        ares_cancel(a->files); /* It has no socket to wait on: never left pending. */
    if (q->status == ARES_SUCCESS)
        return;
    if (q->result != NULL)
        ares_freeaddrinfo(q->result);
    q->result = NULL;
    q->answered = 0;
}

/* RFC 6761's localhost names, as c-ares 1.18 tells them (is_localhost in
 * its ares_getaddrinfo.c). */
static int is_localhost(const char *node)
{
    size_t len = strlen(node);
    return strcmp(node, "localhost") == 0 || (len > 10 && strcmp(node + len - 10, ".localhost") == 0);
}

/* A localhost name the hosts file does not give (for family): c-ares's
 * file step answers the loopback addresses (RFC 6761: not asked of the
 * DNS), and in 1.18.1 leaks the name's copy each time. Answered here as it
 * would: ::1 and 127.0.0.1, as the family allows. */
static void answer_loopback(lookup *q, const char *node, int family)
{
    struct ares_addrinfo *ai = calloc(1, sizeof *ai);
    struct ares_addrinfo_node **tail = ai != NULL ? &ai->nodes : NULL;
    int status = ai != NULL && (ai->name = strdup(node)) != NULL ? ARES_SUCCESS : ARES_ENOMEM;
    for (int v6 = 1; v6 >= 0 && status == ARES_SUCCESS; v6--) {
        if (family != AF_UNSPEC && family != (v6 ? AF_INET6 : AF_INET))
            continue;
        struct ares_addrinfo_node *n = calloc(1, sizeof *n);
        struct sockaddr_in6 *sa = calloc(1, sizeof *sa); /* Room for either. */
        if (n == NULL || sa == NULL) {
            free(n);
            free(sa);
            status = ARES_ENOMEM;
            break;
        }
        if (v6) {
            sa->sin6_family = AF_INET6;
            sa->sin6_addr = in6addr_loopback;
        } else {
            struct sockaddr_in *sa4 = (struct sockaddr_in *)(void *)sa;
            sa4->sin_family = AF_INET;
            sa4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        }
        n->ai_family = v6 ? AF_INET6 : AF_INET;
        n->ai_addrlen = v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
        n->ai_addr = (struct sockaddr *)sa;
        *tail = n;
        tail = &n->ai_next;
    }
    if (status != ARES_SUCCESS && ai != NULL) {
        ares_freeaddrinfo(ai);
        ai = NULL;
    }
    q->status = status;
    q->result = ai;
    q->answered = 1;
}

/* Is node an address the C library reads as one (inet_aton's IPv4 forms,
 * IPv6 with an optional %scope)? c-ares 1.18 looks a name up even when
 * told ARES_AI_NUMERICHOST. */
static int numeric_host(const char *node)
{
    struct in_addr v4;
    struct in6_addr v6;
    char text[INET6_ADDRSTRLEN];
    size_t len = strcspn(node, "%");
    if (inet_aton(node, &v4) != 0)
        return 1;
    if (len >= sizeof text)
        return 0;
    memcpy(text, node, len);
    text[len] = '\0';
    return inet_pton(AF_INET6, text, &v6) == 1;
}

/* The addresses of node, one entry each, sorted: 0 with *res, or a
 * GREEN_EAI_* code, GREEN_ECANCELED or GREEN_ENOMEM. */
static int resolve(green__hub *h, const char *node, const struct addrinfo *hints, struct addrinfo **res)
{
    if (h->ares == NULL) {
        int err = channel_new(h, &h->ares);
        if (err != 0)
            return err;
    }
    green__ares *a = h->ares;
    lookup *q = calloc(1, sizeof *q);
    if (q == NULL)
        return GREEN_ENOMEM;
    q->hub = h;
    q->g = h->current;
    struct ares_addrinfo_hints ah = { .ai_flags = ares_flags(0) };
    if (hints != NULL) {
        ah.ai_flags = ares_flags(hints->ai_flags);
        ah.ai_family = hints->ai_family;   /* Addresses only: types are socket_types'. */
        q->canonname = (hints->ai_flags & AI_CANONNAME) != 0;
    }
    if (a->files != NULL && node != NULL &&
        green__hosts_may_name(a->hosts, node, ah.ai_family, green_now()))
        ask_hosts_file(a, q, node, &ah);
    else if (a->files != NULL && is_localhost(node))
        answer_loopback(q, node, ah.ai_family);
    if (!q->answered) {
        /* If c-ares answered already, nothing was sent; a query sent
         * waits for the loop. */
        ares_getaddrinfo(a->channel, node, NULL, &ah, on_answer, q);
        if (!q->answered) {
            q->sent = 1;
            a->in_flight++;
        }
        rearm(a);
    }
    int code = 0;
    while (!q->answered && code == 0)
        code = green__block(h, GREEN_FOREVER);
    if (!q->answered) {
        q->g = NULL; /* on_answer frees it when it comes. */
        return code;
    }
    int rc = map_status(q->status);
    if (rc == 0)
        rc = to_addrinfo(q->result, q->canonname, res);
    if (rc == 0 && green__addrsort(res) != 0) {
        freeaddrinfo(*res);
        *res = NULL;
        rc = GREEN_ENOMEM;
    }
    free_query(q);
    if (code != 0) {
        /* Killed after the answer came: still report the kill. */
        if (rc == 0)
            freeaddrinfo(*res);
        *res = NULL;
        return code;
    }
    return rc;
}

/* The flags the C library takes (glibc 2.36's getaddrinfo; the IDN ones
 * pass unheeded, as c-ares does not encode names). */
#define KNOWN_AI_FLAGS                                                                                    \
    (AI_PASSIVE | AI_CANONNAME | AI_NUMERICHOST | AI_ADDRCONFIG | AI_V4MAPPED | AI_NUMERICSERV | AI_ALL | \
     AI_IDN | AI_CANONIDN | 0x0300)

int green__ares_getaddrinfo(green__hub *h, const char *node, const char *service,
                            const struct addrinfo *hints, struct addrinfo **res)
{
    /* What the C library refuses before any lookup, in its order. */
    if (hints != NULL && (hints->ai_flags & ~KNOWN_AI_FLAGS))
        return GREEN_EAI_BADFLAGS;
    if (hints != NULL && hints->ai_family != AF_UNSPEC && hints->ai_family != AF_INET &&
        hints->ai_family != AF_INET6)
        return GREEN_EAI_FAMILY;
    if (hints != NULL && (hints->ai_flags & AI_NUMERICHOST) && node != NULL && !numeric_host(node))
        return GREEN_EAI_NONAME;
    /* c-ares 1.18 dereferences a NULL node, and sends an address literal to
     * the DNS servers (an A and an AAAA query, waited for): the C library
     * answers both here, as it would for the thread resolver. */
    if (node == NULL || numeric_host(node))
        return green__getaddrinfo_numeric(node, service, hints, res);
    /* The service is the C library's to read (socket_types), before any
     * server is asked, as it does. */
    struct addrinfo *types;
    int rc = socket_types(service, hints, &types);
    if (rc != 0)
        return rc;
    rc = resolve(h, node, hints, res);
    if (rc == 0 && per_socket_type(*res, types) != 0) {
        freeaddrinfo(*res);
        *res = NULL;
        rc = GREEN_ENOMEM;
    }
    freeaddrinfo(types);
    return rc;
}
