/* workloads/common/http/http_tls.h: OpenSSL for the C cells that drive it
 * themselves: the thread variants (http_io_blocking_tls, a blocking SSL per
 * connection, as a thread-per-request program has it) and the epoll
 * engine (non-blocking, its own state machine). The green variants use
 * libgreen's green_tls instead (http_green.c). Both sides verify the same
 * way: the chain against --cacert (or the system's store), the name
 * against the URL's host (an IP literal against the certificate's
 * addresses, a name against its DNS names, with SNI). */
#ifndef GREEN_HTTP_TLS_H
#define GREEN_HTTP_TLS_H

#include "http.h"

#include <openssl/ssl.h>

/* Make the process's client context: TLS 1.2 and up, verification on,
 * trusting the certificates in ca_file (PEM), or the system's store when
 * NULL. Also ignores SIGPIPE: OpenSSL's socket BIO writes with write(2),
 * and a server that resets mid-write must fail one request, not kill the
 * cell. Returns 0, or -1 with why in err ("--cacert=F: ..."). */
int http_tls_init(const char *ca_file, char *err, size_t errlen);
void http_tls_fini(void);

/* A client SSL on fd, set to verify t->host and ready to connect; the fd
 * is not closed by SSL_free. NULL when out of memory. */
SSL *http_tls_new(const http_target *t, int fd);

/* What an SSL call that returned ret means, read right after it (the error
 * queue was cleared before it; it is left empty): 0 when it succeeded or
 * the peer sent close_notify (SSL_ERROR_ZERO_RETURN), SSL_ERROR_WANT_READ
 * or SSL_ERROR_WANT_WRITE, or an error: HTTP_ETLS_* or a negative errno. */
int http_tls_status(SSL *ssl, int ret);

#endif /* GREEN_HTTP_TLS_H */
