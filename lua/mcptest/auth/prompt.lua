-- mcptest.auth.prompt: seed 002's manual token prompt, for a server that
-- offers no OAuth, in an interactive terminal outside CI only. It names
-- where the recognised services issue tokens; the pasted token is read
-- without echo, registered as a secret and kept in the token cache for
-- that URL (as `mcptest auth set` keeps one).
--   prompt.ask(url) -> token | nil
local secrets = require("mcptest.secrets")

local M = {}

-- host pattern -> { service, token kind, where to create one }
M.HINTS = {
  { "honeycomb", "Honeycomb", "API Key", "Account -> API Keys" },
  { "github", "GitHub", "Personal Access Token", "Settings -> Developer settings -> Personal access tokens" },
  { "sentry", "Sentry", "Auth Token", "Settings -> Account -> API -> Auth Tokens" },
  { "linear", "Linear", "API Key", "Settings -> API -> Personal API Keys" },
  { "notion", "Notion", "Integration Token", "My Integrations -> Create integration" },
  { "slack", "Slack", "Bot/User Token", "Your app -> OAuth & Permissions" },
  { "grafana", "Grafana", "Service Account Token", "Administration -> Service Accounts" },
  { "gitlab", "GitLab", "Personal Access Token", "User Settings -> Access Tokens" },
  { "atlassian", "Jira", "API Token", "Manage profile -> Security -> API tokens" },
  { "jira", "Jira", "API Token", "Manage profile -> Security -> API tokens" },
  { "cloudflare", "Cloudflare", "API Token", "Profile -> API Tokens" },
  { "datadog", "Datadog", "API Key", "Organization Settings -> API Keys" },
  { "pagerduty", "PagerDuty", "API Key", "User Settings -> Create API User Token" },
}

function M.hint(url)
  local host = (tostring(url):match("^%a[%w+.-]*://([^/:?#]+)") or ""):lower()
  for _, h in ipairs(M.HINTS) do
    if host:find(h[1], 1, true) then return h end
  end
end

-- Ask on the terminal; nil when nothing was pasted.
function M.ask(url)
  local h = M.hint(url)
  io.stderr:write(url, " offers no OAuth login.\n")
  if h then
    io.stderr:write("It looks like ", h[2], ": create a ", h[3], " at ", h[4], ".\n")
  end
  io.stderr:write("Paste a token for it and press Enter (nothing to skip): ")
  io.stderr:flush()
  os.execute("stty -echo 2>/dev/null")
  local token = io.read("l")
  os.execute("stty echo 2>/dev/null")
  io.stderr:write("\n")
  if not token then return nil end
  token = token:gsub("^%s+", ""):gsub("%s+$", ""):gsub("^[Bb]earer%s+", "")
  if token == "" then return nil end
  return secrets.register(token, "token pasted for " .. url)
end

return M
