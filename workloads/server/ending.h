/* workloads/server/ending.h: how both local servers (greenbench-server,
 * greenbench-dns) end: SIGTERM or SIGINT, and with --exit-on-stdin-eof the
 * end of their stdin, whose other end the parent holds, so that however
 * the parent ends (killed included), no server outlives its test or cell. */
#ifndef GB_SERVER_ENDING_H
#define GB_SERVER_ENDING_H

#include <ev.h>
#include <stdbool.h>

typedef struct server_ending {
    ev_signal sigterm, sigint;
    ev_io parent_io;
} server_ending;

/* Break loop on SIGTERM and SIGINT, and when stdin_eof, at the end of
 * stdin (made non-blocking). */
void server_ending_start(server_ending *e, struct ev_loop *loop, bool stdin_eof);

#endif /* GB_SERVER_ENDING_H */
