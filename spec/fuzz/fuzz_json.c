/* fuzz_json.c: the JSON decoder (runtime/json.c, mcpt_json_decode: what
 * every message from a server goes through) fed arbitrary bytes.
 * Beyond "no crash, no leak, no hang" it checks what the codec promises:
 *   - decode leaves exactly one value (or one error string) on the stack;
 *   - a decoded value always encodes (decoded data is JSON data);
 *   - decode(encode(v)) is v again, numbers mathematically, strings byte
 *     for byte unless they were not UTF-8 (encode replaces those bytes);
 *   - after that first round trip the value is a fixed point: the same
 *     types too (integer or float, array or object mark). */
#include "fuzz.h"

/* Is s valid UTF-8? (Written apart from json.c's check on purpose.) */
static int utf8_valid(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i], need, cp, min;
    if (c < 0x80) { i++; continue; }
    if ((c & 0xE0) == 0xC0) { need = 1; cp = c & 0x1F; min = 0x80; }
    else if ((c & 0xF0) == 0xE0) { need = 2; cp = c & 0x0F; min = 0x800; }
    else if ((c & 0xF8) == 0xF0) { need = 3; cp = c & 0x07; min = 0x10000; }
    else return 0;
    if (n - i <= need) return 0;
    for (size_t k = 1; k <= need; k++) {
      if ((s[i + k] & 0xC0) != 0x80) return 0;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    i += need + 1;
  }
  return 1;
}

/* Compare the values at a and b (absolute indices). strict: the same
 * number subtypes and strings byte for byte; loose (a is the decoder's
 * first output): numbers by value, and a string that was not UTF-8 may
 * differ. Returns NULL when they match, else what differs. */
static const char *same(lua_State *L, int a, int b, int strict) {
  int t = lua_type(L, a);
  if (t != lua_type(L, b)) return "a value changed type";
  switch (t) {
    case LUA_TNUMBER:
      if (strict && lua_isinteger(L, a) != lua_isinteger(L, b)) return "a number changed between integer and float";
      /* by value: 2.0 encodes as 2 and comes back an integer */
      return lua_rawequal(L, a, b) ? NULL : "a number changed value";
    case LUA_TSTRING: {
      size_t n;
      const char *s = lua_tolstring(L, a, &n);
      if (lua_rawequal(L, a, b)) return NULL;
      if (!strict && !utf8_valid((const unsigned char *)s, n)) return NULL;
      return "a string changed";
    }
    case LUA_TTABLE: {
      const void *ma = NULL, *mb = NULL;
      luaL_checkstack(L, 4, "fuzz: nesting");
      if (lua_getmetatable(L, a)) { ma = lua_topointer(L, -1); lua_pop(L, 1); }
      if (lua_getmetatable(L, b)) { mb = lua_topointer(L, -1); lua_pop(L, 1); }
      if (ma != mb) return "an array became an object or back";
      if (lua_rawlen(L, a) != lua_rawlen(L, b)) return "an array changed length";
      /* every key of a is in b with the same value, and b has no other;
       * loose: a key that is not UTF-8 was re-spelled (two may merge) */
      lua_Integer na = 0, nb = 0;
      int respelled = 0;
      lua_pushnil(L);
      while (lua_next(L, a)) { /* stack: key, value */
        const char *why;
        na++;
        if (!strict && lua_type(L, -2) == LUA_TSTRING) {
          size_t kn;
          const char *k = lua_tolstring(L, -2, &kn);
          if (!utf8_valid((const unsigned char *)k, kn)) { respelled = 1; lua_pop(L, 1); continue; }
        }
        lua_pushvalue(L, -2);
        lua_rawget(L, b);
        if (lua_isnil(L, -1)) { lua_pop(L, 3); return "a key went missing"; }
        why = same(L, lua_absindex(L, -2), lua_absindex(L, -1), strict);
        lua_pop(L, 2);
        if (why) { lua_pop(L, 1); return why; }
      }
      lua_pushnil(L);
      while (lua_next(L, b)) { nb++; lua_pop(L, 1); }
      return na == nb || respelled ? NULL : "a key appeared";
    }
    default: /* booleans, null (the NULL light userdata) */
      return lua_rawequal(L, a, b) ? NULL : "a literal changed";
  }
}

/* encode(v at idx) in protected mode; pushes the JSON text. */
static int encode_p(lua_State *L) {
  mcpt_buf out = {0};
  mcpt_json_encode(L, 1, &out);
  lua_pushlstring(L, out.data, out.len);
  mcpt_buf_free(&out);
  return 1;
}

static void encode(lua_State *L, int idx, const char *what) {
  lua_pushcfunction(L, encode_p);
  lua_pushvalue(L, idx);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) fuzz_fail("%s: encode raised: %s", what, lua_tostring(L, -1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_State *L = fuzz_state();
  int base = lua_gettop(L), v1, v2, v3;
  const char *why;
  size_t n1, n2;
  const char *e1, *e2;
  if (!mcpt_json_decode(L, (const char *)data, size)) {
    if (lua_gettop(L) != base + 1 || lua_type(L, -1) != LUA_TSTRING ||
        strncmp(lua_tostring(L, -1), "json: ", 6) != 0)
      fuzz_fail("a failed decode must leave one \"json: ...\" message");
    fuzz_state_done(L, base);
    return 0;
  }
  if (lua_gettop(L) != base + 1) fuzz_fail("decode left %d values", lua_gettop(L) - base);
  v1 = lua_gettop(L);
  encode(L, v1, "a decoded value");
  e1 = lua_tolstring(L, -1, &n1);
  if (!mcpt_json_decode(L, e1, n1)) fuzz_fail("the encoder's output does not decode: %s", lua_tostring(L, -1));
  v2 = lua_gettop(L);
  if ((why = same(L, v1, v2, 0)) != NULL) fuzz_fail("decode(encode(v)) differs from v: %s", why);
  encode(L, v2, "a re-decoded value");
  e2 = lua_tolstring(L, -1, &n2);
  if (!mcpt_json_decode(L, e2, n2)) fuzz_fail("the second encoding does not decode: %s", lua_tostring(L, -1));
  v3 = lua_gettop(L);
  if ((why = same(L, v2, v3, 1)) != NULL) fuzz_fail("the round trip is not a fixed point: %s", why);
  fuzz_state_done(L, base);
  return 0;
}
