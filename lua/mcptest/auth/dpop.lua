-- mcptest.auth.dpop: DPoP (RFC 9449) proofs for one key pair. A key is made
-- per token set and kept with it in the token cache (0600), so the tokens
-- bound to it stay usable across runs.
--   dpop.new([pem]) -> d     a new ES256 key, or the given one
--   d:proof(htm, htu[, access_token]) -> a compact JWS (typ dpop+jwt) with
--       jti, htm, htu (no query or fragment), iat, ath when a token is
--       given, and the last nonce the server sent (d.nonce)
local crypto = require("mcptest.core.crypto")
local secrets = require("mcptest.secrets")
local jwt = require("mcptest.auth.jwt")

local M = {}
local D = {}
D.__index = D

function M.new(pem)
  pem = pem or assert(crypto.generate_key("ES256"))
  secrets.register(pem, "DPoP private key")
  local jwk, err = crypto.public_jwk(pem)
  if not jwk then error(err, 0) end
  return setmetatable({ key = pem, jwk = jwk, alg = jwk.kty == "EC" and "ES256" or "RS256", nonce = nil }, D)
end

function D:proof(htm, htu, access_token)
  local claims = {
    jti = crypto.base64url_encode(crypto.random_bytes(16)),
    htm = htm,
    htu = (tostring(htu):gsub("[?#].*$", "")),
    iat = os.time(),
    nonce = self.nonce,
  }
  if access_token then claims.ath = crypto.base64url_encode(crypto.sha256(access_token)) end
  local p = jwt.sign(claims, self.key, self.alg, { typ = "dpop+jwt", jwk = self.jwk })
  return secrets.register(p, "DPoP proof", true)
end

return M
