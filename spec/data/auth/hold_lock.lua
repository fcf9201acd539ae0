-- Takes the cache lock of $URL and sleeps (the spec kills it with SIGKILL).
local cache = require("mcptest.auth.cache")
local session = require("mcptest.auth.session")
cache.with_lock(session.cache_url(os.getenv("URL")), function()
  print("HOLDING")
  io.stdout:flush()
  require("mcptest.core.sys").sleep(60)
end)
