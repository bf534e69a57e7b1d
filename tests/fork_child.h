/* tests/fork_child.h: run part of a test in a forked child, for what would
 * crash or hang the whole suite on a broken backend (an abort inside a loop
 * library, a teardown that never returns). */
#ifndef GREEN_TEST_FORK_CHILD_H
#define GREEN_TEST_FORK_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

/* In the child: print what failed and exit 1. */
#define CHILD_CHECK(cond)                                                                  \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: child check failed: %s\n", __FILE__, __LINE__, #cond); \
            _exit(1);                                                                      \
        }                                                                                  \
    } while (0)

/* Run fn() in a forked child, which exits 0 when fn returns. Waits at most
 * limit seconds, then kills it. Returns its wait status, -1 if it had to be
 * killed (a hang), -2 if fork failed. */
int fork_child(void (*fn)(void), double limit);

/* Run fn() in a forked child with its stderr captured into err (errlen
 * bytes, NUL-terminated) and SIGABRT at its default, for fatal paths that
 * must say something (an overflow, an abort): waits for it (no limit) and
 * returns its wait status, or -2 if pipe or fork failed. */
int fork_child_stderr(void (*fn)(void), char *err, size_t errlen);

/* Did the child exit with 0? If not, says on stderr how it ended. */
bool fork_child_ok(int status);

#endif /* GREEN_TEST_FORK_CHILD_H */
