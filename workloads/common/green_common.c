/* workloads/common/green_common.c: hub set-up for the green variants (green_common.h). */
#include "green_common.h"
#include "fetch.h"

int green_common_init(cell_params *p, cell_result *r)
{
    green_options opts = { .stack_size = p->stack_kib > 0 ? (size_t)p->stack_kib * 1024 : 0 };
    int err = green_init(&opts);
    if (err != 0)
        return cell_fail(r, "green_init (--stack-kib=%lld): %s", p->stack_kib, green_strerror(err));
    green_stats st;
    if (green_stats_get(&st) == 0 && p->stack_kib <= 0)
        p->stack_kib = (long long)(st.stack_size / 1024);
    return 0;
}

void green_common_fini(cell_result *r)
{
    int err = green_fini();
    if (err != 0 && r->ok)
        cell_fail(r, "green_fini: %s", green_strerror(err));
}

/* One read buffer for every green thread of the hub: one runs at a time, and
 * http_fetch parses each read before it can switch again. A thread variant
 * needs one per thread. */
static char scratch[HTTP_READ_CHUNK];

struct green_fetch_state green_fetch;

void *green_fetch_main(void *arg)
{
    fetch_task *t = arg;
    if (++green_fetch.in_flight > green_fetch.peak)
        green_fetch.peak = green_fetch.in_flight;
    t->err = http_fetch(&http_io_green, green_fetch.target, scratch, sizeof scratch, &t->res);
    green_fetch.in_flight--;
    return NULL;
}
