/*
 * sys.c: mcptest.core.sys, the few OS facts Lua's standard library lacks:
 * a monotonic clock, sleeping, environment writes (.env loading), isatty,
 * process CPU time and peak memory (benchmarks and reports).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "mcptest.h"

static int sys_now(lua_State *L) {
  lua_pushnumber(L, mcpt_now());
  return 1;
}

/* Wall-clock seconds since the epoch, with sub-second precision. */
static int sys_time(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  lua_pushnumber(L, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
  return 1;
}

static int sys_sleep(lua_State *L) {
  double s = luaL_checknumber(L, 1);
  struct timespec ts;
  if (s <= 0) return 0;
  ts.tv_sec = (time_t)s;
  ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
  return 0;
}

/* sys.setenv(name, value|nil): nil unsets */
static int sys_setenv(lua_State *L) {
  const char *k = luaL_checkstring(L, 1);
  int rc = lua_isnoneornil(L, 2) ? unsetenv(k) : setenv(k, luaL_checkstring(L, 2), 1);
  if (rc != 0) return mcpt_fail(L, "usage", "setenv %s: %s", k, strerror(errno));
  lua_pushboolean(L, 1);
  return 1;
}

/* sys.environ() -> {name = value, ...} */
static int sys_environ(lua_State *L) {
  extern char **environ;
  char **e;
  lua_newtable(L);
  for (e = environ; e && *e; e++) {
    const char *eq = strchr(*e, '=');
    if (!eq) continue;
    lua_pushlstring(L, *e, (size_t)(eq - *e));
    lua_pushstring(L, eq + 1);
    lua_rawset(L, -3);
  }
  return 1;
}

static int sys_isatty(lua_State *L) {
  lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
  return 1;
}

/* sys.usage() -> cpu_user_s, cpu_sys_s, max_rss_kib (this process) */
static int sys_usage(lua_State *L) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  lua_pushnumber(L, (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6);
  lua_pushnumber(L, (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
  lua_pushinteger(L, ru.ru_maxrss);
  return 3;
}

/* sys.interrupted() -> signal number (SIGINT 2, SIGTERM 15) or nil */
static int sys_interrupted(lua_State *L) {
  if (mcpt_interrupted) lua_pushinteger(L, mcpt_interrupted);
  else lua_pushnil(L);
  return 1;
}

/* sys.alarm(seconds): after that long, the host raises "time limit
 * exceeded" inside Lua (runtime/main.c's SIGALRM handler); 0 cancels. */
static int sys_alarm(lua_State *L) {
  double s = luaL_checknumber(L, 1);
  struct itimerval it;
  memset(&it, 0, sizeof it);
  if (s > 0) {
    it.it_value.tv_sec = (time_t)s;
    it.it_value.tv_usec = (suseconds_t)((s - (double)it.it_value.tv_sec) * 1e6);
    if (it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0) it.it_value.tv_usec = 1;
  }
  mcpt_alarm_seconds = s > 0 ? s : 0;
  mcpt_alarmed = 0;
  setitimer(ITIMER_REAL, &it, NULL);
  return 0;
}

static int sys_pid(lua_State *L) {
  lua_pushinteger(L, getpid());
  return 1;
}

/* sys.read(fd, max) -> data | "" (nothing to read now: EAGAIN/EINTR) | nil
 * (end of file, or an error: nil, message). One read(2), for a descriptor
 * poll just reported readable, such as fd 0 of `mcptest mcp-server` (whose
 * blocking mode is left alone: it may be shared with the parent). */
static int sys_read(lua_State *L) {
  int fd = (int)luaL_checkinteger(L, 1);
  lua_Integer max = luaL_checkinteger(L, 2);
  luaL_Buffer b;
  ssize_t r;
  luaL_argcheck(L, max > 0 && max <= 16 * 1024 * 1024, 2, "max must be 1..16 MiB");
  char *dst = luaL_buffinitsize(L, &b, (size_t)max);
  r = read(fd, dst, (size_t)max);
  if (r > 0) {
    luaL_pushresultsize(&b, (size_t)r);
    return 1;
  }
  if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
    lua_pushliteral(L, "");
    return 1;
  }
  lua_pushnil(L);
  if (r == 0) return 1;
  lua_pushstring(L, strerror(errno));
  return 2;
}

static const luaL_Reg sys_funcs[] = {
  {"read", sys_read},
  {"now", sys_now},
  {"time", sys_time},
  {"sleep", sys_sleep},
  {"setenv", sys_setenv},
  {"environ", sys_environ},
  {"isatty", sys_isatty},
  {"usage", sys_usage},
  {"pid", sys_pid},
  {"interrupted", sys_interrupted},
  {"alarm", sys_alarm},
  {NULL, NULL}
};

int luaopen_mcptest_core_sys(lua_State *L) {
  luaL_newlib(L, sys_funcs);
  lua_pushliteral(L, MCPTEST_VERSION); /* from CMake's project(VERSION) */
  lua_setfield(L, -2, "version");
  return 1;
}
