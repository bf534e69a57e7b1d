/* workloads/switch/st.c: the switch workload of the State Threads peer. The
 * main st thread and a partner ping-pong --n round trips through two
 * st_cond_t (State Threads 1.9 has no st_thread_yield): each one-way switch
 * is st_cond_signal (the waiter joins the run queue) and st_cond_wait (the
 * scheduler takes it off the queue and restores it with ST's own
 * _st_md_cxt_save/_st_md_cxt_restore, a setjmp/longjmp pair that keeps the
 * callee-saved registers only). ns_per_op is one one-way switch. */
#include "cell.h"
#include "st_peer.h"

#include <st.h>
#include <stddef.h>

#define DEFAULT_N 1000000
#define WARMUP_ROUND_TRIPS 10000

enum { MAIN_TURN, PARTNER_TURN };

typedef struct pingpong {
    st_cond_t to_main, to_partner;
    int turn;
    int stop;
    long long value;            /* Main sends v, the partner answers v + 1. */
    long long partner_seen;     /* Turns the partner took: the check. */
} pingpong;

static void *partner(void *arg)
{
    pingpong *pp = arg;
    for (;;) {
        while (pp->turn != PARTNER_TURN)
            st_cond_wait(pp->to_partner);
        if (pp->stop)
            return NULL;
        pp->value++;
        pp->partner_seen++;
        pp->turn = MAIN_TURN;
        st_cond_signal(pp->to_main);
    }
}

static long long round_trip(pingpong *pp, long long v)
{
    pp->value = v;
    pp->turn = PARTNER_TURN;
    st_cond_signal(pp->to_partner);
    while (pp->turn != MAIN_TURN)
        st_cond_wait(pp->to_main);
    return pp->value;
}

int switch_st(cell_params *p, cell_result *r)
{
    if (p->n < 0)
        p->n = DEFAULT_N;
    long long n = p->n;
    if (n == 0)
        return cell_fail(r, "--n=0: the switch workload needs at least one round trip");
    int stack = st_peer_init(p, r);
    if (stack < 0)
        return -1;
    r->switch_used = "st";
    pingpong pp = { .to_main = st_cond_new(), .to_partner = st_cond_new(), .turn = MAIN_TURN };
    st_thread_t t = NULL;
    if (pp.to_main == NULL || pp.to_partner == NULL ||
        (t = st_thread_create(partner, &pp, 1, stack)) == NULL) {
        cell_fail(r, "cannot make the partner st thread or its condition variables");
        goto done;
    }

    /* Checked pass: the partner answers v with v + 1. */
    long long warm = n < WARMUP_ROUND_TRIPS ? n : WARMUP_ROUND_TRIPS, checked = 0;
    for (long long i = 1; i <= warm; i++)
        checked += round_trip(&pp, i) == i + 1;

    pp.partner_seen = 0;
    cell_measure_begin(r);
    for (long long i = 0; i < n; i++)
        round_trip(&pp, i);
    cell_measure_end(r);

    pp.stop = 1;
    pp.turn = PARTNER_TURN;
    st_cond_signal(pp.to_partner);
    st_thread_join(t, NULL);

    r->ops = 2 * n;
    r->tasks_completed = pp.partner_seen;
    r->errors = warm - checked + n - pp.partner_seen;
    r->note = "State Threads 1.9: st_cond_signal + st_cond_wait per one-way switch, through ST's run queue; "
              "one OS thread.";
    if (checked != warm)
        cell_fail(r, "%lld of %lld checked round trips returned a wrong value", warm - checked, warm);
    else if (pp.partner_seen != n)
        cell_fail(r, "partner took %lld turns of %lld", pp.partner_seen, n);
done:
    if (pp.to_main != NULL)
        st_cond_destroy(pp.to_main);
    if (pp.to_partner != NULL)
        st_cond_destroy(pp.to_partner);
    return r->ok ? 0 : -1;
}
