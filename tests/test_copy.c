/* tests/test_copy.c: copy stacks (green_options.stacks == GREEN_STACKS_COPY):
 * many more green threads than shared stacks, deep stacks copied back and
 * forth, an overflow of a shared stack, kill and join of a parked thread
 * whose image was saved, and what breaking copy mode's rule looks like.
 * The runtime, sync and io suites run in copy mode too (ctest's *-copy
 * entries); these are the cases they do not reach. */
#include "green.h"
#include "fork_child.h"
#include "green_fixture.h"
#include "stack_overflow.h"

#include <CUnit/CUnit.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* A new hub on k shared stacks of stack_size bytes (0: the default). */
static void copy_hub(unsigned k, size_t stack_size)
{
    green_fini();
    green_options o = { .stacks = GREEN_STACKS_COPY, .shared_stacks = k, .stack_size = stack_size };
    int err = green_init(&o);
    if (err != 0)
        fprintf(stderr, "green_init: %s\n", green_strerror(err));
}

static void setup(void)
{
    copy_hub(2, 0);
}

static void teardown(void)
{
    CU_ASSERT_EQUAL(green_fini(), 0);
}

static green_stats stats(void)
{
    green_stats st = { 0 };
    CU_ASSERT_EQUAL(green_stats_get(&st), 0);
    return st;
}

/* ---- many threads, few stacks ---- */

/* Fills a local array with a pattern of its own and checks it after every
 * yield: each yield lets threads of the same shared stack run over it. */
static void *keep_pattern(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    volatile uint64_t local[32];
    for (int i = 0; i < 32; i++)
        local[i] = id * 1000003u + (uint64_t)i;
    for (int round = 0; round < 10; round++) {
        if (green_yield() != 0)
            return (void *)1;
        for (int i = 0; i < 32; i++)
            if (local[i] != id * 1000003u + (uint64_t)i)
                return (void *)2;
    }
    return NULL;
}

static void test_many_threads_few_stacks(void)
{
    enum { N = 1000 };
    green_thread **g = calloc(N, sizeof *g);
    CU_ASSERT_FATAL(g != NULL);
    for (uintptr_t i = 0; i < N; i++)
        CU_ASSERT_EQUAL_FATAL(green_spawn(&g[i], keep_pattern, (void *)i), 0);
    int ok = 0;
    for (int i = 0; i < N; i++) {
        void *r = (void *)3;
        ok += green_join(g[i], GREEN_FOREVER, &r) == 0 && r == NULL;
        green_release(g[i]);
    }
    CU_ASSERT_EQUAL(ok, N);
    green_stats st = stats();
    CU_ASSERT_EQUAL(st.shared_stacks, 2);
    CU_ASSERT_EQUAL(st.stacks_live, 2);
    CU_ASSERT(st.stacks_peak <= 2);
    /* Every resumption of a thread whose stack another used is two copies. */
    CU_ASSERT(st.copies >= 2u * N * 10);
    CU_ASSERT(st.bytes_copied >= st.copies * 256);
    CU_ASSERT(st.saved_max >= 256 && st.saved_max < 8192);
    free(g);
}

static void *yield_n(void *arg)
{
    for (long i = 0; i < (long)(intptr_t)arg; i++)
        green_yield();
    return NULL;
}

/* Two threads on two shared stacks keep their stacks: no copy at all. */
static void test_own_stack_resumes_without_copy(void)
{
    green_thread *a, *b;
    CU_ASSERT_EQUAL_FATAL(green_spawn(&a, yield_n, (void *)(intptr_t)1000), 0);
    CU_ASSERT_EQUAL_FATAL(green_spawn(&b, yield_n, (void *)(intptr_t)1000), 0);
    CU_ASSERT_EQUAL(green_join(a, GREEN_FOREVER, NULL), 0);
    CU_ASSERT_EQUAL(green_join(b, GREEN_FOREVER, NULL), 0);
    green_release(a);
    green_release(b);
    CU_ASSERT_EQUAL(stats().copies, 0);
}

/* ---- deep stacks ---- */

/* Recurses depth levels of about 1 KiB each, yielding at every level on the
 * way down and up, and returns a checksum of its frames. */
static __attribute__((noinline)) uint64_t deep(uint64_t seed, int depth)
{
    volatile uint8_t frame[1000];
    for (size_t i = 0; i < sizeof frame; i++)
        frame[i] = (uint8_t)(seed + i);
    green_yield();
    uint64_t below = depth > 0 ? deep(seed * 31 + 7, depth - 1) : 0;
    green_yield();
    uint64_t sum = below;
    for (size_t i = 0; i < sizeof frame; i++)
        sum += frame[i] == (uint8_t)(seed + i);
    return sum;
}

static void *run_deep(void *arg)
{
    return (void *)(uintptr_t)deep((uintptr_t)arg, 40);
}

static void test_deep_recursion_on_one_shared_stack(void)
{
    copy_hub(1, 0);
    enum { N = 3 };
    green_thread *g[N];
    for (uintptr_t i = 0; i < N; i++)
        CU_ASSERT_EQUAL_FATAL(green_spawn(&g[i], run_deep, (void *)(i + 1)), 0);
    for (int i = 0; i < N; i++) {
        void *r = NULL;
        CU_ASSERT_EQUAL(green_join(g[i], GREEN_FOREVER, &r), 0);
        CU_ASSERT_EQUAL((uintptr_t)r, 41u * 1000u);    /* Every byte of every frame kept. */
        green_release(g[i]);
    }
    green_stats st = stats();
    CU_ASSERT(st.saved_max >= 40u * 1000u);
    CU_ASSERT(st.saved_max < 64u * 1024u);
}

/* ---- image buffers of ended threads ---- */

static void *run_shallow_deep(void *arg)
{
    return (void *)(uintptr_t)deep((uintptr_t)arg, 8);
}

/* n threads on one shared stack, each saved at least once (an image of
 * about 9 KB), ended and released; returns the image buffers kept. */
static size_t images_kept_after(size_t stack_cache, int n)
{
    green_fini();
    green_options o = { .stacks = GREEN_STACKS_COPY, .shared_stacks = 1, .stack_cache = stack_cache };
    CU_ASSERT_EQUAL_FATAL(green_init(&o), 0);
    green_thread *g[8];
    CU_ASSERT_FATAL(n <= 8);
    for (int i = 0; i < n; i++)
        CU_ASSERT_EQUAL_FATAL(green_spawn(&g[i], run_shallow_deep, (void *)(uintptr_t)(i + 1)), 0);
    CU_ASSERT_EQUAL(green_joinall(g, (size_t)n, GREEN_FOREVER), n);
    for (int i = 0; i < n; i++)
        green_release(g[i]);
    green_yield();      /* Lets the hub free the last thread to end. */
    green_stats st = stats();
    CU_ASSERT(n < 2 || st.saved_max >= 8u * 1000u);
    return st.images_cached;
}

/* Free copy records keep their image buffers as free private stacks keep
 * their pages, up to the same limit: a burst of deep threads does not pin
 * its images until green_fini. */
static void test_image_buffers_kept_up_to_stack_cache(void)
{
    CU_ASSERT_EQUAL(images_kept_after(0, 6), 6u);       /* 0: no limit */
    CU_ASSERT_EQUAL(images_kept_after(2, 6), 2u);
    CU_ASSERT_EQUAL(images_kept_after(1, 1), 0u);       /* Alone: never saved. */
    /* The kept buffers go to the next threads, and count no more meanwhile. */
    green_thread *g[4];
    CU_ASSERT_EQUAL(images_kept_after(3, 4), 3u);
    for (uintptr_t i = 0; i < 4; i++)
        CU_ASSERT_EQUAL_FATAL(green_spawn(&g[i], keep_pattern, (void *)(i + 1)), 0);
    green_yield();      /* All four start, taking the four free records. */
    CU_ASSERT_EQUAL(stats().images_cached, 0u);
    CU_ASSERT_EQUAL(green_joinall(g, 4, GREEN_FOREVER), 4);
    for (int i = 0; i < 4; i++)
        green_release(g[i]);
    green_yield();
    CU_ASSERT_EQUAL(stats().images_cached, 3u);
}

/* ---- overflow of a shared stack ---- */

static void *overflowing(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)overflow(0);
}

static void child_overflow(void)
{
    copy_hub(1, 16 * 1024);
    green_thread *g;
    if (green_spawn(&g, overflowing, NULL) != 0)
        _exit(3);
    green_join(g, GREEN_FOREVER, NULL);
    _exit(4);
}

static void test_shared_stack_overflow_caught_with_message(void)
{
    char err[2048];
    int status = fork_child_stderr(child_overflow, err, sizeof err);
    CU_ASSERT(status >= 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "overflowed its 16 KiB stack"));
    if (strstr(err, "overflowed") == NULL)
        fprintf(stderr, "child's stderr:\n%s\n", err);
}

/* ---- kill and join of a parked, saved thread ---- */

static void *wait_then_report(void *arg)
{
    volatile uint64_t mark = 0x5eed;
    int code = green_event_wait(arg, GREEN_FOREVER);
    return (void *)(intptr_t)(mark == 0x5eed ? code : 1);
}

static void test_kill_and_join_parked_copied_thread(void)
{
    copy_hub(1, 0);
    green_event *e;
    CU_ASSERT_EQUAL_FATAL(green_event_new(&e), 0);
    green_thread *parked, *other;
    CU_ASSERT_EQUAL_FATAL(green_spawn(&parked, wait_then_report, e), 0);
    CU_ASSERT_EQUAL_FATAL(green_spawn(&other, keep_pattern, (void *)(uintptr_t)7), 0);
    CU_ASSERT_EQUAL(green_yield(), 0);      /* parked parks; other runs over its stack. */
    CU_ASSERT(stats().copies >= 1);        /* parked's image was saved. */
    CU_ASSERT_FALSE(green_ended(parked));
    CU_ASSERT_EQUAL(green_kill(parked), 0);
    void *r = NULL;
    CU_ASSERT_EQUAL(green_join(parked, GREEN_FOREVER, &r), 0);
    CU_ASSERT_EQUAL((intptr_t)r, GREEN_ECANCELED);
    r = (void *)1;
    CU_ASSERT_EQUAL(green_join(other, GREEN_FOREVER, &r), 0);
    CU_ASSERT_PTR_NULL(r);
    green_release(parked);
    green_release(other);
    CU_ASSERT_EQUAL(green_event_free(e), 0);
}

/* ---- the rule: no pointer into a parked thread's stack ---- */

static volatile long *published;
static green_event *published_set;

/* Publishes a pointer to a local deep in its stack, then parks. */
static __attribute__((noinline)) long publish_and_park(void)
{
    volatile char depth[2048];
    depth[0] = 1;
    volatile long x = 42;
    published = &x;
    green_event_wait(published_set, GREEN_FOREVER);
    return x + depth[0] - 1;
}

static void *publisher(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)publish_and_park();
}

/* Hands the publisher a value through its pointer, as one would through a
 * private stack; in copy mode the store lands on the shared stack, which
 * the publisher's saved image overwrites when it resumes. */
static void *writer(void *arg)
{
    (void)arg;
    *published = 7;
    green_event_set(published_set);
    return NULL;
}

static void test_copy_pointer_into_parked_stack(void)
{
    if (RUNNING_ON_VALGRIND)
        return;     /* It reports the store itself: below the writer's stack pointer. */
    copy_hub(1, 0);
    CU_ASSERT_EQUAL_FATAL(green_event_new(&published_set), 0);
    green_thread *p, *w;
    CU_ASSERT_EQUAL_FATAL(green_spawn(&p, publisher, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(green_spawn(&w, writer, NULL), 0);
    void *r = NULL;
    CU_ASSERT_EQUAL(green_join(p, GREEN_FOREVER, &r), 0);
    /* With private stacks it would read 7: the store is lost. */
    CU_ASSERT_EQUAL((intptr_t)r, 42);
    CU_ASSERT_EQUAL(green_join(w, GREEN_FOREVER, NULL), 0);
    green_release(p);
    green_release(w);
    CU_ASSERT_EQUAL(green_event_free(published_set), 0);
}

/* ---- options ---- */

static void test_options_and_env(void)
{
    green_fini();
    green_options bad = { .stacks = 7 };
    CU_ASSERT_EQUAL(green_init(&bad), GREEN_EINVAL);
    const char *old = getenv("GREEN_STACKS");
    char *saved = old != NULL ? strdup(old) : NULL;
    const char *invalid[] = { "copy:", "copy:0", "copy:x", "cop", "copy:2x", "shared" };
    for (size_t i = 0; i < sizeof invalid / sizeof *invalid; i++) {
        setenv("GREEN_STACKS", invalid[i], 1);
        CU_ASSERT_EQUAL(green_init(NULL), GREEN_EINVAL);
    }
    setenv("GREEN_STACKS", "copy:3", 1);
    CU_ASSERT_EQUAL_FATAL(green_init(NULL), 0);
    CU_ASSERT_EQUAL(stats().shared_stacks, 3);
    CU_ASSERT_EQUAL(green_fini(), 0);
    setenv("GREEN_STACKS", "private", 1);
    CU_ASSERT_EQUAL_FATAL(green_init(NULL), 0);
    CU_ASSERT_EQUAL(stats().shared_stacks, 0);
    CU_ASSERT_EQUAL(green_fini(), 0);
    /* The options win over the environment. */
    green_options o = { .stacks = GREEN_STACKS_COPY };
    CU_ASSERT_EQUAL_FATAL(green_init(&o), 0);
    CU_ASSERT_EQUAL(stats().shared_stacks, 1);
    if (saved != NULL)
        setenv("GREEN_STACKS", saved, 1);
    else
        unsetenv("GREEN_STACKS");
    free(saved);
}

static CU_TestInfo copy_tests[] = {
    { "many_threads_few_stacks", test_many_threads_few_stacks },
    { "own_stack_resumes_without_copy", test_own_stack_resumes_without_copy },
    { "deep_recursion_on_one_shared_stack", test_deep_recursion_on_one_shared_stack },
    { "image_buffers_kept_up_to_stack_cache", test_image_buffers_kept_up_to_stack_cache },
    { "shared_stack_overflow_caught_with_message", test_shared_stack_overflow_caught_with_message },
    { "kill_and_join_parked_copied_thread", test_kill_and_join_parked_copied_thread },
    { "copy_pointer_into_parked_stack", test_copy_pointer_into_parked_stack },
    { "options_and_env", test_options_and_env },
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo green_test_suites[] = {
    { .pName = "copy", .pTests = copy_tests, .pSetUpFunc = setup, .pTearDownFunc = teardown },
    CU_SUITE_INFO_NULL,
};
