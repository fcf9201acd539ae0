-- mcptest.suite.scaffold: a starting YAML suite from a live server (what
-- `mcptest scaffold` prints): one test per tool, arguments built from its
-- inputSchema (required properties only: enum's first value, the
-- default, else a placeholder marked # TODO), asserting the call did not
-- fail and, where the tool declares an outputSchema, that the result
-- validates against it; one list test per list the server offers. Each
-- tool not annotated destructiveHint: true is called once, so a tool
-- that fails today gets the failure it gave as its expectation, marked
-- TODO. Tools
-- that would ask the client for sampling, elicitation or roots are skipped
-- with the reason (a suite can answer them in Lua: docs/lua-api.md `on`).
--   scaffold.yaml(c, server) -> text
--   c: a connected client; server: { url = } or { command = {...} } plus
--   optional auth = { bearer_token_env = VAR }, headers; or { registered = NAME }
--   (a registered server the suite names: servers: { server: NAME })
local compile = require("mcptest.suite.compile")

local M = {}

local quote = compile.quote

-- a YAML scalar: plain when it reads back as the same string
local function scalar(v)
  if type(v) == "string" then
    if v:match("^[%w_][%w_ ./:-]*$") and not v:match("%s$") and not v:match(": ")
       and not ({ ["true"] = 1, ["false"] = 1, null = 1, ["~"] = 1 })[v] and not tonumber(v) then
      return v
    end
    return quote(v)
  end
  if type(v) == "number" then
    if math.type(v) == "integer" then return tostring(v) end
    return string.format("%.17g", v)
  end
  if type(v) == "boolean" then return tostring(v) end
  return "null"
end

-- a value as YAML flow text
local function flow(v)
  local json = require("mcptest.json")
  if type(v) ~= "table" then return scalar(v) end
  local parts = {}
  if json.is_array(v) or (#v > 0 and next(v, #v) == nil) then
    for i = 1, #v do parts[i] = flow(v[i]) end
    return "[" .. table.concat(parts, ", ") .. "]"
  end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do parts[#parts + 1] = scalar(k) .. ": " .. flow(v[k]) end
  return "{ " .. table.concat(parts, ", ") .. " }"
end
M.flow = flow

-- an example value for a property schema; guessed = true when it is a
-- placeholder rather than something the schema gave
local function example(p, depth)
  if type(p) ~= "table" then return "TODO", true end
  if p.const ~= nil then return p.const, false end
  if type(p.enum) == "table" and p.enum[1] ~= nil then return p.enum[1], false end
  if p.default ~= nil then return p.default, false end
  if type(p.examples) == "table" and p.examples[1] ~= nil then return p.examples[1], false end
  local t = p.type
  if type(t) == "table" then t = t[1] end
  if t == "string" then return "TODO", true
  elseif t == "integer" then return math.tointeger(p.minimum or 1) or 1, true
  elseif t == "number" then return p.minimum or 1, true
  elseif t == "boolean" then return false, true
  elseif t == "array" then return require("mcptest.json").array(), true
  elseif t == "object" and depth < 3 then
    local o, guessed = require("mcptest.json").object(), false
    for _, name in ipairs(p.required or {}) do
      local v, g = example((p.properties or {})[name], depth + 1)
      o[name] = v
      guessed = guessed or g
    end
    return o, guessed
  end
  return "TODO", true
end

local CLIENT_FEATURES = { { "sampling", "sampling" }, { "elicit", "elicitation" }, { "roots", "roots" } }

-- does the tool look like it asks the client for something it has no
-- handler for? (by its name and description; a guess, said as such)
local function needs_handler(tool)
  local text = (tostring(tool.name) .. " " .. tostring(tool.description or "")):lower()
  for _, f in ipairs(CLIENT_FEATURES) do
    if text:find(f[1], 1, true) then return f[2] end
  end
end

function M.yaml(c, server, name)
  local out = {}
  local function w(s) out[#out + 1] = s end
  w("# A starting suite written by `mcptest scaffold` from " .. (server.registered or server.url
    or table.concat(server.command, " ")) .. ".")
  w("# Run it: mcptest THIS.test.yaml; see docs/yaml.md. Lines marked TODO hold")
  w("# values that had to be guessed.")
  w("name: " .. scalar(name or ((c.server_info and c.server_info.name) or "server") .. " (scaffolded)"))
  w("servers:")
  if server.registered then
    -- a registered server: the suite names it (docs/registry.md)
    w("  server: " .. scalar(server.registered) .. "   # the registered server (mcptest server show "
      .. server.registered .. ")")
  else
    w("  server:")
    if server.url then w("    url: " .. scalar(server.url))
    else
      local words = {}
      for i, a in ipairs(server.command) do words[i] = scalar(a) end
      w("    command: [" .. table.concat(words, ", ") .. "]")
    end
    if server.auth and server.auth.bearer_token_env then
      w("    auth: { bearer_token_env: " .. server.auth.bearer_token_env .. " }")
    end
  end
  w("tests:")
  local caps = c.capabilities or {}
  local tools = caps.tools and c:list_tools() or {}
  for _, tool in ipairs(tools) do
    local args, guessed = {}, {}
    local schema = tool.inputSchema or {}
    local names = {}
    for _, r in ipairs(schema.required or {}) do names[#names + 1] = r end
    table.sort(names)
    for _, r in ipairs(names) do
      local v, g = example((schema.properties or {})[r], 1)
      args[r] = v
      if g then guessed[#guessed + 1] = r end
    end
    w("  - name: " .. scalar("tool " .. tool.name))
    local handler = needs_handler(tool)
    if handler then
      w("    skip: " .. scalar("the tool may ask the client for " .. handler
        .. "; give the server an `on` handler in Lua (mcptest compile this suite)"))
    end
    w("    tool: " .. scalar(tool.name))
    if #names > 0 then
      w("    args: " .. flow(args) .. (#guessed > 0 and ("   # TODO: " .. table.concat(guessed, ", ")
        .. (#guessed > 1 and " were guessed" or " was guessed")) or ""))
    end
    -- what the call does now: tools not declared destructive are called
    -- once, so the suite expects what the server answers today
    local outcome = "ok"
    local ann = type(tool.annotations) == "table" and tool.annotations or {}
    if not handler and ann.destructiveHint ~= true then
      local json = require("mcptest.json")
      local a = next(args) and args or json.object()
      local ok, r = c:try("tools/call", { name = tool.name, arguments = a }, { timeout = 10 })
      if ok and type(r) == "table" and r.isError == true then outcome = "tool_error"
      elseif not ok and type(r) == "table" and math.type(r.code) == "integer" then outcome = r.code
      elseif not ok then outcome = "failed: " .. tostring(r) end
    end
    if outcome == "tool_error" then
      w("    expect: { is_error: true }   # TODO: the call answered isError when scaffolded; is that right?")
    elseif math.type(outcome) == "integer" then
      w("    expect: { error: { code: " .. outcome .. " } }   # TODO: the call failed when scaffolded; is that right?")
    elseif outcome ~= "ok" then
      w("    expect: { is_error: false }   # TODO: " .. outcome:gsub("\n.*", ""))
    elseif tool.outputSchema then
      w("    expect: { is_error: false, output_schema: true }"
        .. (ann.destructiveHint == true and "   # not called when scaffolded (destructive)" or ""))
    else
      w("    expect: { is_error: false }"
        .. (ann.destructiveHint == true and "   # not called when scaffolded (destructive)" or ""))
    end
  end
  if caps.tools then w("  - name: list tools"); w("    list: tools"); w("    expect: { count: " .. #tools .. " }") end
  if caps.resources then
    local n = #c:list_resources()
    w("  - name: list resources"); w("    list: resources"); w("    expect: { count: " .. n .. " }")
    local ok, t = pcall(c.list_resource_templates, c)
    if ok then
      w("  - name: list resource templates"); w("    list: resource_templates"); w("    expect: { count: " .. #t .. " }")
    end
  end
  if caps.prompts then
    local n = #c:list_prompts()
    w("  - name: list prompts"); w("    list: prompts"); w("    expect: { count: " .. n .. " }")
  end
  return table.concat(out, "\n") .. "\n"
end

return M
