/* workloads/common/threads_common.c: thread attributes and limits for the thread
 * variants (threads_common.h). */
#include "threads_common.h"

#include "sysinfo.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Under libgreen-preload.so, pthreads are green threads on the preload's
 * stacks, whatever the attribute says: their size, as the preload reads
 * GREEN_PRELOAD_STACK_KIB (libgreen's 64 KiB without it). */
static long long preload_stack_kib(void)
{
    const char *v = getenv("GREEN_PRELOAD_STACK_KIB");
    char *end;
    long long kib = v != NULL ? strtoll(v, &end, 10) : 0;
    return v != NULL && *v != '\0' && *end == '\0' && kib > 0 ? kib : 64;
}

int threads_attr_init(pthread_attr_t *attr, cell_params *p, cell_result *r, long long min_kib)
{
    int err = pthread_attr_init(attr);
    if (err != 0)
        return cell_fail(r, "pthread_attr_init: %s", strerror(err));
    if (strcmp(p->impl, "threads-preload") == 0) {
        long long used = preload_stack_kib();
        if (p->stack_kib >= 0 && p->stack_kib != used)
            fprintf(stderr,
                    "%s: note: --stack-kib=%lld does not apply under libgreen-preload.so, whose green "
                    "stacks are %lld KiB (GREEN_PRELOAD_STACK_KIB); ignored\n",
                    program_invocation_name, p->stack_kib, used);
        p->stack_kib = used;
        return 0;
    }
    if (p->stack_kib < 0) {
        /* The default: RLIMIT_STACK, or 2 MiB on x86-64 when that is unlimited. */
        pthread_attr_t dflt;
        size_t size = 0;
        if (pthread_getattr_default_np(&dflt) == 0) {
            pthread_attr_getstacksize(&dflt, &size);
            pthread_attr_destroy(&dflt);
        }
        if (size == 0)
            pthread_attr_getstacksize(attr, &size);
        p->stack_kib = (long long)(size / 1024);
        return 0;
    }
    if (p->stack_kib < min_kib || (size_t)p->stack_kib * 1024 < (size_t)PTHREAD_STACK_MIN) {
        pthread_attr_destroy(attr);
        return cell_usage_error(r, "--stack-kib=%lld: the thread variant of %s needs at least %lld KiB per thread",
                         p->stack_kib, p->workload,
                         min_kib > (long long)(PTHREAD_STACK_MIN / 1024) ? min_kib : (long long)(PTHREAD_STACK_MIN / 1024));
    }
    err = pthread_attr_setstacksize(attr, (size_t)p->stack_kib * 1024);
    if (err != 0) {
        pthread_attr_destroy(attr);
        return cell_fail(r, "--stack-kib=%lld: pthread_attr_setstacksize: %s", p->stack_kib, strerror(err));
    }
    return 0;
}

int threads_check_room(long long want, const char *what, cell_result *r)
{
    char limit[256];
    long long room = sys_thread_room(limit, sizeof limit);
    if (want > room)
        return cell_fail(r, "%s needs %lld threads alive at once, but this machine allows about %lld more: %s",
                         what, want, room, limit);
    return 0;
}

int threads_create_failed(cell_result *r, int err, long long created)
{
    char limit[256];
    long long room = sys_thread_room(limit, sizeof limit);
    if (err == EAGAIN)
        return cell_fail(r, "pthread_create failed after %lld threads: %s (about %lld more allowed now: %s; "
                            "or memory for their stacks ran out)",
                         created, strerror(err), room, limit);
    return cell_fail(r, "pthread_create failed after %lld threads: %s", created, strerror(err));
}

void threads_ignore_stack_size(cell_params *p)
{
    static bool said;
    if (p->stack_kib < 0)
        return;
    if (!said)
        fprintf(stderr,
                "%s: note: --stack-kib=%lld does not apply to %s --impl=%s (two threads on the C "
                "library's default stacks); ignored\n",
                program_invocation_name, p->stack_kib, p->workload, p->impl);
    said = true;
    p->stack_kib = -1;
}

void threads_ignore_hubs(cell_params *p)
{
    static bool said;           /* Once, not once per round. */
    if (p->hubs < 0)
        return;
    if (!said)
        fprintf(stderr, "%s: note: --hubs=%lld does not apply to --impl=threads; ignored\n",
                program_invocation_name, p->hubs);
    said = true;
    p->hubs = -1;
}
