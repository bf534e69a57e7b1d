/* tests/preload/names.c: getaddrinfo's entries for each NODE ("-" for
 * NULL) under a few hints (none; no socket type; a type alone; a protocol
 * alone; AI_PASSIVE), one line each: the family, address, port, socket
 * type and protocol. The same lines with and without the preload, with
 * either resolver, are the C library's answer.
 * Usage: names SERVICE NODE... Exit 0, or 1 when a lookup fails. */
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static const struct {
    const char *name;
    int has_hints, socktype, protocol, flags;
} asks[] = {
    { "null-hints", 0, 0, 0, 0 },    { "no-type", 1, 0, 0, 0 },          { "stream", 1, SOCK_STREAM, 0, 0 },
    { "udp", 1, 0, IPPROTO_UDP, 0 }, { "passive", 1, 0, 0, AI_PASSIVE },
};

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: names SERVICE NODE...\n");
        return 2;
    }
    int status = 0;
    for (int i = 2; i < argc; i++) {
        const char *node = strcmp(argv[i], "-") == 0 ? NULL : argv[i];
        for (size_t j = 0; j < sizeof asks / sizeof asks[0]; j++) {
            struct addrinfo hints = { .ai_socktype = asks[j].socktype,
                                      .ai_protocol = asks[j].protocol,
                                      .ai_flags = asks[j].flags };
            struct addrinfo *res = NULL;
            int rc = getaddrinfo(node, argv[1], asks[j].has_hints ? &hints : NULL, &res);
            printf("%s %s: %s\n", argv[i], asks[j].name, rc == 0 ? "ok" : gai_strerror(rc));
            status |= rc != 0;
            for (const struct addrinfo *a = res; a != NULL; a = a->ai_next) {
                char host[NI_MAXHOST], port[NI_MAXSERV];
                getnameinfo(a->ai_addr, a->ai_addrlen, host, sizeof host, port, sizeof port,
                            NI_NUMERICHOST | NI_NUMERICSERV);
                printf("  %d %s %s %d %d\n", a->ai_family, host, port, a->ai_socktype, a->ai_protocol);
            }
            if (res != NULL)
                freeaddrinfo(res);
        }
    }
    return status;
}
