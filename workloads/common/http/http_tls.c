/* workloads/common/http/http_tls.c: OpenSSL for the thread and epoll cells
 * (http_tls.h), and the thread variants' https flavour,
 * http_io_blocking_tls. */
#include "http_tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static SSL_CTX *client_ctx;
static http_fd_table ssl_of_fd;     /* http_io_blocking_tls: each connection's SSL, by its socket. */

int http_tls_init(const char *ca_file, char *err, size_t errlen)
{
    if (client_ctx != NULL)
        return 0;
    if (http_cacert_check(ca_file, err, errlen) != 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    if (http_fd_table_init(&ssl_of_fd) != 0) {
        snprintf(err, errlen, "out of memory for the connections' TLS state");
        return -1;
    }
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
        snprintf(err, errlen, "cannot make an OpenSSL client context (out of memory?)");
        goto fail;
    }
    int loaded = ca_file != NULL ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
                                 : SSL_CTX_set_default_verify_paths(ctx);
    if (loaded != 1) {
        if (ca_file != NULL)
            snprintf(err, errlen, "--cacert=%s: holds no PEM certificate", ca_file);
        else
            snprintf(err, errlen, "the system's certificate store could not be loaded");
        goto fail;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    /* As green_tls and Python's ssl module (gevent's) do: comparable clients. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    ERR_clear_error();
    client_ctx = ctx;
    return 0;
fail:
    SSL_CTX_free(ctx);
    ERR_clear_error();
    http_fd_table_free(&ssl_of_fd);
    return -1;
}

void http_tls_fini(void)
{
    SSL_CTX_free(client_ctx);
    client_ctx = NULL;
    http_fd_table_free(&ssl_of_fd);
}

static bool is_ip_literal(const char *name)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

SSL *http_tls_new(const http_target *t, int fd)
{
    ERR_clear_error();
    SSL *ssl = client_ctx != NULL ? SSL_new(client_ctx) : NULL;
    if (ssl == NULL)
        return NULL;
    int ok = SSL_set_fd(ssl, fd);
    if (ok && is_ip_literal(t->host))
        /* No SNI for an address (RFC 6066): the certificate's IP SAN is checked. */
        ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), t->host);
    else if (ok)
        ok = SSL_set_tlsext_host_name(ssl, t->host) && SSL_set1_host(ssl, t->host);
    ERR_clear_error();
    if (!ok) {
        SSL_free(ssl);
        return NULL;
    }
    SSL_set_connect_state(ssl);
    /* Whatever the socket holds in one read, not a record's header and
     * body in two (libgreen's green_tls reads the same way). */
    SSL_set_read_ahead(ssl, 1);
    return ssl;
}

/* The code for a failed verification, from X509's reason. */
static int verify_code(long result)
{
    switch (result) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED: return HTTP_ETLS_UNKNOWN_CA;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH: return HTTP_ETLS_NAME_MISMATCH;
    case X509_V_ERR_CERT_HAS_EXPIRED: return HTTP_ETLS_CERT_EXPIRED;
    case X509_V_ERR_CERT_NOT_YET_VALID: return HTTP_ETLS_NOT_YET_VALID;
    default: return HTTP_ETLS_VERIFY;
    }
}

int http_tls_status(SSL *ssl, int ret)
{
    int saved_errno = errno;
    int e = SSL_get_error(ssl, ret);
    unsigned long qerr = ERR_peek_last_error();
    ERR_clear_error();
    switch (e) {
    case SSL_ERROR_NONE:
    case SSL_ERROR_ZERO_RETURN: return 0;
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE: return e;
    case SSL_ERROR_SYSCALL:
        if (qerr == 0 && saved_errno != 0 && ret < 0)
            return -saved_errno;
        return qerr == 0 ? HTTP_ETLS_TRUNCATED : HTTP_ETLS_PROTOCOL;
    case SSL_ERROR_SSL:
        if (ERR_GET_LIB(qerr) == ERR_LIB_SSL) {
            if (ERR_GET_REASON(qerr) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
                return HTTP_ETLS_TRUNCATED;
            if (ERR_GET_REASON(qerr) == SSL_R_CERTIFICATE_VERIFY_FAILED)
                return verify_code(SSL_get_verify_result(ssl));
        }
        return HTTP_ETLS_PROTOCOL;
    default: return HTTP_ETLS_PROTOCOL;
    }
}

/* ---- http_io_blocking_tls ---- */

/* A blocking call's want (its socket timed out: SO_RCVTIMEO, SO_SNDTIMEO)
 * is a timeout. */
static int blocking_status(SSL *ssl, int ret)
{
    int st = http_tls_status(ssl, ret);
    return st == SSL_ERROR_WANT_READ || st == SSL_ERROR_WANT_WRITE ? -ETIMEDOUT : st;
}

static int blocking_tls_connect(const http_target *t, double deadline)
{
    int fd = http_io_blocking.connect(t, deadline);
    if (fd < 0)
        return fd;
    SSL *ssl = http_tls_new(t, fd);
    int err = ssl != NULL ? http_fd_table_put(&ssl_of_fd, fd, ssl) : -ENOMEM;
    if (err != 0) {
        SSL_free(ssl);
        close(fd);
        return err;
    }
    ERR_clear_error();
    errno = 0;
    int ret = SSL_connect(ssl);
    if (ret != 1) {
        err = blocking_status(ssl, ret);
        http_fd_table_put(&ssl_of_fd, fd, NULL);
        SSL_free(ssl);
        close(fd);
        return err != 0 ? err : HTTP_ETLS_PROTOCOL;     /* A close_notify before the handshake ended. */
    }
    return fd;
}

static ssize_t blocking_tls_send(int fd, const void *buf, size_t len, double deadline)
{
    (void)deadline;     /* SO_SNDTIMEO, set at connect from the same deadline, bounds each write. */
    SSL *ssl = ssl_of_fd.slot[fd];
    ERR_clear_error();
    errno = 0;
    int ret = SSL_write(ssl, buf, (int)len);    /* Whole, in blocking mode. */
    if (ret > 0)
        return ret;
    int err = blocking_status(ssl, ret);
    return err != 0 ? err : HTTP_ETLS_PROTOCOL;    /* close_notify while we send: not an answer. */
}

static ssize_t blocking_tls_recv(int fd, void *buf, size_t len, double deadline)
{
    (void)deadline;
    SSL *ssl = ssl_of_fd.slot[fd];
    ERR_clear_error();
    errno = 0;
    int ret = SSL_read(ssl, buf, (int)len);
    return ret > 0 ? (ssize_t)ret : (ssize_t)blocking_status(ssl, ret); /* 0: close_notify, end of file. */
}

/* As the plain flavour: the response is read to its end (or the fetch
 * failed), and the connection ends with a reset, without a close_notify. */
static void blocking_tls_close(int fd)
{
    SSL_free(ssl_of_fd.slot[fd]);
    ssl_of_fd.slot[fd] = NULL;
    http_close_reset(fd);
}

const http_io http_io_blocking_tls = {
    .now = http_mono_now,
    .connect = blocking_tls_connect,
    .send = blocking_tls_send,
    .recv = blocking_tls_recv,
    .close = blocking_tls_close,
};
