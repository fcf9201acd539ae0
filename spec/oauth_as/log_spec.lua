-- config.log: the AS's event lines name clients and outcomes, never a
-- secret (docs/oauth-fixture.md: "never logged"). Every secret a flow
-- handles is collected and looked for in every line.
local H = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "helpers.lua")
local json = require("mcptest.json")

local DEVICE = "urn:ietf:params:oauth:grant-type:device_code"

describe("oauth fixture event log", function()
  it("goes to stderr without config.log: events with verbose only, internal errors always", function()
    local real = io.stderr
    local lines = {}
    io.stderr = { write = function(_, ...) lines[#lines + 1] = table.concat({ ... }) end }
    local ok, err = pcall(function()
      local quiet = H.new({})
      H.cc(quiet, "dev-confidential-client", "dev-confidential-secret")
      assert.are.same({}, lines)
      local loud = H.new({ verbose = true })
      H.cc(loud, "dev-confidential-client", "dev-confidential-secret")
      assert.is_true(#lines >= 1)
      assert.matches("^mcptest serve: oauth: ", lines[1])
      lines = {}
      local broken = H.new({})
      broken.well_known = function() error("boom") end
      assert.are.equal(500, broken:handle({ method = "GET", path = "/.well-known/oauth-authorization-server",
                                            headers = {}, query_string = "" }).status)
      assert.are.equal(1, #lines)
      assert.matches("internal error on /.well%-known/oauth%-authorization%-server: .*boom", lines[1])
    end)
    io.stderr = real
    if not ok then error(err, 0) end
  end)

  it("logs each flow without tokens, codes, verifiers, device codes or client secrets", function()
    local lines = {}
    local oauth = H.new({ auto_approve = true, log = function(l) lines[#lines + 1] = l end })
    local secrets = { "dev-confidential-secret", "dev-admin-secret" }
    local function keep(...) for _, s in ipairs({ ... }) do if s then secrets[#secrets + 1] = s end end end
    -- code flow, then the same code again (reuse revokes the grant)
    local code, verifier, ru = H.authorize(oauth)
    local t = H.body(H.exchange(oauth, code, verifier, ru))
    keep(code, verifier, t.access_token, t.refresh_token)
    H.err(H.exchange(oauth, code, verifier, ru), 400, "invalid_grant")
    -- refresh rotation, then reuse of the rotated token
    local t1 = H.tokens(oauth)
    local refresh = { grant_type = "refresh_token", refresh_token = t1.refresh_token, client_id = "dev-public-client" }
    local t2 = H.body(H.post(oauth, "/token", refresh))
    keep(t1.access_token, t1.refresh_token, t2.access_token, t2.refresh_token)
    H.err(H.post(oauth, "/token", refresh), 400, "invalid_grant")
    -- registration of a confidential client, and its client credentials token
    local reg = H.body(oauth:handle({ method = "POST", path = "/register", headers = { ["content-type"] = "application/json" },
      body = json.encode({ grant_types = { "client_credentials" } }) }))
    local cc = H.body(H.cc(oauth, reg.client_id, reg.client_secret))
    keep(reg.client_secret, cc.access_token)
    -- device flow (auto-approved), revocation
    local d = H.body(H.post(oauth, "/device_authorization", { client_id = "dev-public-client" }))
    local dt = H.body(H.post(oauth, "/token", { grant_type = DEVICE, device_code = d.device_code, client_id = "dev-public-client" }))
    keep(d.device_code, dt.access_token, dt.refresh_token)
    assert.are.equal(200, H.post(oauth, "/revoke", { token = dt.refresh_token, client_id = "dev-public-client" }).status)
    assert.is_true(#lines >= 8, table.concat(lines, "\n")) -- the flows above were logged at all
    assert.is_true(#secrets >= 14)
    for n, line in ipairs(lines) do
      for i, s in ipairs(secrets) do
        assert.is_nil(line:find(s, 1, true), "secret #" .. i .. " in log line " .. n) -- never print it
      end
    end
  end)
end)
