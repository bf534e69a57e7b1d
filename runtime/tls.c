/* runtime/tls.c: green_tls_*, TLS over cooperative sockets with OpenSSL 3.
 *
 * OpenSSL's error queue is per OS thread, so every green thread of a hub
 * shares it, as they share errno. Every OpenSSL call is therefore made as
 * one step that never switches: clear the queue, call, read SSL_get_error
 * and the queue's reason at once, clear it again. Only then, outside
 * OpenSSL, does the green thread wait for the fd in the hub's loop (the
 * same wait as io.c's), and it retries the call when the fd is ready.
 *
 * Each step runs on the hub's call stack (green__call_deep), not the green
 * thread's: a handshake's verification goes several pages deep, and a
 * thread that only waits between steps then needs a small stack.
 *
 * The socket I/O goes through a BIO of our own that sends and receives with
 * MSG_NOSIGNAL | MSG_DONTWAIT: OpenSSL's socket BIO writes with write(2),
 * which raises SIGPIPE on a closed peer, and it needs no O_NONBLOCK. */
#include "internal.h"

#include <arpa/inet.h>
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <pthread.h>
#include <stdlib.h>

struct green_tls_config {
    SSL_CTX *ctx;
    bool server;
};

struct green_tls {
    SSL *ssl;
    int fd;
    int sys_errno; /* errno of the BIO's last failed send/recv; 0: none. */
    int failed;    /* The error that made the connection unusable; 0: none. */
    int shut;      /* Our close_notify is written: a shutdown again does nothing. */
};

/* ---- the BIO: send/recv with MSG_NOSIGNAL | MSG_DONTWAIT -------------- */

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static int bio_write(BIO *b, const char *buf, int len)
{
    green_tls *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    ssize_t n;
    do {
        n = send(t->fd, buf, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n >= 0)
        return (int)n;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        BIO_set_retry_write(b);
    else
        t->sys_errno = errno;
    return -1;
}

static int bio_read(BIO *b, char *buf, int len)
{
    green_tls *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    ssize_t n;
    do {
        n = recv(t->fd, buf, (size_t)len, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n >= 0)
        return (int)n; /* 0: the peer closed; OpenSSL decides if that truncates. */
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        BIO_set_retry_read(b);
    else
        t->sys_errno = errno;
    return -1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    /* Writes go straight to the socket: nothing to flush. Everything else
     * (kTLS, datagram controls, ...) is not supported. */
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static void make_bio_method(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "green socket");
    if (m == NULL)
        return;
    if (!BIO_meth_set_write(m, bio_write) || !BIO_meth_set_read(m, bio_read) ||
        !BIO_meth_set_ctrl(m, bio_ctrl) || !BIO_meth_set_create(m, bio_create)) {
        BIO_meth_free(m);
        return;
    }
    bio_method = m; /* Kept for the process's life, as OpenSSL's own are. */
}

/* ---- errors ------------------------------------------------------------ */

/* The code for a failed certificate verification, from X509's reason. */
static int verify_code(long result)
{
    switch (result) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED: return GREEN_ETLS_UNKNOWN_CA;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH: return GREEN_ETLS_NAME_MISMATCH;
    case X509_V_ERR_CERT_HAS_EXPIRED: return GREEN_ETLS_CERT_EXPIRED;
    case X509_V_ERR_CERT_NOT_YET_VALID: return GREEN_ETLS_NOT_YET_VALID;
    default: return GREEN_ETLS_VERIFY;
    }
}

/* One step's outcome: what SSL_get_error said, turned into 0 (done),
 * GREEN_READ / GREEN_WRITE (wait for that and retry) or an error. Reads the
 * error queue and the verification result, and leaves the queue empty: the
 * caller may wait (and so switch) right after. */
static int classify(green_tls *t, int ret, int ok)
{
    if (ok) {
        ERR_clear_error();
        return 0;
    }
    int e = SSL_get_error(t->ssl, ret);
    unsigned long qerr = ERR_peek_last_error();
    ERR_clear_error();
    switch (e) {
    case SSL_ERROR_WANT_READ: return GREEN_READ;
    case SSL_ERROR_WANT_WRITE: return GREEN_WRITE;
    case SSL_ERROR_ZERO_RETURN: return 0; /* The caller decides what a clean close means. */
    case SSL_ERROR_SYSCALL:
        if (t->sys_errno != 0)
            return -t->sys_errno;
        /* End of file in the middle of a record or handshake. */
        return qerr == 0 ? GREEN_ETLS_TRUNCATED : GREEN_ETLS_PROTOCOL;
    case SSL_ERROR_SSL: {
        if (t->sys_errno != 0)
            return -t->sys_errno;
        long vr = SSL_get_verify_result(t->ssl);
        if (ERR_GET_LIB(qerr) == ERR_LIB_SSL) {
            int reason = ERR_GET_REASON(qerr);
            if (reason == SSL_R_UNEXPECTED_EOF_WHILE_READING)
                return GREEN_ETLS_TRUNCATED;
            if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED)
                return verify_code(vr);
        }
        return GREEN_ETLS_PROTOCOL;
    }
    default: return GREEN_ETLS_PROTOCOL;
    }
}

/* One OpenSSL call, classified (above). */
typedef struct tls_step {
    green_tls *t;
    enum { STEP_HANDSHAKE, STEP_READ, STEP_WRITE, STEP_SHUTDOWN } op;
    void *buf;          /* STEP_READ, STEP_WRITE: len bytes; done of them moved. */
    size_t len, done;
    int ret;            /* SSL_do_handshake's or SSL_shutdown's result. */
    bool ok;
    int want;           /* What classify said. */
} tls_step;

static void run_step(void *arg)
{
    tls_step *s = arg;
    SSL *ssl = s->t->ssl;
    ERR_clear_error();
    s->t->sys_errno = 0;
    s->done = 0;
    switch (s->op) {
    case STEP_HANDSHAKE:
        s->ret = SSL_do_handshake(ssl);
        s->ok = s->ret == 1;
        break;
    case STEP_READ: s->ok = SSL_read_ex(ssl, s->buf, s->len, &s->done); break;
    case STEP_WRITE: s->ok = SSL_write_ex(ssl, s->buf, s->len, &s->done); break;
    case STEP_SHUTDOWN:
        s->ret = SSL_shutdown(ssl); /* 0: ours is sent, the peer's not yet read; 1: both. */
        s->ok = s->ret >= 0;
        break;
    }
    s->want = classify(s->t, s->ret, s->ok);
}

/* Make the step s; returns what classify said of it. */
static int step(tls_step *s)
{
    green__call_deep(run_step, s);
    return s->want;
}

/* Ready to wait for want (GREEN_READ / GREEN_WRITE) and retry, or an
 * error: the deadline, a kill. */
static int wait_for(green__hub *h, green_tls *t, int want, green__deadline *d)
{
    /* Until the peer answers the connection is idle: its record buffers go
     * back to the heap (kept only while they hold a record or part of one),
     * which SSL_MODE_RELEASE_BUFFERS alone does not do after a handshake
     * message or an alert. */
    SSL_free_buffers(t->ssl);
    int ready = green__wait_socket(h, t->fd, want, d);
    return ready < 0 ? ready : 0;
}

/* An error sticks to the connection: OpenSSL forbids further calls,
 * SSL_shutdown included, after SSL_ERROR_SSL or SSL_ERROR_SYSCALL, and a
 * write or shutdown cut short leaves part of a record that only the same
 * call could finish. A read that timed out or was killed is the exception:
 * nothing of it is pending, and the next read may go on. */
static int fail(green_tls *t, int err, bool reading)
{
    if (!reading || (err != GREEN_ETIMEDOUT && err != GREEN_ECANCELED && err != GREEN_EDEADLK))
        t->failed = err;
    return err;
}

/* ---- configuration ----------------------------------------------------- */

static int no_passphrase(char *buf, int size, int rwflag, void *data)
{
    (void)buf, (void)size, (void)rwflag, (void)data;
    return 0;
}

int green_tls_config_new(green_tls_config **out, const green_tls_options *o)
{
    if (out == NULL)
        return GREEN_EINVAL;
    *out = NULL;
    if (o == NULL || (o->server && o->cert_file == NULL) || (o->key_file != NULL && o->cert_file == NULL))
        return GREEN_EINVAL;
    green_tls_config *c = calloc(1, sizeof *c);
    if (c == NULL)
        return GREEN_ENOMEM;
    int err = GREEN_ENOMEM;
    ERR_clear_error();
    c->server = o->server;
    c->ctx = SSL_CTX_new(o->server ? TLS_server_method() : TLS_client_method());
    if (c->ctx == NULL)
        goto fail_ctx;
    err = GREEN_ETLS_CONFIG;
    /* An encrypted key fails here: OpenSSL's own passphrase prompt would
     * block the hub reading the terminal. */
    SSL_CTX_set_default_passwd_cb(c->ctx, no_passphrase);
    if (!SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION))
        goto fail_setup;
    /* write_all writes in records and counts what went out. A connection
     * between reads and writes gives its record buffers (about 17 KB each
     * way) back, as Python's ssl module has them do: an idle connection
     * costs its session state only. */
    SSL_CTX_set_mode(c->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_RELEASE_BUFFERS);
    if (o->cert_file != NULL) {
        const char *key = o->key_file != NULL ? o->key_file : o->cert_file;
        if (SSL_CTX_use_certificate_chain_file(c->ctx, o->cert_file) != 1 ||
            SSL_CTX_use_PrivateKey_file(c->ctx, key, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(c->ctx) != 1)
            goto fail_setup;
    }
    if (o->server) {
        if (o->ca_file != NULL) {
            if (SSL_CTX_load_verify_locations(c->ctx, o->ca_file, NULL) != 1)
                goto fail_setup;
            SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        }
    } else {
        /* A ca_file given with no_verify is read all the same: a wrong path
         * is an error the day verification is turned back on, so it is one
         * now. */
        int loaded = o->ca_file != NULL ? SSL_CTX_load_verify_locations(c->ctx, o->ca_file, NULL)
                     : o->no_verify     ? 1
                                        : SSL_CTX_set_default_verify_paths(c->ctx);
        if (loaded != 1)
            goto fail_setup;
        if (!o->no_verify)
            SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    }
    ERR_clear_error();
    *out = c;
    return 0;

fail_setup:
    SSL_CTX_free(c->ctx);
fail_ctx:
    ERR_clear_error();
    free(c);
    return err;
}

void green_tls_config_free(green_tls_config *c)
{
    if (c == NULL)
        return;
    SSL_CTX_free(c->ctx);
    free(c);
}

/* ---- connections ------------------------------------------------------- */

static bool is_ip_literal(const char *name)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

/* A new connection on fd, its BIO ours; client: with server_name set for
 * SNI and verification. */
static int tls_new(green_tls **out, green_tls_config *c, int fd, const char *server_name, bool client)
{
    pthread_once(&bio_once, make_bio_method);
    if (bio_method == NULL)
        return GREEN_ENOMEM;
    green_tls *t = calloc(1, sizeof *t);
    if (t == NULL)
        return GREEN_ENOMEM;
    t->fd = fd;
    int err = GREEN_ENOMEM;
    ERR_clear_error();
    t->ssl = SSL_new(c->ctx);
    if (t->ssl == NULL)
        goto fail_ssl;
    BIO *bio = BIO_new(bio_method);
    if (bio == NULL)
        goto fail_bio;
    BIO_set_data(bio, t);
    SSL_set_bio(t->ssl, bio, bio); /* The SSL owns it now. */
    /* Whatever the socket holds in one recv, not a record's header and
     * body in two: half the system calls per record. */
    SSL_set_read_ahead(t->ssl, 1);
    if (client) {
        SSL_set_connect_state(t->ssl);
        if (server_name != NULL) {
            if (is_ip_literal(server_name)) {
                /* No SNI for an address (RFC 6066); check the IP SAN. */
                if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), server_name) != 1)
                    goto fail_bio;
            } else if (SSL_set_tlsext_host_name(t->ssl, server_name) != 1 ||
                       SSL_set1_host(t->ssl, server_name) != 1) {
                err = GREEN_EINVAL;
                goto fail_bio;
            }
        }
    } else {
        SSL_set_accept_state(t->ssl);
    }
    ERR_clear_error();
    *out = t;
    return 0;

fail_bio:
    SSL_free(t->ssl);
fail_ssl:
    ERR_clear_error();
    free(t);
    return err;
}

static int handshake(green_tls **out, green_tls_config *c, int fd, const char *server_name, bool client,
                     double timeout)
{
    green__hub *h = green__hub_get();
    if (out == NULL)
        return GREEN_EINVAL;
    *out = NULL;
    if (h == NULL || c == NULL || fd < 0 || c->server == client)
        return GREEN_EINVAL;
    if (client && server_name == NULL && SSL_CTX_get_verify_mode(c->ctx) != SSL_VERIFY_NONE)
        return GREEN_EINVAL;
    if (green__killed(h))
        return GREEN_ECANCELED;
    green_tls *t;
    int err = tls_new(&t, c, fd, server_name, client);
    if (err != 0)
        return err;
    green__deadline d = { .timeout = timeout };
    tls_step s = { .t = t, .op = STEP_HANDSHAKE };
    for (;;) {
        int want = step(&s);
        if (s.ok) {
            *out = t;
            return 0;
        }
        if (want == 0)
            want = GREEN_ETLS_PROTOCOL; /* A close_notify before the handshake ended. */
        if (want < 0 || (want = wait_for(h, t, want, &d)) < 0) {
            green_tls_free(t);
            return want;
        }
    }
}

int green_tls_connect(green_tls **out, green_tls_config *c, int fd, const char *server_name, double timeout)
{
    return handshake(out, c, fd, server_name, true, timeout);
}

int green_tls_accept(green_tls **out, green_tls_config *c, int fd, double timeout)
{
    return handshake(out, c, fd, NULL, false, timeout);
}

/* The checks every call on a connection starts with: 0 or the error. */
static int usable(green__hub *h, green_tls *t)
{
    if (h == NULL || t == NULL)
        return GREEN_EINVAL;
    if (green__killed(h))
        return GREEN_ECANCELED;
    return t->failed;
}

ssize_t green_tls_read(green_tls *t, void *buf, size_t len, double timeout)
{
    green__hub *h = green__hub_get();
    int err = usable(h, t);
    if (err != 0)
        return err;
    if (buf == NULL && len > 0)
        return GREEN_EINVAL;
    if (len == 0)
        return 0;
    green__deadline d = { .timeout = timeout };
    tls_step s = { .t = t, .op = STEP_READ, .buf = buf, .len = len };
    for (;;) {
        int want = step(&s);
        if (s.ok)
            return (ssize_t)s.done;
        if (want == 0)
            return 0; /* close_notify: a clean end of file. */
        if (want < 0)
            return fail(t, want, true);
        err = wait_for(h, t, want, &d);
        if (err < 0)
            return fail(t, err, true);
    }
}

ssize_t green_tls_write_all(green_tls *t, const void *buf, size_t len, double timeout)
{
    green__hub *h = green__hub_get();
    int err = usable(h, t);
    if (err != 0)
        return err;
    if (buf == NULL && len > 0)
        return GREEN_EINVAL;
    /* Our close_notify is out: nothing more may follow, but the connection
     * stays good for reading the peer's (OpenSSL would call it a protocol
     * error and make the connection unusable). */
    if (t->shut)
        return GREEN_EPIPE;
    green__deadline d = { .timeout = timeout };
    size_t done = 0;
    while (done < len) {
        tls_step s = { .t = t, .op = STEP_WRITE, .buf = (char *)buf + done, .len = len - done };
        int want = step(&s);
        if (s.ok) {
            done += s.done;
            continue;
        }
        if (want == 0)
            want = GREEN_EPIPE; /* The peer's close_notify ended the session. */
        if (want > 0)
            want = wait_for(h, t, want, &d);
        if (want < 0) {
            fail(t, want, false);
            return done > 0 ? (ssize_t)done : want;
        }
    }
    return (ssize_t)done;
}

int green_tls_shutdown(green_tls *t, double timeout)
{
    green__hub *h = green__hub_get();
    int err = usable(h, t);
    if (err != 0)
        return err;
    /* Once sent, SSL_shutdown would wait for the peer's close_notify. */
    if (t->shut)
        return 0;
    green__deadline d = { .timeout = timeout };
    tls_step s = { .t = t, .op = STEP_SHUTDOWN };
    for (;;) {
        int want = step(&s);
        if (s.ok || want == 0) {
            t->shut = 1;
            return 0;
        }
        if (want < 0)
            return fail(t, want, false);
        err = wait_for(h, t, want, &d);
        if (err < 0)
            return fail(t, err, false);
    }
}

void green_tls_free(green_tls *t)
{
    if (t == NULL)
        return;
    SSL_free(t->ssl); /* And the BIO; the fd stays open. */
    ERR_clear_error();
    free(t);
}
