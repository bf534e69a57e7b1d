/* workloads/common/server_child.h: start greenbench-server as a child process and
 * stop it. A joinall or pool cell given no --url starts its own server with
 * this; the tests start theirs with it too. */
#ifndef GREEN_SERVER_CHILD_H
#define GREEN_SERVER_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct server_child {
    pid_t pid;
    int stdin_fd;               /* Our end of its stdin: it exits when this closes. */
    char url[64];               /* The first line it printed. */
    char ca[4096];              /* With tls: the CA it made, from its "ca: PATH" line. */
    double exit_wait_s;         /* How long server_child_stop waits before SIGKILL
                                   (5 s; longer for a child under valgrind). */
} server_child;

/* The greenbench-server beside the running program (same directory as
 * /proc/self/exe) into path. Returns 0 or -1 (does not exist). */
int server_child_path(char *path, size_t len);

/* Run `path --delay-ms D --size S --port 0 --cpu CPU --exit-on-stdin-eof`
 * (D or S < 0: left out; cpu < 0: --cpu last, the last CPU this process may
 * use; tls: --tls too, https with a throwaway CA), its stdin a pipe we hold
 * (so it exits when we do, even killed), and wait up to 10 s for the URL on
 * its first stdout line (and with tls the CA's path on its second).
 * Returns 0, or -1 with a message in err (the child, if any, is stopped). */
int server_child_start(server_child *s, const char *path, long long delay_ms, long long size, int cpu,
                       bool tls, char *err, size_t errlen);

/* Run argv (argv[0] looked up on PATH when it has no slash), its stdin a
 * pipe we hold and its stdout a pipe, and wait up to wait_s seconds for its
 * first line (into s->url) and, when second is not NULL, its second (into
 * second, len bytes). Any child that prints where it listens first and
 * exits at the end of its stdin (greenbench-server, greenbench-dns) fits.
 * Returns 0, or -1 with a message in err (the child, if any, is stopped). */
int server_child_spawn(server_child *s, char *const argv[], char *second, size_t len, double wait_s,
                       char *err, size_t errlen);

/* SIGTERM, then wait for it (SIGKILL after exit_wait_s). Returns its exit status
 * (0 for a clean exit), or -1 if it did not exit by itself. */
int server_child_stop(server_child *s);

#endif /* GREEN_SERVER_CHILD_H */
