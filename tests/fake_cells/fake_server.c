/* tests/fake_cells/fake_server.c: a stand-in for greenbench-server. Listens
 * on 127.0.0.1 on a kernel-chosen port, prints its URL on the first stdout
 * line, answers each request with --size bytes (no delay: tests stay fast)
 * until SIGTERM. GB_FAKE_SERVER=noport prints no port.
 * Installed as greenbench-dns too: then its URL is dns://, and it refuses
 * --private-net (exit 1), as greenbench-dns does where namespaces are not
 * allowed, so that the harness's way round that is what the tests run. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long size = 16;
    if (argc > 1 && strcmp(argv[1], "--help") == 0) {
        printf("usage: greenbench-server [--delay-ms D] [--size BYTES] (fake, for tests)\n");
        return 0;
    }
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--size") == 0)
            size = atol(argv[i + 1]);
    const char *base = strrchr(argv[0], '/');
    bool dns = strcmp(base ? base + 1 : argv[0], "greenbench-dns") == 0;
    for (int i = 1; dns && i < argc; i++)
        if (strcmp(argv[i], "--private-net") == 0) {
            fprintf(stderr,
                    "greenbench-dns: --private-net: not in this fake (as if unshare were refused)\n");
            return 1;
        }
    const char *mode = getenv("GB_FAKE_SERVER");
    if (mode && strcmp(mode, "noport") == 0) {
        printf("ready, but I will not say where\n");
        fflush(stdout);
        pause();
        return 0;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 128) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        perror("fake server");
        return 1;
    }
    printf(dns ? "dns://127.0.0.1:%d\n" : "http://127.0.0.1:%d/\n", ntohs(a.sin_port));
    fflush(stdout);
    fprintf(stderr, "fake server: listening on %d\n", ntohs(a.sin_port));
    char *body = malloc((size_t)size + 1);
    memset(body, 'x', (size_t)size);
    for (;;) {
        int c = accept(fd, NULL, NULL);
        if (c < 0)
            continue;
        char req[4096];
        if (read(c, req, sizeof req) < 0) {
            close(c);
            continue;
        }
        char head[128];
        int hl = snprintf(head, sizeof head,
                          "HTTP/1.1 200 OK\r\nContent-Length: %ld\r\nConnection: close\r\n\r\n", size);
        if (write(c, head, (size_t)hl) >= 0 && size > 0 && write(c, body, (size_t)size) < 0)
            perror("fake server: write");
        close(c);
    }
}
