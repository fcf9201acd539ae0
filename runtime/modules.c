/*
 * modules.c: the single registry of the host's C modules, and the searcher
 * that serves the Lua sources embedded from lua/ and stdlib/.
 *
 * C modules go into package.preload, so each opens only when first
 * required (start-up stays fast). The embedded searcher sits right after
 * preload; with MCPTEST_LUA_DIR set to a source checkout it loads lua/ and
 * stdlib/ from disk instead, so Lua edits need no rebuild. Opening the
 * registry also creates the metatables several modules share (util.c), so
 * the order modules are required in does not matter.
 */
#include <stdlib.h>
#include <string.h>

#include "embedded.h"
#include "mcptest.h"

static const luaL_Reg mcptest_modules[] = {
  {"mcptest.core.json", luaopen_mcptest_core_json},
  {"mcptest.core.process", luaopen_mcptest_core_process},
  {"mcptest.core.poll", luaopen_mcptest_core_poll},
  {"mcptest.core.sys", luaopen_mcptest_core_sys},
  {"mcptest.core.sse", luaopen_mcptest_core_sse},
  {"mcptest.core.httpd", luaopen_mcptest_core_httpd},
  {"mcptest.core.yaml", luaopen_mcptest_core_yaml},
  {"mcptest.core.crypto", luaopen_mcptest_core_crypto},
  {"mcptest.core.http", luaopen_mcptest_core_http},
  {"mcptest.core.fs", luaopen_mcptest_core_fs},
  {"mcptest.core.hist", luaopen_mcptest_core_hist},
  {"mcptest.core.regex", luaopen_mcptest_core_regex},
  {"mcptest.core.keychain", luaopen_mcptest_core_keychain},
  {"cjson", luaopen_cjson},
  {"cjson.safe", luaopen_cjson_safe},
  {NULL, NULL}
};

/* Try DIR/lua/<name>.lua, DIR/lua/<name>/init.lua, then the same in stdlib. */
static int modules_search_dir(lua_State *L, const char *dir, const char *name) {
  static const char *const patterns[] = {
    "%s/lua/%s.lua", "%s/lua/%s/init.lua", "%s/stdlib/%s.lua", "%s/stdlib/%s/init.lua", NULL};
  const char *const *p;
  luaL_Buffer b;
  const char *path;
  char *rel = strdup(name);
  char *c;
  if (!rel) return luaL_error(L, "not enough memory");
  for (c = rel; *c; c++)
    if (*c == '.') *c = '/';
  for (p = patterns; *p; p++) {
    lua_pushfstring(L, *p, dir, rel);
    path = lua_tostring(L, -1);
    if (luaL_loadfile(L, path) == LUA_OK) {
      free(rel);
      lua_insert(L, -2); /* stack: chunk, path */
      return 2;
    }
    if (lua_tostring(L, -1) && strstr(lua_tostring(L, -1), "cannot open") == NULL) {
      free(rel);
      return lua_error(L); /* a syntax error in our own sources */
    }
    lua_pop(L, 2);
  }
  free(rel);
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "\n\tno file in MCPTEST_LUA_DIR for '");
  luaL_addstring(&b, name);
  luaL_addstring(&b, "'");
  luaL_pushresult(&b);
  return 1;
}

/* package.searchers entry: find an embedded module by name. */
static int modules_searcher(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  const char *dir = getenv("MCPTEST_LUA_DIR");
  const mcpt_embedded_t *e;
  if (dir && *dir) return modules_search_dir(L, dir, name);
  for (e = mcpt_embedded; e->module; e++) {
    if (strcmp(e->module, name) == 0) {
      if (luaL_loadbufferx(L, e->source, e->length, e->chunk, "t") != LUA_OK)
        return lua_error(L);
      lua_pushstring(L, e->chunk + 1);
      return 2;
    }
  }
  lua_pushfstring(L, "\n\tno embedded module '%s'", name);
  return 1;
}

void mcpt_open_modules(lua_State *L) {
  const luaL_Reg *m;
  lua_Integer n;
  /* the metatables several modules share, before any module opens */
  mcpt_push_error_mt(L);
  mcpt_push_json_mt(L, 1);
  mcpt_push_json_mt(L, 0);
  lua_pop(L, 3);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  for (m = mcptest_modules; m->func; m++) {
    lua_pushcfunction(L, m->func);
    lua_setfield(L, -2, m->name);
  }
  lua_pop(L, 1);
  /* stack: package.searchers; insert ours at position 2 */
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "searchers");
  n = luaL_len(L, -1);
  for (; n >= 2; n--) {
    lua_rawgeti(L, -1, n);
    lua_rawseti(L, -2, n + 1);
  }
  lua_pushcfunction(L, modules_searcher);
  lua_rawseti(L, -2, 2);
  lua_pop(L, 2);
}
