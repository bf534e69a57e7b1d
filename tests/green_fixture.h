/* tests/green_fixture.h: the per-test fixture of libgreen's suites
 * (test_runtime.c, test_sync.c, test_io.c): a fresh hub for every test,
 * so that no test sees another's green threads. */
#ifndef GREEN_TEST_FIXTURE_H
#define GREEN_TEST_FIXTURE_H

/* CUnit pSetUpFunc: green_init(NULL). A failure is only reported here: the
 * test's own calls then fail with GREEN_EINVAL and say where. */
void green_fixture_setup(void);

/* CUnit pTearDownFunc: green_fini(), which must succeed (a test that left
 * the hub unusable fails here). Tests that end the hub themselves start a
 * new one for it. */
void green_fixture_teardown(void);

/* The hub's shared stacks: 0 in private mode. The suites run in both
 * modes (GREEN_STACKS, set by ctest); what a test checks of stacks depends
 * on it. */
unsigned green_fixture_shared_stacks(void);

/* The context and loop backends this program was linked with, as
 * green_add_context_backend / green_add_loop_backend named them
 * (tests/pair_names.c). */
extern const char green_test_ctx[];
extern const char green_test_loop[];

/* RUNNING_ON_VALGRIND: nonzero under valgrind, where the suites scale
 * their counts and time limits down; 0 without valgrind's headers. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#endif /* GREEN_TEST_FIXTURE_H */
