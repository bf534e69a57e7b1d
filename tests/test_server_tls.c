/* tests/test_server_tls.c: greenbench-server --tls, run as a child process:
 * its two stdout lines (the https URL, then "ca: PATH"), GET through curl
 * --cacert (one request, a large body, two on one kept connection, the
 * name localhost), pipelined requests behind a delay through a TLS client
 * of our own (OpenSSL), verification against another CA failing, --tls-dir
 * keeping its files, --cert and --key with --threads 2, --tls-key-type
 * rsa2048, the default certificates (P-256, a CA), and the bad
 * command lines (a missing half, unreadable files, a key that does not
 * match its certificate). */
#include "run_program.h"
#include "server_child.h"

#include <CUnit/CUnit.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef GREENBENCH_BIN_DIR
#error "GREENBENCH_BIN_DIR must be defined (tests/CMakeLists.txt)"
#endif

#define SIZE 1000
#define CURL "/usr/bin/curl"

/* A greenbench-server child (server_child.h: its pid, our end of its
 * stdin, its first line in c.url and the path on its "ca: " line in c.ca,
 * "" when it printed none), and its port. */
typedef struct tls_server {
    server_child c;
    int port;
} tls_server;

static tls_server server = { .c.pid = -1 };
static char server_path[4096];
static char dir[] = "/tmp/greenbench-test-tls-XXXXXX"; /* --tls-dir's, the other CA's. */

/* Stop s: close its stdin, SIGTERM, wait. Returns its exit status, -1 if killed. */
static int server_stop(tls_server *s)
{
    return server_child_stop(&s->c);
}

/* Start greenbench-server with extra (NULL-terminated) after --size SIZE
 * --port 0 --exit-on-stdin-eof, and read its URL line and, with want_ca,
 * its "ca: " line, within 10 s. Returns 0, or -1 (said on stderr). */
static int server_start(tls_server *s, bool want_ca, char *const extra[])
{
    char *argv[16];
    int argc = 0;
    argv[argc++] = server_path;
    argv[argc++] = "--size";
    argv[argc++] = "1000";
    argv[argc++] = "--port";
    argv[argc++] = "0";
    argv[argc++] = "--exit-on-stdin-eof";
    for (int i = 0; extra[i] != NULL && argc < 15; i++)
        argv[argc++] = extra[i];
    argv[argc] = NULL;
    char second[sizeof s->c.ca], err[512];
    if (server_child_spawn(&s->c, argv, want_ca ? second : NULL, sizeof second, 10.0, err, sizeof err) !=
        0) {
        fprintf(stderr, "\n  %s\n", err);
        return -1;
    }
    if (want_ca && strncmp(second, "ca: ", 4) == 0)
        memcpy(s->c.ca, second + 4, strlen(second + 4) + 1);
    const char *colon = strrchr(s->c.url, ':');
    s->port = colon != NULL ? atoi(colon + 1) : 0;
    return 0;
}

/* Run cmd through the shell; its first output line into out. Returns its exit status. */
static int shell(const char *cmd, char *out, size_t len)
{
    FILE *f = popen(cmd, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    size_t got = fread(out, 1, len - 1, f);
    out[got] = '\0';
    int status = pclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool have_curl(void)
{
    if (access(CURL, X_OK) == 0)
        return true;
    fprintf(stderr, "\n  curl not installed: skipped\n");
    return false;
}

/* curl's "%{http_code} %{size_download} %{num_connects}" for each of the
 * URLs (url + path), one line each, into out; returns curl's exit status. */
static int curl_get(const char *ca, const char *url, const char *path1, const char *path2, char *out,
                    size_t len)
{
    char cmd[8192];
    int n =
        snprintf(cmd, sizeof cmd,
                 CURL " -s -m 20 --cacert '%s' -w '%%{http_code} %%{size_download} %%{num_connects}\\n' "
                      "-o /dev/null '%.*s%s'",
                 ca, (int)strlen(url) - 1, url, path1);
    if (path2 != NULL)
        snprintf(cmd + n, sizeof cmd - (size_t)n, " -o /dev/null '%.*s%s'", (int)strlen(url) - 1, url,
                 path2);
    return shell(cmd, out, len);
}

/* Our own TLS client: connect to 127.0.0.1:port verifying against ca_file
 * (and the name 127.0.0.1), send request, read until the server closes.
 * Returns the bytes read into out (NUL-terminated), or -1 when the
 * handshake failed. */
static ssize_t tls_exchange(int port, const char *ca_file, const char *request, char *out, size_t len)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
    CU_ASSERT_FATAL(SSL_CTX_load_verify_locations(ctx, ca_file, NULL) == 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CU_ASSERT_FATAL(fd >= 0);
    struct timeval tv = { .tv_sec = 10 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in addr = { .sin_family = AF_INET,
                                .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    CU_ASSERT_FATAL(connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0);
    SSL *ssl = SSL_new(ctx);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ssl);
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), "127.0.0.1");
    SSL_set_fd(ssl, fd);
    ssize_t got = -1;
    if (SSL_connect(ssl) == 1) {
        CU_ASSERT_EQUAL(SSL_write(ssl, request, (int)strlen(request)), (int)strlen(request));
        got = 0;
        int n;
        while ((size_t)got < len - 1 && (n = SSL_read(ssl, out + got, (int)(len - 1 - (size_t)got))) > 0)
            got += n;
        out[got] = '\0';
    }
    ERR_clear_error();
    SSL_free(ssl);
    close(fd);
    SSL_CTX_free(ctx);
    return got;
}

/* A bad command line: exit status 2 and one line naming what is wrong. */
static void check_bad(char *const argv[], const char *what)
{
    char out[4096];
    CU_ASSERT_EQUAL(run_program(argv, out, sizeof out), 2);
    CU_ASSERT_EQUAL(strncmp(out, "greenbench-server: ", 19), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, what));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, " (see greenbench-server --help)\n"));
    CU_ASSERT_EQUAL(count_of(out, "\n"), 1);
    if (strstr(out, what) == NULL || count_of(out, "\n") != 1)
        fprintf(stderr, "\n  greenbench-server said: %s", out);
}

static char *in_dir(const char *sub, const char *name)
{
    static char paths[8][4200];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s/%s", dir, sub, name);
    return p;
}

/* ---- tests ---- */

static void test_first_lines(void)
{
    CU_ASSERT_EQUAL(strncmp(server.c.url, "https://127.0.0.1:", 18), 0);
    CU_ASSERT_EQUAL(server.c.url[strlen(server.c.url) - 1], '/');
    CU_ASSERT_TRUE(server.port > 0);
    size_t n = strlen(server.c.ca);
    CU_ASSERT_TRUE_FATAL(n > 7);
    CU_ASSERT_STRING_EQUAL(server.c.ca + n - 7, "/ca.pem");
    CU_ASSERT_EQUAL(access(server.c.ca, R_OK), 0);
}

static void test_curl_get(void)
{
    if (!have_curl())
        return;
    char out[256];
    CU_ASSERT_EQUAL(curl_get(server.c.ca, server.c.url, "/", NULL, out, sizeof out), 0);
    CU_ASSERT_STRING_EQUAL(out, "200 1000 1\n");
    /* More than a socket buffer takes: writes that wait (WANT_WRITE). */
    CU_ASSERT_EQUAL(curl_get(server.c.ca, server.c.url, "/?size=20000000", NULL, out, sizeof out), 0);
    CU_ASSERT_STRING_EQUAL(out, "200 20000000 1\n");
}

static void test_curl_keep_alive(void)
{
    if (!have_curl())
        return;
    /* Two URLs: curl reuses the connection (no new connect for the second). */
    char out[256];
    CU_ASSERT_EQUAL(curl_get(server.c.ca, server.c.url, "/a", "/b?size=5", out, sizeof out), 0);
    CU_ASSERT_STRING_EQUAL(out, "200 1000 1\n200 5 0\n");
}

static void test_curl_localhost(void)
{
    if (!have_curl())
        return;
    char url[128], out[256];
    snprintf(url, sizeof url, "https://localhost:%d/", server.port);
    CU_ASSERT_EQUAL(curl_get(server.c.ca, url, "/?size=3", NULL, out, sizeof out), 0);
    CU_ASSERT_STRING_EQUAL(out, "200 3 1\n");
}

static void test_pipelined_after_delay(void)
{
    /* Two requests in one TLS record, larger together than the server's
     * first read takes: the rest waits inside OpenSSL, not in the socket,
     * while the first is delayed; the server must still come back for it. */
    char pad[700];
    memset(pad, 'p', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    char req[2048], out[8192];
    snprintf(req, sizeof req,
             "GET /?delay_ms=50&size=7 HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\n\r\n"
             "GET /?size=9 HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\nConnection: close\r\n\r\n",
             pad, pad);
    ssize_t n = tls_exchange(server.port, server.c.ca, req, out, sizeof out);
    CU_ASSERT_TRUE_FATAL(n > 0);
    CU_ASSERT_EQUAL(count_of(out, "HTTP/1.1 200 OK"), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Content-Length: 7\r\nConnection: keep-alive"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Content-Length: 9\r\nConnection: close"));
}

static void test_bad_request_over_tls(void)
{
    char out[4096];
    CU_ASSERT_TRUE(tls_exchange(server.port, server.c.ca, "garbage\r\n\r\n", out, sizeof out) > 0);
    CU_ASSERT_EQUAL(strncmp(out, "HTTP/1.1 400", 12), 0);
}

/* A second server with --tls-dir: its files stay after it exits, and its
 * CA is not the first server's. */
static void test_tls_dir_and_other_ca(void)
{
    char tls_dir[4200];
    snprintf(tls_dir, sizeof tls_dir, "%s/a", dir);
    tls_server other;
    CU_ASSERT_FATAL(server_start(&other, true, (char *[]){ "--tls-dir", tls_dir, NULL }) == 0);
    CU_ASSERT_STRING_EQUAL(other.c.ca, in_dir("a", "ca.pem"));
    char out[4096];
    CU_ASSERT(tls_exchange(other.port, other.c.ca, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", out,
                           sizeof out) > 0);
    CU_ASSERT_EQUAL(strncmp(out, "HTTP/1.1 200", 12), 0);
    CU_ASSERT_EQUAL(server_stop(&other), 0);
    CU_ASSERT_EQUAL(access(in_dir("a", "ca.pem"), R_OK), 0);
    CU_ASSERT_EQUAL(access(in_dir("a", "leaf.pem"), R_OK), 0);
    struct stat st;
    CU_ASSERT_FATAL(stat(in_dir("a", "leaf.key"), &st) == 0);
    CU_ASSERT_EQUAL(st.st_mode & 077, 0);
    /* The first server's certificate against the other CA: refused. */
    CU_ASSERT_EQUAL(
        tls_exchange(server.port, in_dir("a", "ca.pem"), "GET / HTTP/1.1\r\n\r\n", out, sizeof out), -1);
    if (have_curl())
        CU_ASSERT_EQUAL(curl_get(in_dir("a", "ca.pem"), server.c.url, "/", NULL, out, sizeof out), 60);
}

/* --cert and --key (those --tls-dir left), with two loops. */
static void test_cert_and_key_threads(void)
{
    char tls_dir[4200];
    snprintf(tls_dir, sizeof tls_dir, "%s/b", dir);
    tls_server made, given;
    CU_ASSERT_FATAL(server_start(&made, true, (char *[]){ "--tls-dir", tls_dir, NULL }) == 0);
    CU_ASSERT_EQUAL(server_stop(&made), 0);
    CU_ASSERT_FATAL(server_start(&given, false,
                                 (char *[]){ "--cert", in_dir("b", "leaf.pem"), "--key",
                                             in_dir("b", "leaf.key"), "--threads", "2", NULL }) == 0);
    CU_ASSERT_EQUAL(strncmp(given.c.url, "https://127.0.0.1:", 18), 0);
    for (int i = 0; i < 8; i++) {
        char out[4096];
        ssize_t n = tls_exchange(given.port, in_dir("b", "ca.pem"),
                                 "GET /?size=11 HTTP/1.1\r\nConnection: close\r\n\r\n", out, sizeof out);
        CU_ASSERT_TRUE(n > 0);
        CU_ASSERT_EQUAL(strncmp(out, "HTTP/1.1 200", 12), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "Content-Length: 11\r\n"));
    }
    CU_ASSERT_EQUAL(server_stop(&given), 0);
}

static void test_bad_options(void)
{
    char *p = server_path;
    check_bad((char *[]){ p, "--cert", "x.pem", NULL }, "--cert without --key");
    check_bad((char *[]){ p, "--key", "x.key", NULL }, "--key without --cert");
    check_bad((char *[]){ p, "--cert", "/nonexistent/c.pem", "--key", "/nonexistent/k.pem", NULL },
              "--cert=/nonexistent/c.pem: No such file or directory");
    check_bad((char *[]){ p, "--cert", in_dir("a", "leaf.pem"), "--key", "/nonexistent/k.pem", NULL },
              "--key=/nonexistent/k.pem: No such file or directory");
    check_bad((char *[]){ p, "--cert", in_dir("a", "leaf.key"), "--key", in_dir("a", "leaf.key"), NULL },
              "not a PEM certificate");
    check_bad((char *[]){ p, "--cert", in_dir("a", "leaf.pem"), "--key", in_dir("b", "leaf.key"), NULL },
              "does not match");
    /* A key with a pass phrase: one line at once, no prompt on the terminal or stdin. */
    char command[9000];
    snprintf(command, sizeof command,
             "openssl pkey -in '%s' -aes256 -passout pass:secret -out '%s' 2>/dev/null",
             in_dir("a", "leaf.key"), in_dir("a", "leaf-encrypted.key"));
    CU_ASSERT_EQUAL_FATAL(system(command), 0);
    check_bad((char *[]){ p, "--cert", in_dir("a", "leaf.pem"), "--key", in_dir("a", "leaf-encrypted.key"),
                          NULL },
              "is encrypted: a key with a pass phrase is not supported");
    check_bad((char *[]){ p, "--tls-dir", "/nonexistent/x", NULL }, "--tls-dir=/nonexistent/x");
    check_bad((char *[]){ p, "--tls-dir", dir, "--cert", "a", "--key", "b", NULL }, "not with --cert");
    check_bad((char *[]){ p, "--tls=1", NULL }, "--tls takes no value");
    check_bad((char *[]){ p, "--tls-key-type", "rsa1024", NULL }, "--tls-key-type=rsa1024: expected p256");
    check_bad((char *[]){ p, "--tls-key-type", "p384", "--cert", "a", "--key", "b", NULL },
              "--tls-key-type is for the throwaway CA");
}

/* --tls-key-type rsa2048: an RSA chain, which curl verifies as well. */
static void test_rsa_key_type(void)
{
    tls_server s;
    CU_ASSERT_FATAL(server_start(&s, true, (char *[]){ "--tls-key-type", "rsa2048", NULL }) == 0);
    char out[4096];
    CU_ASSERT(tls_exchange(s.port, s.c.ca, "GET /?size=4 HTTP/1.1\r\nConnection: close\r\n\r\n", out,
                           sizeof out) > 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Content-Length: 4\r\n"));
    FILE *f = fopen(s.c.ca, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    X509 *ca = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ca);
    CU_ASSERT_EQUAL(EVP_PKEY_get_base_id(X509_get0_pubkey(ca)), EVP_PKEY_RSA);
    X509_free(ca);
    CU_ASSERT_EQUAL(server_stop(&s), 0);
}

/* The default: ECDSA on P-256, the CA a CA, the leaf for localhost and 127.0.0.1. */
static void test_default_certificates(void)
{
    FILE *f = fopen(server.c.ca, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    X509 *ca = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ca);
    char name[64] = "";
    CU_ASSERT_EQUAL(EVP_PKEY_get_base_id(X509_get0_pubkey(ca)), EVP_PKEY_EC);
    EVP_PKEY_get_group_name(X509_get0_pubkey(ca), name, sizeof name, NULL);
    CU_ASSERT_STRING_EQUAL(name, "prime256v1");
    CU_ASSERT_EQUAL(X509_check_ca(ca), 1);
    /* Valid now, and for about a day. */
    CU_ASSERT(X509_cmp_current_time(X509_get0_notBefore(ca)) < 0);
    CU_ASSERT(X509_cmp_current_time(X509_get0_notAfter(ca)) > 0);
    X509_free(ca);
}

/* The temporary directory of a server without --tls-dir goes at its exit. */
static void test_temporary_dir_removed(void)
{
    tls_server s;
    CU_ASSERT_FATAL(server_start(&s, true, (char *[]){ "--tls", NULL }) == 0);
    CU_ASSERT_EQUAL(access(s.c.ca, R_OK), 0);
    CU_ASSERT_EQUAL(server_stop(&s), 0);
    CU_ASSERT_NOT_EQUAL(access(s.c.ca, F_OK), 0);
    *strrchr(s.c.ca, '/') = '\0';
    CU_ASSERT_NOT_EQUAL(access(s.c.ca, F_OK), 0);
}

/* ---- suite ---- */

static int tls_init(void)
{
    signal(SIGPIPE, SIG_IGN);
    snprintf(server_path, sizeof server_path, "%s/greenbench-server", GREENBENCH_BIN_DIR);
    if (mkdtemp(dir) == NULL)
        return -1;
    return server_start(&server, true, (char *[]){ "--tls", NULL });
}

static int tls_cleanup(void)
{
    const char *subs[] = { "a", "b" }, *names[] = { "ca.pem", "leaf.pem", "leaf.key" };
    for (int i = 0; i < 2; i++) {
        for (int j = 0; j < 3; j++)
            unlink(in_dir(subs[i], names[j]));
        char sub[4200];
        snprintf(sub, sizeof sub, "%s/%s", dir, subs[i]);
        rmdir(sub);
    }
    rmdir(dir);
    /* A clean exit after all of the above is a test too. */
    return server_stop(&server) == 0 ? 0 : -1;
}

static CU_TestInfo tls_tests[] = {
    { "first_lines", test_first_lines },
    { "curl_get", test_curl_get },
    { "curl_keep_alive", test_curl_keep_alive },
    { "curl_localhost", test_curl_localhost },
    { "pipelined_after_delay", test_pipelined_after_delay },
    { "bad_request_over_tls", test_bad_request_over_tls },
    { "tls_dir_and_other_ca", test_tls_dir_and_other_ca },
    { "cert_and_key_threads", test_cert_and_key_threads },
    { "bad_options", test_bad_options },
    { "temporary_dir_removed", test_temporary_dir_removed },
    { "rsa_key_type", test_rsa_key_type },
    { "default_certificates", test_default_certificates },
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo green_test_suites[] = {
    { .pName = "server_tls", .pInitFunc = tls_init, .pCleanupFunc = tls_cleanup, .pTests = tls_tests },
    CU_SUITE_INFO_NULL,
};
