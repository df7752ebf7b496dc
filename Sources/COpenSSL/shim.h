/* OpenSSL 3 libcrypto, with every API deprecated in 3.0 hidden so none can be used by accident. */
#ifndef RELYD_COPENSSL_SHIM_H
#define RELYD_COPENSSL_SHIM_H
#define OPENSSL_API_COMPAT 30000
#define OPENSSL_NO_DEPRECATED 1
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>
#include <openssl/rand.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/pem.h>

/* Macros built from other macros are not imported by Swift; these constants stand in for them. */
static const int relyd_EVP_PKEY_PUBLIC_KEY = EVP_PKEY_PUBLIC_KEY;
static const int relyd_EVP_PKEY_KEYPAIR = EVP_PKEY_KEYPAIR;
/* OSSL_PARAM_BLD keeps key pointers until OSSL_PARAM_BLD_to_param: they must be C literals. */
static const char *const relyd_PARAM_RSA_N = OSSL_PKEY_PARAM_RSA_N;
static const char *const relyd_PARAM_RSA_E = OSSL_PKEY_PARAM_RSA_E;
static const char *const relyd_PARAM_GROUP_NAME = OSSL_PKEY_PARAM_GROUP_NAME;
static const char *const relyd_PARAM_PUB_KEY = OSSL_PKEY_PARAM_PUB_KEY;
/* OSSL_PARAM_BLD also keeps UTF-8 string values by pointer: curve group names as C literals. */
static const char *const relyd_GROUP_P256 = "prime256v1";
static const char *const relyd_GROUP_P384 = "secp384r1";
static const char *const relyd_GROUP_P521 = "secp521r1";
#endif
