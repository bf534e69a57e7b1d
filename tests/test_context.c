/* tests/test_context.c: the context-switch contract (backends/context/context.h),
 * linked once against every backend: test-context-asm, -asm-nofpu, -ucontext, -boost. */
#include "context.h"
#include "fork_child.h"
#include "stack_overflow.h"

#include <CUnit/CUnit.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static green_ctx main_ctx;
static green_stack_pool pool;

static int suite_init(void)
{
    memset(&main_ctx, 0, sizeof main_ctx);
    return green_stack_pool_init(&pool, 0, 64) == 0 ? 0 : -1;
}

static int suite_clean(void)
{
    green_stack_pool_close(&pool);
    return 0;
}

static int backend_is(const char *name)
{
    return strcmp(green_ctx_name(), name) == 0;
}

/* ---- ping-pong ---- */

static green_ctx pong_ctx;

static void pong(void *arg)
{
    uintptr_t v = (uintptr_t)arg;
    for (;;)
        v = (uintptr_t)green_ctx_switch(&pong_ctx, &main_ctx, (void *)(v * 2 + 1));
}

static void test_ping_pong_values(void)
{
    green_stack *st;
    CU_ASSERT_FATAL(green_stack_new(&pool, &st) == 0);
    CU_ASSERT_FATAL(green_ctx_make(&pong_ctx, st->base, st->size, pong, (void *)(uintptr_t)7) == 0);
    /* The first switch's value is dropped: pong starts from its arg, 7. */
    CU_ASSERT_EQUAL((uintptr_t)green_ctx_switch(&main_ctx, &pong_ctx, (void *)99), 15);
    int bad = 0;
    for (uintptr_t i = 1; i <= 100000; i++) {
        uintptr_t back = (uintptr_t)green_ctx_switch(&main_ctx, &pong_ctx, (void *)i);
        bad += back != i * 2 + 1;
    }
    CU_ASSERT_EQUAL(bad, 0);
    green_stack_free(&pool, st);
}

/* ---- relays ---- */

static green_ctx relay_ctx;
static green_stack *relay_stack;
static green_ctx *relay_to;         /* Where the relay goes on to. */
static int relay_calls, relay_calls_on_its_stack;

static green_ctx *relay_pick(void *arg)
{
    char *frame = __builtin_frame_address(0);
    relay_calls += arg == &relay_calls;
    relay_calls_on_its_stack +=
        frame >= (char *)relay_stack->base && frame < (char *)relay_stack->base + relay_stack->size;
    return relay_to;
}

static void make_relay_to(green_ctx *to)
{
    CU_ASSERT_FATAL(green_stack_new(&pool, &relay_stack) == 0);
    CU_ASSERT_FATAL(green_ctx_make_relay(&relay_ctx, relay_stack->base, relay_stack->size, relay_pick,
                                         &relay_calls) == 0);
    relay_to = to;
    relay_calls = relay_calls_on_its_stack = 0;
}

/* A switch to the relay, or to a copy of it, runs its function on its own
 * stack once and resumes the context the function picked, with the value. */
static void test_relay_passes_values(void)
{
    green_stack *st;
    CU_ASSERT_FATAL(green_stack_new(&pool, &st) == 0);
    CU_ASSERT_FATAL(green_ctx_make(&pong_ctx, st->base, st->size, pong, (void *)(uintptr_t)7) == 0);
    make_relay_to(&pong_ctx);
    CU_ASSERT_EQUAL((uintptr_t)green_ctx_switch(&main_ctx, &relay_ctx, (void *)99), 15);
    green_ctx copy = relay_ctx;
    int bad = 0;
    for (uintptr_t i = 1; i <= 1000; i++)
        bad += (uintptr_t)green_ctx_switch(&main_ctx, i % 2 ? &copy : &relay_ctx, (void *)i) != i * 2 + 1;
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(relay_calls, 1001);
    CU_ASSERT_EQUAL(relay_calls_on_its_stack, 1001);
    green_stack_free(&pool, relay_stack);
    green_stack_free(&pool, st);
}

static void test_make_rejects_bad_arguments(void)
{
    char small[256];
    green_ctx c;
    CU_ASSERT_EQUAL(green_ctx_make(&c, small, sizeof small, pong, NULL), -EINVAL);
    CU_ASSERT_EQUAL(green_ctx_make(&c, NULL, 1 << 16, pong, NULL), -EINVAL);
    CU_ASSERT_EQUAL(green_ctx_make(NULL, small, 1 << 16, pong, NULL), -EINVAL);
    CU_ASSERT_EQUAL(green_ctx_make_relay(&c, small, sizeof small, relay_pick, NULL), -EINVAL);
    CU_ASSERT_EQUAL(green_ctx_make_relay(&c, NULL, 1 << 16, relay_pick, NULL), -EINVAL);
    CU_ASSERT_EQUAL(green_ctx_make_relay(&c, small, 1 << 16, NULL, NULL), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(green_ctx_name());
    CU_ASSERT_PTR_NOT_NULL(green_ctx_saves());
}

/* ---- callee-saved registers ----
 * switch_with_sentinels() loads known values into rbx, rbp and r12-r15,
 * switches with the backend's raw jump (so no compiler-generated code can
 * save them for us), and records what those registers hold when it is
 * resumed. The other side does the same with other values. */
uint64_t green_test_switch_with_sentinels(green_ctx *from, green_ctx *to, const uint64_t in[6],
                                          uint64_t out[6]);
/* clang-format off */
__asm__(
    ".text\n"
    ".globl green_test_switch_with_sentinels\n"
    ".type green_test_switch_with_sentinels, @function\n"
    "green_test_switch_with_sentinels:\n"
    "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
    "  pushq %rcx\n"                     /* out; also re-aligns the stack for the call */
    "  movq 0(%rdx), %rbx\n  movq 8(%rdx), %rbp\n  movq 16(%rdx), %r12\n"
    "  movq 24(%rdx), %r13\n  movq 32(%rdx), %r14\n  movq 40(%rdx), %r15\n"
    "  movq (%rsi), %rsi\n"                /* to->sp: the jump takes the saved state by value */
    "  xorl %edx, %edx\n"
    "  call green__ctx_jump\n"
    "  popq %rcx\n"
    "  movq %rbx, 0(%rcx)\n  movq %rbp, 8(%rcx)\n  movq %r12, 16(%rcx)\n"
    "  movq %r13, 24(%rcx)\n  movq %r14, 32(%rcx)\n  movq %r15, 40(%rcx)\n"
    "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
    "  ret\n"
    ".size green_test_switch_with_sentinels, .-green_test_switch_with_sentinels\n");
/* clang-format on */

/* Under ASan the raw jump still needs the fiber annotations around it. */
static void switch_with_sentinels(green_ctx *from, green_ctx *to, const uint64_t in[6], uint64_t out[6])
{
#ifdef GREEN_CTX_ASAN
    green__ctx_asan_leave(from, to);
#endif
    green_test_switch_with_sentinels(from, to, in, out);
#ifdef GREEN_CTX_ASAN
    green__ctx_asan_arrive(from);
#endif
}

static const uint64_t main_sentinels[6] = {
    0x1111111111111111, 0x2222222222222222, 0x3333333333333333,
    0x4444444444444444, 0x5555555555555555, 0x6666666666666666,
};
static const uint64_t other_sentinels[6] = {
    0xa1a1a1a1a1a1a1a1, 0xb2b2b2b2b2b2b2b2, 0xc3c3c3c3c3c3c3c3,
    0xd4d4d4d4d4d4d4d4, 0xe5e5e5e5e5e5e5e5, 0xf6f6f6f6f6f6f6f6,
};
static green_ctx clobber_ctx;
static uint64_t other_seen[6];

static uint32_t get_mxcsr(void)
{
    uint32_t v;
    __asm__ volatile("stmxcsr %0" : "=m"(v));
    return v;
}
static void set_mxcsr(uint32_t v) { __asm__ volatile("ldmxcsr %0" : : "m"(v)); }
static uint16_t get_x87cw(void)
{
    uint16_t v;
    __asm__ volatile("fnstcw %0" : "=m"(v));
    return v;
}
static void set_x87cw(uint16_t v) { __asm__ volatile("fldcw %0" : : "m"(v)); }

#define MXCSR_DEFAULT 0x1f80u
#define MXCSR_ROUND_TO_ZERO 0x7f80u
#define X87CW_DEFAULT 0x037fu
#define X87CW_ROUND_TO_ZERO 0x0f7fu  /* valgrind emulates rounding control, not precision control */

static void clobberer(void *arg)
{
    (void)arg;
    for (;;) {
        /* Change the FP control state too: a full-ABI switch must not let it leak. */
        set_mxcsr(MXCSR_DEFAULT);
        set_x87cw(X87CW_DEFAULT);
        switch_with_sentinels(&clobber_ctx, &main_ctx, other_sentinels, other_seen);
    }
}

/* Switch to the clobberer through via (the clobberer itself, or a relay
 * to it) and back, three times. */
static void check_callee_saved(green_ctx *via)
{
    green_stack *st;
    uint64_t seen[6];
    CU_ASSERT_FATAL(green_stack_new(&pool, &st) == 0);
    CU_ASSERT_FATAL(green_ctx_make(&clobber_ctx, st->base, st->size, clobberer, NULL) == 0);
    uint32_t saved_mxcsr = get_mxcsr();
    uint16_t saved_x87cw = get_x87cw();
    for (int round = 0; round < 3; round++) {
        set_mxcsr(MXCSR_ROUND_TO_ZERO);
        set_x87cw(X87CW_ROUND_TO_ZERO);
        switch_with_sentinels(&main_ctx, via, main_sentinels, seen);
        uint32_t mxcsr_after = get_mxcsr();
        uint16_t x87cw_after = get_x87cw();
        set_mxcsr(saved_mxcsr);
        set_x87cw(saved_x87cw);
        for (int r = 0; r < 6; r++)
            CU_ASSERT_EQUAL(seen[r], main_sentinels[r]);
        if (round > 0) {    /* The other side has been resumed by then. */
            for (int r = 0; r < 6; r++)
                CU_ASSERT_EQUAL(other_seen[r], other_sentinels[r]);
        }
        if (backend_is("asm-nofpu")) {
            /* Documented: the FP control words are not saved, so the other
             * context's values are what this one sees. */
            CU_ASSERT_EQUAL(mxcsr_after & 0xffc0u, MXCSR_DEFAULT);
            CU_ASSERT_EQUAL(x87cw_after, X87CW_DEFAULT);
        } else {
            CU_ASSERT_EQUAL(mxcsr_after & 0xffc0u, MXCSR_ROUND_TO_ZERO);
            CU_ASSERT_EQUAL(x87cw_after, X87CW_ROUND_TO_ZERO);
        }
    }
    green_stack_free(&pool, st);
}

static void test_callee_saved_preserved(void)
{
    check_callee_saved(&clobber_ctx);
}

/* The relay's function runs between the two halves of a switch: the
 * resumed context must still get every register it saved. */
static void test_callee_saved_preserved_through_relay(void)
{
    make_relay_to(&clobber_ctx);
    check_callee_saved(&relay_ctx);
    CU_ASSERT_EQUAL(relay_calls, 3);
    green_stack_free(&pool, relay_stack);
}

/* ---- alignment at the entry function ---- */

static green_ctx align_ctx;

static __attribute__((noinline)) uintptr_t aligned_local_address(void)
{
    /* The compiler trusts the ABI's 16-byte alignment here and does not realign. */
    char buf[16] __attribute__((aligned(16)));
    __asm__ volatile("" : : "r"(buf) : "memory");
    return (uintptr_t)buf;
}

static void align_entry(void *arg)
{
    /* Entered like a call: the CFA (rsp before the call pushed the return
     * address) must be 16-byte aligned. */
    uintptr_t *out = arg;
    out[0] = (uintptr_t)__builtin_frame_address(0);
    out[1] = aligned_local_address();
    green_ctx_switch(&align_ctx, &main_ctx, NULL);
}

static void test_entry_stack_aligned(void)
{
    green_stack *st;
    uintptr_t seen[2] = { 1, 1 };
    CU_ASSERT_FATAL(green_stack_new(&pool, &st) == 0);
    /* Hand it a deliberately misaligned region: make must align it. */
    CU_ASSERT_FATAL(green_ctx_make(&align_ctx, (char *)st->base + 8, st->size - 24, align_entry, seen) == 0);
    green_ctx_switch(&main_ctx, &align_ctx, NULL);
    CU_ASSERT_EQUAL(seen[1] % 16, 0);
    CU_ASSERT(seen[0] > (uintptr_t)st->base && seen[0] < (uintptr_t)st->base + st->size);
    green_stack_free(&pool, st);
}

/* ---- deep recursion ---- */

static green_ctx deep_ctx;
struct deep_job {
    size_t depth;
    uintptr_t first, second, lowest;   /* Frame addresses: level 1, level 2, deepest. */
    unsigned long long sum;
};

static __attribute__((noinline)) unsigned long long recurse(struct deep_job *job, size_t level)
{
    volatile char frame[512];
    frame[0] = (char)level;
    frame[511] = (char)(level >> 8);
    uintptr_t here = (uintptr_t)&frame[0];
    if (level == 1)
        job->first = here;
    if (level == 2)
        job->second = here;
    if (here < job->lowest)
        job->lowest = here;
    if (level == job->depth)
        return (unsigned char)frame[0];
    return recurse(job, level + 1) + (unsigned char)frame[0];
}

static void deep_entry(void *arg)
{
    struct deep_job *job = arg;
    job->sum = recurse(job, 1);
    green_ctx_switch(&deep_ctx, &main_ctx, NULL);
}

static void test_deep_recursion(void)
{
    green_stack *st;
    CU_ASSERT_FATAL(green_stack_new(&pool, &st) == 0);
    /* Measure one level's frame (sanitizers enlarge it), then use ~80% of the stack. */
    struct deep_job probe = { .depth = 2, .lowest = UINTPTR_MAX };
    CU_ASSERT_FATAL(green_ctx_make(&deep_ctx, st->base, st->size, deep_entry, &probe) == 0);
    green_ctx_switch(&main_ctx, &deep_ctx, NULL);
    uintptr_t top = (uintptr_t)st->base + st->size;
    size_t per_level = probe.first - probe.second;
    size_t room = probe.first - (uintptr_t)st->base;
    struct deep_job job = { .depth = room * 85 / 100 / per_level, .lowest = UINTPTR_MAX };
    CU_ASSERT_FATAL(green_ctx_make(&deep_ctx, st->base, st->size, deep_entry, &job) == 0);
    green_ctx_switch(&main_ctx, &deep_ctx, NULL);
    unsigned long long expect = 0;
    for (size_t level = 1; level <= job.depth; level++)
        expect += (unsigned char)level;
    CU_ASSERT_EQUAL(job.sum, expect);
    CU_ASSERT(top - job.lowest > st->size * 6 / 10);
    CU_ASSERT(job.lowest >= (uintptr_t)st->base);
    green_stack_free(&pool, st);
}

/* ---- many contexts alive at once ---- */

#define MANY 10000
struct many_slot {
    green_ctx ctx;
    green_stack *stack;
    unsigned visits;
};
static struct many_slot *many;

static void many_entry(void *arg)
{
    struct many_slot *self = arg;
    for (;;) {
        self->visits++;
        green_ctx_switch(&self->ctx, &main_ctx, NULL);
    }
}

static void test_ten_thousand_alive(void)
{
    green_stack_pool small;
    CU_ASSERT_FATAL(green_stack_pool_init(&small, 16 * 1024, MANY) == 0);
    many = calloc(MANY, sizeof *many);
    CU_ASSERT_FATAL(many != NULL);
    int made = 0;
    for (int i = 0; i < MANY; i++) {
        if (green_stack_new(&small, &many[i].stack) != 0)
            break;
        if (green_ctx_make(&many[i].ctx, many[i].stack->base, many[i].stack->size, many_entry, &many[i]) != 0)
            break;
        made++;
    }
    CU_ASSERT_EQUAL_FATAL(made, MANY);
    CU_ASSERT_EQUAL(small.live, MANY);
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < MANY; i++)
            green_ctx_switch(&main_ctx, &many[i].ctx, NULL);
    int wrong = 0;
    for (int i = 0; i < MANY; i++) {
        wrong += many[i].visits != 2;
        green_stack_free(&small, many[i].stack);
    }
    CU_ASSERT_EQUAL(wrong, 0);
    CU_ASSERT_EQUAL(small.live, 0);
    /* Chunking keeps the mappings far below one per stack. */
    CU_ASSERT(small.chunks < MANY / 20);
    free(many);
    green_stack_pool_close(&small);
}

static void test_stacks_are_reused(void)
{
    green_stack *a, *b;
    CU_ASSERT_FATAL(green_stack_new(&pool, &a) == 0);
    green_stack_free(&pool, a);
    CU_ASSERT_FATAL(green_stack_new(&pool, &b) == 0);
    CU_ASSERT_PTR_EQUAL(a, b);
    CU_ASSERT_EQUAL((uintptr_t)b->base % 4096, 0);
    CU_ASSERT(b->size >= GREEN_STACK_DEFAULT_SIZE - 4096);
    green_stack_free(&pool, b);
}

/* ---- fatal paths, each in a forked child ---- */

static green_ctx child_ctx;

static void returning_entry(void *arg)
{
    (void)arg;
}

static void child_returning_entry(void)
{
    green_stack *st;
    if (green_stack_new(&pool, &st) != 0 || green_ctx_make(&child_ctx, st->base, st->size, returning_entry, NULL) != 0)
        _exit(3);
    green_ctx_switch(&main_ctx, &child_ctx, NULL);
    _exit(4);   /* Not reached: the context cannot return here. */
}

static void test_entry_return_aborts_with_message(void)
{
    char err[1024];
    int status = fork_child_stderr(child_returning_entry, err, sizeof err);
    CU_ASSERT(status >= 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "context entry function returned"));
}

static void overflowing_entry(void *arg)
{
    (void)arg;
    overflow(0);
}

static void child_overflow(void)
{
    green_stack_pool small;
    green_stack *st;
    if (green_stack_pool_init(&small, 16 * 1024, 4) != 0 || green_stack_new(&small, &st) != 0 ||
        green_ctx_make(&child_ctx, st->base, st->size, overflowing_entry, NULL) != 0)
        _exit(3);
    green_ctx_switch(&main_ctx, &child_ctx, NULL);
    _exit(4);
}

static void test_overflow_caught_with_message(void)
{
    char err[1024];
    int status = fork_child_stderr(child_overflow, err, sizeof err);
    CU_ASSERT(status >= 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "overflowed its 16 KiB stack"));
    if (strstr(err, "overflowed") == NULL)
        fprintf(stderr, "child's stderr:\n%s\n", err);
}

static void child_exhaust_memory(void)
{
    /* An address-space limit stands in for vm.max_map_count: both make the
     * kernel refuse the next mapping. */
    struct rlimit lim = { 256u << 20, 256u << 20 };
    if (setrlimit(RLIMIT_AS, &lim) != 0)
        _exit(3);
    green_stack_pool big;
    if (green_stack_pool_init(&big, 1u << 20, 0) != 0)
        _exit(3);
    for (int i = 0; i < 100000; i++) {
        green_stack *st;
        int rc = green_stack_new(&big, &st);
        if (rc == -ENOMEM)
            _exit(0);
        if (rc != 0)
            _exit(5);
    }
    _exit(6);
}

static void test_out_of_mappings_is_an_error(void)
{
#ifdef GREEN_CTX_ASAN
    return;     /* ASan reserves terabytes of shadow: an RLIMIT_AS cannot stand for the limit. */
#endif
    char err[1024];
    int status = fork_child_stderr(child_exhaust_memory, err, sizeof err);
    CU_ASSERT(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "vm.max_map_count"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "sysctl -w vm.max_map_count="));
}

static CU_TestInfo context_tests[] = {
    { "ping_pong_values", test_ping_pong_values },
    { "make_rejects_bad_arguments", test_make_rejects_bad_arguments },
    { "callee_saved_preserved", test_callee_saved_preserved },
    { "relay_passes_values", test_relay_passes_values },
    { "callee_saved_preserved_through_relay", test_callee_saved_preserved_through_relay },
    { "entry_stack_aligned", test_entry_stack_aligned },
    { "deep_recursion", test_deep_recursion },
    { "ten_thousand_alive", test_ten_thousand_alive },
    { "stacks_are_reused", test_stacks_are_reused },
    { "entry_return_aborts_with_message", test_entry_return_aborts_with_message },
    { "overflow_caught_with_message", test_overflow_caught_with_message },
    { "out_of_mappings_is_an_error", test_out_of_mappings_is_an_error },
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo green_test_suites[] = {
    { .pName = "context", .pInitFunc = suite_init, .pCleanupFunc = suite_clean, .pTests = context_tests },
    CU_SUITE_INFO_NULL,
};
