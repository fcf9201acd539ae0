/*
 * crypto.c: mcptest.core.crypto, the cryptographic primitives the OAuth
 * client (PKCE, state) and the fixture's authorization server (token
 * hashing, client-secret checks) need, on OpenSSL's libcrypto.
 *
 *   sha256(bytes)            -> 32 raw bytes
 *   random_bytes(n)          -> n bytes from RAND_bytes (CSPRNG)
 *   base64url_encode(bytes)  -> text, RFC 4648 section 5, no padding
 *   base64url_decode(text)   -> bytes, or nil, err (padding tolerated)
 *   base64_encode(bytes)     -> text, RFC 4648 section 4, padded
 *   base64_decode(text)      -> bytes, or nil, err (padding optional)
 *   equals(a, b)             -> boolean, time independent of where a and b differ
 *   generate_key(alg)        -> PEM private key (alg "ES256": P-256, "RS256": RSA 2048)
 *   sign(alg, pem, bytes)    -> JWS signature bytes (ES256: r||s, 64 bytes;
 *                               RS256: RSASSA-PKCS1-v1_5 SHA-256), or nil, err
 *   public_jwk(pem)          -> {kty=, crv=, x=, y=} | {kty="RSA", n=, e=}
 *                               (the public half, base64url members), or nil, err
 *   verify(alg, jwk, bytes, sig) -> boolean, or nil, err for an unusable key
 *
 * Uses util.c (mcpt_fail) only. It never logs or prints its inputs: they
 * are secrets (verifiers, tokens, client secrets). Misuse (a non-string,
 * a negative length) raises; undecodable input returns nil, err.
 */
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "mcptest.h"

/* Largest random_bytes request: far above any key or token need. */
#define CRYPTO_MAX_RANDOM (1 << 20)

static const char crypto_b64[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char crypto_b64url[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* ===== hashing ===== */

static int crypto_sha256(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  unsigned char md[SHA256_DIGEST_LENGTH];
  if (!EVP_Digest(s, n, md, NULL, EVP_sha256(), NULL))
    return luaL_error(L, "sha256: OpenSSL digest failed");
  lua_pushlstring(L, (const char *)md, sizeof md);
  return 1;
}

static int crypto_random_bytes(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_Buffer b;
  unsigned char *p;
  luaL_argcheck(L, n >= 0 && n <= CRYPTO_MAX_RANDOM, 1, "length out of range");
  p = (unsigned char *)luaL_buffinitsize(L, &b, (size_t)n);
  if (n > 0 && RAND_bytes(p, (int)n) != 1) {
    OPENSSL_cleanse(p, (size_t)n);
    return luaL_error(L, "random_bytes: RAND_bytes failed");
  }
  luaL_pushresultsize(&b, (size_t)n);
  return 1;
}

/* Compares every byte whatever the mismatches; lengths are not secret. */
static int crypto_equals(lua_State *L) {
  size_t an, bn;
  const char *a = luaL_checklstring(L, 1, &an);
  const char *b = luaL_checklstring(L, 2, &bn);
  lua_pushboolean(L, an == bn && CRYPTO_memcmp(a, b, an) == 0);
  return 1;
}

/* ===== base64 (RFC 4648) ===== */

static void crypto_b64_encode(lua_State *L, const char *alphabet, int pad) {
  size_t n, i;
  const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (i = 0; i + 2 < n; i += 3) {
    unsigned long v = ((unsigned long)s[i] << 16) | ((unsigned long)s[i + 1] << 8) | s[i + 2];
    luaL_addchar(&b, alphabet[(v >> 18) & 63]);
    luaL_addchar(&b, alphabet[(v >> 12) & 63]);
    luaL_addchar(&b, alphabet[(v >> 6) & 63]);
    luaL_addchar(&b, alphabet[v & 63]);
  }
  if (n - i == 1) {
    unsigned long v = (unsigned long)s[i] << 16;
    luaL_addchar(&b, alphabet[(v >> 18) & 63]);
    luaL_addchar(&b, alphabet[(v >> 12) & 63]);
    if (pad) luaL_addstring(&b, "==");
  } else if (n - i == 2) {
    unsigned long v = ((unsigned long)s[i] << 16) | ((unsigned long)s[i + 1] << 8);
    luaL_addchar(&b, alphabet[(v >> 18) & 63]);
    luaL_addchar(&b, alphabet[(v >> 12) & 63]);
    luaL_addchar(&b, alphabet[(v >> 6) & 63]);
    if (pad) luaL_addchar(&b, '=');
  }
  luaL_pushresult(&b);
}

/* Value of one symbol in the given alphabet, or -1. */
static int crypto_b64_value(const char *alphabet, unsigned char c) {
  const char *p;
  if (c == 0) return -1;
  p = strchr(alphabet, c);
  return p ? (int)(p - alphabet) : -1;
}

/*
 * Strict decoding: only alphabet symbols, then at most the padding the
 * length calls for. A final group of one symbol, or unused low bits that
 * are not zero, is rejected, so every text has one decoding.
 */
static int crypto_b64_decode(lua_State *L, const char *alphabet) {
  size_t n, len, i, pads = 0;
  const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
  unsigned long acc = 0;
  int bits = 0;
  luaL_Buffer b;
  len = n;
  while (len > 0 && s[len - 1] == '=' && pads < 2) {
    len--;
    pads++;
  }
  if (pads && (n % 4) != 0) return mcpt_fail(L, "protocol", "base64: bad padding");
  if (len % 4 == 1) return mcpt_fail(L, "protocol", "base64: truncated input");
  if (pads && pads != (4 - len % 4) % 4) return mcpt_fail(L, "protocol", "base64: bad padding");
  luaL_buffinit(L, &b);
  for (i = 0; i < len; i++) {
    int v = crypto_b64_value(alphabet, s[i]);
    if (v < 0) {
      luaL_pushresult(&b);
      lua_pop(L, 1);
      return mcpt_fail(L, "protocol", "base64: invalid character at offset %d", (int)i);
    }
    acc = ((acc << 6) | (unsigned long)v) & 0xFFFFFFUL;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      luaL_addchar(&b, (char)((acc >> bits) & 0xFF));
    }
  }
  if (bits > 0 && (acc & ((1UL << bits) - 1)) != 0) {
    luaL_pushresult(&b);
    lua_pop(L, 1);
    return mcpt_fail(L, "protocol", "base64: non-canonical trailing bits");
  }
  luaL_pushresult(&b);
  return 1;
}

static int crypto_base64_encode(lua_State *L) {
  crypto_b64_encode(L, crypto_b64, 1);
  return 1;
}

static int crypto_base64_decode(lua_State *L) {
  return crypto_b64_decode(L, crypto_b64);
}

static int crypto_base64url_encode(lua_State *L) {
  crypto_b64_encode(L, crypto_b64url, 0);
  return 1;
}

static int crypto_base64url_decode(lua_State *L) {
  return crypto_b64_decode(L, crypto_b64url);
}

/* ===== keys and JWS signatures (private_key_jwt, jwt-bearer, DPoP) ===== */

static int alg_kind(lua_State *L, int arg) {
  const char *alg = luaL_checkstring(L, arg);
  if (strcmp(alg, "ES256") == 0) return 1;
  if (strcmp(alg, "RS256") == 0) return 2;
  return luaL_argerror(L, arg, "alg must be \"ES256\" or \"RS256\"");
}

static EVP_PKEY *load_private(const char *pem, size_t n) {
  BIO *bio = BIO_new_mem_buf(pem, (int)n);
  EVP_PKEY *k;
  if (!bio) return NULL;
  k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
  BIO_free(bio);
  return k;
}

static int crypto_generate_key(lua_State *L) {
  int kind = alg_kind(L, 1);
  EVP_PKEY *k = kind == 1 ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")
                          : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
  BIO *bio;
  char *data;
  long len;
  if (!k) return mcpt_fail(L, "crypto", "generate_key: OpenSSL could not make a key");
  bio = BIO_new(BIO_s_mem());
  if (!bio || !PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL)) {
    BIO_free(bio);
    EVP_PKEY_free(k);
    return mcpt_fail(L, "crypto", "generate_key: cannot write the key as PEM");
  }
  len = BIO_get_mem_data(bio, &data);
  lua_pushlstring(L, data, (size_t)len);
  OPENSSL_cleanse(data, (size_t)len);
  BIO_free(bio);
  EVP_PKEY_free(k);
  return 1;
}

static int crypto_sign(lua_State *L) {
  size_t pn, n, siglen = 0;
  int kind = alg_kind(L, 1);
  const char *pem = luaL_checklstring(L, 2, &pn);
  const char *data = luaL_checklstring(L, 3, &n);
  EVP_PKEY *k = load_private(pem, pn);
  EVP_MD_CTX *md;
  unsigned char *sig;
  int ok;
  if (!k) return mcpt_fail(L, "crypto", "sign: the key is not a PEM private key");
  if ((kind == 1) != (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC)) {
    EVP_PKEY_free(k);
    return mcpt_fail(L, "crypto", "sign: the key does not fit %s", lua_tostring(L, 1));
  }
  md = EVP_MD_CTX_new();
  ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) == 1
       && EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)data, n) == 1;
  sig = ok ? OPENSSL_malloc(siglen) : NULL;
  ok = sig && EVP_DigestSign(md, sig, &siglen, (const unsigned char *)data, n) == 1;
  EVP_MD_CTX_free(md);
  EVP_PKEY_free(k);
  if (!ok) {
    OPENSSL_free(sig);
    return mcpt_fail(L, "crypto", "sign: OpenSSL could not sign");
  }
  if (kind == 1) { /* DER ECDSA-Sig-Value -> JOSE r||s */
    const unsigned char *p = sig;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
    unsigned char rs[64];
    const BIGNUM *r, *sv;
    if (!es) {
      OPENSSL_free(sig);
      return mcpt_fail(L, "crypto", "sign: unexpected ECDSA signature");
    }
    ECDSA_SIG_get0(es, &r, &sv);
    BN_bn2binpad(r, rs, 32);
    BN_bn2binpad(sv, rs + 32, 32);
    ECDSA_SIG_free(es);
    lua_pushlstring(L, (const char *)rs, 64);
  } else {
    lua_pushlstring(L, (const char *)sig, siglen);
  }
  OPENSSL_free(sig);
  return 1;
}

/* Push the base64url of a big number's bytes (fixed width when pad > 0). */
static void push_bn_b64url(lua_State *L, const BIGNUM *bn, int pad) {
  unsigned char buf[1024];
  int n = pad > 0 ? pad : BN_num_bytes(bn);
  if (n > (int)sizeof buf) n = (int)sizeof buf;
  BN_bn2binpad(bn, buf, n);
  lua_pushcfunction(L, crypto_base64url_encode);
  lua_pushlstring(L, (const char *)buf, (size_t)n);
  lua_call(L, 1, 1);
}

static int crypto_public_jwk(lua_State *L) {
  size_t pn;
  const char *pem = luaL_checklstring(L, 1, &pn);
  EVP_PKEY *k = load_private(pem, pn);
  BIGNUM *a = NULL, *b = NULL;
  if (!k) return mcpt_fail(L, "crypto", "public_jwk: the key is not a PEM private key");
  lua_createtable(L, 0, 4);
  if (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC) {
    if (!EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &a)
        || !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &b)) goto fail;
    lua_pushliteral(L, "EC");
    lua_setfield(L, -2, "kty");
    lua_pushliteral(L, "P-256");
    lua_setfield(L, -2, "crv");
    push_bn_b64url(L, a, 32);
    lua_setfield(L, -2, "x");
    push_bn_b64url(L, b, 32);
    lua_setfield(L, -2, "y");
  } else if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA) {
    if (!EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &a)
        || !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &b)) goto fail;
    lua_pushliteral(L, "RSA");
    lua_setfield(L, -2, "kty");
    push_bn_b64url(L, a, 0);
    lua_setfield(L, -2, "n");
    push_bn_b64url(L, b, 0);
    lua_setfield(L, -2, "e");
  } else {
    goto fail;
  }
  BN_free(a);
  BN_free(b);
  EVP_PKEY_free(k);
  return 1;
fail:
  BN_free(a);
  BN_free(b);
  EVP_PKEY_free(k);
  lua_pop(L, 1);
  return mcpt_fail(L, "crypto", "public_jwk: only P-256 and RSA keys are supported");
}

/* A base64url member of a JWK table, decoded onto the stack; NULL if absent. */
static const char *jwk_member(lua_State *L, int jwk, const char *name, size_t *n) {
  lua_getfield(L, jwk, name);
  if (lua_type(L, -1) != LUA_TSTRING) {
    lua_pop(L, 1);
    return NULL;
  }
  lua_pushcfunction(L, crypto_base64url_decode);
  lua_insert(L, -2);
  lua_call(L, 1, 1);
  if (lua_type(L, -1) != LUA_TSTRING) {
    lua_pop(L, 1);
    return NULL;
  }
  return lua_tolstring(L, -1, n);
}

static EVP_PKEY *jwk_to_pkey(lua_State *L, int jwk, int kind) {
  OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM *params = NULL;
  EVP_PKEY_CTX *ctx = NULL;
  EVP_PKEY *k = NULL;
  BIGNUM *n = NULL, *e = NULL;
  int top = lua_gettop(L);
  size_t xl, yl;
  /* here, not in the EC branch: the builder keeps a pointer to it until
   * OSSL_PARAM_BLD_to_param below */
  unsigned char pub[65];
  if (!bld) return NULL;
  if (kind == 1) {
    const char *x = jwk_member(L, jwk, "x", &xl), *y = jwk_member(L, jwk, "y", &yl);
    if (!x || !y || xl != 32 || yl != 32) goto done;
    pub[0] = 0x04;
    memcpy(pub + 1, x, 32);
    memcpy(pub + 33, y, 32);
    if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0)
        || !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub)) goto done;
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
  } else {
    const char *nb = jwk_member(L, jwk, "n", &xl), *eb = jwk_member(L, jwk, "e", &yl);
    if (!nb || !eb) goto done;
    n = BN_bin2bn((const unsigned char *)nb, (int)xl, NULL);
    e = BN_bin2bn((const unsigned char *)eb, (int)yl, NULL);
    if (!n || !e || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n)
        || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e)) goto done;
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
  }
  params = OSSL_PARAM_BLD_to_param(bld);
  if (!ctx || !params || EVP_PKEY_fromdata_init(ctx) != 1
      || EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) != 1) k = NULL;
done:
  lua_settop(L, top);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  EVP_PKEY_CTX_free(ctx);
  BN_free(n);
  BN_free(e);
  return k;
}

static int crypto_verify(lua_State *L) {
  size_t n, sl, derlen = 0;
  int kind = alg_kind(L, 1);
  const char *data, *sig;
  unsigned char *der = NULL;
  EVP_PKEY *k;
  EVP_MD_CTX *md;
  int ok;
  luaL_checktype(L, 2, LUA_TTABLE);
  data = luaL_checklstring(L, 3, &n);
  sig = luaL_checklstring(L, 4, &sl);
  k = jwk_to_pkey(L, 2, kind);
  if (!k) return mcpt_fail(L, "crypto", "verify: the JWK is not a usable %s public key", lua_tostring(L, 1));
  if (kind == 1) { /* JOSE r||s -> DER */
    ECDSA_SIG *es;
    unsigned char *p;
    if (sl != 64) {
      EVP_PKEY_free(k);
      lua_pushboolean(L, 0);
      return 1;
    }
    es = ECDSA_SIG_new();
    ECDSA_SIG_set0(es, BN_bin2bn((const unsigned char *)sig, 32, NULL),
                   BN_bin2bn((const unsigned char *)sig + 32, 32, NULL));
    derlen = (size_t)i2d_ECDSA_SIG(es, NULL);
    der = OPENSSL_malloc(derlen);
    p = der;
    i2d_ECDSA_SIG(es, &p);
    ECDSA_SIG_free(es);
    sig = (const char *)der;
    sl = derlen;
  }
  md = EVP_MD_CTX_new();
  ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k) == 1
       && EVP_DigestVerify(md, (const unsigned char *)sig, sl, (const unsigned char *)data, n) == 1;
  EVP_MD_CTX_free(md);
  EVP_PKEY_free(k);
  OPENSSL_free(der);
  lua_pushboolean(L, ok);
  return 1;
}

static const luaL_Reg crypto_funcs[] = {
  {"sha256", crypto_sha256},
  {"random_bytes", crypto_random_bytes},
  {"equals", crypto_equals},
  {"base64_encode", crypto_base64_encode},
  {"base64_decode", crypto_base64_decode},
  {"base64url_encode", crypto_base64url_encode},
  {"base64url_decode", crypto_base64url_decode},
  {"generate_key", crypto_generate_key},
  {"sign", crypto_sign},
  {"public_jwk", crypto_public_jwk},
  {"verify", crypto_verify},
  {NULL, NULL}
};

int luaopen_mcptest_core_crypto(lua_State *L) {
  luaL_newlib(L, crypto_funcs);
  return 1;
}
