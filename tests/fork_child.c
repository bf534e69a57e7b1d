/* tests/fork_child.c: see fork_child.h. */
#include "fork_child.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int fork_child(void (*fn)(void), double limit)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -2;
    if (pid == 0) {
        fn();
        _exit(0);
    }
    double deadline = now() + limit;
    int status;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 || now() > deadline)
            break;
        usleep(2000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

int fork_child_stderr(void (*fn)(void), char *err, size_t errlen)
{
    int pipefd[2];
    err[0] = '\0';
    if (pipe(pipefd) != 0)
        return -2;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        return -2;
    }
    if (pid == 0) {
        close(pipefd[0]);
        dup2(pipefd[1], STDERR_FILENO);
        signal(SIGABRT, SIG_DFL);
        fn();
        _exit(0);
    }
    close(pipefd[1]);
    size_t got = 0;
    ssize_t n;
    while ((n = read(pipefd[0], err + got, errlen - 1 - got)) > 0)
        got += (size_t)n;
    err[got] = '\0';
    close(pipefd[0]);
    int status;
    return waitpid(pid, &status, 0) == pid ? status : -2;
}

bool fork_child_ok(int status)
{
    if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return true;
    if (status == -1)
        fprintf(stderr, "\n    child still running at its time limit: killed\n");
    else if (status == -2)
        fprintf(stderr, "\n    fork failed\n");
    else if (WIFSIGNALED(status))
        fprintf(stderr, "\n    child killed by signal %d (%s)\n", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        fprintf(stderr, "\n    child exited with %d\n", WEXITSTATUS(status));
    return false;
}
