/* workloads/server/shedding.c: see shedding.h. */
#include "shedding.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define ACCEPT_PAUSE_S 0.01

static atomic_bool said_out_of_fds;

unsigned long long raise_nofile_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    return (unsigned long long)rl.rlim_cur;
}

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    accept_pause *p = (accept_pause *)((char *)w - offsetof(accept_pause, retry));
    ev_io_start(loop, p->accept_io);
}

void accept_pause_init(accept_pause *p, ev_io *accept_io)
{
    p->accept_io = accept_io;
    p->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    p->shed = 0;
    ev_init(&p->retry, on_retry);
}

bool accept_pause_if_out_of_fds(accept_pause *p, struct ev_loop *loop, int err, const char *program)
{
    if (err != EMFILE && err != ENFILE)
        return false;
    if (p->spare_fd >= 0) {
        close(p->spare_fd);
        int fd = accept(p->accept_io->fd, NULL, NULL);
        if (fd >= 0)
            close(fd);
        p->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    p->shed++;
    if (!atomic_exchange(&said_out_of_fds, true))
        fprintf(stderr, "%s: out of file descriptors (RLIMIT_NOFILE); shedding connections\n", program);
    ev_io_stop(loop, p->accept_io);
    ev_timer_set(&p->retry, ACCEPT_PAUSE_S, 0.0);
    ev_timer_start(loop, &p->retry);
    return true;
}

void accept_pause_close(accept_pause *p, struct ev_loop *loop)
{
    ev_timer_stop(loop, &p->retry);
    if (p->spare_fd >= 0)
        close(p->spare_fd);
    p->spare_fd = -1;
}
