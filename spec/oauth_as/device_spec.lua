-- RFC 8628 device authorization: the start request, polling states
-- (authorization_pending, slow_down, access_denied, expired_token), the
-- verification page, and auto-approve.
local H = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "helpers.lua")

local DEVICE = "urn:ietf:params:oauth:grant-type:device_code"

local function start(oauth, extra)
  local f = { client_id = "dev-public-client", scope = "mcp:read", resource = H.RESOURCE }
  for k, v in pairs(extra or {}) do if v == false then f[k] = nil else f[k] = v end end
  return H.post(oauth, "/device_authorization", f)
end

local function poll(oauth, device_code, client_id)
  return H.post(oauth, "/token", { grant_type = DEVICE, device_code = device_code,
                                   client_id = client_id or "dev-public-client" })
end

-- Walk the verification page like a browser; returns the final response.
local function decide(oauth, user_code, decision, opts)
  opts = opts or {}
  local page = H.get(oauth, "/device", { user_code = user_code })
  assert.are.equal(200, page.status, page.body)
  local rid = page.body:match('name="request_id" value="([^"]+)"')
  local csrf = page.body:match('name="csrf_token" value="([^"]+)"')
  local cookie = page.headers["Set-Cookie"]:match("^([^;]+)")
  return H.post(oauth, "/device", { user_code = opts.typed or user_code, request_id = rid,
                                    csrf_token = opts.csrf or csrf, decision = decision },
                { cookie = (not opts.no_cookie) and cookie or nil, origin = opts.origin })
end

describe("device authorization grant", function()
  local oauth, clock
  before_each(function() oauth, clock = H.new({ device_interval = 5, device_code_ttl = 30 }) end)

  it("answers the start request with every RFC 8628 field", function()
    local r = start(oauth)
    assert.are.equal(200, r.status, r.body)
    assert.are.equal("no-store", r.headers["Cache-Control"])
    local d = H.body(r)
    assert.is_string(d.device_code)
    assert.matches("^[BCDFGHJKLMNPQRSTVWXZ][BCDFGHJKLMNPQRSTVWXZ][BCDFGHJKLMNPQRSTVWXZ][BCDFGHJKLMNPQRSTVWXZ]%-", d.user_code)
    assert.are.equal(9, #d.user_code)
    assert.are.equal(H.BASE .. "/device", d.verification_uri)
    assert.are.equal(H.BASE .. "/device?user_code=" .. d.user_code, d.verification_uri_complete)
    assert.are.equal(30, d.expires_in)
    assert.are.equal(5, d.interval)
  end)

  it("goes pending -> slow_down -> pending -> approved -> tokens", function()
    local d = H.body(start(oauth))
    H.err(poll(oauth, d.device_code), 400, "authorization_pending")
    clock.t = clock.t + 1
    local b = H.err(poll(oauth, d.device_code), 400, "slow_down")
    assert.matches("10 seconds", b.error_description)
    clock.t = clock.t + 6 -- less than the new interval of 10
    H.err(poll(oauth, d.device_code), 400, "slow_down")
    clock.t = clock.t + 15
    H.err(poll(oauth, d.device_code), 400, "authorization_pending")
    local r = decide(oauth, d.user_code, "approve")
    assert.are.equal(200, r.status)
    assert.matches("Approved", r.body)
    clock.t = clock.t + 1 -- an approved code is answered whatever the pace
    local t = H.body(poll(oauth, d.device_code))
    assert.are.equal("Bearer", t.token_type)
    assert.are.equal("mcp:read", t.scope)
    assert.is_string(t.refresh_token)
    local info = oauth:introspect(t.access_token)
    assert.are.equal("dev-user", info.sub)
    assert.are.equal(H.RESOURCE, info.aud)
    -- the device code is single-use
    H.err(poll(oauth, d.device_code), 400, "invalid_grant")
  end)

  it("reports access_denied after the person denies", function()
    local d = H.body(start(oauth))
    local r = decide(oauth, d.user_code, "deny")
    assert.matches("Denied", r.body)
    H.err(poll(oauth, d.device_code), 400, "access_denied")
  end)

  it("reports expired_token once the code expires, and the page refuses it", function()
    local d = H.body(start(oauth))
    clock.t = clock.t + 31
    H.err(poll(oauth, d.device_code), 400, "expired_token")
    local page = H.get(oauth, "/device", { user_code = d.user_code })
    assert.are.equal(400, page.status)
    assert.matches("expired", page.body)
  end)

  it("approves at once under auto_approve", function()
    oauth = H.new({ auto_approve = true })
    local d = H.body(start(oauth))
    local r = poll(oauth, d.device_code)
    assert.are.equal(200, r.status, r.body)
  end)

  it("rejects unknown device codes and other clients' codes", function()
    H.err(poll(oauth, "mcp_dc_nope"), 400, "invalid_grant")
    local d = H.body(start(oauth))
    oauth.clients["p2"] = oauth:make_client({ client_id = "p2", public = true, grant_types = { DEVICE } })
    H.err(poll(oauth, d.device_code, "p2"), 400, "invalid_grant")
    H.err(H.post(oauth, "/token", { grant_type = DEVICE, client_id = "dev-public-client" }), 400, "invalid_request")
  end)

  it("validates the start request", function()
    H.err(start(oauth, { client_id = "nobody" }), 401, "invalid_client")
    H.err(start(oauth, { client_id = false }), 401, "invalid_client")
    H.err(start(oauth, { scope = "mcp:read nope" }), 400, "invalid_scope")
    H.err(start(oauth, { resource = H.BASE .. "/mcp/open" }), 400, "invalid_target")
    H.err(H.post(oauth, "/device_authorization", { client_id = "dev-confidential-client", client_secret = "dev-confidential-secret" }),
          400, "unauthorized_client")
    H.err(H.post(oauth, "/device_authorization", "client_id=dev-public-client&client_id=dev-public-client"), 400, "invalid_request")
    H.err(H.post(oauth, "/device_authorization", "{}", { ["content-type"] = "application/json" }), 400, "invalid_request")
    H.err(H.get(oauth, "/device_authorization"), 405, "invalid_request")
  end)

  describe("verification page", function()
    it("offers a code entry form", function()
      local r = H.get(oauth, "/device")
      assert.are.equal(200, r.status)
      assert.matches('name="user_code"', r.body)
      assert.matches("text/html", r.headers["Content-Type"])
    end)

    it("accepts the code typed loosely (case, spaces, no dash)", function()
      local d = H.body(start(oauth))
      local loose = d.user_code:lower():gsub("%-", " ")
      local page = H.get(oauth, "/device", { user_code = loose })
      assert.are.equal(200, page.status)
      assert.matches(d.user_code, page.body, 1, true)
      assert.matches("Approve", page.body)
    end)

    it("says so for unknown codes", function()
      local r = H.get(oauth, "/device", { user_code = "BBBB-BBBB" })
      assert.are.equal(400, r.status)
      assert.matches("not known", r.body)
    end)

    it("refuses decisions without the CSRF cookie, with a wrong token, or cross-origin", function()
      local d = H.body(start(oauth))
      assert.are.equal(403, decide(oauth, d.user_code, "approve", { no_cookie = true }).status)
      assert.are.equal(403, decide(oauth, d.user_code, "approve", { csrf = "forged" }).status)
      assert.are.equal(403, decide(oauth, d.user_code, "approve", { origin = "http://evil.example" }).status)
      assert.are.equal(403, decide(oauth, d.user_code, "approve", { typed = "CCCC-CCCC" }).status)
      H.err(poll(oauth, d.device_code), 400, "authorization_pending")
      assert.are.equal(200, decide(oauth, d.user_code, "approve", { origin = H.BASE }).status)
      local page = H.get(oauth, "/device", { user_code = d.user_code })
      assert.matches("already approved", page.body)
    end)
  end)
end)
