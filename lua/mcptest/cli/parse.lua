-- mcptest.cli.parse: the one command-line parser, driven by the option
-- tables the verbs declare (mcptest.cli.run, .tools, ...). A verb module
-- has `options`: a list of groups, each group a list of options:
--
--   { "--output", "-o", arg = "FORMAT", help = "...",
--     repeatable = true, choices = { ... }, what = "output format" }
--
-- names first (the first is the key in the parsed table), `arg` the value's
-- name in the help (absent: a flag, true when given), `repeatable` collects
-- every value in a list (otherwise the last one given wins), `choices` the
-- only values accepted. `-h`/`--help` is known to every verb.
--
-- Words: `--opt value` and `--opt=value` (long names); options may stand
-- anywhere; a word starting with "-" that is not an option of the verb is a
-- usage error naming it, with a did-you-mean; after "--" no word is an
-- option. What plain words are depends on the mode:
--   "script"  the first is the script; later ones, and everything after
--             "--", are the script's arguments (mcptest SCRIPT.lua ...);
--             with no script before "--", the word after it is the script
--   "files"   all are files; everything after "--" is the scripts' arguments
--   nil       all are the verb's positional words, "--" included
-- Nothing here prints or exits: errors come back as nil, message, hint.
local M = {}

M.HELP = { "--help", "-h", help = "print this help" }

-- Edit distance between two strings: insertions, deletions, substitutions
-- and swaps of two neighbouring characters count one each.
function M.distance(a, b)
  local la, lb = #a, #b
  local d = {}
  for i = 0, la do d[i] = { [0] = i } end
  for j = 0, lb do d[0][j] = j end
  for i = 1, la do
    local ca = a:byte(i)
    for j = 1, lb do
      local cb = b:byte(j)
      local cost = ca == cb and 0 or 1
      local v = math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if i > 1 and j > 1 and ca == b:byte(j - 1) and a:byte(i - 1) == cb then
        v = math.min(v, d[i - 2][j - 2] + 1)
      end
      d[i][j] = v
    end
  end
  return d[la][lb]
end

-- The name closest to word, when it is close enough to be a typo of it:
-- one edit per five characters (one for "--tag", two for "--exlude-tags"),
-- at least one; never for a word of one or two characters.
function M.suggest(word, names)
  if #word <= 2 then return nil end
  local limit = math.max(1, #word // 5)
  local best, best_d
  for _, name in ipairs(names) do
    local d = M.distance(word, name)
    if d <= limit and (best_d == nil or d < best_d) then best, best_d = name, d end
  end
  return best
end

-- Every option of a verb, in order, `--help` last.
function M.options(verb)
  local list = {}
  for _, group in ipairs(verb.options or {}) do
    for _, o in ipairs(group) do list[#list + 1] = o end
  end
  list[#list + 1] = M.HELP
  return list
end

local function index(verb)
  local by_name, names = {}, {}
  for _, o in ipairs(M.options(verb)) do
    for _, n in ipairs(o) do
      by_name[n] = o
      names[#names + 1] = n
    end
  end
  return by_name, names
end

local function unknown(word, by_name, names, after_word, mode)
  local name = word:match("^(%-%-[^=]+)=") or word
  local msg = "unknown option " .. name
  local short, value = word:match("^(%-[^-])=(.*)$") -- "-o=tap": only long names take "="
  local s = short and by_name[short] and (short .. " " .. value) or M.suggest(name, names)
  if s then msg = msg .. " (did you mean " .. s .. "?)" end
  local hint
  if after_word and mode then hint = "words meant for the script go after --" end
  return nil, msg, hint
end

-- Parse argv[first..] for a verb. Returns opts (keyed by each option's
-- first name), words, passthrough; or nil, message, hint.
function M.parse(verb, argv, first, mode)
  local by_name, names = index(verb)
  local opts, words, pass = {}, {}, {}
  local i = first or 1
  while i <= #argv do
    local a = argv[i]
    if a == "--" then
      if mode == "script" and #words == 0 and argv[i + 1] then
        i = i + 1 -- `mcptest [OPTIONS] -- SCRIPT ARGS...`: the first is the script
        words[1] = argv[i]
      end
      local dest = mode and pass or words
      table.move(argv, i + 1, #argv, #dest + 1, dest)
      break
    elseif a:sub(1, 1) == "-" and #a > 1 then
      local name, inline = a:match("^(%-%-[^=]+)=(.*)$")
      name = name or a
      local o = by_name[name]
      if not o then return unknown(a, by_name, names, #words > 0, mode) end
      local value = true
      if o.arg then
        if inline then
          value = inline
        else
          i = i + 1
          value = argv[i]
          if value == nil then return nil, "option " .. name .. " needs a value (" .. o.arg .. ")" end
        end
        if o.choices then
          local ok = false
          for _, c in ipairs(o.choices) do if c == value then ok = true; break end end
          if not ok then
            return nil, string.format("unknown %s %s (valid: %s)", o.what or ("value for " .. name),
              value, table.concat(o.choices, ", "))
          end
        end
      elseif inline then
        return nil, "option " .. name .. " takes no value"
      end
      local key = o[1]
      if o.repeatable then
        opts[key] = opts[key] or {}
        table.insert(opts[key], value)
      else
        opts[key] = value
      end
    elseif mode == "script" and #words > 0 then
      pass[#pass + 1] = a
    else
      words[#words + 1] = a
    end
    i = i + 1
  end
  return opts, words, pass
end

return M
