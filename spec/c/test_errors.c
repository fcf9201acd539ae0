/* test_errors.c: every C module's nil, err carries an mcptest.Error (the
 * shared metatable, with kind and message) whichever module is opened
 * first, with or without lua/mcptest/errors.lua; and the JSON markers YAML
 * puts on its tables are mcptest.json's whichever of the two opens first. */
#include "harness.h"

/* One way to get an error out of each module, as Lua: the chunk's first
 * line requires only that module; it sets the global `e` to the error and
 * `kind` to the kind it must have. */
static const struct { const char *module, *code; } producers[] = {
  {"mcptest.core.json",
   "local m = require 'mcptest.core.json'\n"
   "local v; v, e = m.try_decode('{\"a\":'); assert(v == nil); kind = 'protocol'\n"
   "assert(e.message:find('json: ', 1, true) == 1, e.message)"},
  {"mcptest.core.yaml",
   "local m = require 'mcptest.core.yaml'\n"
   "local v; v, e = m.load('a: [1,', 'bad.yaml'); assert(v == nil); kind = 'usage'\n"
   "assert(e.message:find('^bad%.yaml:%d+:%d+: '), e.message)"},
  {"mcptest.core.sse",
   "local m = require 'mcptest.core.sse'\n"
   "local p = m.new(function() end, nil, 4)\n"
   "local ok; ok, e = p:feed('data: 123456\\n'); assert(ok == nil); kind = 'protocol'\n"
   "assert(p.failed == e and select(2, p:feed('x')) == e, 'the same error on every later feed')\n"
   "assert(e.message:find('larger than 4 bytes', 1, true), e.message)"},
  {"mcptest.core.process",
   "local m = require 'mcptest.core.process'\n"
   "local p; p, e = m.spawn{argv = {'/no/such/binary'}}; assert(p == nil); kind = 'transport'"},
  {"mcptest.core.crypto",
   "local m = require 'mcptest.core.crypto'\n"
   "local v; v, e = m.base64_decode('a'); assert(v == nil); kind = 'protocol'"},
  {"mcptest.core.sys",
   "local m = require 'mcptest.core.sys'\n"
   "local v; v, e = m.setenv('A=B', 'x'); assert(v == nil); kind = 'usage'"},
  {"mcptest.core.httpd",
   "local m = require 'mcptest.core.httpd'\n"
   "local d = assert(m.start{port = 0})\n"
   "local v; v, e = m.start{port = d:port()}; assert(v == nil); kind = 'transport'\n"
   "d:close()"},
  {"mcptest.core.http", /* a refused connection: the error reaches the callback */
   "local m = require 'mcptest.core.http'\n"
   "local poll = require 'mcptest.core.poll'\n"
   "local srv = assert(require('mcptest.core.httpd').start{port = 0})\n"
   "local port = srv:port(); srv:close() -- a port nothing listens on now\n"
   "local req = assert(m.request{url = 'http://127.0.0.1:' .. port .. '/', timeout = 5,\n"
   "  on = function(_, _, done, err) if done then e = err or false end end})\n"
   "for _ = 1, 500 do\n"
   "  if e ~= nil then break end\n"
   "  local r, w = m.fds()\n"
   "  local t = m.timeout()\n"
   "  local function serve(fd, what, ...) if fd then m.action(fd, what); return serve(...) end end\n"
   "  serve(poll.wait(r, w, math.min(t or 0.01, 0.01)))\n"
   "  m.on_timeout()\n"
   "end\n"
   "assert(e, 'the transfer failed'); kind = 'transport'\n"
   "assert(math.type(e.curl_code) == 'integer')"},
};

#define NPRODUCERS (sizeof producers / sizeof producers[0])

/* The checks on `e` once a producer ran: the shared metatable, its kind,
 * a readable tostring. */
static const char *check_c =
  "local mt = debug.getregistry()['mcptest.Error']\n"
  "assert(type(mt) == 'table', 'the metatable exists')\n"
  "assert(getmetatable(e) == mt, 'the error has it')\n"
  "assert(e.kind == kind, tostring(e.kind))\n"
  "assert(type(e.message) == 'string' and #e.message > 0)\n"
  "assert(mt.__name == 'mcptest.Error')\n"
  "assert(tostring(e) == kind .. ' error: ' .. e.message, tostring(e))\n";

/* After errors.lua: the same table, filled in; its __tostring now. */
static const char *check_lua =
  "local errors = require 'mcptest.errors'\n"
  "assert(getmetatable(e) == errors.Error and errors.is(e, kind))\n"
  "e.method = 'some/method'\n"
  "assert(tostring(e) == kind .. ' error: ' .. e.message .. ' (in some/method)', tostring(e))\n";

static int run(lua_State *L, const char *code) {
  int ok = luaL_dostring(L, code) == LUA_OK;
  if (!ok) fprintf(stderr, "  lua: %s\n", lua_tostring(L, -1));
  lua_settop(L, 0);
  return ok;
}

/* A state whose modules are installed but whose shared metatables were
 * never made (as if a host skipped that step): the first module to make
 * an error or a marked table must create them. */
static lua_State *bare_state(void) {
  lua_State *L = harness_state();
  lua_pushnil(L);
  lua_setfield(L, LUA_REGISTRYINDEX, MCPT_ERROR_MT);
  lua_pushnil(L);
  lua_setfield(L, LUA_REGISTRYINDEX, MCPT_JSON_ARRAY_MT);
  lua_pushnil(L);
  lua_setfield(L, LUA_REGISTRYINDEX, MCPT_JSON_OBJECT_MT);
  return L;
}

int main(void) {
  size_t i;
  char what[160];
  for (i = 0; i < NPRODUCERS; i++) {
    lua_State *L = harness_state(); /* as the host opens it */
    snprintf(what, sizeof what, "%s first: its error is an mcptest.Error before errors.lua loads", producers[i].module);
    CHECK(run(L, producers[i].code) && run(L, check_c), what);
    snprintf(what, sizeof what, "%s first: errors.lua then fills in the same metatable", producers[i].module);
    CHECK(run(L, check_lua), what);
    lua_close(L);

    L = harness_state();
    snprintf(what, sizeof what, "%s after errors.lua: its error has errors.lua's metatable", producers[i].module);
    CHECK(run(L, "require 'mcptest.errors'") && run(L, producers[i].code) && run(L, check_lua), what);
    lua_close(L);

    L = bare_state();
    snprintf(what, sizeof what, "%s in a state without the shared metatables: it creates them", producers[i].module);
    CHECK(run(L, producers[i].code) && run(L, check_c) && run(L, check_lua), what);
    lua_close(L);
  }
  {
    lua_State *L = bare_state();
    lua_check(L, "yaml before json: sequences and mappings carry the JSON markers",
      "local yaml = require 'mcptest.core.yaml'\n"
      "local v = assert(yaml.load('a: []\\nb: {}\\nc: [1, {}]\\n'))\n"
      "local reg = debug.getregistry()\n"
      "assert(getmetatable(v.a) == reg['mcptest.json.array'] and getmetatable(v.b) == reg['mcptest.json.object'])\n"
      "local json = require 'mcptest.core.json'\n"
      "assert(json.encode(v.a) == '[]' and json.encode(v.b) == '{}' and json.encode(v.c) == '[1,{}]')\n"
      "assert(getmetatable(json.decode('[]')) == getmetatable(v.a) and json.is_array(v.a))");
    lua_close(L);
  }
  {
    lua_State *L = harness_state();
    lua_check(L, "json before yaml: the same markers",
      "local json = require 'mcptest.core.json'\n"
      "local yaml = require 'mcptest.core.yaml'\n"
      "local v = assert(yaml.load('a: []\\nb: {}\\n'))\n"
      "assert(getmetatable(v.a) == getmetatable(json.decode('[]')) and getmetatable(v.b) == getmetatable(json.object()))\n"
      "assert(json.encode(v) == '{\"a\":[],\"b\":{}}' or json.encode(v) == '{\"b\":{},\"a\":[]}')");
    lua_close(L);
  }
  return harness_done();
}
