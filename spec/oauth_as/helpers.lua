-- Shared helpers for spec/oauth_as/*_spec.lua: build requests the way the
-- fixture's HTTP server hands them to oauth:handle()/auth:check(), drive a
-- fake clock, and pick apart responses. Loaded with dofile by each spec.
local json = require("mcptest.json")
local crypto = require("mcptest.core.crypto")
local util = require("mcptest.fixture.oauth_util")
local assert = require("luassert")

local H = {}
H.BASE = "http://127.0.0.1:8765"
H.RESOURCE = H.BASE .. "/mcp/oauth"
H.FORM = "application/x-www-form-urlencoded"

-- A new AS (and auth) on a fake clock; returns oauth, clock, auth.
function H.new(config)
  config = config or {}
  local clock = { t = 1000000 }
  config.clock = function() return clock.t end
  local oauth = require("mcptest.fixture.oauth").new(config, H.BASE)
  local auth = require("mcptest.fixture.auth").new(config, oauth, H.BASE)
  return oauth, clock, auth
end

H.enc = util.url_encode

-- Encode a form from a list of {name, value} pairs (order and repeats kept)
-- or a map.
function H.form(t)
  if t[1] == nil then return util.encode_pairs(t) end
  local out = {}
  for _, p in ipairs(t) do out[#out + 1] = util.url_encode(p[1]) .. "=" .. util.url_encode(p[2]) end
  return table.concat(out, "&")
end

function H.basic(id, secret)
  return "Basic " .. crypto.base64_encode(id .. ":" .. secret)
end

function H.post(oauth, path, params, headers)
  local h = { ["content-type"] = H.FORM }
  for k, v in pairs(headers or {}) do h[k] = v end
  local body = type(params) == "string" and params or H.form(params or {})
  return oauth:handle({ method = "POST", path = path, headers = h, body = body, remote = "127.0.0.1" })
end

function H.get(oauth, path, query, headers)
  local qs = type(query) == "string" and query or (query and H.form(query) or "")
  return oauth:handle({ method = "GET", path = path, query_string = qs, headers = headers or {},
                        remote = "127.0.0.1" })
end

function H.body(resp) return json.decode(resp.body) end

-- A body fit for a failure message: the values of tokens, codes and
-- secrets masked (an unexpected 200 must not print them).
local SECRET_FIELDS = { access_token = true, refresh_token = true, client_secret = true, device_code = true, code = true }
function H.shown(body)
  return (tostring(body):gsub('"([%w_]+)":"[^"]*"', function(k)
    if SECRET_FIELDS[k] then return '"' .. k .. '":"[redacted]"' end
  end))
end

-- Assert an OAuth error response and return its body.
function H.err(resp, status, code)
  assert.are.equal(status, resp.status, H.shown(resp.body))
  local b = json.decode(resp.body)
  assert.are.equal(code, b.error, H.shown(resp.body))
  assert.are.equal("application/json", resp.headers["Content-Type"])
  return b
end

function H.pkce()
  local verifier = crypto.base64url_encode(crypto.random_bytes(32))
  return verifier, crypto.base64url_encode(crypto.sha256(verifier))
end

-- Query parameters of a redirect's Location.
function H.location(resp)
  assert.are.equal(302, resp.status, resp.body)
  local loc = resp.headers.Location
  local base, q = loc:match("^([^?]*)%??(.*)$")
  local params = util.parse_form(q)
  return params, base
end

-- Run /authorize (auto-approve AS) for dev-public-client; returns code,
-- verifier, redirect_uri.
function H.authorize(oauth, extra)
  local verifier, challenge = H.pkce()
  local q = {
    response_type = "code", client_id = "dev-public-client",
    redirect_uri = "http://127.0.0.1:51234/callback", code_challenge = challenge,
    code_challenge_method = "S256", state = "st-123", resource = H.RESOURCE, scope = "mcp:read mcp:write",
  }
  for k, v in pairs(extra or {}) do
    if v == false then q[k] = nil else q[k] = v end
  end
  local resp = H.get(oauth, "/authorize", q)
  local p = H.location(resp)
  return p.code, verifier, q.redirect_uri, p
end

function H.exchange(oauth, code, verifier, redirect_uri, extra)
  local f = { grant_type = "authorization_code", code = code, code_verifier = verifier,
              redirect_uri = redirect_uri, client_id = "dev-public-client", resource = H.RESOURCE }
  for k, v in pairs(extra or {}) do f[k] = v end
  for k, v in pairs(f) do if v == false then f[k] = nil end end
  return H.post(oauth, "/token", f)
end

-- A full code flow: returns the token response body.
function H.tokens(oauth, extra)
  local code, verifier, redirect_uri = H.authorize(oauth, extra)
  local r = H.exchange(oauth, code, verifier, redirect_uri, { resource = extra and extra.resource })
  assert.are.equal(200, r.status, r.body)
  return json.decode(r.body)
end

function H.cc(oauth, id, secret, extra)
  local f = { grant_type = "client_credentials", resource = H.RESOURCE }
  for k, v in pairs(extra or {}) do
    if v == false then f[k] = nil else f[k] = v end
  end
  return H.post(oauth, "/token", f, { authorization = H.basic(id, secret) })
end

function H.bearer(token) return { headers = { authorization = "Bearer " .. token } } end

return H
