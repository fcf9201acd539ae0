-- mcptest.auth.jwt: compact JWS (RFC 7515) for what the OAuth client signs
-- and the fixture checks: private_key_jwt client assertions (RFC 7523),
-- DPoP proofs (RFC 9449), test ID tokens and ID-JAGs.
--   jwt.sign(claims, pem, alg[, header]) -> "h.p.s"   alg "ES256" | "RS256"
--   jwt.decode(token) -> header, claims, signing_input, signature | nil, why
--   jwt.verify(token, jwk) -> header, claims | nil, why   (alg from the header)
--   jwt.thumbprint(jwk) -> base64url SHA-256 (RFC 7638)
local crypto = require("mcptest.core.crypto")
local json = require("mcptest.json")

local M = {}

local b64 = crypto.base64url_encode

function M.sign(claims, pem, alg, header)
  local h = { alg = alg, typ = "JWT" }
  for k, v in pairs(header or {}) do h[k] = v end
  local input = b64(json.encode(h)) .. "." .. b64(json.encode(claims))
  local sig, err = crypto.sign(alg, pem, input)
  if not sig then error(err, 0) end
  return input .. "." .. b64(sig)
end

function M.decode(token)
  if type(token) ~= "string" then return nil, "not a string" end
  local h64, p64, s64 = token:match("^([%w_-]+)%.([%w_-]+)%.([%w_-]*)$")
  if not h64 then return nil, "not a compact JWS (three base64url parts)" end
  local hj, pj, sig = crypto.base64url_decode(h64), crypto.base64url_decode(p64), crypto.base64url_decode(s64)
  local header, claims = hj and json.try_decode(hj), pj and json.try_decode(pj)
  if type(header) ~= "table" or type(claims) ~= "table" or not sig then
    return nil, "header or claims are not base64url JSON objects"
  end
  return header, claims, h64 .. "." .. p64, sig
end

function M.verify(token, jwk)
  local header, claims, input, sig = M.decode(token)
  if not header then return nil, claims end
  if header.alg ~= "ES256" and header.alg ~= "RS256" then
    return nil, "alg " .. tostring(header.alg) .. " is not accepted (ES256, RS256)"
  end
  local ok, err = crypto.verify(header.alg, jwk, input, sig)
  if ok == nil then return nil, tostring(err and err.message or err) end
  if not ok then return nil, "bad signature" end
  return header, claims
end

-- RFC 7638: SHA-256 over the required members in lexicographic order.
function M.thumbprint(jwk)
  local s
  if jwk.kty == "EC" then
    s = string.format('{"crv":%s,"kty":"EC","x":%s,"y":%s}', json.encode(jwk.crv), json.encode(jwk.x), json.encode(jwk.y))
  elseif jwk.kty == "RSA" then
    s = string.format('{"e":%s,"kty":"RSA","n":%s}', json.encode(jwk.e), json.encode(jwk.n))
  else
    return nil
  end
  return b64(crypto.sha256(s))
end

return M
