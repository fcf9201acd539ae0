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
 *
 * Uses util.c (mcpt_fail) only. It never logs or prints its inputs: they
 * are secrets (verifiers, tokens, client secrets). Misuse (a non-string,
 * a negative length) raises; undecodable input returns nil, err.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
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

static const luaL_Reg crypto_funcs[] = {
  {"sha256", crypto_sha256},
  {"random_bytes", crypto_random_bytes},
  {"equals", crypto_equals},
  {"base64_encode", crypto_base64_encode},
  {"base64_decode", crypto_base64_decode},
  {"base64url_encode", crypto_base64url_encode},
  {"base64url_decode", crypto_base64url_decode},
  {NULL, NULL}
};

int luaopen_mcptest_core_crypto(lua_State *L) {
  luaL_newlib(L, crypto_funcs);
  return 1;
}
