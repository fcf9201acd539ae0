/*
 * sse.c: mcptest.core.sse, an incremental Server-Sent Events parser
 * (WHATWG HTML "Server-sent events", as MCP's Streamable HTTP and the
 * legacy HTTP+SSE transport use it). It was Lua (transport/sse.lua); on
 * the HTTP benchmark it ran 323 Lua VM instructions per call, the largest
 * part of the client's path, so the byte scanning moved here. What an
 * event means stays in Lua: each one goes to the on_event callback.
 *
 *   local p = sse.new(on_event, ctx, max_event)
 *   p:feed(chunk) -> true | nil, err         any split, LF, CRLF or CR lines
 *   p:finish() -> true when the stream ended inside an event (cut)
 *   p.last_id, p.id_buf, p.retry (ms), p.events, p.failed
 *
 * Linear in the stream's size however it is chunked. An event's data (or
 * one unterminated line) larger than max_event bytes stops the parser:
 * feed() returns nil and an mcptest.Error (kind "protocol"), now and on
 * every later call; p.failed holds it. Memory
 * is owned by the userdata: a raised error (from the callback) leaks
 * nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "mcptest.h"

#define SSE_MT "mcptest.SseParser"

/* user values of the userdata */
enum { SSE_UV_ON_EVENT = 1, SSE_UV_CTX, SSE_UV_EVENT, SSE_UV_ID_BUF, SSE_UV_LAST_ID, SSE_UV_FAILED, SSE_UV_N = SSE_UV_FAILED };

typedef struct sse_parser {
  mcpt_buf pend;    /* an unterminated line, kept across chunks */
  mcpt_buf data;     /* the pending event's data lines, joined by \n */
  int has_pend, has_data, skip_lf, failed, has_retry;
  lua_Integer retry, events;
  size_t max_event;
} sse_parser;

static sse_parser *sse_check(lua_State *L) {
  return (sse_parser *)luaL_checkudata(L, 1, SSE_MT);
}

/* Stop for good with the size error; returns feed's nil, err. */
static int sse_too_big(lua_State *L, sse_parser *p) {
  p->failed = 1;
  p->has_pend = p->has_data = 0;
  mcpt_buf_reset(&p->pend);
  mcpt_buf_reset(&p->data);
  lua_pushnil(L);
  lua_setiuservalue(L, 1, SSE_UV_EVENT);
  mcpt_error(L, "protocol", "an SSE event is larger than %I bytes (the max_event_size limit)", (lua_Integer)p->max_event);
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, 1, SSE_UV_FAILED);
  lua_pushnil(L);
  lua_insert(L, -2);
  return 2;
}

/* A blank line: deliver the pending event. Empty data (priming events,
 * keep-alives) is not delivered, but its id still moves last_id. */
static void sse_dispatch(lua_State *L, sse_parser *p) {
  int has = p->has_data && p->data.len > 0;
  lua_getiuservalue(L, 1, SSE_UV_ID_BUF);
  lua_setiuservalue(L, 1, SSE_UV_LAST_ID);
  if (!has) {
    p->has_data = 0;
    p->data.len = 0;
    lua_pushnil(L);
    lua_setiuservalue(L, 1, SSE_UV_EVENT);
    return;
  }
  p->events++;
  /* stack: on_event, data, event type, id, ctx; state cleared before the
   * call, since the callback may feed this parser again */
  lua_getiuservalue(L, 1, SSE_UV_ON_EVENT);
  lua_pushlstring(L, p->data.data, p->data.len);
  p->has_data = 0;
  mcpt_buf_reset(&p->data);
  if (lua_getiuservalue(L, 1, SSE_UV_EVENT) == LUA_TNIL) {
    lua_pop(L, 1);
    lua_pushliteral(L, "message");
  }
  lua_pushnil(L);
  lua_setiuservalue(L, 1, SSE_UV_EVENT);
  lua_getiuservalue(L, 1, SSE_UV_LAST_ID);
  lua_getiuservalue(L, 1, SSE_UV_CTX);
  lua_call(L, 4, 0);
}

/* One data line for the pending event; 0, or -1 when it is too big. (A
 * line is only handled once complete: nothing is pending in p->pend.) */
static int sse_add_data(sse_parser *p, const char *v, size_t n) {
  if (p->has_data) {
    if (p->data.len + 1 + n > p->max_event) return -1;
    if (mcpt_buf_add(&p->data, "\n", 1) || mcpt_buf_add(&p->data, v, n)) return -1;
  } else {
    if (n > p->max_event) return -1;
    p->data.len = 0;
    if (mcpt_buf_add(&p->data, v, n)) return -1;
    p->has_data = 1;
  }
  return 0;
}

/* One complete line without its terminator; 0, or -1 when too big. */
static int sse_line(lua_State *L, sse_parser *p, const char *s, size_t n) {
  const char *colon, *v;
  size_t flen, vlen;
  if (n == 0) { sse_dispatch(L, p); return 0; }
  if (s[0] == ':') return 0; /* comment */
  colon = (const char *)memchr(s, ':', n);
  if (colon) {
    flen = (size_t)(colon - s);
    v = colon + 1;
    if (v < s + n && *v == ' ') v++;
    vlen = (size_t)(s + n - v);
  } else {
    flen = n;
    v = s + n;
    vlen = 0;
  }
  if (flen == 4 && memcmp(s, "data", 4) == 0) return sse_add_data(p, v, vlen);
  if (flen == 5 && memcmp(s, "event", 5) == 0) {
    lua_pushlstring(L, v, vlen);
    lua_setiuservalue(L, 1, SSE_UV_EVENT);
  } else if (flen == 2 && memcmp(s, "id", 2) == 0) {
    if (!memchr(v, '\0', vlen)) {
      lua_pushlstring(L, v, vlen);
      lua_setiuservalue(L, 1, SSE_UV_ID_BUF);
    }
  } else if (flen == 5 && memcmp(s, "retry", 5) == 0) {
    size_t i;
    lua_Integer r = 0;
    for (i = 0; i < vlen && v[i] >= '0' && v[i] <= '9' && r < 1000000000; i++) r = r * 10 + (v[i] - '0');
    if (vlen > 0 && i == vlen) { p->retry = r; p->has_retry = 1; }
  }
  return 0;
}

/* p:feed(chunk) -> true | nil, message */
static int sse_feed(lua_State *L) {
  sse_parser *p = sse_check(L);
  size_t n, i = 0, start;
  const char *s = luaL_checklstring(L, 2, &n);
  lua_settop(L, 2); /* the chunk stays anchored while callbacks run */
  if (p->failed) {
    lua_pushnil(L);
    lua_getiuservalue(L, 1, SSE_UV_FAILED);
    return 2;
  }
  if (p->skip_lf && n > 0) { /* the previous chunk ended in CR: a following LF is its pair
                               * (an empty chunk in between changes nothing) */
    p->skip_lf = 0;
    if (s[0] == '\n') i = 1;
  }
  start = i;
  for (; i < n; i++) {
    char c = s[i];
    int rc;
    if (c != '\n' && c != '\r') continue;
    if (p->has_pend) { /* the end of a line begun in earlier chunks: join it once */
      if (mcpt_buf_add(&p->pend, s + start, i - start)) return luaL_error(L, "sse: not enough memory");
      p->has_pend = 0;
      /* the callback may feed again and reuse pend: hand it a copy */
      lua_pushlstring(L, p->pend.data, p->pend.len);
      mcpt_buf_reset(&p->pend);
      {
        size_t ln;
        const char *line = lua_tolstring(L, -1, &ln);
        rc = sse_line(L, p, line, ln);
      }
      lua_pop(L, 1);
    } else {
      rc = sse_line(L, p, s + start, i - start);
    }
    if (rc) return sse_too_big(L, p);
    if (p->failed) { lua_pushnil(L); lua_getiuservalue(L, 1, SSE_UV_FAILED); return 2; }
    if (c == '\r') {
      if (i + 1 < n) { if (s[i + 1] == '\n') i++; }
      else p->skip_lf = 1;
    }
    start = i + 1;
  }
  if (start < n || (p->has_pend && n == 0)) { /* keep the unterminated end */
    size_t data = p->has_data ? p->data.len : 0;
    if (!p->has_pend) { p->pend.len = 0; p->has_pend = 1; }
    if (mcpt_buf_add(&p->pend, s + start, n - start)) return luaL_error(L, "sse: not enough memory");
    if (p->pend.len + data > p->max_event) return sse_too_big(L, p);
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* p:finish() -> true when an event was pending (the stream was cut mid-event) */
static int sse_finish(lua_State *L) {
  sse_parser *p = sse_check(L);
  int cut = p->has_pend || p->has_data;
  if (lua_getiuservalue(L, 1, SSE_UV_EVENT) != LUA_TNIL) cut = 1;
  lua_pop(L, 1);
  p->has_pend = p->has_data = 0;
  mcpt_buf_reset(&p->pend);
  mcpt_buf_reset(&p->data);
  lua_pushnil(L);
  lua_setiuservalue(L, 1, SSE_UV_EVENT);
  lua_pushboolean(L, cut);
  return 1;
}

static int sse_gc(lua_State *L) {
  sse_parser *p = sse_check(L);
  mcpt_buf_free(&p->pend);
  mcpt_buf_free(&p->data);
  return 0;
}

/* fields: last_id, id_buf, retry, events, failed, max_event; methods */
static int sse_index(lua_State *L) {
  sse_parser *p = sse_check(L);
  const char *k = luaL_checkstring(L, 2);
  if (strcmp(k, "last_id") == 0) lua_getiuservalue(L, 1, SSE_UV_LAST_ID);
  else if (strcmp(k, "id_buf") == 0) lua_getiuservalue(L, 1, SSE_UV_ID_BUF);
  else if (strcmp(k, "failed") == 0) lua_getiuservalue(L, 1, SSE_UV_FAILED);
  else if (strcmp(k, "retry") == 0) { if (p->has_retry) lua_pushinteger(L, p->retry); else lua_pushnil(L); }
  else if (strcmp(k, "events") == 0) lua_pushinteger(L, p->events);
  else if (strcmp(k, "max_event") == 0) lua_pushinteger(L, (lua_Integer)p->max_event);
  else {
    luaL_getmetatable(L, SSE_MT);
    lua_getfield(L, -1, "methods");
    lua_getfield(L, -1, k);
  }
  return 1;
}

/* last_id, id_buf (strings or nil) and retry (number or nil) may be set:
 * a resumed stream's new parser starts from the old one's. */
static int sse_newindex(lua_State *L) {
  sse_parser *p = sse_check(L);
  const char *k = luaL_checkstring(L, 2);
  if (strcmp(k, "last_id") == 0 || strcmp(k, "id_buf") == 0) {
    if (!lua_isnil(L, 3)) luaL_checktype(L, 3, LUA_TSTRING);
    lua_settop(L, 3);
    lua_setiuservalue(L, 1, k[0] == 'l' ? SSE_UV_LAST_ID : SSE_UV_ID_BUF);
  } else if (strcmp(k, "retry") == 0) {
    if (lua_isnil(L, 3)) p->has_retry = 0;
    else { p->retry = luaL_checkinteger(L, 3); p->has_retry = 1; }
  } else {
    return luaL_error(L, "sse parser: cannot set field '%s'", k);
  }
  return 0;
}

/* sse.new(on_event, ctx, max_event) -> parser */
static int sse_new(lua_State *L) {
  sse_parser *p;
  lua_Integer max = luaL_checkinteger(L, 3);
  luaL_checktype(L, 1, LUA_TFUNCTION);
  luaL_argcheck(L, max > 0, 3, "max_event must be positive");
  p = (sse_parser *)lua_newuserdatauv(L, sizeof *p, SSE_UV_N);
  memset(p, 0, sizeof *p);
  p->max_event = (size_t)max;
  luaL_setmetatable(L, SSE_MT);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, SSE_UV_ON_EVENT);
  lua_pushvalue(L, 2);
  lua_setiuservalue(L, -2, SSE_UV_CTX);
  return 1;
}

static const luaL_Reg sse_methods[] = {
  {"feed", sse_feed},
  {"finish", sse_finish},
  {NULL, NULL}
};

static const luaL_Reg sse_meta[] = {
  {"__index", sse_index},
  {"__newindex", sse_newindex},
  {"__gc", sse_gc},
  {NULL, NULL}
};

static const luaL_Reg sse_funcs[] = {
  {"new", sse_new},
  {NULL, NULL}
};

int luaopen_mcptest_core_sse(lua_State *L) {
  luaL_newmetatable(L, SSE_MT);
  luaL_setfuncs(L, sse_meta, 0);
  luaL_newlib(L, sse_methods);
  lua_setfield(L, -2, "methods");
  lua_pop(L, 1);
  luaL_newlib(L, sse_funcs);
  return 1;
}
