/* fuzz_www_authenticate.c: the WWW-Authenticate parser, which is Lua
 * (lua/mcptest/transport/curl.lua, parse_www_authenticate, and
 * describe_challenge, which puts what it parsed into failure messages),
 * fed arbitrary header values through an embedded Lua state, with Lua line
 * coverage fed to libFuzzer (fuzz.h). A server's 401 goes through both.
 * Checked: neither raises; parse returns nil or { scheme = a token,
 * params = { lower-case name = string }, raw = the value }; describe
 * returns a string that starts with the scheme. */
#include "fuzz.h"

static int parse_ref, describe_ref;

static void setup(lua_State *L) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "mcptest.transport.curl");
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) fuzz_fail("require mcptest.transport.curl: %s", lua_tostring(L, -1));
  lua_getfield(L, -1, "parse_www_authenticate");
  parse_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_getfield(L, -1, "describe_challenge");
  describe_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pop(L, 1);
  fuzz_lua_coverage(L);
}

static int is_token_char(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c && strchr("!#$%&'*+-.^_`|~", c));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_State *L = fuzz_state();
  int top = lua_gettop(L), ch;
  size_t n, sn;
  const char *s, *scheme;
  if (!parse_ref) setup(L);
  fuzz_lua_prev = 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, parse_ref);
  lua_pushlstring(L, (const char *)data, size);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) fuzz_fail("parse_www_authenticate raised: %s", lua_tostring(L, -1));
  ch = lua_gettop(L);
  if (lua_type(L, ch) == LUA_TTABLE) {
    if (lua_getfield(L, ch, "scheme") != LUA_TSTRING) fuzz_fail("a challenge without a scheme string");
    scheme = lua_tolstring(L, -1, &sn);
    if (sn == 0) fuzz_fail("an empty scheme");
    for (size_t i = 0; i < sn; i++)
      if (!is_token_char((unsigned char)scheme[i])) fuzz_fail("the scheme holds a byte that is no token character");
    if (lua_getfield(L, ch, "raw") != LUA_TSTRING) fuzz_fail("raw is not the value");
    s = lua_tolstring(L, -1, &n);
    if (n != size || (n && memcmp(s, data, n) != 0)) fuzz_fail("raw is not the value");
    if (lua_getfield(L, ch, "params") != LUA_TTABLE) fuzz_fail("params is not a table");
    lua_pushnil(L);
    while (lua_next(L, -2)) { /* stack: name, value */
      if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING) fuzz_fail("a parameter is not a string");
      s = lua_tolstring(L, -2, &n);
      if (n == 0) fuzz_fail("a parameter without a name");
      for (size_t i = 0; i < n; i++)
        if (s[i] >= 'A' && s[i] <= 'Z') fuzz_fail("a parameter name is not lower-case");
      lua_pop(L, 1);
    }
    lua_settop(L, ch);
  } else if (!lua_isnil(L, ch)) {
    fuzz_fail("parse returned a %s", luaL_typename(L, ch));
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, describe_ref);
  lua_pushvalue(L, ch);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) fuzz_fail("describe_challenge raised: %s", lua_tostring(L, -1));
  if (lua_type(L, -1) != LUA_TSTRING) fuzz_fail("describe_challenge returned a %s", luaL_typename(L, -1));
  if (lua_type(L, ch) == LUA_TTABLE) {
    lua_getfield(L, ch, "scheme");
    scheme = lua_tolstring(L, -1, &sn);
    s = lua_tolstring(L, -2, &n);
    if (n < sn || memcmp(s, scheme, sn) != 0) fuzz_fail("the description does not start with the scheme");
  }
  fuzz_state_done(L, top);
  return 0;
}
