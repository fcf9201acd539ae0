-- The client under test for the conformance suite's scenarios that are
-- not auth/* (spec/conformance/client.lua hands them here): no login; one
-- mcp.connect (protocol "auto"; the suite's MCP_CONFORMANCE_PROTOCOL_VERSION
-- pins the version), handlers that accept an elicitation with its
-- defaults, answer sampling and list no roots, then tools/list and a call
-- of every tool listed with arguments made from its inputSchema (numbers
-- 1, strings "test", booleans true; required ones only), and close. What a
-- scenario checks is mcptest's own behaviour: the envelope, headers,
-- retries, requestState, schemas kept as sent.
local mcp = require("mcptest")
local url, log = ...

local function defaults(schema)
  local out = {}
  local props = type(schema) == "table" and schema.properties or {}
  for k, p in pairs(type(props) == "table" and props or {}) do
    if type(p) == "table" and p.default ~= nil then out[k] = p.default end
  end
  return next(out) and out or mcp.json.object()
end

local c = mcp.connect{ url = url, timeout = 20, on = {
  ["elicitation/create"] = function(p) return { action = "accept", content = defaults(p.requestedSchema) } end,
  ["sampling/createMessage"] = function()
    return { role = "assistant", model = "mcptest-conformance", content = { type = "text", text = "ok" } }
  end,
  ["roots/list"] = function() return { roots = mcp.json.array() } end,
} }
log("connected:", c.protocol_version, c.era, c.era_reason)

-- the skills extension's client scenarios (sep-2640-client-*): list the
-- skills, then load each (listing only for no-prefetch); a refused load is
-- what the tampered ones expect: logged, not raised
local scenario = os.getenv("MCP_CONFORMANCE_SCENARIO") or ""
if scenario:match("^sep%-2640%-client%-") then
  local skills = c:list_skills()
  log("skills listed:", #skills)
  if scenario ~= "sep-2640-client-no-prefetch" then
    for _, e in ipairs(skills) do
      local ok, err = pcall(c.load_skill, c, e)
      log("load_skill", e.uri, ok and "verified" or ("refused: " .. tostring(err)))
    end
  end
  c:close()
  return
end

local function value_for(p)
  local t = type(p) == "table" and p.type
  if t == "integer" or t == "number" then return 1 end
  if t == "boolean" then return true end
  if t == "array" then return mcp.json.array() end
  if t == "object" then return mcp.json.object() end
  return "test"
end

local tools = c:list_tools()
local function call(name, args)
  local ok, r = c:try("tools/call", { name = name, arguments = next(args) and args or mcp.json.object() })
  log("tool", name, ok and ("-> " .. tostring(mcp.text(r))) or ("failed: " .. tostring(r)))
end
for _, tool in ipairs(tools) do
  local args, mirrored = {}, false
  local s = type(tool.inputSchema) == "table" and tool.inputSchema or {}
  local props = type(s.properties) == "table" and s.properties or {}
  for _, name in ipairs(type(s.required) == "table" and s.required or {}) do args[name] = value_for(props[name]) end
  for _, p in pairs(props) do
    if type(p) == "table" and p.type == "string" and p["x-mcp-header"] ~= nil then mirrored = true end
  end
  if tool.name == "json_schema_echo" then
    -- json-schema-2020-12-preservation: hand back the focal tool's schema as received
    for _, t in ipairs(tools) do if t.name ~= tool.name then args.schema = t.inputSchema end end
  end
  call(tool.name, args)
  if mirrored then -- once more, mirrored strings set to values that need the base64 form
    for name, p in pairs(props) do
      if type(p) == "table" and p.type == "string" and p["x-mcp-header"] ~= nil then args[name] = " caf\u{e9} " end
    end
    call(tool.name, args)
  end
end
c:close()
