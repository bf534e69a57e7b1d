/* tests/test_harness_io.c: JSON reading and writing, CSV quoting (RFC 4180). */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "harness.h"

static struct gb_json *parse(const char *s)
{
    struct gb_json *v = NULL;
    char err[128];
    if (gb_json_parse(s, strlen(s), &v, err, sizeof err) != 0)
        return NULL;
    return v;
}

static void test_json_parse_values(void)
{
    struct gb_json *v = parse(" {\"a\": 1, \"b\": [true, false, null], \"c\": \"x\\ty\", "
                              "\"d\": -1.5e3, \"e\": {}, \"f\": [], \"g\": 0} ");
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_EQUAL(v->type, GB_JSON_OBJECT);
    CU_ASSERT_EQUAL(v->count, 7);
    CU_ASSERT_DOUBLE_EQUAL(gb_json_num(v, "a", 0), 1, 0);
    CU_ASSERT_DOUBLE_EQUAL(gb_json_num(v, "d", 0), -1500, 0);
    CU_ASSERT_DOUBLE_EQUAL(gb_json_num(v, "g", 7), 0, 0);
    CU_ASSERT_STRING_EQUAL(gb_json_str(v, "c", ""), "x\ty");
    const struct gb_json *b = gb_json_get(v, "b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(b->count, 3);
    CU_ASSERT_TRUE(b->items[0]->boolean);
    CU_ASSERT_EQUAL(b->items[2]->type, GB_JSON_NULL);
    CU_ASSERT_DOUBLE_EQUAL(gb_json_num(v, "missing", 42), 42, 0);
    CU_ASSERT_STRING_EQUAL(gb_json_str(v, "a", "dflt"), "dflt"); /* wrong type */
    CU_ASSERT_TRUE(gb_json_is(v, "e", GB_JSON_OBJECT));
    gb_json_free(v);
}

static void test_json_unicode(void)
{
    /* \u00e9 = é (2 bytes), \ud83d\ude00 = U+1F600 (4 bytes). */
    struct gb_json *v = parse("\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\/\"");
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_STRING_EQUAL(v->string, "caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\" /");
    gb_json_free(v);
    CU_ASSERT_PTR_NULL(parse("\"\\ud83d\"")); /* lone surrogate */
}

static void test_json_rejects(void)
{
    const char *bad[] = {
        "", "{", "{\"a\":}", "{\"a\" 1}", "[1,]", "[1 2]", "01", "1.", "-", "+1", "tru",
        "\"abc", "\"a\nb\"", "{\"a\":1}x", "{a:1}", "'s'", "[\"\\x\"]", "nul", "1e", ".5",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct gb_json *v = NULL;
        char err[128] = "";
        int rc = gb_json_parse(bad[i], strlen(bad[i]), &v, err, sizeof err);
        CU_ASSERT_EQUAL(rc, -EINVAL);
        CU_ASSERT_PTR_NULL(v);
        CU_ASSERT_TRUE(err[0] != '\0'); /* says where and what */
    }
    /* Nesting is bounded. */
    char deep[300];
    memset(deep, '[', 200);
    deep[200] = '\0';
    CU_ASSERT_PTR_NULL(parse(deep));
}

static void test_json_write_roundtrip(void)
{
    struct gb_buf b;
    gb_buf_init(&b);
    struct gb_jw w;
    gb_jw_init(&w, &b, 0);
    gb_jw_obj(&w);
    gb_jw_key(&w, "s");
    gb_jw_str(&w, "a\"b\\c\n\x01 \xc3\xa9");
    gb_jw_key(&w, "bad_utf8");
    gb_jw_str(&w, "x\xff\xfey");
    gb_jw_key(&w, "n");
    gb_jw_num(&w, 0.1);
    gb_jw_key(&w, "big");
    gb_jw_num(&w, 123456789012.0);
    gb_jw_key(&w, "nan");
    gb_jw_num(&w, NAN);
    gb_jw_key(&w, "i");
    gb_jw_int(&w, -42);
    gb_jw_key(&w, "arr");
    gb_jw_arr(&w);
    gb_jw_bool(&w, true);
    gb_jw_null(&w);
    gb_jw_str(&w, NULL);
    gb_jw_arr_end(&w);
    gb_jw_key(&w, "empty");
    gb_jw_obj(&w);
    gb_jw_obj_end(&w);
    gb_jw_obj_end(&w);
    const char *text = gb_buf_str(&b);
    CU_ASSERT_PTR_NULL(strchr(text, '\n')); /* one line: fit for JSONL */
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\\u0001"));
    struct gb_json *v = parse(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_STRING_EQUAL(gb_json_str(v, "s", ""), "a\"b\\c\n\x01 \xc3\xa9");
    CU_ASSERT_STRING_EQUAL(gb_json_str(v, "bad_utf8", ""), "x\xef\xbf\xbd\xef\xbf\xbdy");
    CU_ASSERT_DOUBLE_EQUAL(gb_json_num(v, "n", 0), 0.1, 0); /* exact round trip */
    CU_ASSERT_DOUBLE_EQUAL(gb_json_num(v, "big", 0), 123456789012.0, 0);
    CU_ASSERT_TRUE(gb_json_is(v, "nan", GB_JSON_NULL));
    CU_ASSERT_DOUBLE_EQUAL(gb_json_num(v, "i", 0), -42, 0);
    CU_ASSERT_EQUAL(gb_json_get(v, "arr")->count, 3);
    /* Writing the tree again gives the same text. */
    struct gb_buf b2;
    gb_buf_init(&b2);
    struct gb_jw w2;
    gb_jw_init(&w2, &b2, 0);
    gb_jw_value(&w2, v);
    CU_ASSERT_STRING_EQUAL(gb_buf_str(&b2), text);
    /* Pretty printing parses to the same tree too. */
    struct gb_buf b3;
    gb_buf_init(&b3);
    struct gb_jw w3;
    gb_jw_init(&w3, &b3, 2);
    gb_jw_value(&w3, v);
    CU_ASSERT_PTR_NOT_NULL(strchr(gb_buf_str(&b3), '\n'));
    struct gb_json *v3 = parse(gb_buf_str(&b3));
    CU_ASSERT_PTR_NOT_NULL(v3);
    CU_ASSERT_STRING_EQUAL(gb_json_str(v3, "s", ""), "a\"b\\c\n\x01 \xc3\xa9");
    gb_json_free(v3);
    gb_json_free(v);
    gb_buf_free(&b);
    gb_buf_free(&b2);
    gb_buf_free(&b3);
}

static void test_csv_quoting(void)
{
    struct gb_buf b;
    gb_buf_init(&b);
    gb_csv_field(&b, "plain");
    gb_csv_sep(&b);
    gb_csv_field(&b, "a,b");
    gb_csv_sep(&b);
    gb_csv_field(&b, "say \"hi\"");
    gb_csv_sep(&b);
    gb_csv_field(&b, "two\nlines");
    gb_csv_sep(&b);
    gb_csv_field(&b, "");
    gb_csv_sep(&b);
    gb_csv_num(&b, 1.5);
    gb_csv_sep(&b);
    gb_csv_num(&b, NAN);
    gb_csv_eol(&b);
    CU_ASSERT_STRING_EQUAL(gb_buf_str(&b),
                           "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",,1.5,\r\n");
    struct gb_csv c;
    CU_ASSERT_EQUAL(gb_csv_parse(gb_buf_str(&b), &c), 1);
    CU_ASSERT_EQUAL_FATAL(c.ncols[0], 7);
    CU_ASSERT_STRING_EQUAL(c.cells[0][1], "a,b");
    CU_ASSERT_STRING_EQUAL(c.cells[0][2], "say \"hi\"");
    CU_ASSERT_STRING_EQUAL(c.cells[0][3], "two\nlines");
    CU_ASSERT_STRING_EQUAL(c.cells[0][4], "");
    CU_ASSERT_STRING_EQUAL(c.cells[0][6], "");
    gb_csv_free(&c);
    gb_buf_free(&b);
}

static void test_csv_parse(void)
{
    struct gb_csv c;
    CU_ASSERT_EQUAL(gb_csv_parse("a,b\r\n1,2\n\"x\r\ny\",3\r\n", &c), 3);
    CU_ASSERT_STRING_EQUAL(c.cells[2][0], "x\r\ny");
    CU_ASSERT_STRING_EQUAL(c.cells[1][1], "2");
    gb_csv_free(&c);
    CU_ASSERT_EQUAL(gb_csv_parse("\"open,1\n", &c), -EINVAL);
    CU_ASSERT_EQUAL(gb_csv_parse("a\"b,1\n", &c), -EINVAL);
    CU_ASSERT_EQUAL(gb_csv_parse("\"a\"b,1\n", &c), -EINVAL);
    CU_ASSERT_EQUAL(gb_csv_parse("", &c), 0);
}

static CU_TestInfo io_tests[] = {
    { "json_parse_values", test_json_parse_values },
    { "json_unicode", test_json_unicode },
    { "json_rejects", test_json_rejects },
    { "json_write_roundtrip", test_json_write_roundtrip },
    { "csv_quoting", test_csv_quoting },
    { "csv_parse", test_csv_parse },
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo green_test_suites[] = {
    { .pName = "harness_io", .pTests = io_tests },
    CU_SUITE_INFO_NULL,
};
