/* workloads/server/shedding.h: what both local servers (greenbench-server,
 * greenbench-dns) do when they run out of file descriptors. A listening
 * socket whose accept fails with EMFILE stays readable: retried at once,
 * the loop would spin (and print) until a descriptor came free. Instead the
 * oldest waiting connection is taken with a spare descriptor and closed, so
 * that its client hears at once, and accepting pauses for 10 ms. */
#ifndef GB_SERVER_SHEDDING_H
#define GB_SERVER_SHEDDING_H

#include <ev.h>
#include <stdbool.h>

typedef struct accept_pause {
    ev_io *accept_io; /* The listening socket's watcher, stopped while paused. */
    ev_timer retry;
    int spare_fd;     /* Kept open to take one connection with; -1: none. */
    long long shed;   /* Connections closed for want of a descriptor. */
} accept_pause;

/* Raise the soft RLIMIT_NOFILE to the hard one; the soft one now. */
unsigned long long raise_nofile_limit(void);

/* Ready p for accept_io's socket (opens the spare descriptor). */
void accept_pause_init(accept_pause *p, ev_io *accept_io);

/* After an accept on p's socket failed with err: on EMFILE or ENFILE shed
 * one connection, pause, say so once per process (as program) and return
 * true; otherwise false. */
bool accept_pause_if_out_of_fds(accept_pause *p, struct ev_loop *loop, int err, const char *program);

void accept_pause_close(accept_pause *p, struct ev_loop *loop);

#endif /* GB_SERVER_SHEDDING_H */
