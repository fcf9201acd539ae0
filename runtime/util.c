/*
 * util.c: helpers shared by several C modules (prefix mcpt_). No Lua module
 * of its own. The error table built here is the C side of mcptest.Error;
 * lua/mcptest/errors.lua owns its metatable and __tostring.
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

static void push_verror(lua_State *L, const char *kind, const char *fmt, va_list ap) {
  lua_createtable(L, 0, 3);
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "kind");
  lua_pushvfstring(L, fmt, ap);
  lua_setfield(L, -2, "message");
  /* Errors share one metatable, registered by mcptest.errors under this name. */
  if (luaL_getmetatable(L, "mcptest.Error") == LUA_TTABLE)
    lua_setmetatable(L, -2);
  else
    lua_pop(L, 1);
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
