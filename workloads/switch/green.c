/* workloads/switch/green.c: the raw switch workload, green side: two
 * contexts ping-pong N round trips through the context backend alone (no hub,
 * no loop). ns_per_op is the cost of one one-way switch. */
#include "cell.h"
#include "green_common.h"
#include "context.h"

#include <stdint.h>

#define WARMUP_ROUND_TRIPS 10000

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
static void bare_partner(void *arg)
{
    (void)arg;
    for (;;)
        green_ctx_switch(&partner_ctx, &main_ctx, NULL);
}

int switch_green(cell_params *p, cell_result *r)
{
    if (green_common_one_hub(p, r) != 0)
        return -1;
    if (cell_take_n(p, r, 1000000, "the switch workload needs at least one round trip") != 0)
        return -1;
    long long n = p->n;
    r->loop_used = NULL;            /* Backend alone: no hub, no loop. */
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

    green_ctx_make(&partner_ctx, stack->base, stack->size, bare_partner, NULL);
    green_ctx_switch(&main_ctx, &partner_ctx, NULL);
    cell_measure_begin(r);
    for (long long i = 0; i < n; i++)
        green_ctx_switch(&main_ctx, &partner_ctx, NULL);
    cell_measure_end(r);

    r->ops = 2 * n;
    r->tasks_completed = n;
    r->errors = warm - checked;
    if (checked != warm)
        cell_fail(r, "%lld of %lld checked round trips returned a wrong value", warm - checked, warm);
    /* The partner is parked mid-switch for good; its stack goes with the pool. */
    green_stack_pool_close(&pool);
    return r->ok ? 0 : -1;
}
