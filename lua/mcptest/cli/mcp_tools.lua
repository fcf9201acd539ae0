-- mcptest.cli.mcp_tools: the catalog `mcptest mcp-server` serves to coding
-- agents (docs/mcp-server.md): tools that test another MCP server (the
-- "target", given by `url` or `command` in every call), the docs pages as
-- resources and the prompt write_suite.
--
--   mcp_tools.catalog(opts) -> catalog for mcptest.server.new
--     opts.bin: the mcptest binary run_suite starts (default /proc/self/exe)
--     opts.docs_dir: where docs/*.md are read from (default: beside the
--     binary's source tree, else none)
--
-- Every tool answers structuredContent (its outputSchema) plus the same
-- JSON as text; a failure is a tool result with isError and actionable
-- text (the auth failure message of a 401/403, a usage message...). The
-- work that talks to a target runs in a loop task (the client and curl
-- suspend there), so the stdio transport keeps reading meanwhile.
local json = require("mcptest.json")
local loop = require("mcptest.loop")
local sys = require("mcptest.core.sys")
local errors = require("mcptest.errors")
local secrets = require("mcptest.secrets")
local context = require("mcptest.server.context")

local M = {}

local A = json.array

-- ===== running work in a loop task from a request handler =====

-- Run fn(...) in a loop task and wait for it without blocking the
-- transport; returns pcall's results.
local function await(ctx, fn, ...)
  local args = table.pack(...)
  local waiting = false
  local task = loop.spawn(function()
    local r = table.pack(pcall(fn, table.unpack(args, 1, args.n)))
    if waiting then loop.after(0, function() context.resume(ctx, r) end) end
    return r
  end)
  local r
  if task.done then
    r = task.results[1]
  else
    waiting = true
    ctx.waiting = true
    r = coroutine.yield()
    ctx.waiting = false
  end
  return table.unpack(r, 1, r.n)
end

-- ===== results =====

local function ok_result(data)
  return { content = A{ { type = "text", text = json.encode(data) } }, structuredContent = data }
end

local function err_result(text)
  return { isError = true, content = A{ { type = "text", text = secrets.scrub(text) } } }
end

-- An error raised by the client or the doctor, as actionable text.
local function message_of(e)
  if errors.is(e) then return tostring(e) end
  return tostring(e)
end

-- ===== the target =====

local ENV_NAME = "^[A-Za-z_][A-Za-z0-9_]*$"

local TARGET_PROPS = {
  url = { type = "string", description = "a Streamable HTTP MCP server (http:// or https://), or the name of a registered server (mcptest server list)" },
  command = { description = "a stdio MCP server: an argv array, or one string split on blanks",
              anyOf = A{ { type = "string" }, { type = "array", items = { type = "string" } } } },
  bearer_token_env = { type = "string", pattern = "^[A-Za-z_][A-Za-z0-9_]*$",
    description = "the NAME of the environment variable holding a bearer token (never the token itself)" },
  timeout = { type = "number", description = "seconds per request (default 30)" },
}

local function props(extra)
  local p = {}
  for k, v in pairs(TARGET_PROPS) do p[k] = v end
  for k, v in pairs(extra or {}) do p[k] = v end
  return p
end

local function input_schema(extra, required)
  return { type = "object", properties = props(extra), required = required and A(required) or nil }
end

-- The refusal never repeats the value: it may be a token pasted by mistake.
local BAD_ENV = "bearer_token_env takes the NAME of an environment variable holding the token "
  .. "(e.g. \"MCP_TOKEN\", matching [A-Za-z_][A-Za-z0-9_]*), not the token itself: set the variable in "
  .. "mcptest mcp-server's environment and pass its name"

local function check_env(args)
  local v = args.bearer_token_env
  if v == nil then return true end
  if type(v) ~= "string" or not v:match(ENV_NAME) then return nil, BAD_ENV end
  return true
end

-- The connect options for mcp.connect, or nil, message.
local function target_of(args, optional)
  local ok, err = check_env(args)
  if not ok then return nil, err end
  local url, cmd = args.url, args.command
  if url ~= nil and cmd ~= nil then return nil, "give one of url or command, not both" end
  if url == nil and cmd == nil then
    if optional then return {} end
    return nil, "give the server to test: url (a Streamable HTTP server) or command (a stdio server)"
  end
  local t = { timeout = tonumber(args.timeout) }
  if type(url) == "string" and not url:match("^%a[%w+.-]*://") then
    -- a registered server's NAME (mcptest server list): its whole entry
    local registry = require("mcptest.suite.registry")
    registry.reset() -- a long-lived server: read the files as they are now
    local e, rerr = registry.resolve(url)
    if not e then return nil, rerr end
    t = registry.connect_options(e)
    t.timeout = tonumber(args.timeout) or t.timeout
    if args.bearer_token_env then t.auth = { bearer_token_env = args.bearer_token_env, store = e.store } end
    return t
  end
  if url ~= nil then
    if type(url) ~= "string" or not url:match("^https?://") then
      return nil, "url must be an http:// or https:// URL, or a registered server's name"
    end
    t.url = url
    if args.bearer_token_env then t.auth = { bearer_token_env = args.bearer_token_env } end
  else
    if type(cmd) == "string" then
      if not cmd:find("%S") then return nil, "command is empty" end
    elseif type(cmd) == "table" then
      if #cmd == 0 then return nil, "command is an empty array" end
      for _, w in ipairs(cmd) do
        if type(w) ~= "string" then return nil, "command must be a string or an array of strings" end
      end
    else
      return nil, "command must be a string or an array of strings"
    end
    t.command = cmd
    if args.bearer_token_env then
      return nil, "bearer_token_env goes with url (a stdio server takes its credentials from its environment)"
    end
  end
  return t
end

local function with_client(ctx, args, fn)
  local t, err = target_of(args)
  if not t then return err_result(err) end
  local ok, res = await(ctx, function()
    local c = require("mcptest").connect(t)
    local r = table.pack(pcall(fn, c))
    pcall(c.close, c)
    if not r[1] then error(r[2], 0) end
    return r[2]
  end)
  if not ok then return err_result(message_of(res)) end
  return res
end

-- ===== list_tools, call_tool =====

local function list_tools(ctx, args)
  return with_client(ctx, args, function(c)
    local tools = c:list_tools()
    return ok_result({ count = #tools, tools = A(tools) })
  end)
end

local function need_name(args)
  if type(args.name) ~= "string" or args.name == "" then return nil, "name (the tool to call) is required" end
  if args.arguments ~= nil and (type(args.arguments) ~= "table" or (json.is_array(args.arguments) and #args.arguments > 0)) then
    return nil, "arguments must be an object"
  end
  return true
end

local function call_tool(ctx, args)
  local ok, err = need_name(args)
  if not ok then return err_result(err) end
  return with_client(ctx, args, function(c)
    local r = c:call_tool(args.name, args.arguments or json.object())
    return ok_result({ isError = r.isError == true, result = r })
  end)
end

-- ===== doctor =====

local function doctor(ctx, args)
  local t, err = target_of(args)
  if not t then return err_result(err) end
  t.bearer_token_env = args.bearer_token_env or (t.auth and t.auth.bearer_token_env)
  t.auth = nil
  ctx:progress(0, 1, "diagnosing " .. tostring(t.url or (type(t.command) == "table" and table.concat(t.command, " ") or t.command)))
  local ok, report = await(ctx, function() return require("mcptest.doctor").run(t) end)
  if not ok then return err_result(message_of(report)) end
  ctx:progress(1, 1, report.ok and "no layer failed" or "a layer failed")
  local layers = {}
  for i, l in ipairs(report.layers) do
    layers[i] = { name = l.name, status = l.status, finding = l.finding and secrets.scrub(l.finding),
                  hint = l.hint and secrets.scrub(l.hint), details = l.details or json.object() }
  end
  return ok_result({ ok = report.ok, target = report.target, layers = A(layers) })
end

-- ===== auth_status =====

local function auth_status(ctx, args)
  local t, err = target_of(args, true)
  if not t then return err_result(err) end
  local mcp = require("mcptest")
  local describe = require("mcptest.cli.login").describe
  local ok, list = pcall(function()
    if t.url then
      -- the file only: a status never unlocks the keychain
      local cache = require("mcptest.auth.cache")
      local tok = cache.meta(cache.url_key(t.url))
      return tok and { tok } or {}
    end
    return mcp.tokens.list()
  end)
  if not ok then return err_result(message_of(list)) end
  local cached = {}
  for i, tok in ipairs(list) do
    local d = describe(tok)
    d.authenticated = not d.expired or d.refreshable
    cached[i] = d
  end
  local out = { cached = A(cached) }
  if args.bearer_token_env then
    local v = os.getenv(args.bearer_token_env)
    out.bearer_token_env = { name = args.bearer_token_env, set = v ~= nil and v ~= "" }
  end
  if t.url then
    -- what the server says to these credentials: doctor's AUTH layer
    local dt = { url = t.url, bearer_token_env = args.bearer_token_env or (t.auth and t.auth.bearer_token_env),
                 timeout = t.timeout, headers = t.headers, tls = t.tls }
    local dok, report = await(ctx, function() return require("mcptest.doctor").run(dt) end)
    if dok then
      for _, l in ipairs(report.layers) do
        if l.name == "AUTH" then
          out.auth = { status = l.status, finding = l.finding and secrets.scrub(l.finding),
                       hint = l.hint and secrets.scrub(l.hint) }
        end
      end
    end
  end
  return ok_result(out)
end

-- ===== propose_assertions =====

-- A Lua literal for a JSON value.
local function lua_literal(v, indent)
  indent = indent or ""
  local tv = type(v)
  if v == json.null then return "mcp.json.null" end
  if tv == "string" then return (string.format("%q", v):gsub("\\\n", "\\n")) end
  if tv == "number" then
    if math.type(v) == "integer" then return tostring(v) end
    return string.format("%.17g", v)
  end
  if tv == "boolean" then return tostring(v) end
  if tv ~= "table" then return "nil" end
  local inner = indent .. "  "
  if json.is_array(v) then
    if #v == 0 then return "mcp.json.array()" end
    local parts = {}
    for i, x in ipairs(v) do parts[i] = inner .. lua_literal(x, inner) end
    return "{\n" .. table.concat(parts, ",\n") .. ",\n" .. indent .. "}"
  end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  if #keys == 0 then return "mcp.json.object()" end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do
    local key = k:match("^[%a_][%w_]*$") and k or ("[" .. string.format("%q", k) .. "]")
    parts[#parts + 1] = inner .. key .. " = " .. lua_literal(v[k], inner)
  end
  return "{\n" .. table.concat(parts, ",\n") .. ",\n" .. indent .. "}"
end
M.lua_literal = lua_literal

local function deep_equal(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  if json.is_array(a) ~= json.is_array(b) then return false end
  for k, v in pairs(a) do if not deep_equal(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

-- Values that look like they change between calls even when a single call
-- is all we have: timestamps, UUIDs, long hex or random-looking ids.
local function looks_volatile(s)
  if type(s) ~= "string" then return false end
  return s:match("%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d") ~= nil
    or s:match("%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x") ~= nil
    or s:match("^%x+$") ~= nil and #s >= 16
end

local function path_join(base, k)
  if type(k) == "number" then return base .. "[" .. k .. "]" end
  if k:match("^[%a_][%w_]*$") then return base == "" and k or (base .. "." .. k) end
  return nil -- a key field_equals cannot address
end

-- Walk the structured value: one field_equals per stable leaf.
local function leaves(v, other, base, out, unstable)
  if type(v) == "table" and v ~= json.null and next(v) ~= nil then
    for k, x in pairs(v) do
      local p = path_join(base, k)
      if p then leaves(x, type(other) == "table" and other[k] or nil, p, out, unstable) end
    end
    return
  end
  if other ~= nil and not deep_equal(v, other) or (other == nil and looks_volatile(v)) then
    unstable[#unstable + 1] = base
  else
    out[#out + 1] = { path = base, value = v }
  end
end

local function text_of(r)
  local parts = {}
  for _, c in ipairs(type(r.content) == "table" and r.content or {}) do
    if type(c) == "table" and c.type == "text" and type(c.text) == "string" then parts[#parts + 1] = c.text end
  end
  return table.concat(parts)
end

local function propose(args, first, second, tool)
  local lines, unstable = {}, {}
  local argl = lua_literal(args.arguments or json.object(), "    ")
  lines[#lines + 1] = ("    local r = c:call_tool(%q, %s)"):format(args.name, argl)
  if first.isError == true then
    lines[#lines + 1] = "    assert.is_not.tool_ok(r)"
  else
    lines[#lines + 1] = "    assert.tool_ok(r)"
  end
  local text = text_of(first)
  -- JSON text: its key order need not survive a restart of the server, so
  -- pin its fields (as structuredContent's, when it is the same value)
  local decoded = text ~= "" and json.try_decode(text)
  if type(decoded) == "table" and decoded ~= json.null then
    if not (type(first.structuredContent) == "table" and deep_equal(decoded, first.structuredContent)) then
      local out = {}
      local other = second and json.try_decode(text_of(second))
      leaves(decoded, second and (other or {}) or nil, "", out, unstable)
      table.sort(out, function(a, b) return a.path < b.path end)
      lines[#lines + 1] = "    local t = mcp.json.decode(mcp.text(r))"
      for _, l in ipairs(out) do
        lines[#lines + 1] = ("    assert.field_equals(t, %q, %s)"):format(l.path, lua_literal(l.value, "    "))
      end
    end
  elseif text ~= "" then
    if second and text_of(second) ~= text or (not second and looks_volatile(text)) then
      unstable[#unstable + 1] = "text"
    else
      lines[#lines + 1] = ("    assert.text_equals(r, %s)"):format(lua_literal(text))
    end
  end
  if type(first.structuredContent) == "table" then
    local out = {}
    leaves(first.structuredContent, second and second.structuredContent, "", out, unstable)
    table.sort(out, function(a, b) return a.path < b.path end)
    for _, l in ipairs(out) do
      lines[#lines + 1] = ("    assert.field_equals(r.structuredContent, %q, %s)"):format(l.path, lua_literal(l.value, "    "))
    end
  end
  table.sort(unstable)
  return table.concat(lines, "\n") .. "\n", unstable
end

local function propose_assertions(ctx, args)
  local ok, err = need_name(args)
  if not ok then return err_result(err) end
  if args.repeat_ok ~= nil and type(args.repeat_ok) ~= "boolean" then return err_result("repeat_ok must be true or false") end
  return with_client(ctx, args, function(c)
    local tool
    for _, t in ipairs(c:list_tools()) do if t.name == args.name then tool = t end end
    if not tool then error("the server has no tool named " .. args.name .. " (list_tools shows its tools)", 0) end
    local ann = type(tool.annotations) == "table" and tool.annotations or {}
    local twice = args.repeat_ok == true or ann.readOnlyHint == true or ann.idempotentHint == true
    local a = args.arguments or json.object()
    local params = { name = args.name, arguments = a }
    local okc, first = c:try("tools/call", params)
    if not okc then
      -- a JSON-RPC error, not a result: pin its code
      if not (type(first) == "table" and math.type(first.code) == "integer") then error(first, 0) end
      local lua = "    -- " .. args.name .. " answers a JSON-RPC error, not a result\n"
        .. "    -- (c: a client connected to the same server)\n"
        .. ("    local ok, err = c:try(\"tools/call\", %s)\n"):format(lua_literal(params, "    "))
        .. "    assert.is_false(ok)\n"
        .. ("    assert.error_code(err, %d)\n"):format(first.code)
      return ok_result({ lua = lua, called_twice = false, unstable = A{ "message" },
                         note = "the call answered JSON-RPC error " .. first.code .. "; its message is left out" })
    end
    local second = twice and c:call_tool(args.name, a) or nil
    local body, unstable = propose(args, first, second, tool)
    local lua = "    -- assertions pinning the stable parts of " .. args.name .. "'s result\n"
      .. "    -- (c: a client connected to the same server)\n" .. body
    return ok_result({ lua = lua, called_twice = twice, unstable = A(unstable),
      note = twice and "called twice: values that differed are left out"
        or "called once (the tool is not annotated readOnlyHint or idempotentHint; pass repeat_ok: true to call it twice): values that look like timestamps or ids are left out" })
  end)
end

-- ===== scaffold_suite =====

local function example_args(schema)
  local out = {}
  local props_ = type(schema) == "table" and type(schema.properties) == "table" and schema.properties or {}
  local required = {}
  for _, r in ipairs(type(schema) == "table" and type(schema.required) == "table" and schema.required or {}) do
    required[r] = true
  end
  for k, p in pairs(props_) do
    if required[k] and type(p) == "table" then
      local t = p.type
      if p.enum and p.enum[1] ~= nil then out[k] = p.enum[1]
      elseif p.default ~= nil then out[k] = p.default
      elseif t == "string" then out[k] = "example"
      elseif t == "integer" or t == "number" then out[k] = p.minimum or 1
      elseif t == "boolean" then out[k] = false
      elseif t == "array" then out[k] = A{}
      else out[k] = json.object() end
    end
  end
  return next(out) and out or json.object()
end

local function scaffold(t, tools, info)
  local L = {}
  local function w(s) L[#L + 1] = s end
  local conn
  if t.url then
    conn = ("{ url = os.getenv(\"MCPTEST_URL\") or %q%s }"):format(t.url,
      t.auth and (", auth = { bearer_token_env = %q }"):format(t.auth.bearer_token_env) or "")
  else
    local cmd = t.command
    if type(cmd) == "table" then cmd = lua_literal(A(cmd), "  ") else cmd = ("%q"):format(cmd) end
    conn = "{ command = os.getenv(\"MCPTEST_COMMAND\") or " .. cmd .. " }"
  end
  w("-- a suite scaffolded by mcptest mcp-server (scaffold_suite) from " .. tostring(info and info.name or "the server")
    .. "'s tools/list")
  w("-- run: mcptest run THIS_FILE (MCPTEST_URL / MCPTEST_COMMAND point it elsewhere)")
  w("local mcp = require(\"mcptest\")")
  w("")
  w("describe(" .. ("%q"):format((info and info.name or "server") .. " tools") .. ", function()")
  w("  local c")
  w("  setup(function() c = mcp.connect" .. conn .. " end)")
  w("  teardown(function() if c then c:close() end end)")
  w("")
  w("  it(\"lists its tools\", function()")
  w("    local tools = c:list_tools()")
  for _, tool in ipairs(tools) do w(("    assert.has_tool(tools, %q)"):format(tool.name)) end
  w("  end)")
  for _, tool in ipairs(tools) do
    local ann = type(tool.annotations) == "table" and tool.annotations or {}
    w("")
    local safe = ann.readOnlyHint == true or ann.idempotentHint == true
    w(("  %s(%q, function()"):format(safe and "it" or "pending", "calls " .. tool.name))
    if safe then
      w(("    local r = c:call_tool(%q, %s)"):format(tool.name, lua_literal(example_args(tool.inputSchema), "    ")))
      w("    assert.is_table(r.content)")
      w("    -- TODO: assert on the result (propose_assertions writes these from a real call)")
    else
      w("    -- not annotated readOnlyHint or idempotentHint: calling it may change the server's state;")
      w("    -- turn pending into it once the arguments below are safe")
      w(("    -- local r = c:call_tool(%q, %s)"):format(tool.name, (lua_literal(example_args(tool.inputSchema), "    "):gsub("\n", "\n    -- "))))
    end
    w("  end)")
  end
  w("end)")
  return table.concat(L, "\n") .. "\n"
end

local function scaffold_suite(ctx, args)
  local format = args.format or "lua"
  if format ~= "lua" and format ~= "yaml" then
    return err_result("format must be \"lua\" or \"yaml\", got " .. tostring(args.format))
  end
  local t, err = target_of(args)
  if not t then return err_result(err) end
  return with_client(ctx, args, function(c)
    local tools = c:list_tools()
    if format == "yaml" then
      -- the same scaffold as `mcptest scaffold` (mcptest.suite.scaffold)
      local server = { url = t.url, auth = t.auth, command = t.command }
      if type(args.url) == "string" and not args.url:match("^%a[%w+.-]*://") then
        server = { registered = args.url } -- the suite names the registered server
      elseif type(server.command) == "string" then
        server.command = require("mcptest.transport.stdio").split_command(server.command)
      end
      return ok_result({ format = "yaml", tools = #tools, suite = require("mcptest.suite.scaffold").yaml(c, server) })
    end
    return ok_result({ format = "lua", tools = #tools, suite = scaffold(t, tools, c.server_info) })
  end)
end

-- compile_suite: a YAML suite's Lua (what `mcptest compile` prints), or
-- every schema error as FILE:LINE:COL lines
local function compile_suite(_, args)
  if type(args.path) ~= "string" or args.path == "" then
    return err_result("path (a YAML suite, e.g. server.test.yaml) is required")
  end
  require("mcptest.suite.registry").reset() -- the registry as it is now (a suite may name its servers)
  local lua, err = require("mcptest.suite").lua(args.path)
  if not lua then return err_result(tostring(err)) end
  return ok_result({ path = args.path, lua = lua })
end

-- ===== run_suite =====

local function append(argv, flag, v)
  if v == nil then return end
  if type(v) == "table" then
    for _, x in ipairs(v) do argv[#argv + 1] = flag; argv[#argv + 1] = tostring(x) end
  else
    argv[#argv + 1] = flag; argv[#argv + 1] = tostring(v)
  end
end

local function run_suite(ctx, args, opts)
  if type(args.path) ~= "string" or args.path == "" then
    return err_result("path (a Lua suite file or a directory of *_spec.lua / *.lua files) is required")
  end
  local t, err = target_of(args, true)
  if not t then return err_result(err) end
  local f = io.open(args.path, "r")
  if not f then return err_result("no file or directory " .. args.path .. " (paths are relative to " .. (os.getenv("PWD") or ".") .. ")") end
  f:close()
  local argv = { opts.bin or "/proc/self/exe", "run", args.path, "-o", "json" }
  append(argv, "--filter", args.filter)
  append(argv, "--tags", args.tags)
  local env = sys.environ()
  if t.url then env.MCPTEST_URL = t.url end
  if t.command then
    env.MCPTEST_COMMAND = type(t.command) == "table" and table.concat(t.command, " ") or t.command
  end
  local list = {}
  for k, v in pairs(env) do list[#list + 1] = k .. "=" .. v end
  local process = require("mcptest.core.process")
  local timeout = tonumber(args.timeout) or 600
  local ok, res = await(ctx, function()
    local proc, perr = process.spawn{ argv = argv, env = list }
    if not proc then error(tostring(perr and perr.message or perr), 0) end
    local out, errtxt, started = {}, {}, sys.now()
    local last = started
    ctx:progress(0, nil, "running " .. args.path)
    while true do
      local lines, n = proc:read_lines()
      for i = 1, n or 0 do out[#out + 1] = lines[i] end
      local e = proc:read_stderr()
      if e and e ~= "" and #errtxt < 200 then errtxt[#errtxt + 1] = e end
      local st, code = proc:status()
      if st ~= "running" then
        local more, m = proc:read_lines()
        for i = 1, m or 0 do out[#out + 1] = more[i] end
        proc:close(0)
        return { status = st, code = code, out = out, err = table.concat(errtxt) }
      end
      if ctx.cancelled then proc:close(0.2); return { cancelled = true } end
      local now = sys.now()
      if now - started > timeout then
        proc:close(0.2)
        error("the suite did not finish within " .. timeout .. " s (timeout); it was stopped", 0)
      end
      if now - last >= 1 then
        last = now
        ctx:progress(math.floor(now - started), nil, ("running %s (%d s)"):format(args.path, math.floor(now - started)))
      end
      loop.suspend(0.05)
    end
  end)
  if not ok then return err_result(message_of(res)) end
  if res.cancelled then return err_result("cancelled: the suite run was stopped") end
  local doc
  for i = #res.out, 1, -1 do
    local d = json.try_decode(res.out[i])
    if type(d) == "table" and d.summary then doc = d; break end
  end
  if not doc then
    return err_result(("mcptest run %s exited with %s %s and no report: %s"):format(args.path, res.status,
      tostring(res.code), (res.err ~= "" and res.err) or table.concat(res.out, "\n")))
  end
  local failures = {}
  for _, list_name in ipairs({ "failures", "errors" }) do
    for _, e in ipairs(doc[list_name] or {}) do
      -- the message's own "file:line:" is where the assertion failed; the
      -- report's line is where the test was declared
      local file, line = e.file, e.line
      local mf, ml
      if type(e.message) == "string" then mf, ml = e.message:match("^([^\n:]+):(%d+): ") end
      if mf then file, line = mf, tonumber(ml) end
      failures[#failures + 1] = { name = e.name or json.null, file = file or json.null, line = line or json.null,
        message = e.message and secrets.scrub(e.message) or json.null, kind = list_name == "errors" and "error" or "failure" }
    end
  end
  local s = doc.summary
  return ok_result({ path = args.path, exit_code = res.status == "exited" and res.code or -1,
    ok = res.status == "exited" and res.code == 0,
    tests = s.tests or 0, passed = s.passed or 0, failed = s.failed or 0, errors = s.errors or 0,
    pending = s.pending or 0, duration = s.duration or 0, failures = A(failures) })
end

-- ===== the catalog =====

local STR = { type = "string" }
local OBJ = { type = "object" }

local function tool(name, title, description, extra, required, output, run, annotations)
  return { name = name, title = title, description = description, inputSchema = input_schema(extra, required),
           outputSchema = output, run = run, annotations = annotations }
end

local LAYER = { type = "object", properties = { name = STR, status = { type = "string", enum = A{ "OK", "WARN", "FAIL", "SKIP" } },
  finding = STR, hint = STR, details = OBJ }, required = A{ "name", "status" } }

local function docs_dir(opts)
  if opts.docs_dir then return opts.docs_dir end
  local src = os.getenv("MCPTEST_SRC")
  if src then return src .. "/docs" end
  return "docs"
end

local DOC_PAGES = {
  { file = "lua-api.md", name = "lua-api", title = "mcptest Lua API: connecting, calling, matchers" },
  { file = "cli.md", name = "cli", title = "mcptest command line" },
  { file = "doctor.md", name = "doctor", title = "mcptest doctor: the layered diagnosis" },
  { file = "mcp-server.md", name = "mcp-server", title = "mcptest mcp-server: these tools" },
}

function M.catalog(opts)
  opts = opts or {}
  local dir = docs_dir(opts)
  local resources = {}
  for _, p in ipairs(DOC_PAGES) do
    resources[#resources + 1] = { uri = "mcptest://docs/" .. p.name, name = p.name, title = p.title,
                                  mimeType = "text/markdown", file = dir .. "/" .. p.file }
  end
  local by_uri = {}
  for _, r in ipairs(resources) do by_uri[r.uri] = r end

  local RO = { readOnlyHint = true, openWorldHint = true }
  local tools = {
    tool("list_tools", "List a server's tools", "Connect to an MCP server (url or command) and list its tools, every page.",
      nil, nil,
      { type = "object", properties = { count = { type = "integer" }, tools = { type = "array", items = OBJ } },
        required = A{ "count", "tools" } }, list_tools, RO),
    tool("call_tool", "Call one tool", "Call a tool of an MCP server and return its result as it came (isError included).",
      { name = { type = "string", description = "the tool to call" },
        arguments = { type = "object", description = "its arguments (default {})" } }, { "name" },
      { type = "object", properties = { isError = { type = "boolean" }, result = OBJ }, required = A{ "isError", "result" } },
      call_tool, { openWorldHint = true }),
    tool("doctor", "Diagnose a server", "mcptest doctor: CONFIG, DNS, TCP, TLS, HTTP, MCP, AUTH and DISCOVERY, each OK/WARN/FAIL/SKIP with a finding and a hint (docs/doctor.md). Use it when a 401 or 403 appears.",
      nil, nil,
      { type = "object", properties = { ok = { type = "boolean" }, target = OBJ, layers = { type = "array", items = LAYER } },
        required = A{ "ok", "layers" } }, doctor, RO),
    tool("run_suite", "Run a Lua suite", "Run `mcptest run PATH -o json` (a Lua suite file or a directory) and return the counts and each failure with file:line and message. url/command are passed to the suite as MCPTEST_URL / MCPTEST_COMMAND (scaffold_suite's suites read them). Sends progress notifications; notifications/cancelled stops the run.",
      { path = { type = "string", description = "a suite file (*.lua) or a directory" },
        filter = { description = "only tests whose name matches (a Lua pattern; string or array)",
                   anyOf = A{ STR, { type = "array", items = STR } } },
        tags = { description = "only tests with these #tags (string or array)", anyOf = A{ STR, { type = "array", items = STR } } },
        timeout = { type = "number", description = "seconds before the run is stopped (default 600)" } },
      { "path" },
      { type = "object", properties = { path = STR, ok = { type = "boolean" }, exit_code = { type = "integer" },
          tests = { type = "integer" }, passed = { type = "integer" }, failed = { type = "integer" },
          errors = { type = "integer" }, pending = { type = "integer" }, duration = { type = "number" },
          failures = { type = "array", items = { type = "object", properties = { name = STR, file = STR,
            line = { type = "integer" }, message = STR, kind = { type = "string", enum = A{ "failure", "error" } } } } } },
        required = A{ "ok", "tests", "passed", "failed", "failures" } },
      function(ctx, args) return run_suite(ctx, args, opts) end, { openWorldHint = true }),
    tool("auth_status", "Credentials for a server", "What mcptest's token cache holds (for url, or every server), whether bearer_token_env is set (never its value), and, with url, doctor's AUTH finding for those credentials.",
      nil, nil,
      { type = "object", properties = { cached = { type = "array", items = OBJ },
          bearer_token_env = { type = "object", properties = { name = STR, set = { type = "boolean" } } },
          auth = { type = "object", properties = { status = STR, finding = STR, hint = STR } } },
        required = A{ "cached" } }, auth_status, RO),
    tool("propose_assertions", "Assertions from a real call", "Call a tool and write the Lua assertions (assert.tool_ok, text_equals, field_equals on structuredContent) that pin the stable parts of its result. The tool is called twice when it is annotated readOnlyHint or idempotentHint, or when repeat_ok is true, and values that differ are left out; otherwise values that look like timestamps or ids are left out.",
      { name = { type = "string", description = "the tool to call" },
        arguments = { type = "object", description = "its arguments (default {})" },
        repeat_ok = { type = "boolean", description = "the tool may be called twice (safe to repeat)" } }, { "name" },
      { type = "object", properties = { lua = STR, called_twice = { type = "boolean" }, unstable = { type = "array", items = STR },
          note = STR }, required = A{ "lua", "called_twice", "unstable" } },
      propose_assertions, { openWorldHint = true }),
    tool("compile_suite", "Compile a YAML suite", "The Lua a YAML suite compiles to (what mcptest compile prints), or every schema error of the suite as FILE:LINE:COL: lines.",
      { path = { type = "string", description = "the YAML suite (*.test.yaml)" } }, { "path" },
      { type = "object", properties = { path = STR, lua = STR }, required = A{ "path", "lua" } }, compile_suite, RO),
    tool("scaffold_suite", "Scaffold a suite", "Write a suite from a live server's tools/list: format \"lua\" (default; mcptest run): one test that every tool is listed, and a call per tool (pending for tools not annotated readOnlyHint/idempotentHint); format \"yaml\": the suite `mcptest scaffold` writes (docs/yaml.md).",
      { format = { type = "string", enum = A{ "lua", "yaml" }, description = "\"lua\" (default) or \"yaml\"" } }, nil,
      { type = "object", properties = { format = STR, tools = { type = "integer" }, suite = STR },
        required = A{ "format", "tools", "suite" } }, scaffold_suite, RO),
  }

  local prompts = {
    { name = "write_suite", title = "Write a test suite for an MCP server",
      description = "Walks you through scaffold_suite, run_suite and fixing failures",
      arguments = { { name = "target", description = "the server: a URL, or the command that starts it", required = true },
                    { name = "file", description = "where to write the suite (default server_spec.lua)" } },
      get = function(a)
        local target, file = a.target, a.file or "server_spec.lua"
        local key = target:match("^https?://") and "url" or "command"
        local text = table.concat({
          "Write an mcptest suite for the MCP server " .. target .. " and make it pass.",
          "1. Call doctor with " .. key .. " = " .. json.encode(target) .. "; fix what a FAIL layer's hint says first (auth: bearer_token_env takes a variable NAME).",
          "2. Call scaffold_suite with the same " .. key .. " and write its `suite` to " .. file .. ".",
          "3. For each tool worth pinning, call propose_assertions (repeat_ok: true only if calling it twice is harmless) and paste its `lua` into the matching it(...) block, replacing the TODO.",
          "4. Call run_suite with path = " .. json.encode(file) .. " and the same " .. key .. "; for each failure, read file:line and the message, fix the test (or report the server bug), and run again until ok is true.",
          "The Lua API is the resource mcptest://docs/lua-api; the CLI is mcptest://docs/cli.",
        }, "\n")
        return { { role = "user", content = { type = "text", text = text } } }
      end },
  }

  return {
    tools = tools,
    resources = resources,
    read_resource = function(uri)
      local r = by_uri[uri]
      if not r then return nil end
      local f = io.open(r.file, "r")
      if not f then
        return { { uri = uri, mimeType = "text/plain", text = "this page is not installed beside the binary ("
          .. r.file .. "); set MCPTEST_SRC to mcptest's source directory" } }
      end
      local text = f:read("a")
      f:close()
      return { { uri = uri, mimeType = "text/markdown", text = text } }
    end,
    prompts = prompts,
    instructions = "mcptest's tools test another MCP server: give each call url (Streamable HTTP) or command (stdio). "
      .. "Start with doctor when anything fails; bearer_token_env is the NAME of an environment variable, never a token. "
      .. "The prompt write_suite walks through scaffold_suite, propose_assertions and run_suite.",
  }
end

return M
