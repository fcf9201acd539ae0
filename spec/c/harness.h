/* harness.h: a tiny C test harness for the host's C modules (ctest runs
 * each test_*.c). CHECK records a failure and continues; lua_check runs a
 * Lua chunk in a state with the host's modules and counts it as one check. */
#ifndef MCPTEST_HARNESS_H
#define MCPTEST_HARNESS_H
#include <signal.h>
#include <stdio.h>
#include "mcptest.h"

static int harness_checks, harness_failures;

#define CHECK(cond, what) do { harness_checks++; \
  if (!(cond)) { harness_failures++; fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, what); } \
  else printf("ok - %s\n", what); } while (0)

static lua_State *harness_state(void) {
  lua_State *L = luaL_newstate();
  signal(SIGPIPE, SIG_IGN); /* as the host does */
  luaL_openlibs(L);
  mcpt_open_modules(L);
  return L;
}

/* Run Lua code that must not raise. */
static void lua_check(lua_State *L, const char *what, const char *code) {
  int ok = luaL_dostring(L, code) == LUA_OK;
  if (!ok) fprintf(stderr, "  lua: %s\n", lua_tostring(L, -1));
  lua_settop(L, 0);
  CHECK(ok, what);
}

static int harness_done(void) {
  printf("%d passed, %d failed\n", harness_checks - harness_failures, harness_failures);
  return harness_failures ? 1 : 0;
}
#endif
