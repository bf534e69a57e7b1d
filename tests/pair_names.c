/* tests/pair_names.c: the backends a libgreen suite's program is linked
 * with, as CMake registered them (tests/CMakeLists.txt compiles this file
 * into each test-<suite>-<ctx>-<loop> with GREEN_TEST_CTX and
 * GREEN_TEST_LOOP), so that a suite checks the names a backend reports
 * against its own registration rather than against a list of today's
 * backends (docs/extending.md). */
#include "green_fixture.h"

const char green_test_ctx[] = GREEN_TEST_CTX;
const char green_test_loop[] = GREEN_TEST_LOOP;
