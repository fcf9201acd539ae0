-- Commands a test runs print to their stdout: with a machine report on
-- stdout that output must go to stderr.
it("runs commands", function()
  assert.is_true(os.execute("echo CHILD SAID HI"))
  local w = io.popen("cat", "w"); w:write("POPEN WRITER\n"); w:close()
  local r = io.popen("echo CAPTURED"); local got = r:read("a"); r:close()
  assert.are.equal("CAPTURED\n", got) -- a read pipe is still the caller's
  local ok, how, code = os.execute("exit 3")
  assert.are.same({ nil, "exit", 3 }, { ok, how, code })
end)
