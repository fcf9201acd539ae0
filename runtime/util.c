/*
 * util.c: helpers shared by several C modules (prefix mcpt_). No Lua module
 * of its own. It also creates the metatables more than one module needs,
 * as liolib's createmeta does, so no module depends on another having been
 * opened first: mcptest.Error (every nil, err a C module returns) and the
 * JSON array and object markers (json.c, yaml.c). mcpt_open_modules makes
 * them when the state opens its modules; each creator also makes its
 * table on first use, for a state that did not.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcptest.h"

volatile sig_atomic_t mcpt_interrupted = 0;
volatile sig_atomic_t mcpt_alarmed = 0;
double mcpt_alarm_seconds = 0;
lua_State *mcpt_main_thread = NULL;
lua_State *volatile mcpt_limit_thread = NULL;

/* The C __tostring of mcptest.Error: "kind error: message". errors.lua
 * replaces it with its own (more fields, secrets scrubbed) once loaded;
 * this one makes an error printed before that still read well. */
static int error_tostring(lua_State *L) {
  const char *kind, *msg;
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "kind");
  lua_getfield(L, 1, "message");
  kind = lua_tostring(L, 2);
  msg = lua_tostring(L, 3);
  lua_pushfstring(L, "%s error: %s", kind ? kind : "mcptest", msg ? msg : "(no message)");
  return 1;
}

void mcpt_push_error_mt(lua_State *L) {
  if (luaL_newmetatable(L, MCPT_ERROR_MT)) { /* new: __name set, add __tostring */
    lua_pushcfunction(L, error_tostring);
    lua_setfield(L, -2, "__tostring");
  }
}

void mcpt_push_json_mt(lua_State *L, int array) {
  if (luaL_newmetatable(L, array ? MCPT_JSON_ARRAY_MT : MCPT_JSON_OBJECT_MT) && array) {
    lua_pushliteral(L, "array"); /* how luaL_tolstring names a decoded array */
    lua_setfield(L, -2, "__name");
  }
}

static void push_verror(lua_State *L, const char *kind, const char *fmt, va_list ap) {
  lua_createtable(L, 0, 3);
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "kind");
  lua_pushvfstring(L, fmt, ap);
  lua_setfield(L, -2, "message");
  mcpt_push_error_mt(L);
  lua_setmetatable(L, -2);
}

void mcpt_error(lua_State *L, const char *kind, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  push_verror(L, kind, fmt, ap);
  va_end(ap);
}

int mcpt_fail(lua_State *L, const char *kind, const char *fmt, ...) {
  va_list ap;
  lua_pushnil(L);
  va_start(ap, fmt);
  push_verror(L, kind, fmt, ap);
  va_end(ap);
  return 2;
}

double mcpt_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int mcpt_fd_prepare(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -1;
  return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

int mcpt_buf_reserve(mcpt_buf *b, size_t extra) {
  size_t cap;
  char *d;
  if (b->len + extra <= b->cap) return 0;
  if (b->len + extra < b->len) return -1; /* size_t overflow */
  cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra) cap *= 2;
  d = (char *)(b->heap ? realloc(b->data, cap) : malloc(cap));
  if (!d) return -1;
  if (!b->heap && b->len) memcpy(d, b->data, b->len);
  b->data = d;
  b->cap = cap;
  b->heap = 1;
  return 0;
}

int mcpt_buf_add(mcpt_buf *b, const void *s, size_t n) {
  if (mcpt_buf_reserve(b, n)) return -1;
  if (n) memcpy(b->data + b->len, s, n);
  b->len += n;
  return 0;
}

void mcpt_buf_free(mcpt_buf *b) {
  if (b->heap) free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
  b->heap = 0;
}

void mcpt_buf_reset(mcpt_buf *b) {
  if (b->cap > MCPT_BUF_KEEP) mcpt_buf_free(b);
  b->len = 0;
}
