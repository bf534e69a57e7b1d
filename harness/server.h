/* harness/server.h: the run stage's local HTTP server (greenbench-server),
 * for the workloads whose catalog row needs one: one server per distinct
 * (delay, size, threads, CPUs), started on the last CPU unless asked
 * otherwise when a cell first needs it, started again if it died, stopped
 * at the end of the run; its stderr goes to server.log
 * (docs/architecture.md, "How data flows"). Also what the server says about
 * itself: its window of counts and lateness (GET /__greenbench/window,
 * workloads/README.md), and its capacity measured with wrk. */
#ifndef GREENBENCH_SERVER_H
#define GREENBENCH_SERVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "process.h"
#include "programs.h"

/* How a server is started, and what tells one from another. */
struct gb_server_spec {
    long delay_ms, size;        /* --delay-ms, --size (negative: 0) */
    int threads;                /* --threads (<= 1: none given, one loop) */
    const char *cpus;           /* --cpus, a list such as "3", "2-3", "1,3"; NULL or
                                   "last": --cpu last. Longer than 63 bytes is refused. */
    bool tls;                   /* https, with a throwaway CA (gb_servers_get) */
    const char *tls_dir;        /* gb_server_start: --tls-dir, where its CA goes; NULL: plain */
    /* greenbench-dns instead, in network and mount namespaces of its own
     * (--private-net) where it is /etc/resolv.conf's server on port 53; where
     * that is refused (gb_servers_get), on a port the kernel picks. size and
     * threads do not apply. */
    bool dns;
    bool private_net;           /* gb_server_start: --private-net */
};

/* One running server. */
struct gb_server {
    long delay_ms, size;
    int threads;                /* Its --threads (1: none given). */
    char cpus[64];              /* Its --cpus; "last": --cpu last. */
    bool tls;                   /* It speaks https; */
    char ca[4096];              /* its CA's certificate, for the clients to verify with. */
    bool dns;                   /* greenbench-dns, */
    bool private_net;           /* in namespaces that a cell joins (gb_server_namespaces) */
    struct gb_proc proc;        /* Its pid, and in proc.out_fd its stdout, drained into */
    int log_fd;                 /* log_fd (server.log) after the URL line. */
    char url[128];
    char error[256];
};
/* Start program as spec says, stderr into log_fd (-1: /dev/null), and read
 * the URL from its first stdout line (and with tls_dir the CA's path from
 * its second) within 10 s. 0, or -1 with s->error set (the server is
 * stopped then). */
int gb_server_start(const char *program, const struct gb_server_spec *spec, int log_fd,
                    struct gb_server *s);
/* The process whose network and mount namespaces a cell of s must join
 * (gb_proc_opts.namespaces_of): greenbench-dns --private-net; 0: none. */
int gb_server_namespaces(const struct gb_server *s);
/* The CPU time s has used, in ns (/proc/PID/schedstat: a one-thread
 * server's, to the nanosecond), or -1. For a server without a window
 * (greenbench-dns). */
long long gb_server_cpu_ns(const struct gb_server *s);
/* Does it still run: drains its stdout into the log, reaps it if it exited
 * (false, s->error saying so). */
bool gb_server_alive(struct gb_server *s);
/* SIGTERM, up to 2 s, then SIGKILL; nothing when it is not running. */
void gb_server_stop(struct gb_server *s);
/* "8080", "http://127.0.0.1:8080/", "port 8080" -> URL; 0 or -EINVAL. */
int gb_server_parse_line(const char *line, char *url, size_t n);

/* The server's window (GET /__greenbench/window): what it served since
 * the previous window request, or since it started; the request starts the
 * next window. The fields are the JSON object's (workloads/README.md). */
#define GB_SERVER_MAX_LOOPS 256 /* greenbench-server --threads at most */
struct gb_server_window {
    long long requests;         /* answered with 200, window requests excluded */
    long long delayed;          /* of those, answered after a delay > 0 */
    double late_mean_ms, late_p99_ms, late_max_ms; /* how late the delayed ones left */
    long long late_over_1ms;
    long long connections;      /* that brought a request other than a window request */
    long long cpu_ns;           /* the server's user + system CPU time, all its threads */
    long long window_ns;        /* the window's wall time */
    size_t nloops;
    struct {
        long long requests, delayed, late_over_1ms, connections;
        int cpu;                /* the CPU it is pinned to; -1: none */
    } loops[GB_SERVER_MAX_LOOPS];
};
/* GET /__greenbench/window from s (its URL), over a plain socket, within
 * 2 s in all, and parse the JSON into *w. 0, or a negative errno with err
 * (errlen bytes) saying why: -ETIMEDOUT, -ECONNREFUSED (...), -EPROTO (not
 * a 200 with the JSON object expected), -EINVAL (a URL that is not
 * http://IPv4:PORT/). */
int gb_server_window(struct gb_server *s, struct gb_server_window *w, char *err, size_t errlen);
/* The same for a server at url: https:// verified against ca, or
 * http:// with ca NULL. */
int gb_server_window_url(const char *url, const char *ca, struct gb_server_window *w, char *err,
                         size_t errlen);
/* *w as the JSON object the server sent (a new reference). */
json_t *gb_server_window_json(const struct gb_server_window *w);

/* The server's capacity, measured with wrk when wrk is on PATH: a server
 * from p's bin directory (no delay, 1024 bytes, one loop, on the last CPU),
 * and `wrk -t1 -c64 -d3s` pinned to the first CPU this process may use,
 * once with keep-alive and once with "Connection: close". *out (a new
 * reference):
 *   {"tool": "wrk <version>", "duration_s": 3, "connections": 64,
 *    "wrk_cpu": C, "server_cpu": C,
 *    "keepalive": {"req_per_s": R, "requests": N, "errors": E,
 *                  "server_requests": N, "server_cpu_share": F},
 *    "close": {...}}
 * where errors counts wrk's socket errors and non-2xx answers, and
 * server_cpu_share is the server's CPU time over the run's wall time (from
 * its window: near 1, the server was the bottleneck). wrk's output and the
 * server's stderr are appended to dir/capacity.log (dir NULL: kept
 * nowhere). Every wait is bounded (the server's start 10 s, each wrk run
 * 13 s), and wrk is killed when *stop (a signal handler's flag; stop NULL:
 * none) turns non-zero. 0; -ENOENT without wrk (err names the Debian
 * package) or without greenbench-server; -EINTR when stopped; another
 * negative errno with err saying why. */
int gb_server_capacity(const struct gb_programs *p, const char *dir, volatile int *stop, json_t **out,
                       char *err, size_t errlen);

/* The servers of a run, one per (delay, size, threads, CPUs, TLS), and
 * one greenbench-dns per delay. */
struct gb_servers {
    struct gb_server s[32];
    size_t n;
    int log_fd;          /* server.log, opened when the first server is asked for */
    bool shared_net;     /* greenbench-dns --private-net was refused: DNS servers run without */
    char dir[4096];      /* the run's folder: server.log, and tls-I/ for server I's CA */
    char log_path[4096];
};
/* No server yet; their stderr will go to dir/server.log. */
void gb_servers_init(struct gb_servers *sv, const char *dir);
/* The server for spec (its tls_dir unused: a TLS server's CA goes into the
 * run's folder, tls-I/), started (or started again) as needed from p's bin
 * directory with gb_server_start; NULL with why (whylen bytes) when it
 * cannot run. A DNS server whose --private-net is refused (not root, no
 * user namespaces) is started without it, said once on stderr: the cells
 * that need /etc/resolv.conf's server then fail, saying so, and the others
 * run. */
struct gb_server *gb_servers_get(struct gb_servers *sv, const struct gb_programs *p,
                                 const struct gb_server_spec *spec, char *why, size_t whylen);
/* Stop every server and close server.log. */
void gb_servers_stop(struct gb_servers *sv);

#endif /* GREENBENCH_SERVER_H */
