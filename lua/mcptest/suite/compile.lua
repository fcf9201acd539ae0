-- mcptest.suite.compile: a checked suite (mcptest.suite.schema found no
-- error) to Lua a person would write: one describe per suite, one it per
-- test, plain assert calls with the mcptest matchers, and a comment naming
-- the YAML line of each block.
--   compile.entries(suite) -> list of { ind, text, line, comment, raw }
--   compile.readable(entries) -> Lua text (what `mcptest compile` prints)
--   compile.aligned(entries) -> the same statements with line breaks moved
--       so that each statement stands on the line of the YAML it came
--       from: loaded with the suite file as chunk name, every failure,
--       traceback and report line names the YAML file and line
-- Only env-var names reach the output: the schema refuses inline secrets,
-- and auth blocks are copied key by key (names, never values).
local json = require("mcptest.json")
local schema = require("mcptest.suite.schema")

local M = {}

-- ===== Lua literals =====

local KEYWORDS = {}
for w in ([[and break do else elseif end false for function goto if in local nil not or
  repeat return then true until while]]):gmatch("%a+") do KEYWORDS[w] = true end

local function is_name(k)
  return type(k) == "string" and k:match("^[%a_][%w_]*$") and not KEYWORDS[k]
end

-- a string literal on one line ("\n" escaped), so statements can be joined
local function quote(s)
  if not s:find('[%c"\\\127]') then return '"' .. s .. '"' end
  return '"' .. s:gsub('[%c"\\\127]', function(c)
    if c == "\n" then return "\\n" elseif c == "\t" then return "\\t"
    elseif c == "\r" then return "\\r" elseif c == '"' then return '\\"'
    elseif c == "\\" then return "\\\\" end
    return string.format("\\%03d", c:byte())
  end) .. '"'
end
M.quote = quote

local function key_lit(k)
  if is_name(k) then return k end
  if math.type(k) == "integer" then return "[" .. k .. "]" end
  return "[" .. quote(tostring(k)) .. "]"
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

-- value -> Lua expression; ref(s) turns a string holding {{ }} references
-- into an expression (nil when it holds none)
local function lit(v, ref, ind)
  ind = ind or ""
  if v == json.null then return "mcp.null" end
  local t = type(v)
  if t == "string" then return ref and ref(v) or quote(v) end
  if t == "number" then
    if math.type(v) == "integer" then return tostring(v) end
    if v ~= v then return "0/0" end
    if v == math.huge then return "math.huge" elseif v == -math.huge then return "-math.huge" end
    local s = string.format("%.17g", v)
    if tonumber(string.format("%.15g", v)) == v then s = string.format("%.15g", v) end
    if not s:find("[%.eEn]") then s = s .. ".0" end
    return s
  end
  if t == "boolean" then return tostring(v) end
  if t ~= "table" then return "nil" end
  local parts = {}
  if json.is_array(v) then
    if #v == 0 then return "mcp.json.array()" end
    for i = 1, #v do parts[#parts + 1] = lit(v[i], ref, ind .. "  ") end
  else
    if next(v) == nil then return "mcp.json.object()" end
    for _, k in ipairs(sorted_keys(v)) do
      parts[#parts + 1] = key_lit(k) .. " = " .. lit(v[k], ref, ind .. "  ")
    end
  end
  local one = "{ " .. table.concat(parts, ", ") .. " }"
  if #one + #ind <= 90 and not one:find("\n") then return one end
  return "{\n" .. ind .. "  " .. table.concat(parts, ",\n" .. ind .. "  ") .. ",\n" .. ind .. "}"
end
M.lit = lit

-- {{ steps.ID.result.a[0].b }} -> ID.a[1].b ; {{ steps.ID.text }} -> mcp.text(ID)
local function ref_expr(inner)
  local id, rest = inner:match("^%s*steps%.([%a_][%w_]*)(.-)%s*$")
  if rest == ".text" then return "mcp.text(" .. id .. ")" end
  local expr = id
  rest = rest:gsub("^%.result", "")
  while rest ~= "" do
    local name, after = rest:match("^%.([%a_][%w_]*)(.*)$")
    if name then
      expr = expr .. (is_name(name) and ("." .. name) or ("[" .. quote(name) .. "]"))
      rest = after
    else
      local idx, after2 = rest:match("^%[(%-?%d+)%](.*)$")
      if idx then
        expr = expr .. "[" .. (tonumber(idx) + 1) .. "]"
        rest = after2
      else
        local q, after3 = rest:match('^%[["\'](.-)["\']%](.*)$')
        if not q then break end
        expr = expr .. "[" .. quote(q) .. "]"
        rest = after3
      end
    end
  end
  return expr
end

local function ref(s)
  if not s:find("{{", 1, true) then return nil end
  local whole = s:match("^{{(.-)}}$")
  if whole and not whole:find("}}", 1, true) then return ref_expr(whole) end
  local parts, pos = {}, 1
  while true do
    local a, b, inner = s:find("{{(.-)}}", pos)
    if not a then break end
    if a > pos then parts[#parts + 1] = quote(s:sub(pos, a - 1)) end
    parts[#parts + 1] = "tostring(" .. ref_expr(inner) .. ")"
    pos = b + 1
  end
  if pos <= #s then parts[#parts + 1] = quote(s:sub(pos)) end
  return table.concat(parts, " .. ")
end

-- ===== emitting =====

local Out = {}
Out.__index = Out

function Out:add(ind, text, line) self.list[#self.list + 1] = { ind = ind, text = text, line = line } end
function Out:comment(ind, text) self.list[#self.list + 1] = { ind = ind, text = "-- " .. text, comment = true } end
function Out:blank() self.list[#self.list + 1] = { ind = 0, text = "", comment = true } end

-- a `lua:` snippet: its lines keep their YAML lines (a block scalar's text
-- starts on the line after the `|`)
function Out:snippet(ind, s, t, key)
  local mark = self.s:value(t, key)
  local first = mark.line
  local src = self.s:line_text(mark.line):sub(mark.column)
  if src:match("^[|>]") then first = first + 1 end
  local n = 0
  for l in (s:gsub("\n$", "") .. "\n"):gmatch("([^\n]*)\n") do
    self.list[#self.list + 1] = { ind = ind, text = l, line = first + n, raw = true }
    n = n + 1
  end
end

local function client_expr(name, default)
  if name == default then return "c" end
  return "server" .. (is_name(name) and ("." .. name) or ("[" .. quote(name) .. "]"))
end

-- `fixture:` options as mcp.fixture.start's table
local function fixture_options(sv, ind)
  local fo = type(sv.fixture) == "table" and sv.fixture or {}
  local parts = {}
  if fo.auto_approve ~= nil then parts[#parts + 1] = "auto_approve = " .. tostring(fo.auto_approve) end
  if fo.token_ttl ~= nil then parts[#parts + 1] = "token_ttl = " .. lit(fo.token_ttl) end
  if fo.bearer_token_env then parts[#parts + 1] = "bearer_token = os.getenv(" .. quote(fo.bearer_token_env) .. ")" end
  if fo.config ~= nil then parts[#parts + 1] = "config = " .. lit(fo.config, nil, ind .. "  ") end
  return #parts > 0 and ("{ " .. table.concat(parts, ", ") .. " }") or "{}"
end

-- the server's mcp.connect options as a Lua table expression
local function connect_options(sv, outer)
  local ind = outer .. "  " -- where a field stands when the table is split
  local fields = {}
  local function f(k, v) fields[#fields + 1] = { k, v } end
  if sv.url then f("url", quote(sv.url)) end
  if sv.fixture ~= nil then
    f("url", "fixture.url .. " .. quote(sv.route or "/mcp/open"))
  end
  if sv.command then
    local words = {}
    for _, w in ipairs(sv.command) do words[#words + 1] = quote(tostring(w)) end
    f("command", "{ " .. table.concat(words, ", ") .. " }")
  end
  if sv.env then f("env", lit(sv.env, nil, ind)) end
  if sv.cwd then f("cwd", quote(sv.cwd)) end
  if sv.headers then f("headers", lit(sv.headers, nil, ind)) end
  if sv.auth then
    -- key by key from the checked vocabulary: names of env vars, grant
    -- settings; never a value the schema did not allow
    local a = {}
    if sv.auth.bearer_token_env then a.bearer_token_env = sv.auth.bearer_token_env end
    a.store = sv.store -- a registered server's token storage (file or keychain)
    if sv.auth.oauth then
      a.oauth = {}
      for _, k in ipairs(schema.OAUTH_KEYS) do
        if k == "idp" and sv.auth.oauth.idp then
          a.oauth.idp = {}
          for _, ik in ipairs(schema.IDP_KEYS) do a.oauth.idp[ik] = sv.auth.oauth.idp[ik] end
        elseif k ~= "idp" then
          a.oauth[k] = sv.auth.oauth[k]
        end
      end
    end
    f("auth", lit(a, nil, ind))
  end
  if sv.store and not sv.auth then f("auth", lit({ store = sv.store }, nil, ind)) end
  if sv.timeout then f("timeout", lit(sv.timeout)) end
  if sv.protocol then f("protocol", quote(sv.protocol)) end
  if sv.tls then f("tls", lit(sv.tls, nil, ind)) end
  local parts = {}
  for _, kv in ipairs(fields) do parts[#parts + 1] = kv[1] .. " = " .. kv[2] end
  local one = "{ " .. table.concat(parts, ", ") .. " }"
  if #one + #outer <= 90 and not one:find("\n") then return one end
  return "{\n" .. ind .. table.concat(parts, ",\n" .. ind) .. ",\n" .. outer .. "}"
end

-- An action as { method, params } (the try form) and as the usual call.
local function action_call(t, cexpr, ind, timeout)
  local topt = timeout and (", { timeout = " .. lit(timeout) .. " }") or ""
  local args = t.args and lit(t.args, ref, ind) or nil
  if t.tool then
    local name = ref(t.tool) or quote(t.tool)
    local p = "{ name = " .. name .. ", arguments = " .. (args or "mcp.json.object()") .. " }"
    return ("%s:call_tool(%s%s%s)"):format(cexpr, name,
      args and (", " .. args) or (timeout and ", nil" or ""), topt), "tools/call", p
  elseif t.request then
    local params = t.params and lit(t.params, ref, ind) or "nil"
    return ("%s:request(%s, %s%s)"):format(cexpr, quote(t.request), params, topt), t.request, params
  elseif t.list then
    local method = ({ tools = "tools/list", resources = "resources/list", prompts = "prompts/list",
                      resource_templates = "resources/templates/list" })[t.list]
    local topts = timeout and ("{ timeout = " .. lit(timeout) .. " }") or ""
    return ("%s:%s(%s)"):format(cexpr, schema.LISTS[t.list], topts), method, "nil"
  elseif t.read then
    local uri = ref(t.read) or quote(t.read)
    if timeout then return ("%s:request(\"resources/read\", { uri = %s }%s)"):format(cexpr, uri, topt),
      "resources/read", "{ uri = " .. uri .. " }" end
    return ("%s:read_resource(%s)"):format(cexpr, uri), "resources/read", "{ uri = " .. uri .. " }"
  elseif t.prompt then
    local name = ref(t.prompt) or quote(t.prompt)
    local p = "{ name = " .. name .. (args and (", arguments = " .. args) or "") .. " }"
    if timeout then return ("%s:request(\"prompts/get\", %s%s)"):format(cexpr, p, topt), "prompts/get", p end
    return ("%s:get_prompt(%s%s)"):format(cexpr, name, args and (", " .. args) or ""), "prompts/get", p
  elseif t.complete then
    local cp = t.complete
    local r = cp.prompt and ("{ type = \"ref/prompt\", name = " .. (ref(cp.prompt) or quote(cp.prompt)) .. " }")
      or ("{ type = \"ref/resource\", uri = " .. (ref(cp.resource) or quote(cp.resource)) .. " }")
    local a = lit(cp.argument, ref, ind)
    local p = "{ ref = " .. r .. ", argument = " .. a .. " }"
    if timeout then return ("%s:request(\"completion/complete\", %s%s)"):format(cexpr, p, topt), "completion/complete", p end
    return ("%s:complete(%s, %s)"):format(cexpr, r, a), "completion/complete", p
  end
end

local function as_list(v)
  if type(v) == "table" then return v end
  return { v }
end

-- the action and its expectations, for a test or a step; var: the local
-- that holds the result
function Out:action(t, ind, var, cexpr, timeout, assign)
  local s = self.s
  local e = t.expect or {}
  local line = s:at(t).line
  for _, a in ipairs(schema.ACTIONS) do if t[a] ~= nil then line = s:value(t, a).line end end
  local call, method, params = action_call(t, cexpr, string.rep("  ", ind), timeout)
  if e.max_ms then self:add(ind, "local started = mcp.now()", line) end
  if e.error then
    local topt = timeout and (", { timeout = " .. lit(timeout) .. " }") or ""
    self:add(ind, ("local ok, err = %s:try(%s, %s%s)"):format(cexpr, quote(method), params, topt), line)
    self:add(ind, ("assert.is_false(ok, \"expected %s to fail, but it succeeded\")"):format(method),
      s:value(e, "error").line)
    if e.error.code then self:add(ind, ("assert.error_code(err, %d)"):format(e.error.code), s:value(e.error, "code").line) end
    if e.error.message_contains then
      self:add(ind, ("assert.error_message_contains(err, %s)"):format(quote(e.error.message_contains)),
        s:value(e.error, "message_contains").line)
    end
  else
    self:add(ind, ("%s%s = %s"):format(assign and "" or "local ", var, call), line)
  end
  if e.max_ms then self:add(ind, ("assert.at_most_ms(%s, mcp.now() - started)"):format(lit(e.max_ms)), s:value(e, "max_ms").line) end
  if e.is_error == true then self:add(ind, ("assert.is_not.tool_ok(%s)"):format(var), s:value(e, "is_error").line)
  elseif e.is_error == false then self:add(ind, ("assert.tool_ok(%s)"):format(var), s:value(e, "is_error").line) end
  if e.text ~= nil then
    self:add(ind, ("assert.text_equals(%s, %s)"):format(var, quote(tostring(e.text))), s:value(e, "text").line)
  end
  for _, k in ipairs({ "contains", "not_contains" }) do
    if e[k] ~= nil then
      local list = as_list(e[k])
      for i, x in ipairs(list) do
        local l = list == e[k] and s:value(e[k], i).line or s:value(e, k).line
        self:add(ind, ("assert.%stext_contains(%s, %s)"):format(k == "not_contains" and "is_not." or "", var,
          quote(tostring(x))), l)
      end
    end
  end
  if e.matches ~= nil then
    self:add(ind, ("assert.text_matches_regex(%s, %s)"):format(var, quote(e.matches)), s:value(e, "matches").line)
  end
  if e.count then self:add(ind, ("assert.equals(%d, #%s)"):format(e.count, var), s:value(e, "count").line) end
  if e.contains_tool then
    self:add(ind, ("assert.has_tool(%s, %s)"):format(var, quote(e.contains_tool)), s:value(e, "contains_tool").line)
  end
  if e.path then
    -- in the order the suite writes them
    local queries = sorted_keys(e.path)
    table.sort(queries, function(a, b)
      local ma, mb = s:key(e.path, a), s:key(e.path, b)
      if ma.line ~= mb.line then return ma.line < mb.line end
      return ma.column < mb.column
    end)
    for _, q in ipairs(queries) do
      local want, l = e.path[q], s:key(e.path, q).line
      if schema.kind(want) == "mapping" and next(want) ~= nil then
        if want.equals ~= nil then self:add(ind, ("assert.path_equals(%s, %s, %s)"):format(var, quote(q), lit(want.equals, nil, string.rep("  ", ind))), l) end
        if want.exists == true then self:add(ind, ("assert.path_exists(%s, %s)"):format(var, quote(q)), l)
        elseif want.exists == false then self:add(ind, ("assert.is_not.path_exists(%s, %s)"):format(var, quote(q)), l) end
        if want.length then self:add(ind, ("assert.path_length(%s, %s, %d)"):format(var, quote(q), want.length), l) end
        if want.type then self:add(ind, ("assert.path_type(%s, %s, %s)"):format(var, quote(q), quote(want.type)), l) end
        if want.matches then self:add(ind, ("assert.path_matches(%s, %s, %s)"):format(var, quote(q), quote(want.matches)), l) end
      else
        self:add(ind, ("assert.path_equals(%s, %s, %s)"):format(var, quote(q), lit(want, nil, string.rep("  ", ind))), l)
      end
    end
  end
  if e.schema ~= nil then
    self:add(ind, ("assert.matches_schema(%s, %s)"):format(var, lit(e.schema, nil, string.rep("  ", ind))), s:value(e, "schema").line)
  end
  if e.output_schema then
    self:add(ind, ("assert.matches_output_schema(%s, %s, %s)"):format(var, cexpr, quote(t.tool)), s:value(e, "output_schema").line)
  end
  if e.snapshot then
    -- keyed by the test's name (and step), or the name given
    local key = type(e.snapshot) == "string" and e.snapshot or self.snapshot_key
    self:add(ind, ("assert.matches_snapshot(%s, SNAPSHOTS, %s)"):format(var, quote(key)), s:value(e, "snapshot").line)
    self.uses_snapshots = true
  end
  if t.lua then self:snippet(ind, t.lua, t, "lua") end
end

function Out:steps(list, ind, default, timeout, where)
  for i, st in ipairs(list) do
    local label = where .. "[" .. i .. "]" .. (st.id and (" " .. st.id) or "") .. (st.name and (": " .. st.name) or "")
    self:comment(ind, label .. ", line " .. self.s:at(st).line)
    local cexpr = client_expr(st.server or default, self.default)
    local has_action = false
    for _, a in ipairs(schema.ACTIONS) do if st[a] ~= nil then has_action = true end end
    if has_action then
      self.snapshot_key = self.test_name and (self.test_name .. " / " .. (st.id or ("step " .. i))) or (where .. "[" .. i .. "]")
      -- a setup step's result is a local of the whole suite (assigned here)
      self:action(st, ind, st.id or "r", cexpr, timeout, st.id and self.upvalues and self.upvalues[st.id])
    elseif st.lua then
      self:snippet(ind, st.lua, st, "lua")
    end
  end
end

function M.entries(suite)
  local s, doc = suite, suite.doc
  local out = setmetatable({ s = s, list = {} }, Out)
  local base = suite.path:match("([^/]+)$") or suite.path
  local names = doc.servers and sorted_keys(doc.servers) or {}
  if #names == 1 then out.default = names[1] end
  -- registered servers (mcptest.suite.registry) the suite names: `api:
  -- my-api` in servers:, or a test's or step's server: it does not define
  local registered = {}
  local function named(t)
    if type(t) == "table" and type(t.server) == "string" and not (doc.servers and doc.servers[t.server])
       and not registered[t.server] then
      registered[t.server] = t.server
      names[#names + 1] = t.server
    end
  end
  for _, part in ipairs({ doc.setup or {}, doc.tests or {}, doc.teardown or {} }) do
    for _, t in ipairs(part) do
      named(t)
      for _, st in ipairs(type(t) == "table" and type(t.steps) == "table" and t.steps or {}) do named(st) end
    end
  end
  for name, sv in pairs(doc.servers or {}) do
    if type(sv) == "string" then registered[name] = sv end
  end
  out:comment(0, "Compiled by `mcptest compile` from " .. suite.path .. ": plain Lua on the")
  out:comment(0, "mcptest runner, to read, edit and run (mcptest run FILE.lua). Comments")
  out:comment(0, "name the YAML lines; env vars are read by name, no secret is copied here.")
  out:add(0, "local mcp = require(\"mcptest\")", 1)
  out:blank()
  out:add(0, ("describe(%s, function()"):format(quote(doc.name or base)), 1)
  out:add(1, "local server = {}", 1)
  -- setup steps' ids are the suite's locals
  out.upvalues = {}
  local ids = {}
  for _, st in ipairs(doc.setup or {}) do
    if st.id then out.upvalues[st.id] = true; ids[#ids + 1] = st.id end
  end
  if #ids > 0 then out:add(1, "local " .. table.concat(ids, ", "), 1) end
  if #names > 0 or doc.setup then
    out:blank()
    out:add(1, "lazy_setup(function()", nil)
    for _, name in ipairs(names) do
      local sv = doc.servers and doc.servers[name]
      local line = type(sv) == "table" and s:at(sv).line or nil
      if registered[name] then
        local e = assert(require("mcptest.suite.registry").get(registered[name]))
        line = type(sv) == "string" and s:value(doc.servers, name).line or nil
        out:comment(2, (line and ("servers." .. name .. ", line " .. line .. ": ") or "")
          .. "the registered server " .. registered[name] .. " (" .. e.source .. ":" .. e.line .. ")")
        sv = e
      else
        out:comment(2, "servers." .. name .. ", line " .. line
          .. (sv.fixture ~= nil and (": the built-in fixture server, route " .. (sv.route or "/mcp/open")) or ""))
      end
      if sv.fixture ~= nil then
        out:add(2, "local fixture = mcp.fixture.start" .. fixture_options(sv, "    "), line)
      end
      out:add(2, ("%s = mcp.connect%s"):format(client_expr(name, nil), connect_options(sv, "    ")), line)
    end
    if doc.setup then
      if out.default then out:add(2, "local c = server" .. (is_name(out.default) and ("." .. out.default) or ("[" .. quote(out.default) .. "]")), nil) end
      out:steps(doc.setup, 2, out.default, nil, "setup")
    end
    out:add(1, "end)", nil)
  end
  if doc.teardown then
    out:blank()
    out:add(1, "lazy_teardown(function()", nil)
    if out.default then out:add(2, "local c = server" .. (is_name(out.default) and ("." .. out.default) or ("[" .. quote(out.default) .. "]")), nil) end
    out.upvalues = nil
    out:steps(doc.teardown, 2, out.default, nil, "teardown")
    out:add(1, "end)", nil)
  end
  out.upvalues = nil
  local only = {}
  for i, t in ipairs(doc.tests or {}) do if t.only then only[#only + 1] = i end end
  if #only > 0 then
    local t = doc.tests[only[1]]
    local l = s:value(t, "only")
    out:blank()
    out:comment(1, "`only:` at line " .. l.line .. ": a local focus, refused in CI")
    out:add(1, "if (os.getenv(\"CI\") or \"\") ~= \"\" then", l.line)
    out:add(2, ("it(\"no test is marked only:\", function() error(%s, 0) end)"):format(quote(
      suite.path .. ":" .. l.line .. ":" .. l.column .. ": `only: true` is committed and CI is set; remove it")), l.line)
    out:add(1, "end", l.line)
  end
  for i, t in ipairs(doc.tests or {}) do
    out:blank()
    local l = s:at(t).line
    if #only > 0 and not t.only then
      out:comment(1, ("tests[%d] %q, line %d: left out, another test has only: true"):format(i, t.name, l))
    else
      out:comment(1, ("tests[%d], line %d"):format(i, l))
      local title = t.name
      for _, tag in ipairs(as_list(t.tags or {})) do title = title .. " #" .. tag end
      if t.skip ~= nil and t.skip ~= false then
        local why = type(t.skip) == "string" and (" (skipped: " .. t.skip .. ")") or ""
        out:add(1, ("pending(%s)"):format(quote(title .. why)), l)
      else
        local opts = (t.retry or 0) > 0 and ("{ retry = " .. t.retry .. " }, ") or ""
        out:add(1, ("it(%s, %sfunction()"):format(quote(title), opts), l)
        local sname = t.server or out.default
        if sname then
          out:add(2, "local c = " .. client_expr(sname, nil), l)
        end
        -- inside the test, c is the test's server
        local saved = out.default
        out.default = sname
        if t.steps then
          out.test_name = t.name
          out:steps(t.steps, 2, sname, t.timeout, "steps")
          out.test_name = nil
          if t.lua then out:snippet(2, t.lua, t, "lua") end
        else
          local has_action = false
          for _, a in ipairs(schema.ACTIONS) do if t[a] ~= nil then has_action = true end end
          out.snapshot_key = t.name
          if has_action then out:action(t, 2, "r", "c", t.timeout)
          elseif t.lua then out:snippet(2, t.lua, t, "lua") end
        end
        out.default = saved
        out:add(1, "end)", nil)
      end
    end
  end
  out:add(0, "end)", nil)
  if out.uses_snapshots then
    -- the file beside the suite (a path relative to where mcptest runs)
    local at = 0
    for j, e in ipairs(out.list) do if e.text:match("^local mcp = ") then at = j end end
    table.insert(out.list, at + 1, { ind = 0, line = 1, text = ("local SNAPSHOTS = %s"):format(
      quote(require("mcptest.snapshot").path_for(suite.path))) })
  end
  return out.list
end

function M.readable(list)
  local lines = {}
  for _, e in ipairs(list) do
    local pad = string.rep("  ", e.ind)
    if e.text == "" then lines[#lines + 1] = ""
    else
      -- a multi-line table literal keeps its own inner indentation
      lines[#lines + 1] = pad .. e.text:gsub("\n", "\n" .. (e.raw and pad or ""))
    end
  end
  return table.concat(lines, "\n") .. "\n"
end

function M.aligned(list)
  local out, cur = { "" }, 1
  for _, e in ipairs(list) do
    if not e.comment then
      if e.line and e.line > cur then
        for i = cur + 1, e.line do out[i] = "" end
        cur = e.line
      end
      local text = e.raw and e.text or e.text:gsub("\n%s*", " ")
      out[cur] = out[cur] == "" and text or (out[cur] .. " " .. text)
      if e.raw then cur = cur + 1; out[cur] = out[cur] or "" end
    end
  end
  return table.concat(out, "\n") .. "\n"
end

return M
