/* tests/child_run.c: the tests' child runner (child_run.h). */
#include "child_run.h"

#include <CUnit/CUnit.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int child_run(const char *path, const char *const *args, const child_io *io)
{
    const char *argv[32];
    int argc = 0;
    argv[argc++] = path;
    for (; *args != NULL && argc < 31; args++)
        argv[argc++] = *args;
    argv[argc] = NULL;

    /* Stream 0: stdout; stream 1: stderr, when the caller keeps it. */
    int nstreams = io->err != NULL ? 2 : 1;
    int pipes[2][2];
    for (int i = 0; i < nstreams; i++)
        CU_ASSERT_FATAL(pipe2(pipes[i], O_CLOEXEC) == 0);
    fflush(NULL);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        dup2(pipes[0][1], STDOUT_FILENO);
        if (nstreams == 2) {
            dup2(pipes[1][1], STDERR_FILENO);
        } else if (getenv("GREENBENCH_TEST_VERBOSE") == NULL) {
            int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
            if (devnull >= 0)
                dup2(devnull, STDERR_FILENO);
        }
        if (io->nofile > 0) {
            struct rlimit rl = { (rlim_t)io->nofile, (rlim_t)io->nofile };
            setrlimit(RLIMIT_NOFILE, &rl);
        }
        execv(path, (char *const *)argv);
        _exit(127);
    }

    struct pollfd pfd[2];
    char *buf[2] = { io->out, io->err };
    size_t cap[2] = { io->out_size - 1, nstreams == 2 ? io->err_size - 1 : 0 }, got[2] = { 0, 0 };
    for (int i = 0; i < nstreams; i++) {
        close(pipes[i][1]);
        pfd[i] = (struct pollfd){ .fd = pipes[i][0], .events = POLLIN };
    }
    int open_fds = nstreams;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (open_fds > 0) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        long left_ms = CHILD_RUN_TIMEOUT_S * 1000L -
                       ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
        int ready = left_ms > 0 ? poll(pfd, (nfds_t)nstreams, (int)left_ms) : 0;
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0) {
            fprintf(stderr, "\n  %s: still running after %d s: killed\n", path, CHILD_RUN_TIMEOUT_S);
            kill(pid, SIGKILL);
            break;
        }
        for (int i = 0; i < nstreams; i++) {
            if (pfd[i].fd < 0 || pfd[i].revents == 0)
                continue;
            /* A full buffer still drains the pipe, into scratch. */
            char scratch[4096];
            size_t room = cap[i] - got[i];
            ssize_t n = room > 0 ? read(pfd[i].fd, buf[i] + got[i], room) : read(pfd[i].fd, scratch, sizeof scratch);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                close(pfd[i].fd);
                pfd[i].fd = -1;
                open_fds--;
            } else if (room > 0) {
                got[i] += (size_t)n;
            }
        }
    }
    for (int i = 0; i < nstreams; i++) {
        buf[i][got[i]] = '\0';
        if (pfd[i].fd >= 0)
            close(pfd[i].fd);
    }
    int status;
    waitpid(pid, &status, 0);

    /* The last line: where the protocol puts the JSON object. */
    size_t n = got[0];
    while (n > 0 && io->out[n - 1] == '\n')
        io->out[--n] = '\0';
    const char *nl = strrchr(io->out, '\n');
    snprintf(io->last_line, io->last_line_size, "%s", nl ? nl + 1 : io->out);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
