/*
 * mcptest.h: what the host (main.c) and the C modules share.
 * Every C module exports exactly one luaopen_* function, listed here and
 * registered in modules.c; everything else in a module file is static.
 */
#ifndef MCPTEST_H
#define MCPTEST_H

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

/* modules.c: install the module registry and the embedded-source searcher. */
void mcpt_open_modules(lua_State *L);

/* util.c: shared helpers (prefix mcpt_). */
/* Push nil plus an error table {kind=, message=} (metatable mcptest.Error). */
int mcpt_fail(lua_State *L, const char *kind, const char *fmt, ...);
/* The signal (SIGINT, SIGTERM) that interrupted the run, 0 if none. */
#include <signal.h>
extern volatile sig_atomic_t mcpt_interrupted;
/* Set by SIGALRM when the time limit sys.alarm() armed has passed. */
extern volatile sig_atomic_t mcpt_alarmed;
extern double mcpt_alarm_seconds;
/* Monotonic clock in seconds. */
double mcpt_now(void);
/* Set O_NONBLOCK and FD_CLOEXEC on a descriptor; 0 on success. */
int mcpt_fd_prepare(int fd);

int luaopen_mcptest_core_json(lua_State *L);
int luaopen_mcptest_core_process(lua_State *L);
int luaopen_mcptest_core_poll(lua_State *L);
int luaopen_mcptest_core_sys(lua_State *L);
int luaopen_mcptest_core_sse(lua_State *L);
int luaopen_mcptest_core_httpd(lua_State *L);
int luaopen_mcptest_core_yaml(lua_State *L);
int luaopen_mcptest_core_crypto(lua_State *L);
int luaopen_mcptest_core_http(lua_State *L);
int luaopen_cjson(lua_State *L);
int luaopen_cjson_safe(lua_State *L);

#endif
