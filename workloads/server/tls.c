/* workloads/server/tls.c: greenbench-server's certificates and TLS context (tls.h). */
#include "server/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* The reason of the earliest error in OpenSSL's queue ("unknown" when it is
 * empty), the queue then cleared so that it says nothing about a later call. */
static const char *ssl_reason(char *buf, size_t n)
{
    unsigned long e = ERR_peek_error();
    const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;
    if (r != NULL)
        snprintf(buf, n, "%s", r);
    else if (e != 0)
        ERR_error_string_n(e, buf, n);
    else
        snprintf(buf, n, "unknown error");
    ERR_clear_error();
    return buf;
}

/* Add extension nid with value (openssl x509v3_config syntax) to cert,
 * issuer as the signer. Returns 0 or -1. */
static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL)
        return -1;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

/* One certificate extension: its nid and its value in openssl's
 * x509v3_config syntax. */
struct ext {
    int nid;
    const char *value;
};

/* A certificate for key named cn, signed by issuer_key (issuer NULL: by
 * itself), with the extensions in exts[] (ending in nid 0). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                       const struct ext *exts)
{
    X509 *cert = X509_new();
    unsigned char serial[16];
    if (cert == NULL || RAND_bytes(serial, sizeof serial) != 1)
        goto fail;
    serial[0] &= 0x7f; /* A positive serial number. */
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    bool serial_ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
    BN_free(bn);
    X509_NAME *name = X509_get_subject_name(cert);
    if (!serial_ok || X509_set_version(cert, X509_VERSION_3) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(cert), -3600) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600) == NULL || X509_set_pubkey(cert, key) != 1 ||
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"greenbench", -1, -1,
                                   0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) != 1 ||
        X509_set_issuer_name(cert, issuer != NULL ? X509_get_subject_name(issuer) : name) != 1)
        goto fail;
    for (; exts->nid != 0; exts++)
        if (add_ext(cert, issuer != NULL ? issuer : cert, exts->nid, exts->value) != 0)
            goto fail;
    if (X509_sign(cert, issuer_key, EVP_sha256()) == 0)
        goto fail;
    return cert;
fail:
    X509_free(cert);
    return NULL;
}

/* Write one PEM file (a certificate, or a key when key is not NULL) as dir/name. */
static int write_pem(const char *dir, const char *name, X509 *cert, EVP_PKEY *key, char *err, size_t errlen)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) {
        snprintf(err, errlen, "--tls-dir=%s: too long a path", dir);
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, key != NULL ? 0600 : 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f == NULL) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int ok =
        key != NULL ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) : PEM_write_X509(f, cert);
    if (fclose(f) != 0 || !ok) {
        char why[256];
        snprintf(err, errlen, "cannot write %s: %s", path,
                 ok ? strerror(errno) : ssl_reason(why, sizeof why));
        return -1;
    }
    return 0;
}

/* A fresh key of type (gb_tls_key_type_known), or NULL. */
static EVP_PKEY *make_key(const char *type)
{
    if (strcmp(type, "p256") == 0)
        return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (strcmp(type, "p384") == 0)
        return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    if (strncmp(type, "rsa", 3) == 0)
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)atoi(type + 3));
    return NULL;
}

bool gb_tls_key_type_known(const char *type)
{
    static const char *const known[] = { "p256", "p384", "rsa2048", "rsa3072", "rsa4096" };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(type, known[i]) == 0)
            return true;
    return false;
}

int gb_tls_make_certs(const char *dir, const char *type, char *err, size_t errlen)
{
    static const struct ext ca_exts[] = {
        { NID_basic_constraints, "critical,CA:TRUE" },
        { NID_key_usage, "critical,keyCertSign,cRLSign" },
        { NID_subject_key_identifier, "hash" },
        { 0, NULL },
    };
    static const struct ext leaf_exts[] = {
        { NID_basic_constraints, "critical,CA:FALSE" },
        { NID_key_usage, "critical,digitalSignature" },
        { NID_ext_key_usage, "serverAuth" },
        { NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1" },
        { NID_subject_key_identifier, "hash" },
        { NID_authority_key_identifier, "keyid:always" },
        { 0, NULL },
    };
    int rc = -1;
    char why[256];
    X509 *ca = NULL, *leaf = NULL;
    EVP_PKEY *ca_key = make_key(type);
    EVP_PKEY *leaf_key = make_key(type);
    if (ca_key == NULL || leaf_key == NULL) {
        snprintf(err, errlen, "cannot make a %s key: %s", type, ssl_reason(why, sizeof why));
        goto done;
    }
    ca = make_cert(ca_key, "greenbench throwaway CA", NULL, ca_key, ca_exts);
    leaf = ca != NULL ? make_cert(leaf_key, "localhost", ca, ca_key, leaf_exts) : NULL;
    if (leaf == NULL) {
        snprintf(err, errlen, "cannot make the certificates: %s", ssl_reason(why, sizeof why));
        goto done;
    }
    if (write_pem(dir, "ca.pem", ca, NULL, err, errlen) == 0 &&
        write_pem(dir, "leaf.pem", leaf, NULL, err, errlen) == 0 &&
        write_pem(dir, "leaf.key", NULL, leaf_key, err, errlen) == 0)
        rc = 0;
done:
    X509_free(leaf);
    X509_free(ca);
    EVP_PKEY_free(leaf_key);
    EVP_PKEY_free(ca_key);
    return rc;
}

/* OpenSSL's pass-phrase callback: none to give; note that one was asked. */
static int no_pass_phrase(char *buf, int size, int rwflag, void *asked)
{
    (void)buf, (void)size, (void)rwflag;
    *(bool *)asked = true;
    return 0;
}

SSL_CTX *gb_tls_ctx_new(const char *cert_file, const char *key_file, char *err, size_t errlen)
{
    char why[256];
    /* Unreadable files first, with errno's words rather than OpenSSL's. */
    const char *files[2][2] = { { "--cert", cert_file }, { "--key", key_file } };
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(files[i][1], "r");
        if (f == NULL) {
            snprintf(err, errlen, "%s=%s: %s", files[i][0], files[i][1], strerror(errno));
            return NULL;
        }
        fclose(f);
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        snprintf(err, errlen, "cannot make a TLS context: %s", ssl_reason(why, sizeof why));
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* A key with a pass phrase fails at once: OpenSSL's own prompt would
     * wait on the terminal, or read the parent's pipe on stdin. */
    bool asked_pass_phrase = false;
    SSL_CTX_set_default_passwd_cb(ctx, no_pass_phrase);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, &asked_pass_phrase);
    /* Partial writes and a moving buffer: server.c gathers each record
     * anew on a retry. A client that closes without close_notify ends its
     * connection as an end of file, not an error. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        snprintf(err, errlen, "--cert=%s: not a PEM certificate (%s)", cert_file,
                 ssl_reason(why, sizeof why));
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        /* OpenSSL also lands here when the key does not match the certificate. */
        unsigned long e = ERR_peek_last_error();
        if (ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH ||
            ERR_GET_REASON(e) == X509_R_KEY_TYPE_MISMATCH) {
            ERR_clear_error();
            snprintf(err, errlen, "--key=%s does not match --cert=%s", key_file, cert_file);
        } else if (asked_pass_phrase) {
            ERR_clear_error();
            snprintf(err, errlen, "--key=%s is encrypted: a key with a pass phrase is not supported",
                     key_file);
        } else {
            snprintf(err, errlen, "--key=%s: not a PEM private key (%s)", key_file,
                     ssl_reason(why, sizeof why));
        }
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        snprintf(err, errlen, "--key=%s does not match --cert=%s", key_file, cert_file);
        goto fail;
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}
