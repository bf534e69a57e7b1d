/* harness/process.c: the one fork + exec of the harness, and the wait that
 * drains a child's output with a deadline (process.h). */
#include "process.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define POLL_MAX_MS 50         /* the longest poll: the exit is looked for at least this often */
#define CAPTURE_KEEP (1 << 20) /* bytes gb_run_capture keeps */

/* Where stream fd (1 or 2) of the child goes. */
static void child_stream(int fd, enum gb_proc_stream how, int pipe_w, int given, int devnull)
{
    switch (how) {
    case GB_PROC_NULL: dup2(devnull, fd); break;
    case GB_PROC_PIPE: dup2(pipe_w, fd); break;
    case GB_PROC_FD: dup2(given, fd); break;
    case GB_PROC_STDOUT: dup2(1, fd); break;
    case GB_PROC_KEEP: break;
    }
}

/* setns into pid's namespace of type (the name under /proc/PID/ns/);
 * 0, or -1 having said why on stderr. A user namespace that is already
 * ours is left alone (setns would refuse it). */
static int join_namespace(int pid, const char *type, int nstype)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/%s", pid, type);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat theirs, ours;
    if (fd >= 0 && nstype == CLONE_NEWUSER && fstat(fd, &theirs) == 0 &&
        stat("/proc/self/ns/user", &ours) == 0 && theirs.st_ino == ours.st_ino &&
        theirs.st_dev == ours.st_dev) {
        close(fd);
        return 0;
    }
    if (fd < 0 || setns(fd, nstype) != 0) {
        fprintf(stderr, "greenbench: cannot join the %s namespace of process %d (%s): %s\n", type, pid,
                path, strerror(errno));
        return -1;
    }
    close(fd);
    return 0;
}

/* In the child, between fork and exec; never returns. */
static void child(char *const argv[], const struct gb_proc_opts *o, int out_w, int err_w)
{
    if (o->own_group)
        setpgid(0, 0);
    if (o->death_signal > 0)
        prctl(PR_SET_PDEATHSIG, o->death_signal);
    if (o->clear_sigmask) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
    }
    if (o->default_sigpipe)
        signal(SIGPIPE, SIG_DFL);
    if (o->nofile > 0) {
        struct rlimit rl = { (rlim_t)o->nofile, (rlim_t)o->nofile };
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    int devnull = open("/dev/null", O_RDWR);
    if (o->in != GB_PROC_KEEP)
        dup2(devnull, 0);
    child_stream(1, o->out, out_w, o->out_fd, devnull);
    child_stream(2, o->err, err_w, o->err_fd, devnull);
    /* Joining a mount namespace moves the directory to its root: back to
     * the same path there. */
    char cwd[PATH_MAX];
    if (o->namespaces_of > 0 &&
        (getcwd(cwd, sizeof cwd) == NULL || join_namespace(o->namespaces_of, "user", CLONE_NEWUSER) != 0 ||
         join_namespace(o->namespaces_of, "net", CLONE_NEWNET) != 0 ||
         join_namespace(o->namespaces_of, "mnt", CLONE_NEWNS) != 0 || chdir(cwd) != 0))
        _exit(126);
    if (o->dir && chdir(o->dir) != 0)
        _exit(126);
    if (o->envp)
        (o->search_path ? execvpe : execve)(argv[0], argv, o->envp);
    else
        (o->search_path ? execvp : execv)(argv[0], argv);
    if (o->say_exec_error)
        fprintf(stderr, "greenbench: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

static void close_pair(int fds[2])
{
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

int gb_proc_start(char *const argv[], const struct gb_proc_opts *o, struct gb_proc *p, char *err,
                  size_t errlen)
{
    p->pid = 0;
    p->out_fd = p->err_fd = -1;
    p->own_group = o->own_group;
    int outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
    if ((o->out == GB_PROC_PIPE && pipe2(outp, O_CLOEXEC) != 0) ||
        (o->err == GB_PROC_PIPE && pipe2(errp, O_CLOEXEC) != 0)) {
        int e = errno;
        close_pair(outp);
        snprintf(err, errlen, "pipe: %s", strerror(e));
        return -e;
    }
    p->start_ns = gb_now_ns();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        snprintf(err, errlen, "fork: %s", strerror(e));
        close_pair(outp);
        close_pair(errp);
        return -e;
    }
    if (pid == 0)
        child(argv, o, outp[1], errp[1]);
    if (o->own_group)
        setpgid(pid, pid); /* also here: signals may follow before the child ran */
    if (outp[1] >= 0)
        close(outp[1]);
    if (errp[1] >= 0)
        close(errp[1]);
    p->pid = pid;
    p->out_fd = outp[0];
    p->err_fd = errp[0];
    return 0;
}

void gb_proc_signal(const struct gb_proc *p, int sig)
{
    if (p->pid <= 0)
        return;
    if (p->own_group)
        kill(-p->pid, sig);
    kill(p->pid, sig);
}

bool gb_proc_reap(struct gb_proc *p, int *status)
{
    int st;
    if (p->pid <= 0 || waitpid(p->pid, &st, WNOHANG) != p->pid)
        return false;
    p->pid = 0;
    if (status)
        *status = st;
    return true;
}

void gb_proc_close(struct gb_proc *p)
{
    if (p->out_fd >= 0)
        close(p->out_fd);
    if (p->err_fd >= 0)
        close(p->err_fd);
    p->out_fd = p->err_fd = -1;
}

void gb_proc_end_free(struct gb_proc_end *e)
{
    gb_buf_free(&e->out);
    gb_buf_free(&e->err);
}

/* Add what came to b, keeping at most keep bytes: the first or the last. */
static void keep_bytes(struct gb_buf *b, const char *s, size_t n, size_t keep, bool head)
{
    if (head) {
        if (b->len < keep)
            gb_buf_add(b, s, n < keep - b->len ? n : keep - b->len);
        return;
    }
    gb_buf_add(b, s, n);
    if (b->len > keep) {
        memmove(b->data, b->data + b->len - keep, keep);
        b->len = keep;
        b->data[keep] = '\0';
    }
}

/* Read a non-blocking pipe until it has nothing more for now; closes it
 * (*fd = -1) at its end or on an error. */
static void drain(int *fd, struct gb_buf *b, size_t keep, bool head)
{
    char chunk[16384];
    for (;;) {
        ssize_t r = read(*fd, chunk, sizeof chunk);
        if (r > 0) {
            keep_bytes(b, chunk, (size_t)r, keep, head);
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == EAGAIN)
            return;
        close(*fd);
        *fd = -1;
        return;
    }
}

/* The OS threads of process pid: Threads: of /proc/PID/status, in one
 * read (the line is some 600 bytes in, ahead of the long ones), or 0 when
 * the file cannot be read or has no such line. Called only before the
 * reap, so pid is the child's, or its zombie's, and never a reused one.
 * Threads of a process the child forks are not counted. */
static long read_threads(int pid)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    const char *line = strstr(buf, "\nThreads:");
    return line ? strtol(line + 9, NULL, 10) : 0;
}

/* Kill the child (and its group) and reap it, its resources into e. */
static void kill_and_reap(struct gb_proc *p, struct gb_proc_end *e)
{
    gb_proc_signal(p, SIGKILL);
    while (wait4(p->pid, &e->status, 0, &e->ru) < 0 && errno == EINTR)
        ;
    p->pid = 0;
    e->elapsed_ns = gb_now_ns() - p->start_ns;
}

/* Poll the open pipes for up to wait_ms (the caller's bound), then drain
 * them. false when poll itself failed. */
static bool poll_pipes(struct gb_proc *p, const struct gb_proc_wait_opts *w, struct gb_proc_end *e,
                       int wait_ms)
{
    struct pollfd pfd[2];
    nfds_t np = 0;
    if (p->out_fd >= 0)
        pfd[np++] = (struct pollfd){ .fd = p->out_fd, .events = POLLIN };
    if (p->err_fd >= 0)
        pfd[np++] = (struct pollfd){ .fd = p->err_fd, .events = POLLIN };
    if (np == 0) {
        usleep(1000); /* no output to wait on: it is exiting, or never had pipes */
        return true;
    }
    if (poll(pfd, np, wait_ms) < 0 && errno != EINTR)
        return false;
    if (p->out_fd >= 0)
        drain(&p->out_fd, &e->out, w->out_keep, w->keep_head);
    if (p->err_fd >= 0)
        drain(&p->err_fd, &e->err, w->err_keep, w->keep_head);
    return true;
}

void gb_proc_wait(struct gb_proc *p, const struct gb_proc_wait_opts *w, struct gb_proc_end *e)
{
    memset(e, 0, sizeof *e);
    gb_buf_init(&e->out);
    gb_buf_init(&e->err);
    if (p->out_fd >= 0)
        fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
    if (p->err_fd >= 0)
        fcntl(p->err_fd, F_SETFL, O_NONBLOCK);
    int64_t deadline = p->start_ns + (int64_t)(w->timeout_s * 1e9);
    int64_t linger = (int64_t)(w->linger_s * 1e9), reaped_at = 0;
    int group = p->own_group ? p->pid : 0;
    bool reaped = p->pid <= 0;
    /* From the first wake-up, not at once: the exec may not have happened
     * yet, and the forked harness is one thread anyway. */
    int64_t next_sample = p->start_ns + GB_PROC_THREADS_SAMPLE_MS * 1000000LL;
    for (;;) {
        if (!reaped && wait4(p->pid, &e->status, WNOHANG, &e->ru) == p->pid) {
            reaped = true;
            p->pid = 0;
            reaped_at = gb_now_ns();
            e->elapsed_ns = reaped_at - p->start_ns;
            if (group > 0)
                kill(-group, SIGKILL); /* anything it left behind in its group goes too */
        }
        if (reaped && p->out_fd < 0 && p->err_fd < 0)
            break;
        int64_t now = gb_now_ns();
        if (reaped && (linger >= 0 ? now - reaped_at > linger : now >= deadline)) {
            e->timed_out |= linger < 0; /* its output did not end in time */
            /* What it wrote before it exited is in the pipes already: take
             * it, without waiting for an end that a grandchild may hold. */
            poll_pipes(p, w, e, 0);
            break;
        }
        if (!reaped && (now >= deadline || (w->stop && *w->stop))) {
            e->timed_out = now >= deadline;
            e->stopped = !e->timed_out;
            kill_and_reap(p, e);
            reaped = true;
            reaped_at = gb_now_ns();
            continue;
        }
        int wait_ms = POLL_MAX_MS;
        if (w->sample_threads && !reaped) {
            /* At most one read per interval, however often output wakes the
             * poll. A failed read (it is exiting) is no error. */
            if (now >= next_sample) {
                long t = read_threads(p->pid);
                if (t > e->threads_peak)
                    e->threads_peak = t;
                next_sample = now + GB_PROC_THREADS_SAMPLE_MS * 1000000LL;
            }
            wait_ms = (int)((next_sample - now) / 1000000 + 1);
        }
        int64_t left = (deadline - now) / 1000000 + 1;
        if ((!reaped || linger < 0) && left < wait_ms)
            wait_ms = (int)left;
        if (!poll_pipes(p, w, e, wait_ms)) {
            if (!reaped)
                kill_and_reap(p, e);
            break;
        }
    }
    gb_proc_close(p);
}

void gb_proc_terminate(struct gb_proc *p, double grace_s)
{
    if (p->pid <= 0) {
        gb_proc_close(p);
        return;
    }
    gb_proc_signal(p, SIGTERM);
    struct gb_proc_wait_opts w = {
        .timeout_s = (double)(gb_now_ns() - p->start_ns) / 1e9 + grace_s,
        .linger_s = 0,
    };
    struct gb_proc_end e;
    gb_proc_wait(p, &w, &e);
    gb_proc_end_free(&e);
}

int gb_run_capture(char *const argv[], bool merge_stderr, int timeout_ms, char **out)
{
    struct gb_proc_opts o = {
        .search_path = true,
        .out = GB_PROC_PIPE,
        .err = merge_stderr ? GB_PROC_STDOUT : GB_PROC_NULL,
    };
    struct gb_proc p;
    char err[128];
    if (gb_proc_start(argv, &o, &p, err, sizeof err) != 0) {
        *out = gb_xstrdup("");
        return -1;
    }
    struct gb_proc_wait_opts w = {
        .timeout_s = timeout_ms / 1000.0,
        .out_keep = CAPTURE_KEEP,
        .keep_head = true,
        .linger_s = -1, /* its output until it ends, within the time given */
    };
    struct gb_proc_end e;
    gb_proc_wait(&p, &w, &e);
    *out = e.out.data ? e.out.data : gb_xstrdup("");
    gb_buf_free(&e.err);
    if (e.timed_out || !WIFEXITED(e.status))
        return -1;
    return WEXITSTATUS(e.status);
}

char *gb_command_line1(char *const argv[])
{
    char *out;
    int rc = gb_run_capture(argv, true, 5000, &out);
    if (rc != 0) {
        free(out);
        return NULL;
    }
    char *s = out;
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    size_t n = strcspn(s, "\r\n");
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0) {
        free(out);
        return NULL;
    }
    char *line = gb_xmalloc(n + 1);
    memcpy(line, s, n);
    line[n] = '\0';
    free(out);
    return line;
}
