/* tests/child_run.h: run a program as the harness runs a cell (a child
 * process, at most CHILD_RUN_TIMEOUT_S, its JSON object on the last stdout
 * line), for test_workloads.c and test_peers.c, through the harness's
 * process helper (harness/process.h). The buffers are the
 * caller's, so that each test keeps the sizes it was written for. */
#ifndef GREEN_TEST_CHILD_RUN_H
#define GREEN_TEST_CHILD_RUN_H

#include <stddef.h>

/* Past this the child is killed with SIGKILL (and the test says so). */
#define CHILD_RUN_TIMEOUT_S 60

typedef struct child_io {
    long nofile;                /* > 0: RLIMIT_NOFILE, soft and hard, in the child. */
    char *out;                  /* Its stdout, NUL-terminated, trailing newlines cut. */
    size_t out_size;
    char *err;                  /* Its stderr, NUL-terminated. NULL: sent to /dev/null,
                                 * or to the test's own stderr when GREENBENCH_TEST_VERBOSE
                                 * is set. */
    size_t err_size;
    char *last_line;            /* The last line of out, cut to fit. */
    size_t last_line_size;
    int namespaces_of;          /* > 0: the child joins this process's network and mount
                                 * namespaces (gb_proc_opts.namespaces_of). */
} child_io;

/* Run path with args (NULL-terminated, argv[1] on; at most 30), its output
 * into io's buffers; output past a buffer is read and dropped, so that the
 * child never blocks on a full pipe. Returns its exit status; -1 when a
 * signal or the time limit ended it. A failed pipe or fork fails the test
 * (CU_ASSERT_FATAL). */
int child_run(const char *path, const char *const *args, const child_io *io);

#endif /* GREEN_TEST_CHILD_RUN_H */
