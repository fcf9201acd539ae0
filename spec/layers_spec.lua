-- The layers of docs/design.md, lowest first: no module requires one of a
-- higher layer, lazily or not (a lazy require must not hide a cycle).
-- Modules are found from the tree: lua/ and stdlib/, module name = path.
local SRC = os.getenv("MCPTEST_SRC") or "."

-- module name -> layer, by the longest matching prefix
local LAYERS = {
  { "mcptest.core", 0, "C modules" },
  { "mcptest.json", 1, "utilities" }, { "mcptest.errors", 1, "utilities" },
  { "mcptest.secrets", 1, "utilities" }, { "mcptest.url", 1, "utilities" },
  { "mcptest.protocol", 1, "utilities" }, { "mcptest.loop", 1, "utilities" },
  { "mcptest.yaml", 1, "utilities" },
  { "mcptest.transport", 2, "transports" },
  { "mcptest.client", 3, "client and auth" }, { "mcptest.auth", 3, "client and auth" },
  { "mcptest", 3, "client and auth (the public modules scripts require)" },
  { "mcptest.doctor", 3, "client and auth (doctor: a diagnosis built on them)" },
  { "mcptest.server", 4, "the server engine" },
  { "mcptest.runner", 5, "the runner" },
  { "mcptest.load", 5, "the runner (load mode)" },
  { "mcptest.suite", 5, "the runner (YAML suites)" },
  { "mcptest.fixture", 6, "the fixture and its authorization server" },
  { "mcptest.cli", 7, "the CLI" },
}
-- the public launcher of the fixture (stdlib/mcptest/fixture.lua) starts
-- `mcptest serve` as a process: it is client-side, not the fixture server
local EXACT = { ["mcptest.fixture"] = { 3, "client and auth (the fixture launcher)" } }

local function layer_of(mod)
  if EXACT[mod] then return EXACT[mod][1], EXACT[mod][2] end
  local best, len, name = nil, -1, nil
  for _, l in ipairs(LAYERS) do
    local p = l[1]
    if (mod == p or mod:sub(1, #p + 1) == p .. ".") and #p > len then best, len, name = l[2], #p, l[3] end
  end
  return best, name
end

local function modules()
  local list = {}
  local p = io.popen("cd " .. SRC .. " && find lua stdlib -name '*.lua' | sort")
  for path in p:lines() do
    local mod = path:gsub("^%a+/", ""):gsub("%.lua$", ""):gsub("/init$", ""):gsub("/", ".")
    list[#list + 1] = { path = path, mod = mod }
  end
  p:close()
  return list
end

describe("layers", function()
  it("every module has a layer", function()
    local missing = {}
    for _, m in ipairs(modules()) do
      if not layer_of(m.mod) then missing[#missing + 1] = m.mod end
    end
    assert.are.same({}, missing)
  end)

  it("no module requires a module of a higher layer", function()
    local bad = {}
    for _, m in ipairs(modules()) do
      local own, own_name = layer_of(m.mod)
      local f = assert(io.open(SRC .. "/" .. m.path))
      local n = 0
      for line in f:lines() do
        n = n + 1
        if not line:match("^%s*%-%-") then
          for req in line:gmatch("require%(?%s*[\"']([%w_.]+)[\"']") do
            local l, name = layer_of(req)
            if l and own and l > own then
              bad[#bad + 1] = string.format("%s:%d: %s (%s) requires %s (%s)", m.path, n, m.mod, own_name, req, name)
            end
          end
        end
      end
      f:close()
    end
    assert.are.same({}, bad)
  end)
end)
