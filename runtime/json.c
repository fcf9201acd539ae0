/*
 * json.c: mcptest.core.json, JSON for MCP.
 *
 * MCP needs two things lua-cjson 2.1.0 (Debian's) loses: [] and {} must
 * stay apart (decoded arrays carry the array metatable, so an empty one
 * encodes back as []), and integers must stay integers (cjson decodes
 * every number as a float and encodes with %.14g, so large ids lose
 * digits). The first version wrapped cjson and fixed its output in a
 * second walk; measured on the stdio benchmark that cost 17,500
 * instructions per 80-byte reply, a third of mcptest's CPU per call, so
 * decoding is now one pass here (see docs/design.md). cjson stays linked:
 * its null is our null (a NULL light userdata) and the C tests use it as a
 * differential oracle.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcptest.h"

#define JSON_ARRAY_MT "mcptest.json.array"
#define JSON_OBJECT_MT "mcptest.json.object"
#define JSON_BUF_MT "mcptest.json.buffer"
#define JSON_MAX_DEPTH 1000

/* ===== growable output buffer, owned by a userdata so errors free it ===== */

typedef mcpt_buf json_buf;

static int json_buf_gc(lua_State *L) {
  mcpt_buf_free((mcpt_buf *)luaL_checkudata(L, 1, JSON_BUF_MT));
  return 0;
}

static void json_buf_grow(lua_State *L, json_buf *b, size_t need) {
  if (mcpt_buf_reserve(b, need)) luaL_error(L, "json: not enough memory");
}

static void json_put(lua_State *L, json_buf *b, const char *s, size_t n) {
  json_buf_grow(L, b, n);
  memcpy(b->data + b->len, s, n);
  b->len += n;
}

#define json_putc(L, b, c) do { if ((b)->len == (b)->cap) json_buf_grow(L, b, 1); \
  (b)->data[(b)->len++] = (c); } while (0)

/* ===== encoding ===== */

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t json_utf8_len(const unsigned char *s, size_t n) {
  unsigned char c = s[0];
  size_t len, i;
  unsigned long cp;
  if (c < 0xC2) return 0; /* continuation byte or overlong lead */
  if (c < 0xE0) { len = 2; cp = c & 0x1F; }
  else if (c < 0xF0) { len = 3; cp = c & 0x0F; }
  else if (c < 0xF5) { len = 4; cp = c & 0x07; }
  else return 0;
  if (n < len) return 0;
  for (i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
    return 0;
  return len;
}

/* A JSON string: control characters escaped, and bytes that are not valid
 * UTF-8 (binary data in a Lua string) replaced by U+FFFD, so the output is
 * always valid JSON for strict peers. */
static void json_encode_string(lua_State *L, json_buf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  size_t i, start = 0;
  json_buf_grow(L, b, n + 2);
  json_putc(L, b, '"');
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    const char *esc = NULL;
    char u[6];
    if (c >= 0x80) {
      size_t len = json_utf8_len((const unsigned char *)s + i, n - i);
      if (len) { i += len - 1; continue; }
      json_put(L, b, s + start, i - start);
      json_put(L, b, "\\ufffd", 6);
      start = i + 1;
      continue;
    }
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
    lua_Integer v = lua_tointeger(L, idx);
    if (v >= 0 && v < 1000000000) { /* ids and counts: no printf */
      char *e = tmp + sizeof tmp, *q = e;
      do { *--q = (char)('0' + v % 10); v /= 10; } while (v);
      json_put(L, b, q, (size_t)(e - q));
      return;
    }
    n = snprintf(tmp, sizeof tmp, LUA_INTEGER_FMT, v);
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
    n = (lua_Integer)lua_rawlen(L, idx);
    if (n > 0) { /* common case: a pure sequence has no key after n */
      lua_pushinteger(L, n);
      if (lua_next(L, idx)) {
        lua_pop(L, 2);
        n = json_sequence_length(L, idx);
      }
    }
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
      lua_pushvalue(L, -1);
      if (lua_rawget(L, idx) != LUA_TNIL) /* both t[1] and t["1"]: one JSON key */
        luaL_error(L, "json: table has both the number key %s and the string key \"%s\"", k, k);
      lua_pop(L, 1);
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

/* json.encode(value[, suffix]) -> string; raises on values JSON cannot
 * hold. suffix (e.g. "\n" for stdio framing) is appended without a copy.
 * The output buffer is the module's upvalue, reused across calls. */
static int json_encode(lua_State *L) {
  json_buf *b = (json_buf *)lua_touserdata(L, lua_upvalueindex(1));
  size_t sn = 0;
  const char *suffix = luaL_optlstring(L, 2, NULL, &sn);
  luaL_checkany(L, 1);
  b->len = 0;
  json_encode_value(L, b, 1, 0);
  if (suffix) json_put(L, b, suffix, sn);
  lua_pushlstring(L, b->data, b->len);
  if (b->cap > 65536) mcpt_buf_free(b); /* do not hold on to a big buffer */
  return 1;
}

/* ===== decoding: one pass, straight into Lua values ===== */

typedef struct json_in {
  const char *s, *p, *end;
  int depth;
} json_in;

static int json_error(lua_State *L, json_in *in, const char *what) {
  if (in->p >= in->end)
    return luaL_error(L, "json: %s at the end of the input (truncated?)", what);
  return luaL_error(L, "json: %s at character %d", what, (int)(in->p - in->s) + 1);
}

static void json_skip_ws(json_in *in) {
  while (in->p < in->end && (*in->p == ' ' || *in->p == '\n' || *in->p == '\r' || *in->p == '\t')) in->p++;
}

static int json_hex4(const char *p) {
  int i, v = 0;
  for (i = 0; i < 4; i++) {
    char c = p[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= c - '0';
    else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
    else return -1;
  }
  return v;
}

static void json_add_utf8(luaL_Buffer *b, unsigned long cp) {
  char u[4];
  int n;
  if (cp < 0x80) { u[0] = (char)cp; n = 1; }
  else if (cp < 0x800) { u[0] = (char)(0xC0 | (cp >> 6)); u[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
  else if (cp < 0x10000) {
    u[0] = (char)(0xE0 | (cp >> 12)); u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[2] = (char)(0x80 | (cp & 0x3F)); n = 3;
  } else {
    u[0] = (char)(0xF0 | (cp >> 18)); u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); u[3] = (char)(0x80 | (cp & 0x3F)); n = 4;
  }
  luaL_addlstring(b, u, (size_t)n);
}

/* Push the string starting after the opening quote. */
static void json_read_string(lua_State *L, json_in *in) {
  const char *start = in->p;
  luaL_Buffer b;
  /* fast path: no escapes */
  while (in->p < in->end) {
    unsigned char c = (unsigned char)*in->p;
    if (c == '"') {
      lua_pushlstring(L, start, (size_t)(in->p - start));
      in->p++;
      return;
    }
    if (c == '\\') break;
    if (c < 0x20) json_error(L, in, "unescaped control character in a string");
    in->p++;
  }
  if (in->p >= in->end) json_error(L, in, "unterminated string");
  luaL_buffinit(L, &b);
  luaL_addlstring(&b, start, (size_t)(in->p - start));
  while (in->p < in->end) {
    unsigned char c = (unsigned char)*in->p;
    if (c == '"') {
      in->p++;
      luaL_pushresult(&b);
      return;
    }
    if (c < 0x20) json_error(L, in, "unescaped control character in a string");
    if (c != '\\') { luaL_addchar(&b, (char)c); in->p++; continue; }
    if (in->end - in->p < 2) break;
    switch (in->p[1]) {
      case '"': luaL_addchar(&b, '"'); break;
      case '\\': luaL_addchar(&b, '\\'); break;
      case '/': luaL_addchar(&b, '/'); break;
      case 'b': luaL_addchar(&b, '\b'); break;
      case 'f': luaL_addchar(&b, '\f'); break;
      case 'n': luaL_addchar(&b, '\n'); break;
      case 'r': luaL_addchar(&b, '\r'); break;
      case 't': luaL_addchar(&b, '\t'); break;
      case 'u': {
        long cp = in->end - in->p < 6 ? -1 : json_hex4(in->p + 2);
        if (cp < 0) json_error(L, in, "invalid \\u escape");
        if (cp >= 0xD800 && cp <= 0xDBFF) { /* a surrogate pair makes one code point */
          long lo;
          if (in->end - in->p >= 12 && in->p[6] == '\\' && in->p[7] == 'u' &&
              (lo = json_hex4(in->p + 8)) >= 0xDC00 && lo <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            in->p += 6;
          } else {
            cp = 0xFFFD; /* a lone surrogate cannot be UTF-8 */
          }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          cp = 0xFFFD;
        }
        json_add_utf8(&b, (unsigned long)cp);
        in->p += 6;
        continue;
      }
      default: json_error(L, in, "invalid escape in a string");
    }
    in->p += 2;
  }
  json_error(L, in, "unterminated string");
}

/* JSON number grammar; integers without fraction or exponent that fit
 * 64 bits become Lua integers, the rest floats. */
static void json_read_number(lua_State *L, json_in *in) {
  const char *start = in->p, *p = in->p;
  int is_int = 1;
  char tmp[64];
  if (p < in->end && *p == '-') p++;
  if (p >= in->end || *p < '0' || *p > '9') json_error(L, in, "invalid number");
  if (*p == '0') p++;
  else while (p < in->end && *p >= '0' && *p <= '9') p++;
  if (p < in->end && *p == '.') {
    is_int = 0;
    p++;
    if (p >= in->end || *p < '0' || *p > '9') { in->p = p; json_error(L, in, "invalid number"); }
    while (p < in->end && *p >= '0' && *p <= '9') p++;
  }
  if (p < in->end && (*p == 'e' || *p == 'E')) {
    is_int = 0;
    p++;
    if (p < in->end && (*p == '+' || *p == '-')) p++;
    if (p >= in->end || *p < '0' || *p > '9') { in->p = p; json_error(L, in, "invalid number"); }
    while (p < in->end && *p >= '0' && *p <= '9') p++;
  }
  in->p = p;
  if ((size_t)(p - start) >= sizeof tmp) { /* absurdly long: strtod on a copy */
    double d;
    lua_pushlstring(L, start, (size_t)(p - start));
    errno = 0;
    d = strtod(lua_tostring(L, -1), NULL);
    lua_pop(L, 1);
    if (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL)) {
      in->p = start;
      json_error(L, in, "number out of range");
    }
    lua_pushnumber(L, d);
    return;
  }
  memcpy(tmp, start, (size_t)(p - start));
  tmp[p - start] = '\0';
  if (is_int) {
    char *e;
    long long v;
    errno = 0;
    v = strtoll(tmp, &e, 10);
    if (errno == 0) { lua_pushinteger(L, (lua_Integer)v); return; }
  }
  {
    double d;
    errno = 0;
    d = strtod(tmp, NULL);
    if (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL)) {
      in->p = start;
      json_error(L, in, "number out of range");
    }
    lua_pushnumber(L, d);
  }
}

static void json_read_value(lua_State *L, json_in *in);

static void json_read_array(lua_State *L, json_in *in) {
  lua_Integer n = 0;
  lua_createtable(L, 4, 0);
  luaL_setmetatable(L, JSON_ARRAY_MT);
  json_skip_ws(in);
  if (in->p < in->end && *in->p == ']') { in->p++; return; }
  for (;;) {
    json_read_value(L, in);
    lua_rawseti(L, -2, ++n);
    json_skip_ws(in);
    if (in->p >= in->end) json_error(L, in, "unterminated array");
    if (*in->p == ',') { in->p++; continue; }
    if (*in->p == ']') { in->p++; return; }
    json_error(L, in, "expected ',' or ']' in an array");
  }
}

static void json_read_object(lua_State *L, json_in *in) {
  lua_createtable(L, 0, 4);
  json_skip_ws(in);
  if (in->p < in->end && *in->p == '}') { in->p++; return; }
  for (;;) {
    json_skip_ws(in);
    if (in->p >= in->end || *in->p != '"') json_error(L, in, "expected a string key in an object");
    in->p++;
    json_read_string(L, in);
    json_skip_ws(in);
    if (in->p >= in->end || *in->p != ':') json_error(L, in, "expected ':' after an object key");
    in->p++;
    json_read_value(L, in);
    lua_rawset(L, -3);
    json_skip_ws(in);
    if (in->p >= in->end) json_error(L, in, "unterminated object");
    if (*in->p == ',') { in->p++; continue; }
    if (*in->p == '}') { in->p++; return; }
    json_error(L, in, "expected ',' or '}' in an object");
  }
}

static void json_read_value(lua_State *L, json_in *in) {
  json_skip_ws(in);
  if (in->p >= in->end) json_error(L, in, "expected a value");
  switch (*in->p) {
    case '{':
    case '[':
      if (++in->depth > JSON_MAX_DEPTH) json_error(L, in, "nesting too deep");
      luaL_checkstack(L, 3, "json: nesting too deep");
      if (*in->p++ == '{') json_read_object(L, in);
      else json_read_array(L, in);
      in->depth--;
      return;
    case '"': in->p++; json_read_string(L, in); return;
    case 't':
      if (in->end - in->p >= 4 && memcmp(in->p, "true", 4) == 0) { in->p += 4; lua_pushboolean(L, 1); return; }
      break;
    case 'f':
      if (in->end - in->p >= 5 && memcmp(in->p, "false", 5) == 0) { in->p += 5; lua_pushboolean(L, 0); return; }
      break;
    case 'n':
      if (in->end - in->p >= 4 && memcmp(in->p, "null", 4) == 0) { in->p += 4; lua_pushlightuserdata(L, NULL); return; }
      break;
    default:
      if (*in->p == '-' || (*in->p >= '0' && *in->p <= '9')) { json_read_number(L, in); return; }
  }
  json_error(L, in, "unexpected character");
}

/* json.decode(text) -> value; raises "json: ..." on invalid JSON. */
static int json_decode(lua_State *L) {
  size_t n;
  json_in in;
  in.s = in.p = luaL_checklstring(L, 1, &n);
  in.end = in.s + n;
  in.depth = 0;
  lua_settop(L, 1);
  json_read_value(L, &in);
  json_skip_ws(&in);
  if (in.p != in.end) json_error(L, &in, "unexpected data after the JSON value");
  return 1;
}

/* json.try_decode(text) -> value | nil, message */
static int json_try_decode(lua_State *L) {
  lua_pushcfunction(L, json_decode);
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
  /* stack: module; the reusable output buffer is every function's upvalue */
  luaL_newlibtable(L, json_funcs);
  {
    json_buf *b = (json_buf *)lua_newuserdatauv(L, sizeof *b, 0);
    memset(b, 0, sizeof *b);
    luaL_setmetatable(L, JSON_BUF_MT);
  }
  luaL_setfuncs(L, json_funcs, 1);
  lua_pushlightuserdata(L, NULL);
  lua_setfield(L, -2, "null");
  return 1;
}
