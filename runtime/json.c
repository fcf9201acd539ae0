/*
 * json.c: mcptest.core.json, JSON for MCP over lua-cjson.
 *
 * Decoding is cjson's (fast, well fuzzed); this file then fixes the two
 * things lua-cjson 2.1.0 loses and MCP needs: an empty array stays an
 * array (it is marked with the array metatable, so it encodes back as [])
 * and integral numbers come back as Lua integers. Encoding is done here,
 * because cjson prints every number with %.14g (large integers lose digits)
 * and cannot tell [] from {}. JSON null is cjson's null (a NULL light
 * userdata), so values from either library compare equal.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcptest.h"

#define JSON_ARRAY_MT "mcptest.json.array"
#define JSON_OBJECT_MT "mcptest.json.object"
#define JSON_BUF_MT "mcptest.json.buffer"
#define JSON_MAX_DEPTH 1000
/* Replaces the inside of "[]" before cjson sees it; found and removed after. */
#define JSON_EMPTY_SENTINEL "\\u0000mcptest-empty-array\\u0000"
#define JSON_EMPTY_DECODED "\0mcptest-empty-array\0"

/* ===== growable output buffer, owned by a userdata so errors free it ===== */

typedef struct json_buf {
  char *data;
  size_t len, cap;
} json_buf;

static void json_buf_free(json_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

static int json_buf_gc(lua_State *L) {
  json_buf_free((json_buf *)luaL_checkudata(L, 1, JSON_BUF_MT));
  return 0;
}

static void json_buf_grow(lua_State *L, json_buf *b, size_t need) {
  size_t cap;
  char *p;
  if (b->len + need <= b->cap) return;
  cap = b->cap ? b->cap : 256;
  while (cap < b->len + need) cap *= 2;
  p = (char *)realloc(b->data, cap);
  if (!p) luaL_error(L, "json: not enough memory");
  b->data = p;
  b->cap = cap;
}

static void json_put(lua_State *L, json_buf *b, const char *s, size_t n) {
  json_buf_grow(L, b, n);
  memcpy(b->data + b->len, s, n);
  b->len += n;
}

#define json_putc(L, b, c) do { json_buf_grow(L, b, 1); (b)->data[(b)->len++] = (c); } while (0)

/* ===== encoding ===== */

static void json_encode_string(lua_State *L, json_buf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  size_t i, start = 0;
  json_putc(L, b, '"');
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    const char *esc = NULL;
    char u[6];
    if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f) continue;
    json_put(L, b, s + start, i - start);
    switch (c) {
      case '"': esc = "\\\""; break;
      case '\\': esc = "\\\\"; break;
      case '\n': esc = "\\n"; break;
      case '\r': esc = "\\r"; break;
      case '\t': esc = "\\t"; break;
      case '\b': esc = "\\b"; break;
      case '\f': esc = "\\f"; break;
      default:
        u[0] = '\\'; u[1] = 'u'; u[2] = '0'; u[3] = '0';
        u[4] = hex[c >> 4]; u[5] = hex[c & 15];
        json_put(L, b, u, 6);
    }
    if (esc) json_put(L, b, esc, strlen(esc));
    start = i + 1;
  }
  json_put(L, b, s + start, n - start);
  json_putc(L, b, '"');
}

static void json_encode_number(lua_State *L, json_buf *b, int idx) {
  char tmp[64];
  int n;
  if (lua_isinteger(L, idx)) {
    n = snprintf(tmp, sizeof tmp, LUA_INTEGER_FMT, lua_tointeger(L, idx));
  } else {
    double d = lua_tonumber(L, idx);
    if (isnan(d) || isinf(d)) luaL_error(L, "json: cannot encode %s", isnan(d) ? "NaN" : "infinity");
    if (d == floor(d) && fabs(d) < 9007199254740992.0) {
      n = snprintf(tmp, sizeof tmp, "%.0f", d);
    } else {
      /* shortest of %.15g/%.17g that reads back exactly */
      n = snprintf(tmp, sizeof tmp, "%.15g", d);
      if (strtod(tmp, NULL) != d) n = snprintf(tmp, sizeof tmp, "%.17g", d);
    }
  }
  json_put(L, b, tmp, (size_t)n);
}

/* Is the table at idx a sequence 1..n? Returns n, 0 if empty, -1 if not. */
static lua_Integer json_sequence_length(lua_State *L, int idx) {
  lua_Integer count = 0, max = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1) {
      lua_Integer k = lua_tointeger(L, -1);
      if (k > max) max = k;
      count++;
    } else {
      lua_pop(L, 1);
      return -1;
    }
  }
  return count == max ? count : -1;
}

static void json_encode_value(lua_State *L, json_buf *b, int idx, int depth);

static void json_encode_table(lua_State *L, json_buf *b, int idx, int depth) {
  int kind = 0; /* 1 array, 2 object, 0 decide from keys */
  lua_Integer n = 0, i;
  if (depth > JSON_MAX_DEPTH) luaL_error(L, "json: nesting deeper than %d (a cycle?)", JSON_MAX_DEPTH);
  luaL_checkstack(L, 4, "json: nesting too deep");
  if (lua_getmetatable(L, idx)) {
    luaL_getmetatable(L, JSON_ARRAY_MT);
    if (lua_rawequal(L, -1, -2)) kind = 1;
    lua_pop(L, 1);
    luaL_getmetatable(L, JSON_OBJECT_MT);
    if (lua_rawequal(L, -1, -2)) kind = 2;
    lua_pop(L, 2);
  }
  if (kind == 1) {
    n = (lua_Integer)lua_rawlen(L, idx);
  } else if (kind == 0) {
    n = json_sequence_length(L, idx);
    kind = n > 0 ? 1 : 2;
  }
  if (kind == 1) {
    json_putc(L, b, '[');
    for (i = 1; i <= n; i++) {
      if (i > 1) json_putc(L, b, ',');
      lua_rawgeti(L, idx, i);
      json_encode_value(L, b, lua_gettop(L), depth + 1);
      lua_pop(L, 1);
    }
    json_putc(L, b, ']');
    return;
  }
  json_putc(L, b, '{');
  i = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) { /* stack: key, value */
    size_t kl;
    const char *k;
    if (i++) json_putc(L, b, ',');
    if (lua_type(L, -2) == LUA_TSTRING) {
      k = lua_tolstring(L, -2, &kl);
      json_encode_string(L, b, k, kl);
    } else if (lua_type(L, -2) == LUA_TNUMBER) {
      lua_pushvalue(L, -2); /* tostring on a copy: never on the key lua_next uses */
      k = lua_tolstring(L, -1, &kl);
      json_encode_string(L, b, k, kl);
      lua_pop(L, 1);
    } else {
      luaL_error(L, "json: cannot encode a table key of type %s", luaL_typename(L, -2));
    }
    json_putc(L, b, ':');
    json_encode_value(L, b, lua_gettop(L), depth + 1);
    lua_pop(L, 1);
  }
  json_putc(L, b, '}');
}

static void json_encode_value(lua_State *L, json_buf *b, int idx, int depth) {
  size_t n;
  const char *s;
  switch (lua_type(L, idx)) {
    case LUA_TNIL: json_put(L, b, "null", 4); break;
    case LUA_TBOOLEAN:
      if (lua_toboolean(L, idx)) json_put(L, b, "true", 4);
      else json_put(L, b, "false", 5);
      break;
    case LUA_TNUMBER: json_encode_number(L, b, idx); break;
    case LUA_TSTRING:
      s = lua_tolstring(L, idx, &n);
      json_encode_string(L, b, s, n);
      break;
    case LUA_TTABLE: json_encode_table(L, b, idx, depth); break;
    case LUA_TLIGHTUSERDATA:
      if (lua_touserdata(L, idx) == NULL) { json_put(L, b, "null", 4); break; }
      /* fallthrough */
    default:
      luaL_error(L, "json: cannot encode a value of type %s", luaL_typename(L, idx));
  }
}

/* json.encode(value) -> string; raises on values JSON cannot hold. */
static int json_encode(lua_State *L) {
  json_buf *b;
  luaL_checkany(L, 1);
  lua_settop(L, 1);
  b = (json_buf *)lua_newuserdatauv(L, sizeof *b, 0);
  b->data = NULL;
  b->len = b->cap = 0;
  luaL_setmetatable(L, JSON_BUF_MT);
  json_encode_value(L, b, 1, 0);
  lua_pushlstring(L, b->data, b->len);
  json_buf_free(b); /* now, rather than at the next GC */
  return 1;
}

/* ===== decoding ===== */

/* Copy of s with the inside of every empty array replaced by a sentinel
 * string; NULL when s has none (the common case: no copy). */
static char *json_mark_empty_arrays(const char *s, size_t n, size_t *outlen) {
  size_t i, j, count = 0, slen = strlen(JSON_EMPTY_SENTINEL) + 2;
  int in_str = 0;
  char *out;
  for (i = 0; i < n; i++) {
    char c = s[i];
    if (in_str) {
      if (c == '\\') i++;
      else if (c == '"') in_str = 0;
    } else if (c == '"') {
      in_str = 1;
    } else if (c == '[') {
      for (j = i + 1; j < n && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r'); j++) {}
      if (j < n && s[j] == ']') count++;
    }
  }
  if (count == 0) return NULL;
  out = (char *)malloc(n + count * slen + 1);
  if (!out) return NULL;
  *outlen = 0;
  in_str = 0;
  for (i = 0; i < n; i++) {
    char c = s[i];
    out[(*outlen)++] = c;
    if (in_str) {
      if (c == '\\' && i + 1 < n) out[(*outlen)++] = s[++i];
      else if (c == '"') in_str = 0;
    } else if (c == '"') {
      in_str = 1;
    } else if (c == '[') {
      for (j = i + 1; j < n && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r'); j++) {}
      if (j < n && s[j] == ']') {
        out[(*outlen)++] = '"';
        memcpy(out + *outlen, JSON_EMPTY_SENTINEL, slen - 2);
        *outlen += slen - 2;
        out[(*outlen)++] = '"';
        i = j - 1; /* the ']' is copied next */
      }
    }
  }
  return out;
}

/* Walk a decoded value: integral floats become integers; arrays get the
 * array metatable; sentinel arrays become empty arrays. */
static void json_fixup(lua_State *L, int idx, int depth) {
  int is_array = 0;
  luaL_checkstack(L, 4, "json: nesting too deep");
  lua_pushnil(L);
  if (lua_next(L, idx)) {
    is_array = lua_type(L, -2) == LUA_TNUMBER;
    lua_pop(L, 2);
  }
  if (is_array) {
    size_t sl;
    const char *s;
    lua_pushvalue(L, idx);
    luaL_setmetatable(L, JSON_ARRAY_MT);
    lua_pop(L, 1);
    if (lua_rawlen(L, idx) == 1) {
      int is_str = lua_rawgeti(L, idx, 1) == LUA_TSTRING;
      s = lua_tolstring(L, -1, &sl);
      if (is_str && sl == sizeof(JSON_EMPTY_DECODED) - 1 && memcmp(s, JSON_EMPTY_DECODED, sl) == 0) {
        lua_pop(L, 1);
        lua_pushnil(L);
        lua_rawseti(L, idx, 1);
        return;
      }
      lua_pop(L, 1);
    }
  }
  lua_pushnil(L);
  while (lua_next(L, idx)) { /* stack: key, value */
    int t = lua_type(L, -1);
    if (t == LUA_TNUMBER && !lua_isinteger(L, -1)) {
      double d = lua_tonumber(L, -1);
      if (d == floor(d) && fabs(d) <= 9007199254740992.0) {
        lua_pushvalue(L, -2);
        lua_pushinteger(L, (lua_Integer)d);
        lua_rawset(L, idx); /* assigning an existing field is allowed during lua_next */
      }
    } else if (t == LUA_TTABLE) {
      if (depth < JSON_MAX_DEPTH) json_fixup(L, lua_gettop(L), depth + 1);
    }
    lua_pop(L, 1);
  }
}

/* json.decode(text) -> value; raises "json: ..." on invalid JSON. */
static int json_decode(lua_State *L) {
  size_t n, mlen = 0;
  const char *s = luaL_checklstring(L, 1, &n);
  char *marked = json_mark_empty_arrays(s, n, &mlen);
  int status;
  lua_pushvalue(L, lua_upvalueindex(1)); /* cjson.decode */
  if (marked) {
    lua_pushlstring(L, marked, mlen);
    free(marked);
  } else {
    lua_pushvalue(L, 1);
  }
  status = lua_pcall(L, 1, 1, 0);
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    return luaL_error(L, "json: %s", msg ? msg : "invalid JSON");
  }
  if (lua_type(L, -1) == LUA_TTABLE) json_fixup(L, lua_gettop(L), 0);
  else if (lua_type(L, -1) == LUA_TNUMBER && !lua_isinteger(L, -1)) {
    double d = lua_tonumber(L, -1);
    if (d == floor(d) && fabs(d) <= 9007199254740992.0) lua_pushinteger(L, (lua_Integer)d);
  }
  return 1;
}

/* json.try_decode(text) -> value | nil, message */
static int json_try_decode(lua_State *L) {
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushcclosure(L, json_decode, 1);
  lua_pushvalue(L, 1);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
  }
  return 1;
}

/* json.array(t) / json.object(t): mark a table (new when t is nil). */
static int json_mark(lua_State *L, const char *mt) {
  if (lua_isnoneornil(L, 1)) {
    lua_settop(L, 0);
    lua_newtable(L);
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  luaL_setmetatable(L, mt);
  return 1;
}
static int json_array(lua_State *L) { return json_mark(L, JSON_ARRAY_MT); }
static int json_object(lua_State *L) { return json_mark(L, JSON_OBJECT_MT); }

/* json.is_array(v) -> true when v is a table marked or shaped as an array */
static int json_is_array(lua_State *L) {
  int r = 0;
  if (lua_type(L, 1) == LUA_TTABLE) {
    if (lua_getmetatable(L, 1)) {
      luaL_getmetatable(L, JSON_ARRAY_MT);
      r = lua_rawequal(L, -1, -2);
      lua_pop(L, 2);
    }
    if (!r) {
      int has_mt = lua_getmetatable(L, 1);
      if (has_mt) lua_pop(L, 1);
      else r = json_sequence_length(L, 1) > 0;
    }
  }
  lua_pushboolean(L, r);
  return 1;
}

static const luaL_Reg json_funcs[] = {
  {"encode", json_encode},
  {"decode", json_decode},
  {"try_decode", json_try_decode},
  {"array", json_array},
  {"object", json_object},
  {"is_array", json_is_array},
  {"null", NULL},
  {NULL, NULL}
};

int luaopen_mcptest_core_json(lua_State *L) {
  luaL_newmetatable(L, JSON_ARRAY_MT);
  lua_pushliteral(L, "array");
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
  luaL_newmetatable(L, JSON_OBJECT_MT);
  lua_pop(L, 1);
  luaL_newmetatable(L, JSON_BUF_MT);
  lua_pushcfunction(L, json_buf_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  /* stack: module; cjson.decode is the shared upvalue */
  luaL_newlibtable(L, json_funcs);
  luaL_requiref(L, "cjson", luaopen_cjson, 0);
  lua_getfield(L, -1, "decode");
  lua_remove(L, -2);
  luaL_setfuncs(L, json_funcs, 1);
  lua_pushlightuserdata(L, NULL);
  lua_setfield(L, -2, "null");
  return 1;
}
