/* harness/server.h: the run stage's local HTTP server (greenbench-server),
 * for the workloads whose catalog row needs one: one server per distinct
 * (delay, size), started on the last CPU when a cell first needs it,
 * started again if it died, stopped at the end of the run; its stderr goes
 * to server.log (docs/architecture.md, "How data flows"). */
#ifndef GREENBENCH_SERVER_H
#define GREENBENCH_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "process.h"
#include "programs.h"

/* One running server. */
struct gb_server {
    long delay_ms, size;
    struct gb_proc proc;        /* Its pid, and in proc.out_fd its stdout, drained into */
    int log_fd;                 /* log_fd (server.log) after the URL line. */
    char url[128];
    char error[256];
};
/* Start program --delay-ms D --size S --cpu last (negative values: 0),
 * stderr into log_fd (-1: /dev/null), and read the URL from its first
 * stdout line within 10 s. 0, or -1 with s->error set (the server is
 * stopped then). */
int gb_server_start(const char *program, long delay_ms, long size, int log_fd,
                    struct gb_server *s);
/* Does it still run: drains its stdout into the log, reaps it if it exited
 * (false, s->error saying so). */
bool gb_server_alive(struct gb_server *s);
/* SIGTERM, up to 2 s, then SIGKILL; nothing when it is not running. */
void gb_server_stop(struct gb_server *s);
/* "8080", "http://127.0.0.1:8080/", "port 8080" -> URL; 0 or -EINVAL. */
int gb_server_parse_line(const char *line, char *url, size_t n);

/* The servers of a run, one per (delay, size). */
struct gb_servers {
    struct gb_server s[32];
    size_t n;
    int log_fd;          /* server.log, opened when the first server is asked for */
    char log_path[4096];
};
/* No server yet; their stderr will go to dir/server.log. */
void gb_servers_init(struct gb_servers *sv, const char *dir);
/* The server for (delay, size), started (or started again) as needed from
 * p's bin directory; NULL with why (whylen bytes) when it cannot run. */
struct gb_server *gb_servers_get(struct gb_servers *sv, const struct gb_programs *p, long delay,
                                 long size, char *why, size_t whylen);
/* Stop every server and close server.log. */
void gb_servers_stop(struct gb_servers *sv);

#endif /* GREENBENCH_SERVER_H */
