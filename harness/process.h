/* harness/process.h: the process stage: the one way the harness runs
 * another program. Every child goes through here: a cell's repetition
 * (runner.c), the local HTTP server (server.c), gnuplot (plot.c), the git
 * and version probes (meta.c, preflight.c), and the greenbench runs of
 * tests/test_harness_run.c. gb_proc_start forks and execs the program, set
 * up as its options say (process group, signals, where its standard streams
 * go, directory, descriptor limit, environment); gb_proc_wait waits for it
 * until a deadline, draining what it captures into buffers cut to a limit,
 * and kills it when the deadline passes or a stop flag is raised. What a
 * cell's child gets is in docs/cell-protocol.md, "How the harness treats a
 * cell".
 *
 * Times are seconds (double) or CLOCK_MONOTONIC nanoseconds (int64_t,
 * gb_now_ns); errors are negative errno values. The harness is one thread,
 * and these functions assume it: the child's set-up between fork and exec
 * is not async-signal-safe in every step (the exec error message). */
#ifndef GREENBENCH_PROCESS_H
#define GREENBENCH_PROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>

#include "util.h"

/* Where one of the child's standard streams goes. */
enum gb_proc_stream {
    GB_PROC_NULL,   /* /dev/null (zero: the default) */
    GB_PROC_KEEP,   /* the harness's own, inherited */
    GB_PROC_PIPE,   /* a pipe to the harness: gb_proc_wait captures it, or the caller reads it */
    GB_PROC_FD,     /* the descriptor in out_fd / err_fd */
    GB_PROC_STDOUT, /* stderr only: wherever stdout goes */
};

/* How the child is set up between fork and exec. All zero: argv[0] is a
 * path (no PATH search), the child stays in the harness's process group
 * with its signal mask and dispositions, its three standard streams are
 * /dev/null, and it keeps the harness's directory, limits and environment. */
struct gb_proc_opts {
    bool search_path;       /* argv[0] is looked up on PATH (execvp) */
    /* A process group of its own, led by it: gb_proc_wait and
     * gb_proc_signal reach everything it started, and a terminal's ^C
     * reaches only the harness. */
    bool own_group;
    int death_signal;       /* > 0: sent to it when the harness dies (PR_SET_PDEATHSIG) */
    bool clear_sigmask;     /* it starts with no signal blocked */
    bool default_sigpipe;   /* SIGPIPE kills it again (a run ignores SIGPIPE in the harness) */
    bool say_exec_error;    /* "greenbench: cannot run PATH: why" on its stderr if the exec fails */
    enum gb_proc_stream in, out, err; /* in: GB_PROC_NULL or GB_PROC_KEEP */
    int out_fd, err_fd;     /* for GB_PROC_FD; they stay open in the harness */
    const char *dir;        /* chdir there first (exit status 126 when it cannot); NULL: stay */
    long nofile;            /* > 0: its RLIMIT_NOFILE, soft and hard */
    char *const *envp;      /* its whole environment, NULL-terminated; NULL: the harness's */
    /* > 0: it joins the network and mount namespaces of this process (and
     * its user namespace, when that is not the harness's) before the exec;
     * exit status 126, saying why on its stderr, when it cannot. */
    int namespaces_of;
};

/* A started child. */
struct gb_proc {
    int pid;            /* > 0 until it has been reaped, then 0 */
    int out_fd, err_fd; /* the harness's ends of its GB_PROC_PIPE stdout and stderr; -1: none */
    bool own_group;     /* as started: signals reach its group too */
    int64_t start_ns;   /* gb_now_ns() just before the fork */
};

/* Fork and exec argv (NULL-terminated; argv[0] the program) as o says.
 * Returns 0 with *p filled, or a negative errno with err (errlen bytes)
 * saying which step failed: "pipe: ..." or "fork: ...". An exec that fails
 * is the child's exit status 127, not an error here. The pipe ends kept in
 * *p are close-on-exec; the caller reads them, or gb_proc_wait does. */
int gb_proc_start(char *const argv[], const struct gb_proc_opts *o, struct gb_proc *p,
                  char *err, size_t errlen);

/* Send sig to the child and, when it has its own group, to the group.
 * Nothing once it has been reaped. */
void gb_proc_signal(const struct gb_proc *p, int sig);

/* Reap the child if it has exited, without waiting: true (p->pid now 0,
 * *status its wait status when status is not NULL) once it has. Its pipes
 * stay open. */
bool gb_proc_reap(struct gb_proc *p, int *status);

/* Close the harness's ends of the child's pipes (p->out_fd, p->err_fd). */
void gb_proc_close(struct gb_proc *p);

/* How gb_proc_wait waits, and what it keeps of the captured streams. */
struct gb_proc_wait_opts {
    double timeout_s;          /* the deadline, counted from start_ns */
    volatile int *stop;        /* non-NULL: when *stop turns non-zero (a signal handler's
                                  flag) the child is killed, as at the deadline */
    size_t out_keep, err_keep; /* bytes of captured stdout, stderr kept; 0: read and dropped */
    bool keep_head;            /* keep the first bytes; else the last */
    /* Once the child has exited, how long what it left behind (a grandchild
     * outside its group) may keep its pipes open before the wait ends
     * anyway; < 0: until they close or the deadline passes, which then
     * counts as a timeout. */
    double linger_s;
    /* Sample the child's OS threads (Threads: of /proc/PID/status) while it
     * runs, every GB_PROC_THREADS_SAMPLE_MS or so, into threads_peak. */
    bool sample_threads;
};

/* How often sample_threads reads the count, in ms: often enough that a
 * workload's threads (a thread per task that waits, a pool, a resolver's
 * workers) are seen at their peak, seldom enough that the harness's reads
 * (about 100 a second, a few microseconds each) take nothing measurable
 * from a cell on a 2-CPU machine. A thread that lives shorter than this
 * can be missed: the figure is a lower bound of the true peak. */
#define GB_PROC_THREADS_SAMPLE_MS 10

/* How a child ended. */
struct gb_proc_end {
    int status;            /* its wait status (WIFEXITED, WEXITSTATUS, ...) */
    bool timed_out;        /* the deadline passed: it was killed, or (linger_s < 0) its
                              output had not ended */
    bool stopped;          /* *stop was raised before the deadline: it was killed */
    int64_t elapsed_ns;    /* from start_ns until it was reaped */
    struct rusage ru;      /* wait4's: its peak RSS, user and system time */
    /* The most OS threads a sample saw (sample_threads); 0 when none was
     * taken or every read failed (it exited before the first). */
    long threads_peak;
    struct gb_buf out, err; /* what was kept of its captured stdout, stderr (never NULL
                               data once anything came); gb_proc_end_free frees them */
};

/* Wait for the child started as p: until it has exited and its captured
 * pipes have closed (or linger_s has passed since it exited), the deadline
 * passes, or *stop is raised. A child still running then gets SIGKILL (its
 * group too, when it has one) and is reaped before this returns; one with a
 * group of its own that exited has the rest of its group killed. The poll
 * for output wakes at least every 50 ms to look for the exit, and every
 * GB_PROC_THREADS_SAMPLE_MS while it samples threads. Closes p's
 * pipes; p->pid is 0 afterwards. *e is always filled: free it with
 * gb_proc_end_free. */
void gb_proc_wait(struct gb_proc *p, const struct gb_proc_wait_opts *w, struct gb_proc_end *e);
void gb_proc_end_free(struct gb_proc_end *e);

/* SIGTERM to the child (and its group), then up to grace_s for it to exit,
 * then SIGKILL; reaps it and closes its pipes. Nothing once it was reaped. */
void gb_proc_terminate(struct gb_proc *p, double grace_s);

/* Run argv with argv[0] looked up on PATH, stdin from /dev/null, for at
 * most timeout_ms; capture the first 1 MiB of its stdout (and of its
 * stderr, merged, when merge_stderr; else stderr goes to /dev/null). *out
 * is always set, maybe to "", and the caller frees it. Returns its exit
 * status (>= 0), or -1 when it could not run, was killed by a signal or
 * timed out. */
int gb_run_capture(char *const argv[], bool merge_stderr, int timeout_ms, char **out);

/* The first line of a command's output (stdout and stderr merged; at most
 * 5 s), trimmed of surrounding blanks; NULL when it printed nothing, could
 * not run or exited non-zero. The caller frees it. For version probes. */
char *gb_command_line1(char *const argv[]);

#endif /* GREENBENCH_PROCESS_H */
