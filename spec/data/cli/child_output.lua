-- Commands a test runs print to their stdout: with a machine report on
-- stdout that output must go to stderr.
it("runs commands", function()
  assert.is_true(os.execute("echo CHILD SAID HI"))
  local w = io.popen("cat", "w"); w:write("POPEN WRITER\n"); w:close()
  local r = io.popen("echo CAPTURED"); local got = r:read("a"); r:close()
  assert.are.equal("CAPTURED\n", got) -- a read pipe is still the caller's
  -- the command's own redirections still win, a subshell's too (dash
  -- drops a subshell's redirections inside a redirected { } group)
  local path = os.tmpname()
  assert.is_true(os.execute("(echo INTO THE FILE; echo AND ITS STDERR >&2) >" .. path .. " 2>&1"))
  local f = io.open(path); local text = f:read("a"); f:close(); os.remove(path)
  assert.are.equal("INTO THE FILE\nAND ITS STDERR\n", text)
  local ok, how, code = os.execute("exit 3")
  assert.are.same({ nil, "exit", 3 }, { ok, how, code })
end)
