/* tests/run_program.c: run_program and count_of (run_program.h). */
#include "run_program.h"

#include <CUnit/CUnit.h>

#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int run_program(char *const argv[], char *out, size_t len)
{
    /* A file rather than a pipe: the program never blocks on a full one. */
    char path[] = "/tmp/greenbench-test-output-XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    unlink(path);
    pid_t pid;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, fd, STDERR_FILENO);
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    int status = -1;
    if (rc == 0)
        waitpid(pid, &status, 0);
    ssize_t n = pread(fd, out, len - 1, 0);
    out[n > 0 ? n : 0] = '\0';
    close(fd);
    return rc == 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int count_of(const char *haystack, const char *needle)
{
    int n = 0;
    for (const char *s = haystack; (s = strstr(s, needle)) != NULL; s++)
        n++;
    return n;
}
