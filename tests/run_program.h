/* tests/run_program.h: run a program to its end, its stdout and stderr
 * together in one buffer, for the tests that read what a program says
 * (test_server.c, test_server_tls.c). child_run.h is the cells' runner:
 * a time limit and the two streams apart. */
#ifndef GREEN_TEST_RUN_PROGRAM_H
#define GREEN_TEST_RUN_PROGRAM_H

#include <stddef.h>

/* Run argv[0] with argv (stdin /dev/null, this process's environment), its
 * stdout and stderr into out, NUL-terminated and cut to len - 1 bytes.
 * Returns its exit status, -1 when it could not start or a signal ended it. */
int run_program(char *const argv[], char *out, size_t len);

/* How many times needle occurs in haystack. */
int count_of(const char *haystack, const char *needle);

#endif /* GREEN_TEST_RUN_PROGRAM_H */
