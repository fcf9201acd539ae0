/*
 * regex.c: mcptest.core.regex, PCRE2 (Debian's libpcre2-8) regular
 * expressions for YAML suites' `matches:` and JSON Schema's `pattern`.
 * Patterns and subjects are UTF-8; a subject that is not valid UTF-8 is
 * searched where it is valid (PCRE2_MATCH_INVALID_UTF), never an error.
 *   regex.compile(pattern) -> re | nil, err (kind "usage", naming the offset)
 *   re:find(subject [, init]) -> start, end (1-based, inclusive) | nil
 * A compiled pattern is freed by __gc.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <string.h>

#include "mcptest.h"

#define REGEX_MT "mcptest.Regex"

typedef struct regex_ud {
  pcre2_code *code;
  pcre2_match_data *md;
} regex_ud;

static int regex_gc(lua_State *L) {
  regex_ud *r = (regex_ud *)luaL_checkudata(L, 1, REGEX_MT);
  if (r->md) { pcre2_match_data_free(r->md); r->md = NULL; }
  if (r->code) { pcre2_code_free(r->code); r->code = NULL; }
  return 0;
}

static int regex_compile(lua_State *L) {
  size_t len;
  const char *pat = luaL_checklstring(L, 1, &len);
  int errcode;
  PCRE2_SIZE erroff;
  regex_ud *r = (regex_ud *)lua_newuserdatauv(L, sizeof *r, 0);
  memset(r, 0, sizeof *r);
  luaL_setmetatable(L, REGEX_MT);
  r->code = pcre2_compile((PCRE2_SPTR)pat, len, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &errcode, &erroff, NULL);
  if (!r->code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(errcode, msg, sizeof msg);
    return mcpt_fail(L, "usage", "bad regular expression at character %d: %s", (int)erroff + 1, (const char *)msg);
  }
  r->md = pcre2_match_data_create_from_pattern(r->code, NULL);
  if (!r->md) return luaL_error(L, "not enough memory");
  return 1;
}

static int regex_find(lua_State *L) {
  regex_ud *r = (regex_ud *)luaL_checkudata(L, 1, REGEX_MT);
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  lua_Integer init = luaL_optinteger(L, 3, 1);
  int rc;
  if (!r->code) return luaL_error(L, "regex used after it was freed");
  if (init < 1) init = 1;
  if ((size_t)init > len + 1) { lua_pushnil(L); return 1; }
  rc = pcre2_match(r->code, (PCRE2_SPTR)s, len, (PCRE2_SIZE)(init - 1), 0, r->md, NULL);
  if (rc < 0) {
    if (rc == PCRE2_ERROR_NOMATCH) { lua_pushnil(L); return 1; }
    {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(rc, msg, sizeof msg);
      return mcpt_fail(L, "usage", "regular expression match failed: %s", (const char *)msg);
    }
  }
  {
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->md);
    lua_pushinteger(L, (lua_Integer)ov[0] + 1);
    lua_pushinteger(L, (lua_Integer)ov[1]);
    return 2;
  }
}

static const luaL_Reg regex_methods[] = {
  {"find", regex_find},
  {NULL, NULL}
};

static const luaL_Reg regex_funcs[] = {
  {"compile", regex_compile},
  {NULL, NULL}
};

int luaopen_mcptest_core_regex(lua_State *L) {
  luaL_newmetatable(L, REGEX_MT);
  lua_pushcfunction(L, regex_gc);
  lua_setfield(L, -2, "__gc");
  luaL_newlib(L, regex_methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_newlib(L, regex_funcs);
  return 1;
}
