-- mcptest.cli.help: `mcptest --help`, `mcptest help [COMMAND]` and
-- `mcptest COMMAND --help`, all generated from the verbs' tables (usage
-- lines, summary, help paragraph, option groups), so the help cannot
-- drift from what the parser accepts.
local parse = require("mcptest.cli.parse")

local M = {
  name = "help",
  summary = "print the usage and options of a command",
  usage = { "mcptest help [COMMAND]" },
  help = [[
Without COMMAND, the list of commands; with one, its usage and options
(the same as mcptest COMMAND --help).]],
  options = {},
}

local WIDTH = 79

-- The words of text from column col on, wrapped at WIDTH; continuation
-- lines start at column indent.
local function wrap(text, indent, col)
  local out, pad = {}, string.rep(" ", indent)
  for word in text:gmatch("%S+") do
    if #out > 0 and col + 1 + #word > WIDTH then
      out[#out + 1] = "\n" .. pad
      col = indent
    elseif #out > 0 then
      out[#out + 1] = " "
      col = col + 1
    end
    out[#out + 1] = word
    col = col + #word
  end
  return table.concat(out)
end

-- "-o, --output FORMAT": short names first.
function M.option_label(o)
  local names = {}
  for _, n in ipairs(o) do if not n:match("^%-%-") then names[#names + 1] = n end end
  for _, n in ipairs(o) do if n:match("^%-%-") then names[#names + 1] = n end end
  return table.concat(names, ", ") .. (o.arg and (" " .. o.arg) or "")
end

-- The help of one verb (a module of mcptest.cli).
function M.verb_text(verb)
  local lines = {}
  for i, u in ipairs(verb.usage) do
    lines[#lines + 1] = (i == 1 and "usage: " or "       ") .. u
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = verb.help -- written wrapped
  local groups = {}
  for _, g in ipairs(verb.options or {}) do groups[#groups + 1] = g end
  groups[#groups + 1] = { title = "Help", parse.HELP }
  local col = 0
  for _, g in ipairs(groups) do
    for _, o in ipairs(g) do col = math.max(col, #M.option_label(o)) end
  end
  col = math.min(col + 4, 28)
  for _, g in ipairs(groups) do
    lines[#lines + 1] = ""
    lines[#lines + 1] = g.title .. ":"
    for _, o in ipairs(g) do
      local left = "  " .. M.option_label(o)
      if #left + 2 > col then
        lines[#lines + 1] = left
        lines[#lines + 1] = string.rep(" ", col) .. wrap(o.help, col, col)
      else
        lines[#lines + 1] = left .. string.rep(" ", col - #left) .. wrap(o.help, col, col)
      end
    end
  end
  return table.concat(lines, "\n")
end

-- `mcptest --help`: every verb's usage, then what each does.
function M.overview()
  local cli = require("mcptest.cli")
  local lines, verbs = {}, {}
  for _, v in ipairs(cli.verbs) do verbs[#verbs + 1] = cli.verb(v[1]) end
  for _, verb in ipairs(verbs) do
    if verb.name ~= "help" then
      for _, u in ipairs(verb.usage) do
        lines[#lines + 1] = (#lines == 0 and "usage: " or "       ") .. u
      end
    end
  end
  lines[#lines + 1] = "       mcptest --version | --help | help COMMAND"
  lines[#lines + 1] = ""
  lines[#lines + 1] = "Commands:"
  local width = 0
  for _, verb in ipairs(verbs) do width = math.max(width, #verb.name) end
  for _, verb in ipairs(verbs) do
    lines[#lines + 1] = string.format("  %-" .. (width + 1) .. "s%s", verb.name, verb.summary)
  end
  lines[#lines + 1] = ""
  local names = require("mcptest.runner.reporters").names
  lines[#lines + 1] = "Output formats (-o): " .. names[1] .. " (default), "
    .. table.concat(names, ", ", 2) .. "."
  lines[#lines + 1] = "Exit codes: 0 passed, 1 a test failed, 2 usage or load error,"
  lines[#lines + 1] = "            3 a server could not be reached outside any test."
  lines[#lines + 1] = "The options of a command: mcptest help COMMAND."
  lines[#lines + 1] = "Documentation: docs/cli.md, docs/lua-api.md"
  return table.concat(lines, "\n")
end

function M.main(_, words)
  local cli = require("mcptest.cli")
  local common = require("mcptest.cli.common")
  local name = words[1]
  if not name then io.write(M.overview(), "\n"); return 0 end
  if words[2] then return common.usage_error("unexpected argument " .. words[2], "help") end
  local verb = cli.verb(name)
  if not verb then return cli.unknown_command(name) end
  io.write(M.verb_text(verb), "\n")
  return 0
end

return M
