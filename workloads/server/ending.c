/* workloads/server/ending.c: how the local servers end (ending.h). */
#include "server/ending.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

static void on_stop_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)w;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

static void on_parent_input(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    char buf[256];
    ssize_t n = read(w->fd, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        ev_io_stop(loop, w);
        ev_break(loop, EVBREAK_ALL);
    }
}

void server_ending_start(server_ending *e, struct ev_loop *loop, bool stdin_eof)
{
    ev_signal_init(&e->sigterm, on_stop_signal, SIGTERM);
    ev_signal_start(loop, &e->sigterm);
    ev_signal_init(&e->sigint, on_stop_signal, SIGINT);
    ev_signal_start(loop, &e->sigint);
    if (stdin_eof) {
        fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
        ev_io_init(&e->parent_io, on_parent_input, STDIN_FILENO, EV_READ);
        ev_io_start(loop, &e->parent_io);
    }
}
