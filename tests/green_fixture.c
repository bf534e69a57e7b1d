/* tests/green_fixture.c: libgreen's suites' fixture (green_fixture.h). */
#include "green_fixture.h"

#include "green.h"

#include <CUnit/CUnit.h>
#include <stdio.h>

void green_fixture_setup(void)
{
    int err = green_init(NULL);
    if (err != 0)
        fprintf(stderr, "green_init: %s\n", green_strerror(err));
}

void green_fixture_teardown(void)
{
    CU_ASSERT_EQUAL(green_fini(), 0);
}

unsigned green_fixture_shared_stacks(void)
{
    green_stats st = { 0 };
    green_stats_get(&st);
    return st.shared_stacks;
}
