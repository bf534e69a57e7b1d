/* workloads/server/tls.h: greenbench-server's certificates and TLS context
 * (--tls): a throwaway CA and a leaf for localhost / 127.0.0.1 made with
 * OpenSSL's API, or a certificate and key given. Apart from server.c so
 * that the event loop's side of TLS (server.c) stays about sockets. */
#ifndef GREEN_SERVER_TLS_H
#define GREEN_SERVER_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

/* The key types gb_tls_make_certs makes, as --tls-key-type names them:
 * "p256" (ECDSA on P-256, the default), "p384", "rsa2048", "rsa3072",
 * "rsa4096". true if type is one of them. */
bool gb_tls_key_type_known(const char *type);

/* Make a throwaway CA and a leaf it signs, both on fresh keys of type
 * (above), valid from an hour ago to a day from now, and write them into
 * dir (which exists): ca.pem (the CA's certificate, for clients to verify
 * with), leaf.pem (the leaf's certificate: CN localhost, subjectAltName
 * DNS:localhost and IP:127.0.0.1) and leaf.key (its key, mode 0600). The
 * CA's key is not written. Returns 0, or -1 with why in err. */
int gb_tls_make_certs(const char *dir, const char *type, char *err, size_t errlen);

/* A server SSL_CTX (TLS 1.2 and up) with the certificate chain in cert_file
 * and the key in key_file, the two checked to match. Returns it, or NULL
 * with why in err (one line, naming the file at fault). */
SSL_CTX *gb_tls_ctx_new(const char *cert_file, const char *key_file, char *err, size_t errlen);

#endif /* GREEN_SERVER_TLS_H */
