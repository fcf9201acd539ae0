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
  /* a signal that stops the run (Ctrl-C, SIGTERM, a time limit) ends the
   * sleep: the hook raises as soon as this returns */
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !mcpt_interrupted && !mcpt_alarmed) {}
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

/* sys.getcwd() -> path | nil, err: the project registry (mcptest.yaml) is
   found by walking up from it, and $PWD may be stale in a child process */
static int sys_getcwd(lua_State *L) {
  char buf[4096];
  if (!getcwd(buf, sizeof buf)) {
    lua_pushnil(L);
    lua_pushstring(L, strerror(errno));
    return 2;
  }
  lua_pushstring(L, buf);
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

/* The block a time limit is armed for (sys.alarm's second argument): its
 * source and first line, so the hook can tell whether it is still running
 * (a frame of the same function on the stack) without pushing anything. */
static char limit_source[512];
static int limit_line = -1; /* -1: no block (a bare alarm raises once) */

/* Is the limited block on L's stack (then, for a coroutine, on the main
 * thread's), with no busted frame above it? busted's own frames (the
 * message handler that formats the failure runs above the failing frame)
 * must finish undisturbed. */
static int limit_block_running(lua_State *L, int *at) {
  lua_State *threads[2];
  int n = 0, i, level;
  lua_Debug ar;
  threads[n++] = L;
  if (mcpt_main_thread && L != mcpt_main_thread) threads[n++] = mcpt_main_thread;
  *at = -1;
  for (i = 0; i < n; i++) {
    for (level = 0; lua_getstack(threads[i], level, &ar); level++) {
      if (!lua_getinfo(threads[i], "S", &ar)) continue;
      if (strstr(ar.source, "busted/core.lua")) return 0;
      if (ar.linedefined == limit_line && strcmp(ar.source, limit_source) == 0) {
        if (i == 0) *at = level;
        return 1;
      }
    }
  }
  return 0;
}

/* Raise what, placed at the line the block was running (its frame at
 * level at of L), or where L is when that frame is on another thread. */
static void limit_raise(lua_State *L, int at, const char *what) {
  lua_Debug ar;
  if (at >= 0 && lua_getstack(L, at, &ar) && lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
    lua_pushfstring(L, "%s:%d: %s", ar.short_src, ar.currentline, what);
    lua_error(L);
  }
  luaL_error(L, "%s", what);
}

/* The hook the host's signal handlers install. Interrupted: raise once.
 * Over the time limit of a block (sys.alarm(s, fn)): raise every time it
 * runs while that block is still running, so a pcall (or a loop of them)
 * cannot swallow the limit; it stays until sys.alarm re-arms or cancels.
 * A bare sys.alarm(s): raise once. */
void mcpt_limit_hook(lua_State *L, lua_Debug *ar) {
  int at = -1;
  (void)ar;
  if (mcpt_interrupted) {
    /* inside a limited block, as for the time limit: raised until it is
     * left, so a pcall loop cannot swallow Ctrl-C or timeout(1)'s SIGTERM */
    if (limit_line >= 0) {
      if (limit_block_running(L, &at)) luaL_error(L, "interrupted!");
      return;
    }
    lua_sethook(L, NULL, 0, 0);
    luaL_error(L, "interrupted!");
  }
  if (!mcpt_alarmed) {
    lua_sethook(L, NULL, 0, 0);
    return;
  }
  if (limit_line < 0) { /* a bare alarm: once, on the main thread */
    lua_sethook(L, NULL, 0, 0);
    if (L != mcpt_main_thread) return;
    mcpt_alarmed = 0;
  } else if (!limit_block_running(L, &at)) {
    return;
  }
  lua_pushfstring(L, "test exceeded its time limit of %f s (--test-timeout); stuck in a loop?", mcpt_alarm_seconds);
  limit_raise(L, at, lua_tostring(L, -1));
}

/* sys.alarm(seconds[, fn]): after that long, the host raises "time limit
 * exceeded" inside Lua (runtime/main.c's SIGALRM handler); 0: no timer.
 * With fn (the test or hook the limit is for), the error keeps being
 * raised while fn runs, even inside a coroutine it resumed (see
 * sys.enter). */
static int sys_alarm(lua_State *L) {
  double s = luaL_checknumber(L, 1);
  struct itimerval it;
  memset(&it, 0, sizeof it);
  limit_line = -1;
  if (lua_isfunction(L, 2)) { /* recorded even with no time limit: interrupts use it */
    lua_Debug ar;
    lua_pushvalue(L, 2);
    lua_getinfo(L, ">S", &ar);
    if (strlen(ar.source) < sizeof limit_source) {
      memcpy(limit_source, ar.source, strlen(ar.source) + 1);
      limit_line = ar.linedefined;
    }
  }
  if (s > 0) {
    it.it_value.tv_sec = (time_t)s;
    it.it_value.tv_usec = (suseconds_t)((s - (double)it.it_value.tv_sec) * 1e6);
    if (it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0) it.it_value.tv_usec = 1;
  }
  setitimer(ITIMER_REAL, &it, NULL);
  mcpt_alarm_seconds = s > 0 ? s : 0;
  mcpt_alarmed = 0;
  /* a new block, or none: the last one's hook goes (an interrupt it
   * received was raised in it; the runner has seen it) */
  if (mcpt_main_thread) lua_sethook(mcpt_main_thread, NULL, 0, 0);
  if (mcpt_limit_thread) lua_sethook(mcpt_limit_thread, NULL, 0, 0);
  return 0;
}

/* sys.resume(co, ...): coroutine.resume, and while co runs a time limit
 * that fires hooks it too (the host's signal handler can only reach the
 * threads it knows of). In C, so no Lua code runs between marking co as
 * running and unmarking it. Over the limit already: hooked at once. */
static int sys_resume(lua_State *L) {
  lua_State *co = lua_tothread(L, 1);
  lua_State *prev;
  int narg = lua_gettop(L) - 1, status, nres = 0;
  luaL_argexpected(L, co != NULL, 1, "coroutine");
  if (lua_status(co) == LUA_OK && lua_gettop(co) == 0) {
    lua_pushboolean(L, 0);
    lua_pushliteral(L, "cannot resume dead coroutine");
    return 2;
  }
  if (!lua_checkstack(co, narg)) {
    lua_pushboolean(L, 0);
    lua_pushliteral(L, "too many arguments to resume");
    return 2;
  }
  lua_xmove(L, co, narg);
  prev = mcpt_limit_thread;
  mcpt_limit_thread = co;
  if ((mcpt_alarmed && limit_line >= 0) || mcpt_interrupted)
    lua_sethook(co, mcpt_limit_hook, MCPT_HOOK_MASK, 1);
  status = lua_resume(co, L, narg, &nres);
  mcpt_limit_thread = prev;
  if (mcpt_alarmed && limit_line >= 0) lua_sethook(L, mcpt_limit_hook, MCPT_HOOK_MASK, 1);
  if (status == LUA_OK || status == LUA_YIELD) {
    if (!lua_checkstack(L, nres + 1)) {
      lua_pop(co, nres);
      lua_pushboolean(L, 0);
      lua_pushliteral(L, "too many results to resume");
      return 2;
    }
    lua_pushboolean(L, 1);
    lua_xmove(co, L, nres);
    return nres + 1;
  }
  lua_pushboolean(L, 0);
  lua_xmove(co, L, 1); /* the error object */
  return 2;
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
  {"getcwd", sys_getcwd},
  {"usage", sys_usage},
  {"pid", sys_pid},
  {"interrupted", sys_interrupted},
  {"alarm", sys_alarm},
  {"resume", sys_resume},
  {NULL, NULL}
};

int luaopen_mcptest_core_sys(lua_State *L) {
  luaL_newlib(L, sys_funcs);
  lua_pushliteral(L, MCPTEST_VERSION); /* from CMake's project(VERSION) */
  lua_setfield(L, -2, "version");
  return 1;
}
