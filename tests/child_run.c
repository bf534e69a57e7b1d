/* tests/child_run.c: the tests' child runner (child_run.h), on the
 * harness's own process helper (harness/process.h), so that the tests start
 * a cell the way the harness does. */
#include "child_run.h"

#include "process.h"

#include <CUnit/CUnit.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* Copy what was kept of a stream into the caller's buffer, NUL-terminated. */
static void copy_out(const struct gb_buf *b, char *to, size_t size)
{
    size_t n = b->len < size - 1 ? b->len : size - 1;
    if (n > 0)
        memcpy(to, b->data, n);
    to[n] = '\0';
}

int child_run(const char *path, const char *const *args, const child_io *io)
{
    const char *argv[32];
    int argc = 0;
    argv[argc++] = path;
    for (; *args != NULL && argc < 31; args++)
        argv[argc++] = *args;
    argv[argc] = NULL;

    /* Its stderr: kept for the caller, else dropped (or shown, verbose). */
    enum gb_proc_stream err = GB_PROC_NULL;
    if (io->err != NULL)
        err = GB_PROC_PIPE;
    else if (getenv("GREENBENCH_TEST_VERBOSE") != NULL)
        err = GB_PROC_KEEP;
    struct gb_proc_opts o = {
        .out = GB_PROC_PIPE, .err = err, .nofile = io->nofile, .namespaces_of = io->namespaces_of
    };
    struct gb_proc p;
    char why[256];
    fflush(NULL);
    CU_ASSERT_FATAL(gb_proc_start((char *const *)argv, &o, &p, why, sizeof why) == 0);
    /* Output past a buffer is read and dropped, so the child never blocks on
     * a full pipe; the wait ends when its output does (linger_s < 0). */
    struct gb_proc_wait_opts w = {
        .timeout_s = CHILD_RUN_TIMEOUT_S,
        .out_keep = io->out_size - 1,
        .err_keep = io->err != NULL ? io->err_size - 1 : 0,
        .keep_head = true,
        .linger_s = -1,
    };
    struct gb_proc_end e;
    gb_proc_wait(&p, &w, &e);
    if (e.timed_out)
        fprintf(stderr, "\n  %s: still running after %d s: killed\n", path, CHILD_RUN_TIMEOUT_S);
    copy_out(&e.out, io->out, io->out_size);
    if (io->err != NULL)
        copy_out(&e.err, io->err, io->err_size);
    int status = e.status;
    gb_proc_end_free(&e);

    /* The last line: where the protocol puts the JSON object. */
    size_t n = strlen(io->out);
    while (n > 0 && io->out[n - 1] == '\n')
        io->out[--n] = '\0';
    const char *nl = strrchr(io->out, '\n');
    snprintf(io->last_line, io->last_line_size, "%s", nl ? nl + 1 : io->out);
    return !e.timed_out && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
