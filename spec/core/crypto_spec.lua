-- mcptest.core.crypto against published test vectors (FIPS 180-2,
-- RFC 4648, RFC 7636 appendix B).
local crypto = require("mcptest.core.crypto")

local function hex(s)
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

describe("mcptest.core.crypto", function()
  after_each(function() collectgarbage() end)

  it("sha256 returns the raw digest", function()
    assert.are.equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", hex(crypto.sha256("abc")))
    assert.are.equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", hex(crypto.sha256("")))
    assert.are.equal(32, #crypto.sha256("x"))
  end)

  it("random_bytes gives n fresh bytes and refuses bad lengths", function()
    assert.are.equal(0, #crypto.random_bytes(0))
    local a, b = crypto.random_bytes(32), crypto.random_bytes(32)
    assert.are.equal(32, #a)
    assert.are_not.equal(a, b)
    assert.has_error(function() crypto.random_bytes(-1) end)
    assert.has_error(function() crypto.random_bytes("x") end)
  end)

  it("base64 follows RFC 4648 section 10", function()
    local vectors = { [""] = "", f = "Zg==", fo = "Zm8=", foo = "Zm9v", foob = "Zm9vYg==",
                      fooba = "Zm9vYmE=", foobar = "Zm9vYmFy" }
    for plain, coded in pairs(vectors) do
      assert.are.equal(coded, crypto.base64_encode(plain))
      assert.are.equal(plain, crypto.base64_decode(coded))
      assert.are.equal(plain, crypto.base64_decode((coded:gsub("=", "")))) -- padding optional
    end
  end)

  it("base64url has no padding and the URL alphabet", function()
    assert.are.equal("-_8", crypto.base64url_encode("\251\255"))
    assert.are.equal("\251\255", crypto.base64url_decode("-_8"))
    assert.are.equal("Zg", crypto.base64url_encode("f"))
  end)

  it("decoders reject bad input with nil, err", function()
    for _, bad in ipairs({ "Z", "Zg=", "Zm9v=", "Zh==", "Zm9v!", "Z===", "Zg==Zg==" }) do
      local v, err = crypto.base64_decode(bad)
      assert.is_nil(v, bad)
      assert.is_truthy(err and err.message, bad)
    end
    assert.is_nil(crypto.base64url_decode("a+b/"))
    assert.is_nil(crypto.base64_decode("a-b_"))
  end)

  it("gives the RFC 7636 appendix B S256 challenge", function()
    local v = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert.are.equal("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", crypto.base64url_encode(crypto.sha256(v)))
  end)

  it("equals compares whole strings", function()
    assert.is_true(crypto.equals("secret", "secret"))
    assert.is_false(crypto.equals("secret", "secreT"))
    assert.is_false(crypto.equals("secret", "secret2"))
    assert.is_true(crypto.equals("", ""))
    assert.has_error(function() crypto.equals(nil, "a") end)
  end)
end)

describe("mcptest.core.crypto keys and signatures", function()
  local crypto = require("mcptest.core.crypto")
  for _, alg in ipairs({ "ES256", "RS256" }) do
    it("signs and verifies " .. alg .. " against the public JWK, and refuses a changed input or key", function()
      local pem = assert(crypto.generate_key(alg))
      local jwk = assert(crypto.public_jwk(pem))
      local sig = assert(crypto.sign(alg, pem, "payload"))
      if alg == "ES256" then assert.are.equal(64, #sig) end
      assert.is_true(crypto.verify(alg, jwk, "payload", sig))
      assert.is_false(crypto.verify(alg, jwk, "payloaD", sig))
      local other = assert(crypto.public_jwk(assert(crypto.generate_key(alg))))
      assert.is_false(crypto.verify(alg, other, "payload", sig))
    end)
  end

  it("returns errors for unusable keys instead of raising", function()
    local ok, err = crypto.sign("ES256", "not a key", "x")
    assert.is_nil(ok)
    assert.are.equal("crypto", err.kind)
    assert.is_nil((crypto.verify("ES256", { kty = "EC", x = "AA", y = "AA" }, "x", string.rep("\0", 64))))
    assert.has_error(function() crypto.sign("HS256", "k", "x") end)
  end)
end)
