-- mcptest.reporters.json: busted output handler printing one JSON document.
-- Replaces busted's json handler, which prints nothing in Debian's 2.1.1
-- when a test is pending (it tries to encode functions).
local json = require("mcptest.json")

return function(options)
  local busted = require("busted")
  local handler = require("busted.outputHandlers.base")()

  local function entry(t)
    local el = t.element or {}
    local trace = el.trace or {}
    local e = {
      name = t.name,
      file = trace.short_src,
      line = trace.currentline,
      duration = el.duration,
    }
    if t.message ~= nil then e.message = tostring(t.message) end
    return e
  end

  local function list(items)
    local out = json.array()
    for i, t in ipairs(items) do out[i] = entry(t) end
    return out
  end

  handler.suiteEnd = function()
    local doc = {
      summary = {
        tests = #handler.successes + #handler.failures + #handler.pendings,
        passed = #handler.successes, failed = #handler.failures,
        errors = #handler.errors, pending = #handler.pendings,
        duration = handler.getDuration(),
      },
      successes = list(handler.successes),
      failures = list(handler.failures),
      errors = list(handler.errors),
      pendings = list(handler.pendings),
    }
    io.write(json.encode(doc), "\n")
    io.flush()
    return nil, true
  end

  busted.subscribe({ "suite", "end" }, handler.suiteEnd)
  return handler
end
