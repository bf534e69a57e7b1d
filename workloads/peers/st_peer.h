/* workloads/peers/st_peer.h: what the State Threads peer's workloads share
 * (workloads/<name>/st.c; the table and main() are in st_main.c). */
#ifndef GREEN_ST_PEER_H
#define GREEN_ST_PEER_H

#include "cell.h"

/* ST's own default stack size on x86-64 (ST_DEFAULT_STACK_SIZE in 1.9). */
#define ST_PEER_DEFAULT_STACK_KIB 64
/* Below this ST's thread record and the first frames do not fit. */
#define ST_PEER_MIN_STACK_KIB 8

/* st_init() once, and --stack-kib checked and filled in (default 64 KiB).
 * Returns the stack size in bytes for st_thread_create, or -1 with r failed. */
int st_peer_init(cell_params *p, cell_result *r);

#endif /* GREEN_ST_PEER_H */
