#ifndef SOOT_COPENSSL_SHIM_H
#define SOOT_COPENSSL_SHIM_H
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/* SSL_set_tlsext_host_name is a macro: the server name a TLS client sends (SNI). */
static inline long soot_ssl_set_server_name(SSL *ssl, const char *name) { return SSL_set_tlsext_host_name(ssl, name); }
#endif
