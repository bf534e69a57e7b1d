/* workloads/switch/green.c: the raw switch workload, green side: two
 * contexts ping-pong N round trips through the context backend alone (no hub,
 * no loop). ns_per_op is the cost of one one-way switch.
 *
 * The backend's floor (floor.h) runs the same N round trips in the same
 * process, in BLOCKS blocks alternating with the backend's, so that the two
 * see the same machine and their ratio is what the backend adds. */
#include "cell.h"
#include "green_common.h"
#include "context.h"
#include "floor.h"

#include <stdint.h>
#include <string.h>

#define WARMUP_ROUND_TRIPS 10000
#define BLOCKS 64

static green_ctx main_ctx, partner_ctx;

/* Checked pass: the partner answers v with v + 1, proving values flow both ways. */
static void echo_partner(void *arg)
{
    uintptr_t v = (uintptr_t)arg;
    for (;;)
        v = (uintptr_t)green_ctx_switch(&partner_ctx, &main_ctx, (void *)(v + 1));
}

/* Timed pass: nothing but the switch, so that instruction counts of the
 * loop (valgrind --tool=callgrind) are the switch's own plus a few. */
__attribute__((aligned(64))) static void bare_partner(void *arg)
{
    (void)arg;
    for (;;)
        green_ctx_switch(&partner_ctx, &main_ctx, NULL);
}

/* --live-bytes=B: both sides keep B bytes live on their stacks across every
 * switch (touched before and after it), as yield --live-bytes does where
 * copy stacks must move them; here, on private stacks, they stay put. */
static long long live_bytes;
static long long live_damaged;

static __attribute__((noinline)) void live_partner(void *arg)
{
    (void)arg;
    volatile unsigned char live[live_bytes];
    live[0] = live[live_bytes - 1] = 1;
    for (;;) {
        green_ctx_switch(&partner_ctx, &main_ctx, NULL);
        live_damaged += live[0] != 1 || live[live_bytes - 1] != 1;
    }
}

static __attribute__((noinline)) void live_run(long long round_trips)
{
    volatile unsigned char live[live_bytes];
    live[0] = live[live_bytes - 1] = 2;
    for (long long i = 0; i < round_trips; i++) {
        green_ctx_switch(&main_ctx, &partner_ctx, NULL);
        live_damaged += live[0] != 2 || live[live_bytes - 1] != 2;
    }
}

/* The timed loop, shaped and aligned as the floors' run functions are
 * (floor.c), so that the two loops differ in the switch alone: where a loop
 * falls across cache lines moves a switch by a quarter on these machines. */
static __attribute__((noinline, aligned(64))) void backend_run(long long round_trips)
{
    for (long long i = 0; i < round_trips; i++)
        green_ctx_switch(&main_ctx, &partner_ctx, NULL);
}

/* Start the backend's floor on a stack of its own and warm it up; NULL (no
 * floor in the record) under AddressSanitizer, which the floor does not
 * tell of its stack changes. */
static const switch_floor *measure_floor(green_stack_pool *pool, long long warm, cell_result *r)
{
#ifdef GREEN_CTX_ASAN
    (void)pool, (void)warm, (void)r;
    return NULL;
#else
    green_stack *stack;
    const switch_floor *floor = switch_floor_for(green_ctx_name());
    if (floor == NULL || green_stack_new(pool, &stack) != 0 || floor->start(stack->base, stack->size) != 0)
        return NULL;
    floor->run(warm);
    r->floor = floor->name;
    r->floor_wall_ns = 0;
    return floor;
#endif
}

static void time_floor(const switch_floor *floor, long long round_trips, cell_result *r)
{
    long long t0 = cell_now_ns();
    floor->run(round_trips);
    r->floor_wall_ns += cell_now_ns() - t0;
}

int switch_green(cell_params *p, cell_result *r)
{
    if (green_common_one_hub(p, r) != 0)
        return -1;
    if (cell_take_n(p, r, 1000000, "the switch workload needs at least one round trip") != 0)
        return -1;
    long long n = p->n;
    r->loop_used = NULL;            /* Backend alone: no hub, no loop. */
    if (p->stacks != NULL && strcmp(p->stacks, "private") != 0)
        return cell_usage_error(r,
                                "--stacks=%s: the raw switch has no hub and private stacks only; "
                                "yield --stacks=%s --live-bytes=B measures copy stacks",
                                p->stacks, p->stacks);
    p->stacks = "private";
    if (p->live_bytes < 0)
        p->live_bytes = 0;
    if (p->live_bytes > 32768)
        return cell_usage_error(r, "--live-bytes=%lld: at most 32768", p->live_bytes);
    live_bytes = p->live_bytes;
    live_damaged = 0;
    green_stack_pool pool;
    green_stack *stack;
    int err = green_stack_pool_init(&pool, p->stack_kib > 0 ? (size_t)p->stack_kib * 1024 : 0, 1);
    if (err == 0)
        err = green_stack_new(&pool, &stack);
    if (err != 0)
        return cell_fail(r, "cannot make a stack: error %d", err);
    if (p->stack_kib <= 0)
        p->stack_kib = (long long)(pool.asked / 1024);

    long long checked = 0, warm = n < WARMUP_ROUND_TRIPS ? n : WARMUP_ROUND_TRIPS;
    green_ctx_make(&partner_ctx, stack->base, stack->size, echo_partner, (void *)0);
    green_ctx_switch(&main_ctx, &partner_ctx, NULL);     /* Partner starts, answers 1. */
    for (long long i = 1; i <= warm; i++)
        checked += (uintptr_t)green_ctx_switch(&main_ctx, &partner_ctx, (void *)(uintptr_t)i) == (uintptr_t)i + 1;

    green_ctx_make(&partner_ctx, stack->base, stack->size, live_bytes > 0 ? live_partner : bare_partner,
                   NULL);
    green_ctx_switch(&main_ctx, &partner_ctx, NULL);
    const switch_floor *floor = measure_floor(&pool, warm, r);
    long long wall_ns = 0, cpu_ns = 0;
    for (int b = 0; b < BLOCKS; b++) {
        long long k = n / BLOCKS + (b < n % BLOCKS);
        if (floor != NULL && b % 2 == 1)
            time_floor(floor, k, r);
        cell_measure_begin(r);
        if (live_bytes > 0)
            live_run(k);
        else
            backend_run(k);
        cell_measure_end(r);
        wall_ns += r->wall_ns;
        cpu_ns += r->cpu_ns;
        if (floor != NULL && b % 2 == 0)
            time_floor(floor, k, r);
    }
    r->wall_ns = wall_ns;
    r->cpu_ns = cpu_ns;

    r->ops = 2 * n;
    r->tasks_completed = n;
    r->errors = warm - checked + live_damaged;
    if (checked != warm)
        cell_fail(r, "%lld of %lld checked round trips returned a wrong value", warm - checked, warm);
    else if (live_damaged != 0)
        cell_fail(r, "%lld switches found their live bytes changed", live_damaged);
    /* The partner is parked mid-switch for good; its stack goes with the pool. */
    green_stack_pool_close(&pool);
    return r->ok ? 0 : -1;
}
