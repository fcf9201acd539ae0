/* fuzz_json.c: the JSON decoder (runtime/json.c, mcpt_json_decode: what
 * every message from a server goes through) fed arbitrary bytes.
 * Beyond "no crash, no leak, no hang" it checks what the codec promises:
 *   - decode leaves exactly one value (or one error string) on the stack;
 *   - a decoded value always encodes (decoded data is JSON data);
 *   - decode(encode(v)) is v again, numbers mathematically, strings byte
 *     for byte, except that encode replaces each byte that is not UTF-8
 *     by U+FFFD, in strings and object keys alike (so keys can merge:
 *     {"\xff":1,"\uFFFD":2} encodes with the key twice, and decode keeps
 *     the one written last);
 *   - after that first round trip the value is a fixed point: the same
 *     types too (integer or float, array or object mark). */
#include "fuzz.h"

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if there is
 * none. (Written apart from json.c's check on purpose.) */
static size_t utf8_seq(const unsigned char *s, size_t n) {
  unsigned c = s[0], need, cp, min;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) { need = 1; cp = c & 0x1F; min = 0x80; }
  else if ((c & 0xF0) == 0xE0) { need = 2; cp = c & 0x0F; min = 0x800; }
  else if ((c & 0xF8) == 0xF0) { need = 3; cp = c & 0x07; min = 0x10000; }
  else return 0;
  if (n <= need) return 0;
  for (size_t k = 1; k <= need; k++) {
    if ((s[k] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[k] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return need + 1;
}

static int utf8_valid(const unsigned char *s, size_t n) {
  size_t i = 0, len;
  while (i < n) {
    if (!(len = utf8_seq(s + i, n - i))) return 0;
    i += len;
  }
  return 1;
}

/* Push s as the encoder re-spells it, which is what json.c promises for
 * bytes that are not UTF-8: each byte that starts no valid sequence
 * becomes U+FFFD, the rest stays. */
static void push_respelled(lua_State *L, const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  luaL_Buffer b;
  size_t i = 0, len;
  luaL_buffinit(L, &b);
  while (i < n) {
    if ((len = utf8_seq(u + i, n - i))) { luaL_addlstring(&b, s + i, len); i += len; }
    else { luaL_addlstring(&b, "\xEF\xBF\xBD", 3); i++; }
  }
  luaL_pushresult(&b);
}

/* Does the table at t have a string key that is not UTF-8? */
static int has_respelled_key(lua_State *L, int t) {
  lua_pushnil(L);
  while (lua_next(L, t)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING) {
      size_t kn;
      const char *k = lua_tolstring(L, -1, &kn);
      if (!utf8_valid((const unsigned char *)k, kn)) { lua_pop(L, 1); return 1; }
    }
  }
  return 0;
}

/* Push the object the encoder writes for the table at t: its keys
 * re-spelled, in lua_next order, the order the encoder walks the same
 * table in. Keys that re-spell alike (two bad ones, or a bad one and the
 * valid key it turns into) are written twice, and the decoder keeps the
 * last: so does this table. */
static void push_as_encoded(lua_State *L, int t) {
  lua_newtable(L);
  lua_pushnil(L);
  while (lua_next(L, t)) { /* stack: expected, key, value */
    if (lua_type(L, -2) == LUA_TSTRING) {
      size_t kn;
      const char *k = lua_tolstring(L, -2, &kn);
      push_respelled(L, k, kn);
    } else {
      lua_pushvalue(L, -2);
    }
    lua_insert(L, -2);
    lua_rawset(L, -4);
  }
}

static const char *same(lua_State *L, int a, int b, int strict);

/* Every key of a is in b with the same value, and b has no other. */
static const char *same_keys(lua_State *L, int a, int b, int strict) {
  lua_Integer na = 0, nb = 0;
  lua_pushnil(L);
  while (lua_next(L, a)) { /* stack: key, value */
    const char *why;
    na++;
    lua_pushvalue(L, -2);
    lua_rawget(L, b);
    if (lua_isnil(L, -1)) { lua_pop(L, 3); return "a key went missing"; }
    why = same(L, lua_absindex(L, -2), lua_absindex(L, -1), strict);
    lua_pop(L, 2);
    if (why) { lua_pop(L, 1); return why; }
  }
  lua_pushnil(L);
  while (lua_next(L, b)) { nb++; lua_pop(L, 1); }
  return na == nb ? NULL : "a key appeared";
}

/* Compare the values at a and b (absolute indices). strict: the same
 * number subtypes and strings byte for byte; loose (a is the decoder's
 * first output, which may hold bytes that are not UTF-8): numbers by
 * value, and strings and object keys as the encoder re-spells them.
 * Returns NULL when they match, else what differs. */
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
      int eq;
      if (lua_rawequal(L, a, b)) return NULL;
      if (strict || utf8_valid((const unsigned char *)s, n)) return "a string changed";
      push_respelled(L, s, n);
      eq = lua_rawequal(L, -1, b);
      lua_pop(L, 1);
      return eq ? NULL : "a string that was not UTF-8 changed other than by U+FFFD";
    }
    case LUA_TTABLE: {
      const void *ma = NULL, *mb = NULL;
      int top = lua_gettop(L);
      const char *why;
      luaL_checkstack(L, 8, "fuzz: nesting");
      if (lua_getmetatable(L, a)) { ma = lua_topointer(L, -1); lua_pop(L, 1); }
      if (lua_getmetatable(L, b)) { mb = lua_topointer(L, -1); lua_pop(L, 1); }
      if (ma != mb) return "an array became an object or back";
      if (lua_rawlen(L, a) != lua_rawlen(L, b)) return "an array changed length";
      if (!strict && has_respelled_key(L, a)) {
        push_as_encoded(L, a);
        a = lua_gettop(L);
      }
      why = same_keys(L, a, b, strict);
      lua_settop(L, top);
      return why;
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
