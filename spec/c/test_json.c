/* test_json.c: mcptest.core.json round trips: [] vs {}, integers, escapes,
 * errors, nesting limits. */
#include "harness.h"

int main(void) {
  lua_State *L = harness_state();
  lua_check(L, "empty array and object survive a round trip",
    "local j = require 'mcptest.core.json'\n"
    "local r = j.decode(j.encode(j.decode('{\"a\":[],\"b\":{},\"c\":[ ],\"d\":[[]]}')))\n"
    "assert(j.encode(r.a) == '[]' and j.encode(r.b) == '{}' and j.encode(r.c) == '[]' and j.encode(r.d) == '[[]]')\n"
    "local t = j.decode('{\"a\":[],\"b\":{}}')\n"
    "assert(j.encode(t.a) == '[]' and j.encode(t.b) == '{}')\n"
    "assert(j.encode(j.decode('[[],[{}],[[]]]')) == '[[],[{}],[[]]]')");
  lua_check(L, "strings that look like [] are left alone",
    "local j = require 'mcptest.core.json'\n"
    "local t = j.decode('{\"s\":\"[]\",\"e\":\"a\\\\\"[]\"}')\n"
    "assert(t.s == '[]' and t.e == 'a\"[]', t.e)");
  lua_check(L, "integers stay integers, floats stay floats",
    "local j = require 'mcptest.core.json'\n"
    "local t = j.decode('{\"i\":3,\"f\":3.5,\"n\":-42,\"big\":12345678901234,\"z\":0}')\n"
    "assert(math.type(t.i) == 'integer' and math.type(t.n) == 'integer' and math.type(t.z) == 'integer')\n"
    "assert(math.type(t.f) == 'float' and t.f == 3.5)\n"
    "assert(t.big == 12345678901234 and math.type(t.big) == 'integer')\n"
    "assert(j.encode(9007199254740993) == '9007199254740993')\n"
    "assert(j.encode(math.maxinteger) == tostring(math.maxinteger))\n"
    "assert(j.encode(0.1) == '0.1' and j.encode(2.0) == '2' and j.encode(1e300) == '1e+300')\n"
    "assert(j.decode('7') == 7 and math.type(j.decode('7')) == 'integer')");
  lua_check(L, "strings escape control characters and keep UTF-8",
    "local j = require 'mcptest.core.json'\n"
    "assert(j.encode('a\"b\\\\c\\n\\1\\127') == '\"a\\\\\"b\\\\\\\\c\\\\n\\\\u0001\\\\u007f\"')\n"
    "assert(j.decode(j.encode('h\\u{e9}llo \\u{1F600}')) == 'h\\u{e9}llo \\u{1F600}')\n"
    "assert(j.decode('\"\\\\u00e9\"') == '\\u{e9}')");
  lua_check(L, "null, booleans, markers and sequences",
    "local j = require 'mcptest.core.json'\n"
    "assert(j.decode('null') == j.null and j.null == require('cjson').null)\n"
    "assert(j.encode({1, 2, j.null}) == '[1,2,null]')\n"
    "assert(j.encode(j.array()) == '[]' and j.encode({}) == '{}' and j.encode(j.object{}) == '{}')\n"
    "assert(j.encode(true) == 'true' and j.encode(false) == 'false')\n"
    "assert(j.is_array(j.decode('[]')) and j.is_array({1}) and not j.is_array({a=1}))\n"
    "assert(j.encode({[1]='a',[3]='c'}):find('\"3\":\"c\"'))");
  lua_check(L, "bad input raises a json: error; try_decode returns it",
    "local j = require 'mcptest.core.json'\n"
    "local ok, e = pcall(j.decode, '{\"a\":')\n"
    "assert(not ok and e:find('json:'))\n"
    "local v, m = j.try_decode('garbage')\n"
    "assert(v == nil and m.kind == 'protocol' and m.message:find('json:') and tostring(m):find('json:'))\n"
    "assert(not pcall(j.encode, {f = print}))\n"
    "assert(not pcall(j.encode, 0/0))\n"
    "local t = {} t.self = t\n"
    "local ok2, e2 = pcall(j.encode, t)\n"
    "assert(not ok2 and e2:find('cycle'))");
  lua_check(L, "decodes like lua-cjson on a corpus (differential oracle)",
    "local j, cj = require 'mcptest.core.json', require 'cjson'\n"
    "local function same(a, b)\n"
    "  if type(a) ~= type(b) then return false end\n"
    "  if type(a) ~= 'table' then return a == b end\n"
    "  for k, v in pairs(a) do if not same(v, b[k]) then return false end end\n"
    "  for k in pairs(b) do if a[k] == nil then return false end end\n"
    "  return true\n"
    "end\n"
    "local corpus = {'{}', '[]', '[1,2.5,-3e2,0.001,1E10]', '{\"a\":{\"b\":[true,false,null]}}',\n"
    "  '\"\\\\u00e9\\\\ud83d\\\\ude00\\\\/\\\\b\\\\f\\\\n\\\\r\\\\t\"', ' { \"k\" : [ 1 , { } ] } ',\n"
    "  '{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"x\"}]}}',\n"
    "  '-0', '123456789', '[\"\",\"a\\\\\"b\"]', '{\"dup\":1,\"dup\":2}'}\n"
    "for _, doc in ipairs(corpus) do\n"
    "  assert(same(j.decode(doc), cj.decode(doc)), 'differs from cjson: ' .. doc)\n"
    "end\n"
    "local bad = {'', '{', '[1,]', '{\"a\" 1}', 'tru', '01', '1.', '-', '\"abc', '\"\\\\x\"', '[1] 2', '{1:2}', '\"a\\tb\"'}\n"
    "for _, doc in ipairs(bad) do\n"
    "  assert(not pcall(j.decode, doc), 'accepted bad JSON: ' .. doc)\n"
    "end\n"
    "local ok, e = pcall(j.decode, '{\"a\":[1,2')\n"
    "assert(e:find('end of the input'), e)");
  lua_check(L, "invalid UTF-8 is replaced, numbers out of range and colliding keys are refused",
    "local j = require 'mcptest.core.json'\n"
    "assert(j.encode('a\\255b\\195\\169c') == '\"a\\\\ufffdb\\195\\169c\"')\n"
    "assert(j.encode('\\237\\160\\128') == '\"\\\\ufffd\\\\ufffd\\\\ufffd\"', 'a UTF-8 surrogate is not valid')\n"
    "assert(j.encode('\\240\\159\\152\\128') == '\"\\240\\159\\152\\128\"', 'a 4-byte sequence passes')\n"
    "local ok, e = pcall(j.decode, '[1e400]')\n"
    "assert(not ok and e:find('out of range'), e)\n"
    "assert(not pcall(j.decode, '-' .. string.rep('9', 400)))\n"
    "local ok2, e2 = pcall(j.encode, {[1] = 'a', ['1'] = 'b'})\n"
    "assert(not ok2 and e2:find('both'), e2)");
  lua_check(L, "deep nesting is bounded, not a crash",
    "local j = require 'mcptest.core.json'\n"
    "local s = string.rep('[', 5000) .. string.rep(']', 5000)\n"
    "assert(not pcall(j.decode, s))");
  /* the stack is grown once per 16 levels (json.c JSON_STACK_LEVELS):
   * every level up to the limit must still find its slots; number keys
   * take the most (two copies each) */
  lua_check(L, "the deepest allowed nesting encodes and decodes",
    "local j = require 'mcptest.core.json'\n"
    "local t = {}; local cur = t\n"
    "for _ = 1, 998 do local n = {}; cur[2] = n; cur = n end\n"
    "cur[2] = 'x'\n"
    "local s = j.encode(t)\n"
    "assert(s == string.rep('{\"2\":', 999) .. '\"x\"' .. string.rep('}', 999))\n"
    "local v = j.decode(s)\n"
    "for _ = 1, 999 do v = v['2'] end\n"
    "assert(v == 'x')\n"
    "local a = j.decode(string.rep('[', 1000) .. '\"\\\\n\"' .. string.rep(']', 1000))\n"
    "for _ = 1, 1000 do a = a[1] end\n"
    "assert(a == '\\n')");
  lua_close(L);
  return harness_done();
}
