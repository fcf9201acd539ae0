/*
 * poll.c: mcptest.core.poll, the one place the Lua event loop sleeps.
 * wait() polls a set of descriptors with a timeout and reports which are
 * ready; it never reads or writes them (their owners do). A signal ends the
 * wait early with nothing ready, so an interrupt reaches Lua promptly.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "mcptest.h"

/* poll.wait(read_fds, write_fds, timeout_seconds) -> fd, what, fd, what...
 * for each ready descriptor (nothing on timeout or signal). what is "r",
 * "w", "rw" or "e" (error/hang-up: the owner's read then sees EOF).
 * timeout < 0 waits forever. Multiple results rather than a table: this is
 * on every request's path and allocates nothing. */
enum { POLL_R = 1, POLL_W, POLL_RW, POLL_E }; /* wait()'s upvalues, in this order */

static int poll_wait(lua_State *L) {
  struct pollfd stackfds[16], *fds = stackfds;
  int nr, nw, n = 0, i, rc, ms, pushed = 0;
  double timeout = luaL_optnumber(L, 3, -1);
  luaL_checktype(L, 1, LUA_TTABLE);
  /* raw lengths: the loop's own arrays, no __len to honour */
  nr = (int)lua_rawlen(L, 1);
  nw = lua_istable(L, 2) ? (int)lua_rawlen(L, 2) : 0;
  if (nr + nw > 16) {
    fds = (struct pollfd *)lua_newuserdatauv(L, sizeof *fds * (size_t)(nr + nw), 0);
  }
  for (i = 1; i <= nr; i++) {
    lua_rawgeti(L, 1, i);
    fds[n].fd = (int)lua_tointeger(L, -1);
    fds[n].events = POLLIN;
    fds[n].revents = 0;
    lua_pop(L, 1);
    if (fds[n].fd >= 0) n++;
  }
  for (i = 1; i <= nw; i++) {
    int fd, j;
    lua_rawgeti(L, 2, i);
    fd = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    if (fd < 0) continue;
    for (j = 0; j < n && fds[j].fd != fd; j++) {}
    if (j == n) { fds[n].fd = fd; fds[n].events = 0; fds[n].revents = 0; n++; }
    fds[j].events |= POLLOUT;
  }
  ms = timeout < 0 ? -1 : (timeout > 2e6 ? 2000000000 : (int)ceil(timeout * 1000.0));
  rc = poll(fds, (nfds_t)n, ms);
  if (rc < 0) {
    if (errno == EINTR) return 0;
    return luaL_error(L, "poll: %s", strerror(errno));
  }
  luaL_checkstack(L, 2 * rc, "poll: too many ready descriptors");
  for (i = 0; i < n && pushed < rc; i++) {
    short re = fds[i].revents;
    int what; /* upvalue index of the word: no string interned per call */
    if (!re) continue;
    if (re & (POLLERR | POLLHUP | POLLNVAL)) what = (re & POLLOUT) ? POLL_RW : POLL_E;
    else if ((re & POLLIN) && (re & POLLOUT)) what = POLL_RW;
    else if (re & POLLIN) what = POLL_R;
    else what = POLL_W;
    lua_pushinteger(L, fds[i].fd);
    lua_pushvalue(L, lua_upvalueindex(what));
    pushed++;
  }
  return 2 * pushed;
}

static const luaL_Reg poll_funcs[] = {
  {"wait", poll_wait},
  {NULL, NULL}
};

int luaopen_mcptest_core_poll(lua_State *L) {
  luaL_newlibtable(L, poll_funcs);
  lua_pushliteral(L, "r");
  lua_pushliteral(L, "w");
  lua_pushliteral(L, "rw");
  lua_pushliteral(L, "e");
  luaL_setfuncs(L, poll_funcs, 4);
  return 1;
}
