-- mcptest.runner.files: which files a run takes, and how each is loaded.
-- A directory named on the command line runs the suites under it (every
-- level, in sorted order; dot-directories and node_modules skipped): the
-- files whose names end with one of M.suites' suffixes. A file named
-- explicitly always runs, whatever its name, except a project's
-- mcptest.yaml, which configures servers and is never a suite.
local M = {}

-- The suite files a directory holds, by name ending, and the loader of
-- each kind: the one place a new kind of suite is added.
M.suites = {
  { suffix = "_spec.lua", kind = "lua" },
  { suffix = ".test.lua", kind = "lua" },
  { suffix = ".test.yaml", kind = "yaml" },
  { suffix = ".test.yml", kind = "yaml" },
}

-- kind -> function(filename) returning a function that runs the file
-- (its top-level code defines the tests), or nil and a message naming the
-- file and line (and true when that message is FILE:LINE:COL: lines to
-- show as they are: a YAML suite's schema errors).
M.loaders = {
  lua = function(filename)
    local chunk, err = loadfile(filename)
    if not chunk then return nil, err end
    return chunk
  end,
  -- a YAML suite runs as the Lua it compiles to (mcptest.suite)
  yaml = function(filename) return require("mcptest.suite").chunk(filename) end,
}

-- Files named explicitly with these endings are loaded by that kind's
-- loader (a named file of any other name is Lua).
local EXPLICIT = { { suffix = ".yaml", kind = "yaml" }, { suffix = ".yml", kind = "yaml" } }

local function ends_with(s, suffix) return suffix == "" or s:sub(-#suffix) == suffix end

local function basename(p) return p:match("([^/]+)/*$") or p end

-- The kind of a file: by the suite suffixes, then the explicit ones.
function M.kind(filename)
  for _, s in ipairs(M.suites) do if ends_with(filename, s.suffix) then return s.kind end end
  for _, s in ipairs(EXPLICIT) do if ends_with(filename, s.suffix) then return s.kind end end
  return "lua"
end

local function is_suite(name)
  for _, s in ipairs(M.suites) do if ends_with(name, s.suffix) then return true end end
  return false
end

-- Add dir's suites to out, sorted, every level down.
local function walk(fs, dir, out)
  local names, err = fs.list(dir)
  if not names then return nil, tostring(err) end
  for _, name in ipairs(names) do
    local path = (dir:sub(-1) == "/" and dir or (dir .. "/")) .. name
    local st = fs.stat(path)
    local t = st and st.type
    if t == "dir" then
      if name:sub(1, 1) ~= "." and name ~= "node_modules" then
        local ok, werr = walk(fs, path, out)
        if not ok then return nil, werr end
      end
    elseif (t == "file" or t == "link") and is_suite(name) and name ~= "mcptest.yaml" then
      out[#out + 1] = path
    end
  end
  return true
end

-- Expand the words of `mcptest run` into files: directories into their
-- suites, files as named. Returns the list, or nil and a message.
function M.expand(words)
  local fs = require("mcptest.core.fs")
  local out = {}
  for _, w in ipairs(words) do
    local st = fs.stat(w)
    if st and st.type == "dir" then
      local before = #out
      local ok, err = walk(fs, w, out)
      if not ok then return nil, "cannot read the directory " .. err end
      if #out == before then
        local names = {}
        for _, s in ipairs(M.suites) do names[#names + 1] = "*" .. s.suffix end
        io.stderr:write("mcptest: warning: ", w, " holds no suite (", table.concat(names, ", "), ")\n")
      end
    else
      out[#out + 1] = w
    end
  end
  return out
end

-- Check every file before anything runs: it exists, it is not a
-- project's mcptest.yaml, its kind has a loader, and it loads (a syntax
-- error names file and line). Returns a table file -> loaded chunk, or
-- nil and a message (exit 2).
function M.preflight(files)
  local chunks = {}
  for _, f in ipairs(files) do
    local fh = io.open(f, "r")
    if not fh then return nil, "cannot open " .. f .. ": no such file or not readable" end
    fh:close()
    if basename(f) == "mcptest.yaml" then
      return nil, f .. " is a project's server configuration (named servers), never a suite;"
        .. " name the suites to run, e.g. *.test.yaml"
    end
    local kind = M.kind(f)
    local loader = M.loaders[kind]
    if not loader then
      return nil, f .. ": YAML suites are not supported by this build yet (the suite compiler is planned)"
    end
    local chunk, err, located = loader(f)
    if not chunk then
      if located or kind == "yaml" then return nil, tostring(err), true end
      return nil, "cannot load " .. tostring(err)
    end
    chunks[f] = chunk
  end
  return chunks
end

return M
