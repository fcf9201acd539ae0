-- Server-side auth (seed 002): per-route provider chains, challenges,
-- audience checks, the all-reject answer, role ACLs where deny wins, and
-- scope checks with 403 insufficient_scope.
local H = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "helpers.lua")
local json = require("mcptest.json")

local function challenge(resp) return resp.headers["WWW-Authenticate"] end

describe("fixture auth", function()
  describe("defaults", function()
    local oauth, clock, auth
    before_each(function() oauth, clock, auth = H.new({ auto_approve = true }) end)

    it("/mcp/open needs nothing", function()
      local p = auth:check({ headers = {} }, "/mcp/open")
      assert.are.equal("anonymous", p.subject)
      assert.are.equal("none", p.provider)
      assert.are.equal("/mcp/open", p.route)
      -- even a bad token does not matter there
      assert.is_table(auth:check(H.bearer("junk"), "/mcp/open"))
      assert.is_table(auth:check({ headers = {} }, "/legacy/sse"))
    end)

    it("/mcp/bearer-token takes test-bearer-token", function()
      local p = auth:check(H.bearer("test-bearer-token"), "/mcp/bearer-token")
      assert.are.equal("bearer-user", p.subject)
      assert.are.same({ "mcp:read", "mcp:write", "mcp:admin" }, p.scopes)
      -- the scheme is case-insensitive
      assert.is_table(auth:check({ headers = { authorization = "bearer test-bearer-token" } }, "/mcp/bearer-token"))
    end)

    it("/mcp/bearer-token rejects other tokens, without pointing at OAuth", function()
      local p, r = auth:check({ headers = {} }, "/mcp/bearer-token")
      assert.is_nil(p)
      assert.are.equal(401, r.status)
      assert.are.equal('Bearer realm="mcp"', challenge(r))
      p, r = auth:check(H.bearer("wrong"), "/mcp/bearer-token")
      assert.are.equal(401, r.status)
      assert.matches('error="invalid_token"', challenge(r))
      assert.is_nil(challenge(r):find("resource_metadata", 1, true))
      assert.are.equal("invalid_token", json.decode(r.body).error)
      -- an AS token is not a static bearer token
      local t = H.tokens(oauth)
      assert.is_nil(auth:check(H.bearer(t.access_token), "/mcp/bearer-token"))
    end)

    it("/mcp/oauth challenges with realm, resource_metadata and scope", function()
      local p, r = auth:check({ headers = {} }, "/mcp/oauth")
      assert.is_nil(p)
      assert.are.equal(401, r.status)
      assert.are.equal('Bearer realm="mcp", resource_metadata="' .. H.BASE
        .. '/.well-known/oauth-protected-resource/mcp/oauth", scope="mcp:read mcp:write"', challenge(r))
      assert.are.equal("application/json", r.headers["Content-Type"])
    end)

    it("/mcp/oauth takes this AS's tokens for that resource", function()
      local t = H.tokens(oauth)
      local p = auth:check(H.bearer(t.access_token), "/mcp/oauth")
      assert.are.equal("dev-user", p.subject)
      assert.are.equal("dev-public-client", p.client_id)
      assert.are.same({ "mcp:read", "mcp:write" }, p.scopes)
      assert.are.equal("oauth_as", p.provider)
      assert.are.equal(H.RESOURCE, p.audience)
      -- a token for the whole server (no resource) also covers the route
      local cc = H.body(H.cc(oauth, "dev-confidential-client", "dev-confidential-secret", { resource = false }))
      assert.are.equal("dev-confidential-client", auth:check(H.bearer(cc.access_token), "/mcp/oauth").subject)
    end)

    it("/mcp/oauth rejects bad, expired, revoked and wrong-audience tokens alike", function()
      local function rejected(tok)
        local p, r = auth:check(H.bearer(tok), "/mcp/oauth")
        assert.is_nil(p)
        assert.are.equal(401, r.status)
        assert.matches('error="invalid_token"', challenge(r))
        assert.matches("resource_metadata=", challenge(r))
        return r
      end
      local r1 = rejected("mcp_at_unknown")
      rejected("test-bearer-token")
      -- revoked
      local t = H.tokens(oauth)
      H.post(oauth, "/revoke", { token = t.access_token, client_id = "dev-public-client" })
      local r2 = rejected(t.access_token)
      -- expired
      local t2 = H.tokens(oauth)
      clock.t = clock.t + 3601
      local r3 = rejected(t2.access_token)
      -- another resource's token (the legacy route, when it takes AS tokens)
      local o2, _, a2 = H.new({ auto_approve = true, routes = { ["/legacy/sse"] = { "oauth_as" } } })
      local t3 = H.tokens(o2, { resource = H.BASE .. "/legacy/sse" })
      assert.is_table(a2:check(H.bearer(t3.access_token), "/legacy/sse"))
      local _, r4 = a2:check(H.bearer(t3.access_token), "/mcp/oauth")
      assert.are.equal(401, r4.status)
      -- the answers do not tell the failures apart
      assert.are.equal(r1.body, r2.body)
      assert.are.equal(r1.body, r3.body)
      assert.are.equal(r1.body, r4.body)
    end)

    it("answers 400 invalid_request to a malformed Authorization header", function()
      local p, r = auth:check({ headers = { authorization = "Bearer two words" } }, "/mcp/oauth")
      assert.is_nil(p)
      assert.are.equal(400, r.status)
      assert.matches('error="invalid_request"', challenge(r))
      -- another scheme counts as no credentials
      p, r = auth:check({ headers = { authorization = "Basic Zm9vOmJhcg==" } }, "/mcp/oauth")
      assert.are.equal(401, r.status)
      assert.is_nil(challenge(r):find("error=", 1, true))
    end)

    it("unknown routes are open unless providers says otherwise", function()
      assert.is_table(auth:check({ headers = {} }, "/somewhere"))
      local _, _, a = H.new({ providers = { "bearer" } })
      assert.is_nil(a:check({ headers = {} }, "/somewhere"))
    end)
  end)

  describe("provider chains", function()
    local config = {
      auto_approve = true,
      providers = { "bearer", "forwarded", "oauth_as" },
      tokens = { ["tok-alice"] = "alice", ["tok-bob"] = { subject = "bob", roles = { "dev", "oncall" } },
                 ["tok-reader"] = { subject = "rita", scopes = "mcp:read" } },
      bearer_token = "static-one",
    }

    it("the first accepting provider wins", function()
      local oauth, _, auth = H.new(config)
      local p = auth:check(H.bearer("tok-alice"), "/mcp/oauth")
      assert.are.equal("alice", p.subject)
      assert.are.same({}, p.roles)
      assert.are.equal("bearer", p.provider)
      p = auth:check(H.bearer("tok-bob"), "/mcp/bearer-token")
      assert.are.same({ "dev", "oncall" }, p.roles)
      p = auth:check(H.bearer("static-one"), "/mcp/bearer-token")
      assert.are.equal("bearer-user", p.subject)
      assert.is_nil(auth:check(H.bearer("test-bearer-token"), "/mcp/bearer-token"))
      p = auth:check({ headers = { ["x-forwarded-user"] = "carol", ["x-forwarded-groups"] = " ops , ,Admins" },
                      remote = "127.0.0.1" }, "/mcp/oauth")
      assert.are.equal("carol", p.subject)
      assert.are.equal("forwarded", p.provider)
      assert.are.same({ "ops", "Admins" }, p.roles)
      -- an AS token for /mcp/oauth is refused on /mcp/bearer-token; one for the whole server is not
      local t = H.tokens(oauth)
      assert.is_nil(auth:check(H.bearer(t.access_token), "/mcp/bearer-token"))
      t = H.tokens(oauth, { resource = false })
      p = auth:check(H.bearer(t.access_token), "/mcp/bearer-token")
      assert.are.equal("oauth_as", p.provider)
      -- /mcp/open stays open
      assert.are.equal("none", auth:check({ headers = {} }, "/mcp/open").provider)
    end)

    it("per-token scopes limit a static token", function()
      local _, _, auth = H.new(config)
      local p = auth:check(H.bearer("tok-reader"), "/mcp/oauth")
      assert.are.same({ "mcp:read" }, p.scopes)
      assert.is_nil((auth:require_scope(p, "mcp:write")))
    end)

    it("when all reject, the answer is the first provider's, whatever came closer", function()
      local _, clock, auth = H.new(config)
      local _, r_none = auth:check({ headers = {} }, "/mcp/oauth")
      local _, r_junk = auth:check(H.bearer("junk"), "/mcp/oauth")
      -- an expired AS token came closest, and still gets the bearer provider's answer
      local oauth2, clock2, auth2 = H.new(config)
      local t = H.tokens(oauth2)
      clock2.t = clock2.t + 7200
      local _, r_expired = auth2:check(H.bearer(t.access_token), "/mcp/oauth")
      assert.are.equal(401, r_junk.status)
      assert.are.equal(r_junk.body, r_expired.body)
      assert.are.equal(challenge(r_junk), challenge(r_expired))
      assert.is_nil(challenge(r_none):find("error=", 1, true))
      -- the challenge still advertises OAuth, since the chain takes AS tokens
      assert.matches("resource_metadata=", challenge(r_none))
      assert.is_truthy(clock)
    end)

    it("forwarded headers can be renamed, and a missing user is a rejection", function()
      local _, _, auth = H.new({ providers = { "forwarded" }, forwarded = { user_header = "X-Auth-User", groups_header = "x-auth-roles" } })
      local p = auth:check({ headers = { ["x-auth-user"] = "dan", ["x-auth-roles"] = "a,b" }, remote = "::1" }, "/mcp/oauth")
      assert.are.equal("dan", p.subject)
      assert.are.same({ "a", "b" }, p.roles)
      local q, r = auth:check({ headers = { ["x-forwarded-user"] = "dan" }, remote = "127.0.0.1" }, "/mcp/oauth")
      assert.is_nil(q)
      assert.are.equal(401, r.status)
      assert.is_nil(auth:check({ headers = { ["x-auth-user"] = "  " }, remote = "127.0.0.1" }, "/mcp/oauth"))
      p = auth:check({ headers = { ["x-auth-user"] = "eve" }, remote = "127.0.0.1" }, "/mcp/oauth")
      assert.are.same({}, p.roles)
    end)

    it("forwarded identities are believed only from trusted remotes (default: loopback)", function()
      local _, _, auth = H.new({ providers = { "forwarded" } })
      local function from(remote) return { headers = { ["x-forwarded-user"] = "carol" }, remote = remote } end
      for _, ok in ipairs({ "127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1" }) do
        assert.are.equal("carol", (auth:check(from(ok), "/mcp/oauth") or {}).subject, ok)
      end
      for _, bad in ipairs({ "10.0.0.5", "192.0.2.1", "::ffff:10.0.0.5", "2001:db8::1", "", "128.0.0.1" }) do
        local p, r = auth:check(from(bad), "/mcp/oauth")
        assert.is_nil(p, bad)
        assert.are.equal(401, r.status)
        -- an untrusted assertion counts as no credentials
        assert.is_nil(challenge(r):find("error=", 1, true))
      end
      assert.is_nil(auth:check({ headers = { ["x-forwarded-user"] = "carol" } }, "/mcp/oauth")) -- remote unknown
      -- trusted_remotes replaces the default list; "loopback" and "*" are words it understands
      _, _, auth = H.new({ providers = { "forwarded" }, forwarded = { trusted_remotes = { "10.0.0.5" } } })
      assert.are.equal("carol", auth:check(from("10.0.0.5"), "/mcp/oauth").subject)
      assert.is_nil(auth:check(from("127.0.0.1"), "/mcp/oauth"))
      _, _, auth = H.new({ providers = { "forwarded" }, forwarded = { trusted_remotes = { "loopback", "10.0.0.5" } } })
      assert.is_table(auth:check(from("127.0.0.1"), "/mcp/oauth"))
      assert.is_table(auth:check(from("::ffff:10.0.0.5"), "/mcp/oauth"))
      _, _, auth = H.new({ providers = { "forwarded" }, forwarded = { trusted_remotes = { "2001:DB8::7" } } })
      assert.is_table(auth:check(from("2001:db8::7"), "/mcp/oauth"))
      _, _, auth = H.new({ providers = { "forwarded" }, forwarded = { trusted_remotes = "*" } })
      assert.is_table(auth:check(from("203.0.113.7"), "/mcp/oauth"))
      -- an untrusted forwarded header does not stop a later provider from accepting
      _, _, auth = H.new({ providers = { "forwarded", "bearer" } })
      local req = from("10.0.0.5")
      req.headers.authorization = "Bearer test-bearer-token"
      assert.are.equal("bearer", auth:check(req, "/mcp/bearer-token").provider)
      assert.has_error(function() H.new({ forwarded = { trusted_remotes = { 42 } } }) end)
    end)

    it("routes can be set one by one", function()
      local _, _, auth = H.new({ routes = { ["/mcp/oauth"] = { providers = { "none" } }, ["/legacy/sse"] = "bearer" } })
      assert.is_table(auth:check({ headers = {} }, "/mcp/oauth"))
      assert.is_nil(auth:check({ headers = {} }, "/legacy/sse"))
      assert.is_table(auth:check(H.bearer("test-bearer-token"), "/legacy/sse"))
    end)

    it("rejects bad config loudly", function()
      assert.has_error(function() H.new({ providers = { "ldap" } }) end)
      assert.has_error(function() H.new({ tokens = { ["t"] = 42 } }) end)
      assert.has_error(function() H.new({ acl = { roles = { r = { allow = "x", grant = {} } } } }) end)
      assert.has_error(function() H.new({ acl = { default = "maybe" } }) end)
    end)

    it("users give roles to OAuth subjects and others", function()
      local oauth, _, auth = H.new({ auto_approve = true, users = { ["dev-user"] = { roles = { "admin" } },
                                                                     ["dev-admin-client"] = { roles = { "ops" } } } })
      local t = H.tokens(oauth)
      assert.are.same({ "admin" }, auth:check(H.bearer(t.access_token), "/mcp/oauth").roles)
      local cc = H.body(H.cc(oauth, "dev-admin-client", "dev-admin-secret"))
      assert.are.same({ "ops" }, auth:check(H.bearer(cc.access_token), "/mcp/oauth").roles)
    end)
  end)

  describe("ACL", function()
    local acl = {
      default = "deny",
      everyone = { allow = { "ping", "whoami" } },
      roles = {
        dev = { allow = { "echo", "slow_*" } },
        oncall = { allow = { "*" }, deny = { "admin_*" } },
        admin = { allow = { "*" } },
        intern = { deny = { "echo" } },
      },
      subjects = { mallory = { deny = { "*" } } },
    }
    local auth
    before_each(function() _, _, auth = H.new({ acl = acl }) end)

    local function p(subject, roles) return { subject = subject, roles = roles or {} } end

    it("grants by union of everyone, subject and roles", function()
      assert.is_true(auth:allowed(p("x"), "ping"))
      assert.is_true(auth:allowed(p("x", { "dev" }), "echo"))
      assert.is_true(auth:allowed(p("x", { "dev" }), "slow_sleep"))
      assert.is_true(auth:allowed(p("x", { "admin" }), "admin_reset"))
      assert.is_true(auth:allowed(p("x", { "unknown-role", "dev" }), "echo"))
    end)

    it("denies what nothing grants when default is deny", function()
      local ok, why = auth:allowed(p("x"), "echo")
      assert.is_false(ok)
      assert.matches("no ACL rule grants tool 'echo'", why)
      assert.is_false((auth:allowed(p("x", { "dev" }), "admin_reset")))
    end)

    it("deny wins, whatever the order of roles", function()
      local ok, why = auth:allowed(p("x", { "admin", "oncall" }), "admin_reset")
      assert.is_false(ok)
      assert.matches("role oncall", why)
      assert.is_false((auth:allowed(p("x", { "oncall", "admin" }), "admin_reset")))
      assert.is_false((auth:allowed(p("x", { "dev", "intern" }), "echo")))
      assert.is_false((auth:allowed(p("mallory", { "admin" }), "ping")))
    end)

    it("default allow lets unlisted tools through but deny still wins", function()
      local _, _, a = H.new({ acl = { default = "allow", roles = { intern = { deny = { "admin_*" } } } } })
      assert.is_true(a:allowed(p("x"), "anything"))
      assert.is_false((a:allowed(p("x", { "intern" }), "admin_reset")))
    end)

    it("no acl allows everything", function()
      local _, _, a = H.new({})
      assert.is_true(a:allowed(p("x"), "admin_reset"))
    end)

    it("globs treat other characters literally", function()
      local _, _, a = H.new({ acl = { everyone = { allow = { "a.b", "c?d", "e-%" } } } })
      assert.is_true(a:allowed(p("x"), "a.b"))
      assert.is_false((a:allowed(p("x"), "aXb")))
      assert.is_true(a:allowed(p("x"), "cXd"))
      assert.is_true(a:allowed(p("x"), "e-%"))
    end)
  end)

  describe("require_scope", function()
    it("passes when every scope is held and answers 403 insufficient_scope otherwise", function()
      local oauth, _, auth = H.new({ auto_approve = true })
      local t = H.tokens(oauth, { scope = "mcp:read" })
      local p = auth:check(H.bearer(t.access_token), "/mcp/oauth")
      assert.is_true(auth:require_scope(p, "mcp:read"))
      local ok, r = auth:require_scope(p, "mcp:admin")
      assert.is_nil(ok)
      assert.are.equal(403, r.status)
      assert.are.equal('Bearer realm="mcp", resource_metadata="' .. H.BASE .. '/.well-known/oauth-protected-resource/mcp/oauth", '
        .. 'scope="mcp:admin", error="insufficient_scope", error_description="this operation needs scope mcp:admin"',
        challenge(r))
      assert.are.equal("insufficient_scope", json.decode(r.body).error)
      _, r = auth:require_scope(p, "mcp:read mcp:write")
      assert.matches('scope="mcp:read mcp:write"', challenge(r))
    end)

    it("static-token principals hold every scope unless their entry says otherwise", function()
      local _, _, auth = H.new({})
      local p = auth:check(H.bearer("test-bearer-token"), "/mcp/bearer-token")
      assert.is_true(auth:require_scope(p, "mcp:admin"))
      local _, r = auth:require_scope({ subject = "x", scopes = {}, route = "/mcp/bearer-token" }, "mcp:write")
      assert.are.equal(403, r.status)
      assert.is_nil(challenge(r):find("resource_metadata", 1, true))
    end)
  end)

  describe("WWW-Authenticate challenges", function()
    local util = require("mcptest.fixture.oauth_util")

    it("one builder quotes and escapes every value (RFC 7235 quoted-string)", function()
      assert.are.equal('Bearer realm="mcp"', util.challenge({ scheme = "Bearer", realm = "mcp" }))
      assert.are.equal('Bearer realm="mcp", resource_metadata="http://h/p", scope="a b", error="insufficient_scope", '
        .. 'error_description="needs \\"a\\" and c:\\\\d"',
        util.challenge({ error_description = 'needs "a" and c:\\d', error = "insufficient_scope", scope = "a b",
                         resource_metadata = "http://h/p", realm = "mcp", scheme = "Bearer" }))
      assert.are.equal('Basic realm="x \\"y\\"", charset="UTF-8"',
        util.challenge({ scheme = "Basic", realm = 'x "y"', charset = "UTF-8" }))
      -- no header splitting: control characters cannot appear in a quoted-string
      local v = util.challenge({ scheme = "Bearer", realm = "mcp", error_description = "a\r\nSet-Cookie: x=1" })
      assert.is_nil(v:find("[\r\n]"))
      assert.has_error(function() util.challenge({ scheme = "Bearer", realm = "mcp", colour = "red" }) end)
      assert.are.equal('Bearer', util.challenge({}))
    end)

    it("auth's 401 and 403 challenges escape what the config puts in them", function()
      local oauth, _, auth = H.new({ auto_approve = true, challenge_scope = 'mcp:read "odd\\scope"' })
      local _, r = auth:check({ headers = {} }, "/mcp/oauth")
      assert.matches('scope="mcp:read \\"odd\\\\scope\\""', challenge(r), 1, true)
      local t = H.tokens(oauth, { scope = "mcp:read" })
      local p = auth:check(H.bearer(t.access_token), "/mcp/oauth")
      local _, r2 = auth:require_scope(p, 'x"y')
      assert.matches('scope="x\\"y"', challenge(r2), 1, true)
      assert.matches('error_description="this operation needs scope x\\"y"', challenge(r2), 1, true)
    end)
  end)

  describe("shared helpers", function()
    it("copy_list copies the array part, nil gives an empty list", function()
      local util = require("mcptest.fixture.oauth_util")
      local src = { "a", "b", x = 1 }
      local c = util.copy_list(src)
      assert.are.same({ "a", "b" }, c)
      assert.are_not.equal(src, c)
      assert.are.same({}, util.copy_list(nil))
    end)
  end)
end)
