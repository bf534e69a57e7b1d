/* workloads/common/server_child.c: greenbench-server as a child process (server_child.h). */
#include "server_child.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int server_child_path(char *path, size_t len)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash == NULL)
        return -1;
    *slash = '\0';
    if ((size_t)snprintf(path, len, "%s/greenbench-server", self) >= len)
        return -1;
    return access(path, X_OK) == 0 ? 0 : -1;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The child's first line into s->url and, when second is not NULL, its
 * second into second (len bytes), from out within wait_s seconds. 0, or -1
 * with why in err. */
static int read_lines(server_child *s, const char *name, int out, char *second, size_t len, double wait_s,
                      char *err, size_t errlen)
{
    char text[sizeof s->url + sizeof s->ca + 8];
    size_t got = 0;
    long long give_up = mono_ms() + (long long)(wait_s * 1000);
    for (;;) {
        char *nl = memchr(text, '\n', got);
        if (nl != NULL && (second == NULL || memchr(nl + 1, '\n', got - (size_t)(nl + 1 - text)) != NULL))
            break;
        if (got == sizeof text - 1) {
            snprintf(err, errlen, "%s printed overlong lines", name);
            return -1;
        }
        long long left = give_up - mono_ms();
        struct pollfd pfd = { .fd = out, .events = POLLIN };
        if (left <= 0 || poll(&pfd, 1, (int)left) == 0) {
            snprintf(err, errlen, "%s printed no %s within %.0f s", name,
                     second ? "two lines" : "first line", wait_s);
            return -1;
        }
        ssize_t n = read(out, text + got, sizeof text - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, errlen, "%s exited before printing its first line (see its messages above)",
                     name);
            return -1;
        }
        got += (size_t)n;
    }
    text[got] = '\0';
    char *line2 = strchr(text, '\n') + 1;
    line2[-1] = '\0';
    if (strlen(text) >= sizeof s->url || (second != NULL && strcspn(line2, "\n") >= len)) {
        snprintf(err, errlen, "%s printed an overlong line", name);
        return -1;
    }
    snprintf(s->url, sizeof s->url, "%s", text);
    if (second != NULL)
        snprintf(second, len, "%.*s", (int)strcspn(line2, "\n"), line2);
    return 0;
}

int server_child_spawn(server_child *s, char *const argv[], char *second, size_t len, double wait_s,
                       char *err, size_t errlen)
{
    *s = (server_child){ .pid = -1, .stdin_fd = -1, .exit_wait_s = 5.0 };
    int out[2], in[2];
    if (pipe2(out, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "cannot start %s: pipe: %s", argv[0], strerror(errno));
        return -1;
    }
    /* Its stdin: we keep the write end open (close-on-exec) for as long as
     * we live, and a child run with --exit-on-stdin-eof exits when it closes. */
    if (pipe2(in, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "cannot start %s: pipe: %s", argv[0], strerror(errno));
        close(out[0]);
        close(out[1]);
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
    int rc = posix_spawnp(&s->pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    close(in[0]);
    s->stdin_fd = in[1];
    if (rc != 0) {
        close(out[0]);
        close(in[1]);
        s->stdin_fd = -1;
        s->pid = -1;
        snprintf(err, errlen, "cannot start %s: %s", argv[0], strerror(rc));
        return -1;
    }
    /* A bound on the wait: a child that never says anything must not hang us. */
    int lines = read_lines(s, argv[0], out[0], second, len, wait_s, err, errlen);
    close(out[0]);
    if (lines == 0)
        return 0;
    server_child_stop(s);
    return -1;
}

int server_child_start(server_child *s, const char *path, long long delay_ms, long long size, int cpu,
                       bool tls, char *err, size_t errlen)
{
    char delay_text[32], size_text[32], cpu_text[16] = "last";
    char *argv[12];
    int argc = 0;
    argv[argc++] = (char *)path;
    if (delay_ms >= 0) {
        snprintf(delay_text, sizeof delay_text, "%lld", delay_ms);
        argv[argc++] = "--delay-ms";
        argv[argc++] = delay_text;
    }
    if (size >= 0) {
        snprintf(size_text, sizeof size_text, "%lld", size);
        argv[argc++] = "--size";
        argv[argc++] = size_text;
    }
    argv[argc++] = "--port";
    argv[argc++] = "0";
    if (cpu >= 0)
        snprintf(cpu_text, sizeof cpu_text, "%d", cpu);
    argv[argc++] = "--cpu";         /* Off the green cells' CPU (cell.c). */
    argv[argc++] = cpu_text;
    argv[argc++] = "--exit-on-stdin-eof";
    if (tls)
        argv[argc++] = "--tls";
    argv[argc] = NULL;
    assert(argc < (int)(sizeof argv / sizeof argv[0]));
    char ca_line[sizeof s->ca];
    if (server_child_spawn(s, argv, tls ? ca_line : NULL, sizeof ca_line, 10.0, err, errlen) != 0)
        return -1;
    if (!tls)
        return 0;
    /* --tls: the second line names the CA it made. */
    if (strncmp(ca_line, "ca: ", 4) != 0) {
        snprintf(err, errlen, "%s --tls printed '%.100s', not 'ca: PATH', after its URL", path, ca_line);
        server_child_stop(s);
        return -1;
    }
    memcpy(s->ca, ca_line + 4, strlen(ca_line + 4) + 1);
    return 0;
}

int server_child_stop(server_child *s)
{
    /* pid first: a never-started server_child may hold stdin_fd 0. */
    if (s->pid <= 0)
        return -1;
    if (s->stdin_fd > 0) {
        close(s->stdin_fd);
        s->stdin_fd = -1;
    }
    kill(s->pid, SIGTERM);
    int status = 0;
    long long give_up = mono_ms() + (long long)(s->exit_wait_s * 1000);
    pid_t r;
    while ((r = waitpid(s->pid, &status, WNOHANG)) == 0 && mono_ms() < give_up) {
        struct timespec ts = { 0, 5 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    if (r == 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, &status, 0);
        s->pid = -1;
        return -1;
    }
    s->pid = -1;
    if (r < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
