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

#define JSON_BUF_MT "mcptest.json.buffer"
#define JSON_MAX_DEPTH 1000
#define JSON_MAX_DEPTH_TEXT "1000"
#define JSON_STACK_LEVELS 16 /* nesting levels per stack check */

/* ===== per-state context: the reusable output buffer and the two
 * marker metatables, found by address rather than by name, so the hot
 * path does no registry string lookups ===== */

static const char json_ctx_key = 'c';   /* registry[&json_ctx_key] = context */
static const char json_array_key = 'a'; /* registry[&json_array_key] = array mt */

typedef struct json_ctx {
  mcpt_buf out;                  /* json.encode's buffer, reused across calls */
  const void *array_mt, *object_mt;
} json_ctx;

typedef mcpt_buf json_buf;

static int json_ctx_gc(lua_State *L) {
  mcpt_buf_free(&((json_ctx *)luaL_checkudata(L, 1, JSON_BUF_MT))->out);
  return 0;
}

static json_ctx *json_context(lua_State *L) {
  json_ctx *ctx;
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &json_ctx_key) != LUA_TUSERDATA) {
    lua_pop(L, 1);
    luaL_requiref(L, "mcptest.core.json", luaopen_mcptest_core_json, 0);
    lua_pop(L, 1);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &json_ctx_key);
  }
  ctx = (json_ctx *)lua_touserdata(L, -1);
  lua_pop(L, 1); /* the registry keeps it alive */
  return ctx;
}

static void json_buf_grow(lua_State *L, json_buf *b, size_t need) {
  if (mcpt_buf_reserve(b, need)) luaL_error(L, "json: not enough memory");
}

/* Room for n more bytes; the test is inline, the growth is not. */
#define json_reserve(L, b, n) do { if ((b)->cap - (b)->len < (n)) json_buf_grow(L, b, n); } while (0)

static void json_put(lua_State *L, json_buf *b, const char *s, size_t n) {
  json_reserve(L, b, n);
  memcpy(b->data + b->len, s, n);
  b->len += n;
}

#define json_putc(L, b, c) do { json_reserve(L, b, 1); (b)->data[(b)->len++] = (c); } while (0)

/* ===== encoding ===== */

/* Per byte: 0 copies as is, 1 needs an escape, 2 starts a UTF-8 sequence
 * to check. One table lookup per byte keeps the common case a tight scan. */
static const unsigned char json_esc[256] = {
  1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
  0,0,1,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,1,0,0,0,
  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,
  2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2, 2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,
  2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2, 2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,
  2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2, 2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,
  2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2, 2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,
};

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
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0, start = 0;
  json_reserve(L, b, n + 2);
  b->data[b->len++] = '"';
  for (;;) {
    unsigned char c;
    char e[6];
    const char *esc;
    size_t elen = 2;
    while (i < n && json_esc[u[i]] == 0) i++;
    if (i == n) break;
    c = u[i];
    if (json_esc[c] == 2) {
      size_t len = json_utf8_len(u + i, n - i);
      if (len) { i += len; continue; }
      esc = "\\ufffd"; elen = 6;
    } else {
      switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        default:
          e[0] = '\\'; e[1] = 'u'; e[2] = '0'; e[3] = '0';
          e[4] = hex[c >> 4]; e[5] = hex[c & 15];
          esc = e; elen = 6;
      }
    }
    json_put(L, b, s + start, i - start);
    json_put(L, b, esc, elen);
    start = ++i;
  }
  json_reserve(L, b, n - start + 1);
  memcpy(b->data + b->len, s + start, n - start);
  b->len += n - start;
  b->data[b->len++] = '"';
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

static void json_encode_value(lua_State *L, const json_ctx *ctx, json_buf *b, int idx, int depth);

static void json_encode_table(lua_State *L, const json_ctx *ctx, json_buf *b, int idx, int depth) {
  int kind = 0; /* 1 array, 2 object, 0 decide from keys */
  lua_Integer n = 0, i;
  if (depth > JSON_MAX_DEPTH) luaL_error(L, "json: nesting deeper than %d (a cycle?)", JSON_MAX_DEPTH);
  /* a level takes at most 4 slots (key, value, two copies of a number
   * key); room for JSON_STACK_LEVELS levels is made once per that many */
  if (depth % JSON_STACK_LEVELS == 0) luaL_checkstack(L, 4 * JSON_STACK_LEVELS, "json: nesting too deep");
  if (lua_getmetatable(L, idx)) {
    const void *mt = lua_topointer(L, -1);
    lua_pop(L, 1);
    if (mt == ctx->array_mt) kind = 1;
    else if (mt == ctx->object_mt) kind = 2;
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
      json_encode_value(L, ctx, b, lua_gettop(L), depth + 1);
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
    json_encode_value(L, ctx, b, lua_gettop(L), depth + 1);
    lua_pop(L, 1);
  }
  json_putc(L, b, '}');
}

static void json_encode_value(lua_State *L, const json_ctx *ctx, json_buf *b, int idx, int depth) {
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
    case LUA_TTABLE: json_encode_table(L, ctx, b, idx, depth); break;
    case LUA_TLIGHTUSERDATA:
      if (lua_touserdata(L, idx) == NULL) { json_put(L, b, "null", 4); break; }
      /* fallthrough */
    default:
      luaL_error(L, "json: cannot encode a value of type %s", luaL_typename(L, idx));
  }
}

void mcpt_json_encode(lua_State *L, int idx, mcpt_buf *out) {
  json_encode_value(L, json_context(L), out, lua_absindex(L, idx), 0);
}

/* json.encode(value[, suffix]) -> string; raises on values JSON cannot
 * hold. suffix (e.g. "\n" for stdio framing) is appended without a copy.
 * The output buffer is the context's, reused across calls. */
static int json_encode(lua_State *L) {
  json_ctx *ctx = (json_ctx *)lua_touserdata(L, lua_upvalueindex(1));
  json_buf *b = &ctx->out;
  size_t sn = 0;
  const char *suffix = luaL_optlstring(L, 2, NULL, &sn);
  luaL_checkany(L, 1);
  b->len = 0;
  json_encode_value(L, ctx, b, 1, 0);
  if (suffix) json_put(L, b, suffix, sn);
  lua_pushlstring(L, b->data, b->len);
  mcpt_buf_reset(b);
  return 1;
}

/* ===== decoding: one pass, straight into Lua values =====
 * The reader does not raise on bad input: each step returns -1 with the
 * reason in in->err (and in->p where it was found), so callers that must
 * survive garbage (try_decode, a transport reading a peer) need no pcall.
 * Only running out of memory raises. */

typedef struct json_in {
  const char *s, *p, *end;
  const char *err;
  int depth;
  int array_mt; /* stack index of the array metatable */
} json_in;

static int json_fail(json_in *in, const char *what) {
  in->err = what;
  return -1;
}

/* Push "json: <what> at ..." for a failed read. */
static void json_push_error(lua_State *L, const json_in *in) {
  if (in->p >= in->end)
    lua_pushfstring(L, "json: %s at the end of the input (truncated?)", in->err);
  else
    lua_pushfstring(L, "json: %s at character %d", in->err, (int)(in->p - in->s) + 1);
}

static void json_skip_ws_run(json_in *in) {
  while (in->p < in->end && (*in->p == ' ' || *in->p == '\n' || *in->p == '\r' || *in->p == '\t')) in->p++;
}

/* Compact JSON (what servers send) has nothing to skip: test inline. */
#define json_skip_ws(in) do { \
  if ((in)->p < (in)->end && (unsigned char)*(in)->p <= ' ') json_skip_ws_run(in); } while (0)

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

/* Bytes a string's fast path stops at: '"', '\\' and control characters. */
static const unsigned char json_str_stop[256] = {
  1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
  0,0,1,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,1,0,0,0,
};

/* Push the string starting after the opening quote. */
static int json_read_string(lua_State *L, json_in *in) {
  const char *start = in->p;
  luaL_Buffer b;
  /* fast path: no escapes */
  while (in->p < in->end && !json_str_stop[(unsigned char)*in->p]) in->p++;
  if (in->p >= in->end) return json_fail(in, "unterminated string");
  if (*in->p == '"') {
    lua_pushlstring(L, start, (size_t)(in->p - start));
    in->p++;
    return 0;
  }
  if (*in->p != '\\') return json_fail(in, "unescaped control character in a string");
  luaL_buffinit(L, &b);
  luaL_addlstring(&b, start, (size_t)(in->p - start));
  while (in->p < in->end) {
    unsigned char c = (unsigned char)*in->p;
    if (c == '"') {
      in->p++;
      luaL_pushresult(&b);
      return 0;
    }
    if (c < 0x20) { lua_pop(L, 1); return json_fail(in, "unescaped control character in a string"); }
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
        if (cp < 0) { lua_pop(L, 1); return json_fail(in, "invalid \\u escape"); }
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
      default: lua_pop(L, 1); return json_fail(in, "invalid escape in a string");
    }
    in->p += 2;
  }
  lua_pop(L, 1); /* the buffer's box, if it made one; else the placeholder */
  return json_fail(in, "unterminated string");
}

/* JSON number grammar; integers without fraction or exponent that fit
 * 64 bits become Lua integers, the rest floats. */
static int json_read_number(lua_State *L, json_in *in) {
  const char *start = in->p, *p = in->p;
  int is_int = 1;
  char tmp[64];
  if (p < in->end && *p == '-') p++;
  if (p >= in->end || *p < '0' || *p > '9') return json_fail(in, "invalid number");
  if (*p == '0') p++;
  else while (p < in->end && *p >= '0' && *p <= '9') p++;
  if (p < in->end && *p == '.') {
    is_int = 0;
    p++;
    if (p >= in->end || *p < '0' || *p > '9') { in->p = p; return json_fail(in, "invalid number"); }
    while (p < in->end && *p >= '0' && *p <= '9') p++;
  }
  if (p < in->end && (*p == 'e' || *p == 'E')) {
    is_int = 0;
    p++;
    if (p < in->end && (*p == '+' || *p == '-')) p++;
    if (p >= in->end || *p < '0' || *p > '9') { in->p = p; return json_fail(in, "invalid number"); }
    while (p < in->end && *p >= '0' && *p <= '9') p++;
  }
  in->p = p;
  if (is_int && p - start <= 18) { /* fits 63 bits whatever the digits: no strtoll */
    const char *q = start;
    lua_Integer v = 0;
    int neg = *q == '-';
    if (neg) q++;
    while (q < p) v = v * 10 + (*q++ - '0');
    lua_pushinteger(L, neg ? -v : v);
    return 0;
  }
  if ((size_t)(p - start) >= sizeof tmp) { /* absurdly long: strtod on a copy */
    double d;
    lua_pushlstring(L, start, (size_t)(p - start));
    errno = 0;
    d = strtod(lua_tostring(L, -1), NULL);
    lua_pop(L, 1);
    if (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL)) {
      in->p = start;
      return json_fail(in, "number out of range");
    }
    lua_pushnumber(L, d);
    return 0;
  }
  memcpy(tmp, start, (size_t)(p - start));
  tmp[p - start] = '\0';
  if (is_int) {
    char *e;
    long long v;
    errno = 0;
    v = strtoll(tmp, &e, 10);
    if (errno == 0) { lua_pushinteger(L, (lua_Integer)v); return 0; }
  }
  {
    double d;
    errno = 0;
    d = strtod(tmp, NULL);
    if (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL)) {
      in->p = start;
      return json_fail(in, "number out of range");
    }
    lua_pushnumber(L, d);
  }
  return 0;
}

static int json_read_value(lua_State *L, json_in *in);

static int json_read_array(lua_State *L, json_in *in) {
  lua_Integer n = 0;
  lua_createtable(L, 4, 0);
  lua_pushvalue(L, in->array_mt);
  lua_setmetatable(L, -2);
  json_skip_ws(in);
  if (in->p < in->end && *in->p == ']') { in->p++; return 0; }
  for (;;) {
    if (json_read_value(L, in)) return -1;
    lua_rawseti(L, -2, ++n);
    json_skip_ws(in);
    if (in->p >= in->end) return json_fail(in, "unterminated array");
    if (*in->p == ',') { in->p++; continue; }
    if (*in->p == ']') { in->p++; return 0; }
    return json_fail(in, "expected ',' or ']' in an array");
  }
}

static int json_read_object(lua_State *L, json_in *in) {
  lua_createtable(L, 0, 4);
  json_skip_ws(in);
  if (in->p < in->end && *in->p == '}') { in->p++; return 0; }
  for (;;) {
    json_skip_ws(in);
    if (in->p >= in->end || *in->p != '"') return json_fail(in, "expected a string key in an object");
    in->p++;
    if (json_read_string(L, in)) return -1;
    json_skip_ws(in);
    if (in->p >= in->end || *in->p != ':') return json_fail(in, "expected ':' after an object key");
    in->p++;
    if (json_read_value(L, in)) return -1;
    lua_rawset(L, -3);
    json_skip_ws(in);
    if (in->p >= in->end) return json_fail(in, "unterminated object");
    if (*in->p == ',') { in->p++; continue; }
    if (*in->p == '}') { in->p++; return 0; }
    return json_fail(in, "expected ',' or '}' in an object");
  }
}

static int json_read_value(lua_State *L, json_in *in) {
  json_skip_ws(in);
  if (in->p >= in->end) return json_fail(in, "expected a value");
  switch (*in->p) {
    case '{':
    case '[': {
      int rc;
      if (++in->depth > JSON_MAX_DEPTH)
        return json_fail(in, "nesting deeper than " JSON_MAX_DEPTH_TEXT " levels (mcptest's JSON nesting limit)");
      /* a level takes at most 3 slots (table, key, value or a string's
       * buffer); room for JSON_STACK_LEVELS levels is made once per that many */
      if (in->depth % JSON_STACK_LEVELS == 1) luaL_checkstack(L, 3 * JSON_STACK_LEVELS, "json: nesting too deep");
      rc = *in->p++ == '{' ? json_read_object(L, in) : json_read_array(L, in);
      in->depth--;
      return rc;
    }
    case '"': in->p++; return json_read_string(L, in);
    case 't':
      if (in->end - in->p >= 4 && memcmp(in->p, "true", 4) == 0) { in->p += 4; lua_pushboolean(L, 1); return 0; }
      break;
    case 'f':
      if (in->end - in->p >= 5 && memcmp(in->p, "false", 5) == 0) { in->p += 5; lua_pushboolean(L, 0); return 0; }
      break;
    case 'n':
      if (in->end - in->p >= 4 && memcmp(in->p, "null", 4) == 0) { in->p += 4; lua_pushlightuserdata(L, NULL); return 0; }
      break;
    default:
      if (*in->p == '-' || (*in->p >= '0' && *in->p <= '9')) return json_read_number(L, in);
  }
  return json_fail(in, "unexpected character");
}

/* Start reading s[0..n): push the array metatable, which the reader
 * finds at in->array_mt. */
static void json_in_start(lua_State *L, json_in *in, const char *s, size_t n) {
  in->s = in->p = s;
  in->end = s + n;
  in->err = NULL;
  in->depth = 0;
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &json_array_key) == LUA_TNIL) {
    lua_pop(L, 1); /* the module is not open yet: find the table by name */
    mcpt_push_json_mt(L, 1);
  }
  in->array_mt = lua_gettop(L);
}

int mcpt_json_decode(lua_State *L, const char *s, size_t n) {
  json_in in;
  int base = lua_gettop(L);
  json_in_start(L, &in, s, n);
  if (json_read_value(L, &in) == 0) {
    json_skip_ws(&in);
    if (in.p == in.end) {
      lua_replace(L, in.array_mt); /* the value takes the metatable's slot */
      return 1;
    }
    json_fail(&in, "unexpected data after the JSON value");
  }
  lua_settop(L, base);
  json_push_error(L, &in);
  return 0;
}

/* json.decode(text) -> value; raises "json: ..." on invalid JSON. */
static int json_decode(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  if (!mcpt_json_decode(L, s, n)) return lua_error(L);
  return 1;
}

/* json.try_decode(text) -> value | nil, err (an mcptest.Error of kind
 * "protocol", its message the one decode() raises) */
static int json_try_decode(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  if (!mcpt_json_decode(L, s, n)) { /* stack: text, message */
    mcpt_error(L, "protocol", "%s", lua_tostring(L, -1));
    lua_pushnil(L);
    lua_replace(L, -3); /* stack: text, nil, err */
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
static int json_array(lua_State *L) { return json_mark(L, MCPT_JSON_ARRAY_MT); }
static int json_object(lua_State *L) { return json_mark(L, MCPT_JSON_OBJECT_MT); }

/* json.is_array(v) -> true when v is a table marked or shaped as an array */
static int json_is_array(lua_State *L) {
  int r = 0;
  if (lua_type(L, 1) == LUA_TTABLE) {
    if (lua_getmetatable(L, 1)) { /* marked: only the array mark counts */
      luaL_getmetatable(L, MCPT_JSON_ARRAY_MT);
      r = lua_rawequal(L, -1, -2);
      lua_pop(L, 2);
    } else {
      r = json_sequence_length(L, 1) > 0;
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
  json_ctx *ctx;
  mcpt_push_json_mt(L, 1); /* shared with yaml.c: created by whoever comes first */
  lua_rawsetp(L, LUA_REGISTRYINDEX, &json_array_key);
  luaL_newmetatable(L, JSON_BUF_MT);
  lua_pushcfunction(L, json_ctx_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  /* stack: module; the context is every function's upvalue and is in the
   * registry for C callers (the stdio transport) */
  luaL_newlibtable(L, json_funcs);
  ctx = (json_ctx *)lua_newuserdatauv(L, sizeof *ctx, 0);
  memset(ctx, 0, sizeof *ctx);
  luaL_setmetatable(L, JSON_BUF_MT);
  mcpt_push_json_mt(L, 1);
  ctx->array_mt = lua_topointer(L, -1);
  mcpt_push_json_mt(L, 0);
  ctx->object_mt = lua_topointer(L, -1);
  lua_pop(L, 2);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &json_ctx_key);
  luaL_setfuncs(L, json_funcs, 1);
  lua_pushlightuserdata(L, NULL);
  lua_setfield(L, -2, "null");
  return 1;
}
