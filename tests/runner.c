/* tests/runner.c: main() of every CUnit test program.
 * Each program links one test_<module>.c, which defines green_test_suites[];
 * ctest runs one program per (module, backend), so a crash in one backend
 * fails one entry. Usage: test-program [SUITE [TEST]]. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

extern CU_SuiteInfo green_test_suites[];

static int run_selected(const char *suite_name, const char *test_name)
{
    CU_pSuite suite = CU_get_suite(suite_name);
    if (suite == NULL) {
        fprintf(stderr, "runner: no suite named '%s'\n", suite_name);
        return -1;
    }
    if (test_name == NULL)
        return CU_basic_run_suite(suite);
    CU_pTest test = CU_get_test(suite, test_name);
    if (test == NULL) {
        fprintf(stderr, "runner: suite '%s' has no test '%s'\n", suite_name, test_name);
        return -1;
    }
    return CU_basic_run_test(suite, test);
}

int main(int argc, char **argv)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    if (CU_register_suites(green_test_suites) != CUE_SUCCESS) {
        fprintf(stderr, "runner: %s\n", CU_get_error_msg());
        CU_cleanup_registry();
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    int rc = argc > 1 ? run_selected(argv[1], argc > 2 ? argv[2] : NULL) : (int)CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    unsigned ran = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    if (rc != CUE_SUCCESS)
        return 2;
    if (ran == 0) {
        fprintf(stderr, "runner: no test ran\n");
        return 2;
    }
    return failed ? 1 : 0;
}
