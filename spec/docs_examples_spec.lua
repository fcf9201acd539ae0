-- Every fenced code block of README.md and docs/*.md runs, so a doc
-- example that stops working fails CI. The info string says what a block
-- is (docs/design.md, "Doc examples"):
--   ```lua            a script: run (all of a page's in one mcptest run)
--   ```yaml           a YAML suite: run (all of a page's in one mcptest run)
--   ```yaml config    a fixture config: `mcptest serve --config` must load it
--   ```sh             shell commands: run with sh -e
--   ```LANG fragment  part of something larger (not runnable alone)
--   ```LANG output    what a command prints, a file's shape
--   ```LANG norun     runnable by a person, not here (a foreground server,
--                     a remote server, a real browser, a long benchmark)
--   ```text usage     a command's synopsis
-- Any other block (no language, json, text ...) must say one of those
-- four; an indented (4-space) code block is refused, it cannot say: an unmarked block that does not run fails here, so a new example
-- cannot skip silently. More words:
--   file=NAME         the block is also written as NAME in the page's
--                     directory, for the blocks after it (a load script an
--                     sh block runs, a fixture config)
--   fixture=NAME      (sh) run against a fixture of its own, started with
--                     `--config NAME` (a file=NAME block before it), or
--                     fixture=plain: one without --auto-approve
-- A lua block that does not require("mcptest") itself is a snippet: it
-- runs after the prelude `local mcp = require("mcptest")`, `fixture` and
-- `fx` (the fixture: .url) and `c` (a client of its /mcp/open).
-- Each page's blocks run in a temp dir holding spec/, examples/,
-- build/mcptest and server.js (the stdio test server), with mcptest on
-- PATH, MCPTEST_HOME in the temp dir, $BROWSER a headless browser, and a
-- fixture server (`mcptest serve --auto-approve`) this spec started on a
-- free port of 127.0.0.1: the docs' http://127.0.0.1:8765 and $BASE/$URL
-- point at it. In sh blocks a command line ending in `# exits N` must
-- exit N.
local BIN = os.getenv("MCPTEST_BIN") or "build/mcptest"
local SRC = os.getenv("MCPTEST_SRC") or "."
local json = require("mcptest.json")
local sys = require("mcptest.core.sys")

local function slurp(p)
  local f = io.open(p); if not f then return nil end
  local s = f:read("a"); f:close(); return s
end
local function spit(p, s) local f = assert(io.open(p, "w")); f:write(s); f:close() end
local function sh(cmd)
  local out = os.tmpname()
  local _, _, code = os.execute("(" .. cmd .. ") >" .. out .. " 2>&1")
  local text = slurp(out) or ""
  os.remove(out)
  return code, text
end
local function abs(p) if p:sub(1, 1) == "/" then return p end return (os.getenv("PWD") or ".") .. "/" .. p end

local RUN = { lua = true, yaml = true, sh = true }
local SKIP = { fragment = true, output = true, norun = true, usage = true }
local PRELUDE = 'local mcp = require("mcptest"); local fixture = { url = os.getenv("BASE") }; '
  .. 'local fx = fixture; local c = mcp.connect{ url = fixture.url .. "/mcp/open" }; '
  .. '-- the prelude of spec/docs_examples_spec.lua\n'

-- Start `mcptest serve` on a free port; returns its pid and base URL.
local function serve(dir, args, envs)
  local out = os.tmpname()
  local p = io.popen(("cd %s && %s exec %s serve --port 0 %s >%s 2>&1 & echo $!")
    :format(dir, envs, abs(BIN), args, out))
  local pid = p:read("l"); p:close()
  local base
  for _ = 1, 100 do
    local text = slurp(out) or ""
    base = text:match("^(http://[^\n]+)")
    if base or text:match("mcptest") then break end
    sys.sleep(0.05)
  end
  local text = slurp(out)
  os.remove(out)
  return pid, base, text
end

-- The fenced blocks of a markdown text: { lang, words (set), body, line }.
local function blocks_of(text)
  local list, cur = {}, nil
  local n = 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    local ind, fence, info = line:match("^(%s*)(```+)%s*(.-)%s*$")
    if cur then
      if fence and info == "" and #fence >= #cur.fence then
        cur.body = table.concat(cur.lines, "\n") .. "\n"
        list[#list + 1] = cur
        cur = nil
      else
        -- a block indented in a list: drop the fence's indentation
        cur.lines[#cur.lines + 1] = line:sub(1, #cur.ind) == cur.ind and line:sub(#cur.ind + 1) or line
      end
    elseif fence then
      local words, lang = {}, nil
      for w in info:gmatch("%S+") do
        if not lang then lang = w else words[w] = true end
      end
      cur = { lang = lang or "", words = words, line = n, fence = fence, ind = ind, lines = {} }
    end
  end
  assert(not cur, "an unclosed ``` block at line " .. (cur and cur.line or 0))
  return list
end

-- Indented code blocks (4 spaces after a blank line, outside a list and
-- a fence): their line numbers.
local function indented_blocks(text)
  local found, fenced, prev_blank, in_list, n = {}, false, true, false, 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    if line:match("^%s*```") then
      fenced, prev_blank = not fenced, false
    elseif not fenced then
      if not line:match("%S") then
        prev_blank = true
      else
        if line:match("^ ? ? ?[-*+] ") or line:match("^ ? ? ?%d+%. ") then in_list = true
        elseif not line:match("^ ") then in_list = false end
        if line:match("^    ") and prev_blank and not in_list then found[#found + 1] = n end
        prev_blank = false
      end
    end
  end
  return found
end

local pages = { "README.md" }
do
  local p = io.popen("cd " .. SRC .. " && ls docs/*.md")
  for f in p:lines() do pages[#pages + 1] = f end
  p:close()
end

describe("doc examples", function()
  local fx, base, port, root
  local totals = { ran = 0, marked = 0 }

  setup(function()
    root = os.tmpname()
    os.remove(root)
    local src = abs(SRC)
    assert(os.execute(table.concat({
      "mkdir -p " .. root .. "/bin " .. root .. "/home",
      "ln -s " .. abs(BIN) .. " " .. root .. "/bin/mcptest",
    }, " && ")))
    -- the fixture, started as the docs say: mcptest serve --auto-approve
    local text
    fx, base, text = serve(root, "--auto-approve", "MCPTEST_HOME=" .. root .. "/home")
    assert(base, "mcptest serve did not print its URL: " .. tostring(text))
    port = base:match(":(%d+)$")
    _ = src
  end)

  teardown(function()
    if fx then os.execute("kill " .. fx .. " 2>/dev/null") end
    if root then os.execute("rm -rf " .. root) end
    print(("doc examples: %d blocks ran, %d marked not runnable"):format(totals.ran, totals.marked))
  end)

  -- A fresh working directory for a page's blocks.
  local function workdir(name)
    local dir = root .. "/" .. name:gsub("[/.]", "_")
    local src = abs(SRC)
    assert(os.execute(table.concat({
      "mkdir -p " .. dir .. "/build",
      "ln -s " .. src .. "/spec " .. dir .. "/spec",
      "ln -s " .. src .. "/examples " .. dir .. "/examples",
      "ln -s " .. src .. "/.deps " .. dir .. "/.deps",
      "ln -s " .. abs(BIN) .. " " .. dir .. "/build/mcptest",
      "cp " .. src .. "/spec/data/stdio_server.js " .. dir .. "/server.js",
    }, " && ")))
    return dir
  end

  local function env(b)
    b = b or base
    return ("PATH=%s/bin:$PATH MCPTEST_HOME=%s/home BROWSER=%s/spec/data/browser.sh BASE=%s URL=%s/mcp/open"
      .. " FIXTURE_TOKEN=test-bearer-token NO_COLOR=1 "):format(root, root, abs(SRC), b, b)
  end

  -- the docs' fixture address is the one this spec started
  local function here(body, p) return (body:gsub("127%.0%.0%.1:8765", "127.0.0.1:" .. (p or port))) end

  for _, page in ipairs(pages) do
    it("runs the examples of " .. page, function()
      local text = assert(slurp(SRC .. "/" .. page))
      local list = blocks_of(text)
      local dir = workdir(page)
      local ran, marked, problems = 0, 0, {}
      for _, n in ipairs(indented_blocks(text)) do
        problems[#problems + 1] = page .. ":" .. n .. ": an indented code block; fence it with ```LANG"
          .. " (lua, yaml or sh run; add fragment, output, norun or usage when it cannot)"
      end
      local lua_files, yaml_files = {}, {}
      for _, b in ipairs(list) do
        local where = page .. ":" .. b.line
        local skip = false
        for w in pairs(b.words) do if SKIP[w] then skip = true end end
        local fixture_of
        for w in pairs(b.words) do
          b.file = b.file or w:match("^file=(.+)$")
          fixture_of = fixture_of or w:match("^fixture=(.+)$")
        end
        if b.file then spit(dir .. "/" .. b.file, here(b.body)) end
        if skip then
          marked = marked + 1
        elseif not RUN[b.lang] then
          problems[#problems + 1] = where .. ": a ```" .. b.lang .. " block that does not run: tag it lua, yaml"
            .. " or sh to run it, or say why it does not run with fragment, output, norun or usage after the language"
        elseif (b.lang == "lua" or b.lang == "yaml") and b.file and not b.words.config then
          ran = ran + 1 -- written above, for the blocks after it
        elseif b.lang == "lua" then
          local f = ("L%04d.lua"):format(b.line)
          local body = here(b.body)
          if not body:find('require("mcptest")', 1, true) then body = PRELUDE .. body end
          spit(dir .. "/" .. f, body)
          lua_files[#lua_files + 1] = f
          ran = ran + 1
        elseif b.lang == "yaml" and b.words.config then
          spit(dir .. "/config.yaml", here(b.body))
          local pid, ok, out = serve(dir, "--config config.yaml", "MCPTEST_HOME=" .. root .. "/home")
          if pid then os.execute("kill " .. pid .. " 2>/dev/null") end
          if not ok then
            problems[#problems + 1] = where .. ": the fixture refused this config:\n" .. tostring(out)
          end
          ran = ran + 1
        elseif b.lang == "yaml" then
          local f = ("L%04d.test.yaml"):format(b.line)
          spit(dir .. "/" .. f, here(b.body))
          yaml_files[#yaml_files + 1] = f
          ran = ran + 1
        else -- sh
          local lines = {}
          for line in here(b.body):gmatch("([^\n]*)\n") do
            local cmd, want = line:match("^(.-)%s+#%s*exits (%d+)%s*$")
            if cmd then
              line = ("if %s; then rc=0; else rc=$?; fi; [ $rc = %s ] || { echo \"exit $rc, the doc says %s: %s\" >&2; exit 1; }")
                :format(cmd, want, want, cmd:gsub("[\"$`\\]", "\\%0"))
            end
            lines[#lines + 1] = line
          end
          local f = ("L%04d.sh"):format(b.line)
          local own, own_base, own_text
          if fixture_of then
            own, own_base, own_text = serve(dir, fixture_of == "plain" and "" or ("--auto-approve --config " .. fixture_of),
              "MCPTEST_HOME=" .. root .. "/home")
            if not own_base then problems[#problems + 1] = where .. ": its fixture did not start: " .. tostring(own_text) end
          end
          local body = table.concat(lines, "\n") .. "\n"
          if own_base then body = body:gsub("127%.0%.0%.1:" .. port, (own_base:gsub("^http://", ""))) end
          spit(dir .. "/" .. f, body)
          local code, out = sh(("cd %s && %s timeout 60 bash -e %s </dev/null"):format(dir, env(own_base), f))
          if own then os.execute("kill " .. own .. " 2>/dev/null") end
          if code ~= 0 then
            problems[#problems + 1] = where .. ": exit " .. tostring(code) .. "\n" .. out
          end
          ran = ran + 1
        end
      end
      -- every script and suite of the page in one mcptest run
      local files = {}
      for _, f in ipairs(lua_files) do files[#files + 1] = f end
      for _, f in ipairs(yaml_files) do files[#files + 1] = f end
      if #files > 0 then
        local code, out = sh(("cd %s && %s mcptest run %s -o json:report.json --test-timeout 60 </dev/null")
          :format(dir, env(), table.concat(files, " ")))
        local report = slurp(dir .. "/report.json")
        local ok, doc = pcall(json.decode, report or "")
        if not ok or type(doc) ~= "table" then
          problems[#problems + 1] = page .. ": mcptest run wrote no report (exit " .. tostring(code) .. ")\n" .. out
        else
          for _, t in ipairs(doc.tests) do
            if t.status == "failed" or t.status == "errored" then
              local line = tonumber(t.file:match("^L(%d+)"))
              problems[#problems + 1] = ("%s:%s: %s %s: %s"):format(page, line or t.file, t.status,
                t.name, tostring(t.message))
            end
          end
          if code ~= 0 and #problems == 0 then
            problems[#problems + 1] = page .. ": mcptest run exited " .. tostring(code) .. "\n" .. out
          end
        end
      end
      totals.ran, totals.marked = totals.ran + ran, totals.marked + marked
      print(("%s: %d ran, %d marked not runnable"):format(page, ran, marked))
      assert(#problems == 0, table.concat(problems, "\n\n"))
    end)
  end
end)
