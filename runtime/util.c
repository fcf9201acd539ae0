/*
 * util.c: helpers shared by several C modules (prefix mcpt_). No Lua module
 * of its own. The error table built here is the C side of mcptest.Error;
 * lua/mcptest/errors.lua owns its metatable and __tostring.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <time.h>

#include "mcptest.h"

volatile sig_atomic_t mcpt_interrupted = 0;
volatile sig_atomic_t mcpt_alarmed = 0;
double mcpt_alarm_seconds = 0;

int mcpt_fail(lua_State *L, const char *kind, const char *fmt, ...) {
  va_list ap;
  lua_pushnil(L);
  lua_createtable(L, 0, 2);
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "kind");
  va_start(ap, fmt);
  lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  lua_setfield(L, -2, "message");
  /* Errors share one metatable, registered by mcptest.errors under this name. */
  if (luaL_getmetatable(L, "mcptest.Error") == LUA_TTABLE)
    lua_setmetatable(L, -2);
  else
    lua_pop(L, 1);
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
